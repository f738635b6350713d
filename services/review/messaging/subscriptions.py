"""The durable consumers of this service: which upstream events it reacts to, and how."""

from __future__ import annotations

from faststream.nats import NatsRouter

from shared.consumer import Subscription
from shared.edge import Consumers, service_edge

from ..usecases import ReviewServiceUseCases
from .contracts import CONSUMES, EXAMPLES, registry


def subscriptions(usecases: ReviewServiceUseCases) -> list[Subscription]:
    reviews, renewals, certificates = usecases.reviews, usecases.renewals, usecases.certificates
    return [
        Subscription(
            name="review-from-application",
            upstream="application",
            handlers={
                "ApplicationSubmitted": reviews.when_application_submitted_then_open_review,
                "ApplicationResubmitted": reviews.when_application_resubmitted_then_reopen_review,
                "ApplicationWithdrawn": reviews.when_application_withdrawn_then_close_review,
                "RenewalRequested": renewals.when_renewal_requested_then_open_renewal_review,
                "RenewalRequestResubmitted": (
                    renewals.when_renewal_request_resubmitted_then_reopen_renewal_review
                ),
                "RenewalRequestWithdrawn": (
                    renewals.when_renewal_request_withdrawn_then_close_renewal_review
                ),
            },
        ),
        Subscription(
            name="review-from-assessment",
            upstream="assessment",
            handlers={
                "RenewalAssessed": renewals.when_renewal_assessed_then_record_assessment,
                "BaseRevoked": certificates.when_base_revoked_then_record_revocation,
                "BaseExpired": certificates.when_base_expired_then_record_expiry,
            },
        ),
    ]


def edge(consumers: Consumers) -> NatsRouter:
    """This service on the bus, declared with FastStream: every event type it publishes, and a
    durable pull subscriber per upstream service feeding the consumer of `subscriptions`."""
    return service_edge(consumers, registry, EXAMPLES, CONSUMES)
