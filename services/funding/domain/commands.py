"""Every command the funding service accepts, each addressed to one subsidy plan (`plan_id`).

`at` is an aware UTC instant from the injected clock and `by` the acting user (or the service's
own identity for the scheduler and for reactions to other services' events). Commands that
apply the province's subsidy policy carry it (or, for a designation, `NoSubsidy`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from services.funding.domain.events import ExitReason
from services.funding.domain.policy import FundingPolicy, NoSubsidy


@dataclass(frozen=True, slots=True)
class CreatePlan:
    """On review's `BaseDesignated` (Notice §4) or `WorkstationDesignated` (Notice §5(3)).

    `policy` is the province's table for the programme in force on the day the call opened
    (`call_opened_on`; the approval day when the designation carries none), or `NoSubsidy`.
    """

    plan_id: str
    base_id: str  # a station's `station_id`
    case_id: str
    unit_id: str
    unit_name: str
    province: str
    programme: str
    approved_on: date
    policy: FundingPolicy | NoSubsidy
    at: datetime
    by: str
    call_opened_on: date | None = None


@dataclass(frozen=True, slots=True)
class MarkDue:
    """The scheduler's tick: every scheduled instalment whose date has come falls due."""

    plan_id: str
    at: datetime
    by: str


@dataclass(frozen=True, slots=True)
class ApproveInstalment:
    """A finance approver prepares the disbursement; `by` is recorded as `prepared_by`."""

    plan_id: str
    instalment_id: str
    at: datetime
    by: str


@dataclass(frozen=True, slots=True)
class ConfirmPayment:
    """Finance confirms the transfer, by someone other than the approver."""

    plan_id: str
    instalment_id: str
    payment_ref: str
    paid_on: date
    amount_fen: int
    at: datetime
    by: str


@dataclass(frozen=True, slots=True)
class ReturnPayment:
    """Finance reports that a payment bounced."""

    plan_id: str
    instalment_id: str
    payment_ref: str
    reason: str
    at: datetime
    by: str


@dataclass(frozen=True, slots=True)
class OpenHold:
    """On assessment's `RectificationOrdered`."""

    plan_id: str
    rectification_id: str
    policy: FundingPolicy
    at: datetime
    by: str


@dataclass(frozen=True, slots=True)
class ReleaseHold:
    """On assessment's `RectificationAccepted`."""

    plan_id: str
    rectification_id: str
    at: datetime
    by: str


@dataclass(frozen=True, slots=True)
class CancelUnpaid:
    """On assessment's `BaseRevoked` (`revoked_on`) or `BaseExpired` (`expired_on`)."""

    plan_id: str
    reason: ExitReason
    exited_on: date
    policy: FundingPolicy
    at: datetime
    by: str


@dataclass(frozen=True, slots=True)
class RecordRenewal:
    """On review's `RenewalGranted`."""

    plan_id: str
    renewal_id: str
    term_start: date
    term_end: date
    policy: FundingPolicy
    at: datetime
    by: str


Command = (
    CreatePlan
    | MarkDue
    | ApproveInstalment
    | ConfirmPayment
    | ReturnPayment
    | OpenHold
    | ReleaseHold
    | CancelUnpaid
    | RecordRenewal
)
