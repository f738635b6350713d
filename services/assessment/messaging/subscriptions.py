"""What the assessment service reads from review, and which policy answers each event."""

from __future__ import annotations

from shared.consumer import Subscription

from ..usecases import AssessmentUseCases

UPSTREAM = "review"
#: (upstream service, event names read): the `consumes` of the AsyncAPI document.
CONSUMES: list[tuple[str, tuple[str, ...]]] = [
    (UPSTREAM, ("BaseDesignated", "RenewalAssessmentRequested", "RenewalGranted")),
]


def subscriptions(usecases: AssessmentUseCases) -> list[Subscription]:
    bases = usecases.bases
    return [
        Subscription(
            name="assessment-from-review",
            upstream=UPSTREAM,
            handlers={
                "BaseDesignated": bases.when_base_designated_then_register_base,
                "RenewalAssessmentRequested": (
                    bases.when_renewal_assessment_requested_then_assess_renewal
                ),
                "RenewalGranted": bases.when_renewal_granted_then_renew_term,
            },
        )
    ]
