"""A designated base's subsidy plan, one stream per `plan_id` (Notice §4: 200,000 CNY × 3 years).

The plan is the province's promise: it is made under the province's own policy in force on the
day the base's call opened. A province with no such policy makes no plan — the stream records
`SubsidyNotPlanned` with the reason, and every later fact about the base changes nothing. A
national base whose province promises priority project approval (优先立项) has it recorded.

An instalment is scheduled, falls due on its date (the first at approval, then each anniversary),
is approved by a finance approver and paid by finance — someone other than the approver. While
the base is under an open rectification order (Art. 12) its unpaid due instalments are held; a
bounced payment makes an instalment due again; revocation (Art. 13) or expiry (Art. 14) cancels
what is unpaid — paid stays paid — and closes the plan.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date
from typing import TypedDict, assert_never

from services.funding.domain.commands import (
    ApproveInstalment,
    CancelUnpaid,
    Command,
    ConfirmPayment,
    CreatePlan,
    MarkDue,
    OpenHold,
    RecordRenewal,
    ReleaseHold,
    ReturnPayment,
)
from services.funding.domain.errors import (
    BlankFieldError,
    ConflictingConfirmationError,
    InstalmentAlreadyApprovedError,
    InstalmentAlreadyPaidError,
    InstalmentCancelledError,
    InstalmentNotApprovedError,
    InstalmentNotDueError,
    InstalmentNotFoundError,
    InstalmentNotPaidError,
    InstalmentOnHoldError,
    InvalidTermError,
    PaymentAmountMismatchError,
    PaymentDateInFutureError,
    PaymentReferenceInUseError,
    PaymentReferenceMismatchError,
    PaymentReferenceReturnedError,
    PlanAlreadyExistsError,
    PlanClosedError,
    PlanNotFoundError,
    ProgrammeNotFundedError,
    SeparationOfDutiesError,
    SubsidyNotPlannedError,
)
from services.funding.domain.events import (
    BaseExitRecorded,
    Event,
    ExitReason,
    HoldOpened,
    HoldReleased,
    InstalmentApproved,
    InstalmentCancelled,
    InstalmentDue,
    InstalmentHeld,
    InstalmentPaid,
    InstalmentReleased,
    InstalmentReturned,
    InstalmentScheduled,
    PlanClosed,
    PlanTermRenewed,
    PriorityApprovalRecorded,
    SubsidyNotPlanned,
    SubsidyPlanCreated,
)
from services.funding.domain.policy import (
    FirstDue,
    FundingPolicy,
    NoSubsidy,
    Programme,
    policy_day,
)
from services.funding.domain.provinces import province_name
from shared.cst import add_years, cst_date
from shared.decider import Decider, DomainError


# The stages of one instalment.
@dataclass(frozen=True, slots=True)
class Scheduled:
    pass


@dataclass(frozen=True, slots=True)
class Due:
    pass


@dataclass(frozen=True, slots=True)
class Approved:
    prepared_by: str


@dataclass(frozen=True, slots=True)
class Paid:
    payment_ref: str
    paid_on: date


@dataclass(frozen=True, slots=True)
class Held:
    rectification_id: str


@dataclass(frozen=True, slots=True)
class Cancelled:
    reason: ExitReason


Stage = Scheduled | Due | Approved | Paid | Held | Cancelled


@dataclass(frozen=True, slots=True)
class Instalment:
    instalment_id: str
    number: int
    amount_fen: int
    due_on: date
    stage: Stage
    returned_refs: frozenset[str] = frozenset()  # payments of it that bounced


@dataclass(frozen=True, slots=True)
class Hold:
    rectification_id: str
    policy_version: str


# The stages of the plan.
@dataclass(frozen=True, slots=True)
class NoPlan:
    pass


@dataclass(frozen=True, slots=True)
class NotPlanned:
    """The province funds nothing for this base: no instalment will ever exist."""

    plan_id: str
    base_id: str
    case_id: str
    reason: str


@dataclass(frozen=True, slots=True)
class ActivePlan:
    plan_id: str
    base_id: str
    case_id: str
    policy_version: str
    instalments: tuple[Instalment, ...] = ()
    holds: tuple[Hold, ...] = ()  # open rectification orders, oldest first
    renewals: frozenset[str] = frozenset()
    exited: ExitReason | None = None  # set only when the policy keeps unpaid instalments


@dataclass(frozen=True, slots=True)
class ClosedPlan:
    plan_id: str
    base_id: str
    case_id: str
    policy_version: str
    instalments: tuple[Instalment, ...]
    reason: ExitReason
    closed_under: str  # the policy version that closed it


State = NoPlan | NotPlanned | ActivePlan | ClosedPlan
Plan = ActivePlan | ClosedPlan


def initial_state() -> State:
    return NoPlan()


def evolve(state: State, event: Event) -> State:
    match event:
        case SubsidyPlanCreated():
            return ActivePlan(event.plan_id, event.base_id, event.case_id, event.policy_version)
        case SubsidyNotPlanned():
            return NotPlanned(event.plan_id, event.base_id, event.case_id, event.reason)
        case PriorityApprovalRecorded():
            return state  # a promise recorded for the base; it changes nothing about payment
        case InstalmentScheduled():
            if not isinstance(state, ActivePlan):
                return state
            new = Instalment(
                event.instalment_id, event.number, event.amount_fen, event.due_on, Scheduled()
            )
            return replace(state, instalments=(*state.instalments, new))
        case InstalmentDue():
            return _restage(state, event.instalment_id, Due())
        case InstalmentApproved():
            return _restage(state, event.instalment_id, Approved(event.prepared_by))
        case InstalmentPaid():
            return _restage(state, event.instalment_id, Paid(event.payment_ref, event.paid_on))
        case HoldOpened():
            if not isinstance(state, ActivePlan):
                return state
            hold = Hold(event.rectification_id, event.policy_version)
            return replace(state, holds=(*state.holds, hold))
        case InstalmentHeld():
            return _restage(state, event.instalment_id, Held(event.rectification_id))
        case HoldReleased():
            if not isinstance(state, ActivePlan):
                return state
            holds = tuple(h for h in state.holds if h.rectification_id != event.rectification_id)
            return replace(state, holds=holds)
        case InstalmentReleased():
            return _restage(state, event.instalment_id, Due())
        case InstalmentReturned():
            return _restage(state, event.instalment_id, Due(), bounced=event.payment_ref)
        case InstalmentCancelled():
            return _restage(state, event.instalment_id, Cancelled(event.reason))
        case BaseExitRecorded():
            return replace(state, exited=event.reason) if isinstance(state, ActivePlan) else state
        case PlanClosed():
            if not isinstance(state, ActivePlan):
                return state
            return ClosedPlan(
                state.plan_id,
                state.base_id,
                state.case_id,
                state.policy_version,
                state.instalments,
                event.reason,
                event.policy_version,
            )
        case PlanTermRenewed():
            if not isinstance(state, ActivePlan):
                return state
            return replace(state, renewals=state.renewals | {event.renewal_id})
        case _:
            assert_never(event)


def decide(command: Command, state: State) -> list[Event]:
    _require(command, by=command.by)
    match command, state:
        case CreatePlan(), NoPlan():
            return _create_plan(command)
        case CreatePlan(), NotPlanned() | ActivePlan() | ClosedPlan():
            if command.base_id == state.base_id:
                return []  # the designation was delivered again
            raise _refused(PlanAlreadyExistsError, command, f"plan belongs to base {state.base_id}")
        case _, NoPlan():
            raise _refused(PlanNotFoundError, command, f"no plan {command.plan_id}")
        case (
            MarkDue() | OpenHold() | ReleaseHold() | CancelUnpaid() | RecordRenewal(),
            NotPlanned(),
        ):
            return []  # a clock tick or an upstream fact about a base with nothing to fund
        case ApproveInstalment() | ConfirmPayment() | ReturnPayment(), NotPlanned():
            raise _refused(SubsidyNotPlannedError, command, state.reason)
        case MarkDue(), ActivePlan():
            return _mark_due(command, state)
        case ApproveInstalment(), ActivePlan():
            return _approve(command, state)
        case ConfirmPayment(), ActivePlan() | ClosedPlan():
            return _confirm_payment(command, state)
        case ReturnPayment(), ActivePlan() | ClosedPlan():
            return _return_payment(command, state)
        case OpenHold(), ActivePlan():
            return _open_hold(command, state)
        case ReleaseHold(), ActivePlan():
            return _release_hold(command, state)
        case CancelUnpaid(), ActivePlan():
            return _cancel_unpaid(command, state)
        case RecordRenewal(), ActivePlan():
            return _record_renewal(command, state)
        case MarkDue() | OpenHold() | ReleaseHold() | CancelUnpaid(), ClosedPlan():
            return []  # a clock tick or a late upstream fact: nothing is left to fall due or hold
        case ApproveInstalment() | RecordRenewal(), ClosedPlan():
            raise _refused(PlanClosedError, command, f"plan closed: base {state.reason}")
        case _:  # unreachable: every (command, stage) pair has an arm above
            raise AssertionError(f"unhandled {type(command).__name__} in {state!r}")


def _create_plan(command: CreatePlan) -> list[Event]:
    _require(
        command,
        plan_id=command.plan_id,
        base_id=command.base_id,
        case_id=command.case_id,
        unit_id=command.unit_id,
    )
    try:
        programme = Programme(command.programme)
    except ValueError:
        raise _refused(ProgrammeNotFundedError, command, f"programme {command.programme}") from None
    policy = command.policy
    if isinstance(policy, NoSubsidy):
        return [_not_planned(command, programme, policy)]
    created = SubsidyPlanCreated(
        plan_id=command.plan_id,
        base_id=command.base_id,
        case_id=command.case_id,
        unit_id=command.unit_id,
        unit_name=command.unit_name,
        province=command.province,
        approved_on=command.approved_on,
        instalments=policy.instalments,
        amount_fen=policy.amount_fen,
        total_fen=policy.total_fen,
        policy_version=policy.version,
        programme=programme,
        call_opened_on=command.call_opened_on,
    )
    scheduled = [
        InstalmentScheduled(
            plan_id=command.plan_id,
            base_id=command.base_id,
            case_id=command.case_id,
            instalment_id=f"{command.plan_id}-{number}",  # stable: finance's idempotency key
            number=number,
            amount_fen=policy.amount_fen,
            due_on=_due_on(policy, command.approved_on, number),
            policy_version=policy.version,
        )
        for number in range(1, policy.instalments + 1)
    ]
    if programme is Programme.NATIONAL_BASE and policy.priority_project_approval:
        priority = PriorityApprovalRecorded(
            command.plan_id, command.base_id, command.case_id, command.province, policy.version
        )
        return [created, *scheduled, priority]
    return [created, *scheduled]


def _not_planned(command: CreatePlan, programme: Programme, policy: NoSubsidy) -> SubsidyNotPlanned:
    return SubsidyNotPlanned(
        plan_id=command.plan_id,
        base_id=command.base_id,
        case_id=command.case_id,
        unit_id=command.unit_id,
        unit_name=command.unit_name,
        province=command.province,
        programme=programme,
        approved_on=command.approved_on,
        call_opened_on=command.call_opened_on,
        policy_version=policy.version,
        reason=not_planned_reason(command, programme, policy),
    )


def not_planned_reason(command: CreatePlan, programme: Programme, policy: NoSubsidy) -> str:
    """Why there is no plan, in Chinese and English: whose policy, which version, which day."""
    code = command.province
    province = f"{province_name(code)}（{code}）"
    what_zh, what_en = {
        Programme.NATIONAL_BASE: ("海智基地补助", "HaiZhi base subsidy"),
        Programme.PROVINCIAL_WORKSTATION: ("海智工作站补助", "HaiZhi work-station subsidy"),
    }[programme]
    if policy.version is not None:
        return (
            f"{province}政策 {policy.version} 未规定{what_zh} / "
            f"province {code}'s policy {policy.version} configures no {what_en}"
        )
    day = policy_day(command.call_opened_on, command.approved_on)
    when_zh, when_en = (
        ("批准日", "the approval day")
        if command.call_opened_on is None
        else ("征集开始日", "the day the call opened")
    )
    return (
        f"{province}无{what_zh}政策（以{when_zh} {day} 为准） / "
        f"province {code} has no {what_en} policy (as of {day}, {when_en})"
    )


def _due_on(policy: FundingPolicy, approved_on: date, number: int) -> date:
    match policy.first_due:
        case FirstDue.APPROVAL:
            return add_years(approved_on, number - 1)  # the first at approval, then anniversaries


def _mark_due(command: MarkDue, plan: ActivePlan) -> list[Event]:
    today = cst_date(command.at)
    events: list[Event] = []
    for inst in plan.instalments:
        if isinstance(inst.stage, Scheduled) and inst.due_on <= today:
            keys = _keys(plan, inst)
            events.append(
                InstalmentDue(**keys, due_on=inst.due_on, policy_version=plan.policy_version)
            )
            if plan.holds:  # falling due under an open rectification order: held at once
                events.append(_held(plan, inst, plan.holds[0]))
    return events


def _approve(command: ApproveInstalment, plan: ActivePlan) -> list[Event]:
    inst = _instalment(command, plan)
    match inst.stage:
        case Due():
            return [InstalmentApproved(**_keys(plan, inst), prepared_by=command.by)]
        case Approved(prepared_by=preparer) if preparer == command.by:
            return []
        case _:
            raise _wrong_stage(command, inst)


def _confirm_payment(command: ConfirmPayment, plan: Plan) -> list[Event]:
    _require(command, payment_ref=command.payment_ref)
    inst = _instalment(command, plan)
    match inst.stage:
        case Paid(payment_ref=ref, paid_on=paid_on) if ref == command.payment_ref:
            if paid_on != command.paid_on or command.amount_fen != inst.amount_fen:
                raise _refused(ConflictingConfirmationError, command, f"{ref} paid on {paid_on}")
            return []  # the same confirmation again: never a double payment
        case Paid(payment_ref=ref):
            raise _refused(InstalmentAlreadyPaidError, command, f"paid under {ref}")
        case Approved(prepared_by=preparer):
            if preparer == command.by:  # separation of duties
                raise _refused(SeparationOfDutiesError, command, f"approved by {preparer}")
            ref = command.payment_ref
            if any(ref in other.returned_refs for other in plan.instalments):
                raise _refused(PaymentReferenceReturnedError, command, f"{ref} bounced")
            if any(_paid_under(other, ref) for other in plan.instalments):
                raise _refused(PaymentReferenceInUseError, command, f"{ref} paid another")
            # a float or bool equal in value is still refused: money is integer fen
            if type(command.amount_fen) is not int or command.amount_fen != inst.amount_fen:
                raise _refused(PaymentAmountMismatchError, command, f"{inst.amount_fen} fen due")
            if command.paid_on > cst_date(command.at):
                raise _refused(PaymentDateInFutureError, command, f"paid_on {command.paid_on}")
            return [
                InstalmentPaid(
                    **_keys(plan, inst),
                    payment_ref=command.payment_ref,
                    paid_on=command.paid_on,
                    confirmed_by=command.by,
                )
            ]
        case _:
            raise _wrong_stage(command, inst)


def _return_payment(command: ReturnPayment, plan: Plan) -> list[Event]:
    _require(command, payment_ref=command.payment_ref, reason=command.reason)
    inst = _instalment(command, plan)
    if command.payment_ref in inst.returned_refs:
        return []  # the same bounce reported again
    match inst.stage:
        case Paid(payment_ref=ref) if ref == command.payment_ref:
            returned = InstalmentReturned(
                **_keys(plan, inst), payment_ref=ref, reason=command.reason
            )
            if isinstance(plan, ClosedPlan):  # money back from an exited base is not paid again
                cancelled = InstalmentCancelled(
                    **_keys(plan, inst), reason=plan.reason, policy_version=plan.closed_under
                )
                return [returned, cancelled]
            if plan.holds:
                return [returned, _held(plan, inst, plan.holds[0])]
            return [returned]
        case Paid(payment_ref=ref):
            raise _refused(PaymentReferenceMismatchError, command, f"paid under {ref}")
        case Scheduled() | Due() | Approved() | Held() | Cancelled():
            raise _refused(InstalmentNotPaidError, command, type(inst.stage).__name__.lower())
        case _:
            assert_never(inst.stage)


def _open_hold(command: OpenHold, plan: ActivePlan) -> list[Event]:
    _require(command, rectification_id=command.rectification_id)
    if not command.policy.hold_during_rectification:
        return []  # this policy pays on through a rectification
    if any(h.rectification_id == command.rectification_id for h in plan.holds):
        return []
    hold = Hold(command.rectification_id, command.policy.version)
    opened = HoldOpened(
        plan.plan_id, plan.base_id, plan.case_id, hold.rectification_id, hold.policy_version
    )
    held = [_held(plan, i, hold) for i in plan.instalments if isinstance(i.stage, Due | Approved)]
    return [opened, *held]


def _release_hold(command: ReleaseHold, plan: ActivePlan) -> list[Event]:
    hold = next((h for h in plan.holds if h.rectification_id == command.rectification_id), None)
    if hold is None:
        return []  # never held under this policy, or released already
    released = HoldReleased(
        plan.plan_id, plan.base_id, plan.case_id, hold.rectification_id, hold.policy_version
    )
    if len(plan.holds) > 1:
        return [released]  # another rectification order is still open
    return [
        released,
        *(
            InstalmentReleased(
                **_keys(plan, inst),
                rectification_id=hold.rectification_id,
                policy_version=hold.policy_version,
            )
            for inst in plan.instalments
            if isinstance(inst.stage, Held)
        ),
    ]


def _cancel_unpaid(command: CancelUnpaid, plan: ActivePlan) -> list[Event]:
    if plan.exited is not None:
        return []  # the exit is on record already
    policy = command.policy
    ids = (plan.plan_id, plan.base_id, plan.case_id)
    if not policy.cancel_unpaid_on_exit:  # this policy keeps paying what was promised
        return [BaseExitRecorded(*ids, command.reason, command.exited_on, policy.version)]
    cancelled = [
        InstalmentCancelled(
            **_keys(plan, inst), reason=command.reason, policy_version=policy.version
        )
        for inst in plan.instalments
        if not isinstance(inst.stage, Paid | Cancelled)  # paid stays paid
    ]  # Art. 13 (revoked), Art. 14 (expired)
    return [*cancelled, PlanClosed(*ids, command.reason, command.exited_on, policy.version)]


def _record_renewal(command: RecordRenewal, plan: ActivePlan) -> list[Event]:
    _require(command, renewal_id=command.renewal_id)
    if command.term_end < command.term_start:
        raise _refused(InvalidTermError, command, f"{command.term_start} to {command.term_end}")
    if command.renewal_id in plan.renewals:
        return []
    # With new_plan_on_renewal the use case also creates the new term's plan (its own stream).
    return [
        PlanTermRenewed(
            plan_id=plan.plan_id,
            base_id=plan.base_id,
            case_id=plan.case_id,
            renewal_id=command.renewal_id,
            term_start=command.term_start,
            term_end=command.term_end,
            new_plan_on_renewal=command.policy.new_plan_on_renewal,
            policy_version=command.policy.version,
        )
    ]


class _InstalmentKeys(TypedDict):
    plan_id: str
    base_id: str
    case_id: str
    instalment_id: str
    number: int
    amount_fen: int


def _keys(plan: Plan, inst: Instalment) -> _InstalmentKeys:
    return {
        "plan_id": plan.plan_id,
        "base_id": plan.base_id,
        "case_id": plan.case_id,
        "instalment_id": inst.instalment_id,
        "number": inst.number,
        "amount_fen": inst.amount_fen,
    }


def _held(plan: ActivePlan, inst: Instalment, hold: Hold) -> InstalmentHeld:
    return InstalmentHeld(
        **_keys(plan, inst),
        rectification_id=hold.rectification_id,
        policy_version=hold.policy_version,
    )


def _wrong_stage(command: ApproveInstalment | ConfirmPayment, inst: Instalment) -> DomainError:
    match inst.stage:
        case Scheduled():
            return _refused(InstalmentNotDueError, command, f"scheduled, due on {inst.due_on}")
        case Due():
            return _refused(InstalmentNotApprovedError, command, "due, not approved")
        case Approved(prepared_by=preparer):
            return _refused(InstalmentAlreadyApprovedError, command, f"approved by {preparer}")
        case Paid(payment_ref=ref):
            return _refused(InstalmentAlreadyPaidError, command, f"paid under {ref}")
        case Held(rectification_id=rectification):
            return _refused(InstalmentOnHoldError, command, f"held for {rectification}")
        case Cancelled(reason=reason):
            return _refused(InstalmentCancelledError, command, f"cancelled, base {reason}")
        case _:
            assert_never(inst.stage)


def _paid_under(inst: Instalment, payment_ref: str) -> bool:
    return isinstance(inst.stage, Paid) and inst.stage.payment_ref == payment_ref


def _instalment(
    command: ApproveInstalment | ConfirmPayment | ReturnPayment, plan: Plan
) -> Instalment:
    for inst in plan.instalments:
        if inst.instalment_id == command.instalment_id:
            return inst
    raise _refused(InstalmentNotFoundError, command, f"no instalment {command.instalment_id}")


def _restage(state: State, instalment_id: str, stage: Stage, bounced: str | None = None) -> State:
    if not isinstance(state, ActivePlan | ClosedPlan):
        return state
    instalments = tuple(
        _with_stage(inst, stage, bounced) if inst.instalment_id == instalment_id else inst
        for inst in state.instalments
    )
    return replace(state, instalments=instalments)


def _with_stage(inst: Instalment, stage: Stage, bounced: str | None) -> Instalment:
    returned = inst.returned_refs if bounced is None else inst.returned_refs | {bounced}
    return replace(inst, stage=stage, returned_refs=returned)


def _require(command: Command, **fields: str) -> None:
    for name, value in fields.items():
        if not value.strip():
            raise _refused(BlankFieldError, command, f"{name} is blank", field=name)


def _refused(
    error: type[DomainError], command: Command, why: str, **context: object
) -> DomainError:
    name = type(command).__name__
    return error(f"{name} refused for plan {command.plan_id}: {why}", command=name, **context)


decider: Decider[Command, State, Event] = Decider(
    decide=decide, evolve=evolve, initial_state=initial_state
)
