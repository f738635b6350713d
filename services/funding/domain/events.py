"""The funding events: the finance feed (docs/contracts.md, "funding").

Every event carries `plan_id`, `base_id`, `case_id`; instalment events also `instalment_id` (the
idempotency key finance relies on), `number` and `amount_fen` (integer fen). Events decided by
applying the province's subsidy policy — the schedule, due dates, holds, cancellations, exit and
renewal — carry its `policy_version` (the province's, e.g. `53-2022.1`); approvals, payments and
returns are people's acts and name instead who did them (`prepared_by`, `confirmed_by`) or why
(`reason`). A designation the province does not fund is `SubsidyNotPlanned` on the stream the
plan would have had (its `plan_id`): no plan and no instalment exist under it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from services.funding.domain.policy import Programme


class ExitReason(StrEnum):
    REVOKED = "revoked"  # Art. 13
    EXPIRED = "expired"  # Art. 14


@dataclass(frozen=True, slots=True)
class SubsidyPlanCreated:
    plan_id: str
    base_id: str
    case_id: str
    unit_id: str
    unit_name: str
    province: str
    approved_on: date
    instalments: int
    amount_fen: int  # per instalment
    total_fen: int
    policy_version: str  # the province's version in force on `call_opened_on`
    programme: Programme = Programme.NATIONAL_BASE
    call_opened_on: date | None = None  # None: the designation carried none (approval day)


@dataclass(frozen=True, slots=True)
class SubsidyNotPlanned:
    """The base's (or station's) province funds nothing for it; `reason` says why (中文 / EN)."""

    plan_id: str  # the plan it would have had; none exists
    base_id: str  # for a provincial work station, its `station_id`
    case_id: str
    unit_id: str
    unit_name: str
    province: str
    programme: Programme
    approved_on: date
    call_opened_on: date | None
    policy_version: str | None  # the province's version in force, which has no such table
    reason: str


@dataclass(frozen=True, slots=True)
class PriorityApprovalRecorded:
    """The province promises the base priority project approval (优先立项, Notice §4)."""

    plan_id: str
    base_id: str
    case_id: str
    province: str
    policy_version: str


@dataclass(frozen=True, slots=True)
class InstalmentScheduled:
    plan_id: str
    base_id: str
    case_id: str
    instalment_id: str
    number: int
    amount_fen: int
    due_on: date
    policy_version: str


@dataclass(frozen=True, slots=True)
class InstalmentDue:
    plan_id: str
    base_id: str
    case_id: str
    instalment_id: str
    number: int
    amount_fen: int
    due_on: date
    policy_version: str


@dataclass(frozen=True, slots=True)
class InstalmentApproved:
    plan_id: str
    base_id: str
    case_id: str
    instalment_id: str
    number: int
    amount_fen: int
    prepared_by: str


@dataclass(frozen=True, slots=True)
class InstalmentPaid:
    plan_id: str
    base_id: str
    case_id: str
    instalment_id: str
    number: int
    amount_fen: int
    payment_ref: str
    paid_on: date
    confirmed_by: str


@dataclass(frozen=True, slots=True)
class HoldOpened:
    """The base is under a rectification order: its unpaid instalments are withheld."""

    plan_id: str
    base_id: str
    case_id: str
    rectification_id: str
    policy_version: str


@dataclass(frozen=True, slots=True)
class InstalmentHeld:
    plan_id: str
    base_id: str
    case_id: str
    instalment_id: str
    number: int
    amount_fen: int
    rectification_id: str
    policy_version: str


@dataclass(frozen=True, slots=True)
class HoldReleased:
    plan_id: str
    base_id: str
    case_id: str
    rectification_id: str
    policy_version: str


@dataclass(frozen=True, slots=True)
class InstalmentReleased:
    """Back to due: an approval given before the hold must be given again."""

    plan_id: str
    base_id: str
    case_id: str
    instalment_id: str
    number: int
    amount_fen: int
    rectification_id: str
    policy_version: str


@dataclass(frozen=True, slots=True)
class InstalmentReturned:
    """The payment bounced: the instalment is due again and needs approval and payment."""

    plan_id: str
    base_id: str
    case_id: str
    instalment_id: str
    number: int
    amount_fen: int
    payment_ref: str
    reason: str


@dataclass(frozen=True, slots=True)
class InstalmentCancelled:
    plan_id: str
    base_id: str
    case_id: str
    instalment_id: str
    number: int
    amount_fen: int
    reason: ExitReason
    policy_version: str


@dataclass(frozen=True, slots=True)
class BaseExitRecorded:
    """The base left the programme but the policy keeps its unpaid instalments payable."""

    plan_id: str
    base_id: str
    case_id: str
    reason: ExitReason
    exited_on: date
    policy_version: str


@dataclass(frozen=True, slots=True)
class PlanClosed:
    plan_id: str
    base_id: str
    case_id: str
    reason: ExitReason
    exited_on: date
    policy_version: str


@dataclass(frozen=True, slots=True)
class PlanTermRenewed:
    """The designation was renewed; with `new_plan_on_renewal` a new plan is created too."""

    plan_id: str
    base_id: str
    case_id: str
    renewal_id: str
    term_start: date
    term_end: date
    new_plan_on_renewal: bool
    policy_version: str


Event = (
    SubsidyPlanCreated
    | SubsidyNotPlanned
    | PriorityApprovalRecorded
    | InstalmentScheduled
    | InstalmentDue
    | InstalmentApproved
    | InstalmentPaid
    | HoldOpened
    | InstalmentHeld
    | HoldReleased
    | InstalmentReleased
    | InstalmentReturned
    | InstalmentCancelled
    | BaseExitRecorded
    | PlanClosed
    | PlanTermRenewed
)

EVENTS: tuple[type, ...] = (
    SubsidyPlanCreated,
    SubsidyNotPlanned,
    PriorityApprovalRecorded,
    InstalmentScheduled,
    InstalmentDue,
    InstalmentApproved,
    InstalmentPaid,
    HoldOpened,
    InstalmentHeld,
    HoldReleased,
    InstalmentReleased,
    InstalmentReturned,
    InstalmentCancelled,
    BaseExitRecorded,
    PlanClosed,
    PlanTermRenewed,
)
