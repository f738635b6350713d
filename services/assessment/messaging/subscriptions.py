"""What the assessment service reads from review and application, and which policy answers
each event."""

from __future__ import annotations

from faststream.nats import NatsRouter

from shared.consumer import Subscription
from shared.edge import Consumers, service_edge

from ..usecases import AssessmentUseCases
from .contracts import EXAMPLES, registry

REVIEW = "review"
APPLICATION = "application"
#: (upstream service, event names read): the `consumes` of the AsyncAPI document.
CONSUMES: list[tuple[str, tuple[str, ...]]] = [
    (
        REVIEW,
        (
            "BaseDesignated",
            "WorkstationDesignated",
            "RenewalAssessmentRequested",
            "RenewalGranted",
            "RenewalRefused",
        ),
    ),
    (APPLICATION, ("RenewalRequested", "RenewalRequestWithdrawn")),
]


def subscriptions(usecases: AssessmentUseCases) -> list[Subscription]:
    bases, stations = usecases.bases, usecases.stations
    return [
        Subscription(
            name="assessment-from-review",
            upstream=REVIEW,
            handlers={
                "BaseDesignated": bases.when_base_designated_then_register_base,
                "WorkstationDesignated": stations.when_workstation_designated_then_record_it,
                "RenewalAssessmentRequested": (
                    bases.when_renewal_assessment_requested_then_open_renewal_assessment
                ),
                "RenewalGranted": bases.when_renewal_granted_then_renew_term,
                "RenewalRefused": bases.when_renewal_refused_then_refuse_renewal,
            },
        ),
        Subscription(
            name="assessment-from-application",
            upstream=APPLICATION,
            handlers={
                "RenewalRequested": bases.when_renewal_requested_then_record_request,
                "RenewalRequestWithdrawn": (
                    bases.when_renewal_request_withdrawn_then_withdraw_request
                ),
            },
        ),
    ]


def edge(consumers: Consumers) -> NatsRouter:
    """This service on the bus, declared with FastStream: every event type it publishes, and a
    durable pull subscriber per upstream service feeding the consumer of `subscriptions`."""
    return service_edge(consumers, registry, EXAMPLES, CONSUMES)
