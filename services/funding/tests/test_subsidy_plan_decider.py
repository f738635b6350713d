"""Specifications of a subsidy plan: given past events, when a command, then events or error."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from typing import Any, cast

import pytest

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
from services.funding.domain.policy import FirstDue, FundingPolicy, NoSubsidy, Programme
from services.funding.domain.subsidy_plan import decider
from shared.cst import start_of_day
from shared.testkit.spec import Spec, spec

POLICY = FundingPolicy(
    version="53-2022.1",
    instalments=3,
    amount_fen=20_000_000,
    first_due=FirstDue.APPROVAL,
    hold_during_rectification=True,
    cancel_unpaid_on_exit=True,
    new_plan_on_renewal=False,
)
PLAN, BASE, CASE = "plan-1", "base-1", "case-1"
APPROVED_ON = date(2022, 6, 15)
DUE_ON = {1: date(2022, 6, 15), 2: date(2023, 6, 15), 3: date(2024, 6, 15)}
APPROVER, PAYER = "approver-wang", "cashier-li"
SCHEDULER = "funding-scheduler"
FEN = 20_000_000


def at(day: date, hours: int = 10) -> datetime:
    """An instant `hours` into `day` in Beijing."""
    return start_of_day(day) + timedelta(hours=hours)


def given(*events: Event) -> Spec[Any, Any, Any]:
    return spec(decider).given(*events)


def keys(n: int) -> dict[str, Any]:
    return {
        "plan_id": PLAN,
        "base_id": BASE,
        "case_id": CASE,
        "instalment_id": f"{PLAN}-{n}",
        "number": n,
        "amount_fen": FEN,
    }


# Events
def created(policy: FundingPolicy = POLICY) -> list[Event]:
    return [
        SubsidyPlanCreated(
            plan_id=PLAN,
            base_id=BASE,
            case_id=CASE,
            unit_id="unit-1",
            unit_name="昆明高新区",
            province="53",
            approved_on=APPROVED_ON,
            instalments=3,
            amount_fen=FEN,
            total_fen=3 * FEN,
            policy_version=policy.version,
        ),
        *(scheduled(n) for n in (1, 2, 3)),
    ]


def scheduled(n: int) -> InstalmentScheduled:
    return InstalmentScheduled(**keys(n), due_on=DUE_ON[n], policy_version="53-2022.1")


def due(n: int) -> InstalmentDue:
    return InstalmentDue(**keys(n), due_on=DUE_ON[n], policy_version="53-2022.1")


def approved(n: int, by: str = APPROVER) -> InstalmentApproved:
    return InstalmentApproved(**keys(n), prepared_by=by)


def paid(n: int, ref: str = "", on: date | None = None) -> InstalmentPaid:
    return InstalmentPaid(
        **keys(n),
        payment_ref=ref or f"PAY-{n}",
        paid_on=on or DUE_ON[n] + timedelta(days=10),
        confirmed_by=PAYER,
    )


def hold_opened(rect: str = "rect-1") -> HoldOpened:
    return HoldOpened(PLAN, BASE, CASE, rectification_id=rect, policy_version="53-2022.1")


def held(n: int, rect: str = "rect-1") -> InstalmentHeld:
    return InstalmentHeld(**keys(n), rectification_id=rect, policy_version="53-2022.1")


def hold_released(rect: str = "rect-1") -> HoldReleased:
    return HoldReleased(PLAN, BASE, CASE, rectification_id=rect, policy_version="53-2022.1")


def released(n: int, rect: str = "rect-1") -> InstalmentReleased:
    return InstalmentReleased(**keys(n), rectification_id=rect, policy_version="53-2022.1")


def returned(n: int, ref: str = "", reason: str = "account closed") -> InstalmentReturned:
    return InstalmentReturned(**keys(n), payment_ref=ref or f"PAY-{n}", reason=reason)


def cancelled(n: int, reason: ExitReason = ExitReason.REVOKED) -> InstalmentCancelled:
    return InstalmentCancelled(**keys(n), reason=reason, policy_version="53-2022.1")


def closed(reason: ExitReason = ExitReason.REVOKED, on: date = date(2024, 3, 1)) -> PlanClosed:
    return PlanClosed(PLAN, BASE, CASE, reason=reason, exited_on=on, policy_version="53-2022.1")


def first_paid() -> list[Event]:
    return [*created(), due(1), approved(1), paid(1)]


# Commands
def create(**changes: Any) -> CreatePlan:
    command = CreatePlan(
        plan_id=PLAN,
        base_id=BASE,
        case_id=CASE,
        unit_id="unit-1",
        unit_name="昆明高新区",
        province="53",
        programme="national_base",
        approved_on=APPROVED_ON,
        policy=POLICY,
        at=at(APPROVED_ON),
        by="review-consumer",
    )
    return replace(command, **changes)


def mark_due(instant: datetime) -> MarkDue:
    return MarkDue(PLAN, at=instant, by=SCHEDULER)


def approve(n: int, by: str = APPROVER) -> ApproveInstalment:
    return ApproveInstalment(PLAN, f"{PLAN}-{n}", at=at(DUE_ON[n]), by=by)


def confirm(n: int, ref: str = "", by: str = PAYER, **changes: Any) -> ConfirmPayment:
    on = DUE_ON[n] + timedelta(days=10)
    command = ConfirmPayment(
        PLAN, f"{PLAN}-{n}", ref or f"PAY-{n}", paid_on=on, amount_fen=FEN, at=at(on), by=by
    )
    return replace(command, **changes)


def return_payment(n: int, ref: str = "", reason: str = "account closed") -> ReturnPayment:
    instant = at(DUE_ON[n] + timedelta(days=20))
    return ReturnPayment(PLAN, f"{PLAN}-{n}", ref or f"PAY-{n}", reason, at=instant, by=PAYER)


def open_hold(rect: str = "rect-1", policy: FundingPolicy = POLICY) -> OpenHold:
    return OpenHold(PLAN, rect, policy, at=at(date(2023, 2, 1)), by="assessment-consumer")


def release_hold(rect: str = "rect-1") -> ReleaseHold:
    return ReleaseHold(PLAN, rect, at=at(date(2023, 8, 1)), by="assessment-consumer")


def cancel_unpaid(
    reason: ExitReason = ExitReason.REVOKED, policy: FundingPolicy = POLICY
) -> CancelUnpaid:
    on = date(2024, 3, 1)
    return CancelUnpaid(PLAN, reason, on, policy, at=at(on), by="assessment-consumer")


def record_renewal(renewal: str = "renewal-1", policy: FundingPolicy = POLICY) -> RecordRenewal:
    return RecordRenewal(
        PLAN,
        renewal,
        term_start=date(2027, 6, 15),
        term_end=date(2032, 6, 14),
        policy=policy,
        at=at(date(2027, 6, 1)),
        by="review-consumer",
    )


# Designation: a plan from the policy (Notice §4)


def test_designation_creates_a_plan_of_three_yearly_instalments_of_200000_cny() -> None:
    given().when(create()).then(*created())


def test_instalments_fall_due_at_approval_and_on_each_anniversary_29_february_on_28th() -> None:
    events = given().when(create(approved_on=date(2024, 2, 29))).decided()

    due_dates = [e.due_on for e in events if isinstance(e, InstalmentScheduled)]
    assert due_dates == [date(2024, 2, 29), date(2025, 2, 28), date(2026, 2, 28)]


def test_the_schedule_follows_the_policy_numbers_to_the_fen() -> None:
    policy = replace(POLICY, version="odd", instalments=5, amount_fen=3_333_333)

    events = given().when(create(policy=policy)).decided()

    plan = events[0]
    instalments = [e for e in events if isinstance(e, InstalmentScheduled)]
    assert isinstance(plan, SubsidyPlanCreated)
    assert (plan.instalments, plan.amount_fen, plan.total_fen) == (5, 3_333_333, 16_666_665)
    assert [i.instalment_id for i in instalments] == [f"{PLAN}-{n}" for n in range(1, 6)]
    assert sum(i.amount_fen for i in instalments) == plan.total_fen
    assert {plan.policy_version, *(i.policy_version for i in instalments)} == {"odd"}


def test_a_designation_delivered_again_creates_nothing() -> None:
    given(*created()).when(create()).then()


def test_a_plan_id_taken_by_another_base_is_refused() -> None:
    given(*created()).when(create(base_id="base-2")).raises(PlanAlreadyExistsError)


def test_an_unknown_programme_is_refused() -> None:
    given().when(create(programme="county_station")).raises(ProgrammeNotFundedError)


# The province's promise: no policy, no plan; priority project approval (Notice §4)

CALL_OPENED_ON = date(2022, 3, 1)


def not_planned(
    reason: str,
    *,
    programme: Programme = Programme.NATIONAL_BASE,
    province: str = "52",
    version: str | None = None,
    call_opened_on: date | None = CALL_OPENED_ON,
) -> SubsidyNotPlanned:
    return SubsidyNotPlanned(
        plan_id=PLAN,
        base_id=BASE,
        case_id=CASE,
        unit_id="unit-1",
        unit_name="昆明高新区",
        province=province,
        programme=programme,
        approved_on=APPROVED_ON,
        call_opened_on=call_opened_on,
        policy_version=version,
        reason=reason,
    )


GUIZHOU = not_planned(
    "贵州省（52）无海智基地补助政策（以征集开始日 2022-03-01 为准） / "
    "province 52 has no HaiZhi base subsidy policy (as of 2022-03-01, the day the call opened)"
)


def test_a_base_whose_province_has_no_subsidy_policy_is_not_planned_and_says_why() -> None:
    command = create(province="52", policy=NoSubsidy(), call_opened_on=CALL_OPENED_ON)

    given().when(command).then(GUIZHOU)


def test_without_a_call_day_the_reason_names_the_approval_day() -> None:
    (event,) = given().when(create(province="52", policy=NoSubsidy())).decided()

    assert isinstance(event, SubsidyNotPlanned)
    assert "以批准日 2022-06-15 为准" in event.reason
    assert "(as of 2022-06-15, the approval day)" in event.reason


def test_a_station_whose_province_configures_no_station_subsidy_is_not_planned() -> None:
    command = create(
        programme="provincial_workstation",
        policy=NoSubsidy("53-2022.1"),
        call_opened_on=CALL_OPENED_ON,
    )

    given().when(command).then(
        not_planned(
            "云南省（53）政策 53-2022.1 未规定海智工作站补助 / "
            "province 53's policy 53-2022.1 configures no HaiZhi work-station subsidy",
            programme=Programme.PROVINCIAL_WORKSTATION,
            province="53",
            version="53-2022.1",
        )
    )


def test_a_station_under_a_station_subsidy_gets_its_plan_but_no_priority_approval() -> None:
    policy = replace(POLICY, version="53-2030.1", amount_fen=5_000_000, instalments=2)
    station = replace(policy, priority_project_approval=True)  # for bases only (Notice §4)

    events = given().when(create(programme="provincial_workstation", policy=station)).decided()

    plan = events[0]
    assert isinstance(plan, SubsidyPlanCreated)
    assert (plan.programme, plan.total_fen, plan.policy_version) == (
        Programme.PROVINCIAL_WORKSTATION,
        10_000_000,
        "53-2030.1",
    )
    assert not [e for e in events if isinstance(e, PriorityApprovalRecorded)]


def test_priority_project_approval_is_recorded_when_the_province_promises_it() -> None:
    policy = replace(POLICY, priority_project_approval=True)

    events = given().when(create(policy=policy, call_opened_on=CALL_OPENED_ON)).decided()

    assert events[-1] == PriorityApprovalRecorded(PLAN, BASE, CASE, "53", "53-2022.1")
    plan = events[0]
    assert isinstance(plan, SubsidyPlanCreated)
    assert plan.call_opened_on == CALL_OPENED_ON


def test_a_designation_not_planned_delivered_again_changes_nothing() -> None:
    given(GUIZHOU).when(create(province="52", policy=NoSubsidy())).then()
    given(GUIZHOU).when(create(base_id="base-2")).raises(PlanAlreadyExistsError)


@pytest.mark.parametrize(
    "command",
    [mark_due(at(DUE_ON[2])), open_hold(), release_hold(), cancel_unpaid(), record_renewal()],
    ids=lambda c: type(c).__name__,
)
def test_later_facts_about_a_base_not_planned_change_nothing(command: Command) -> None:
    given(GUIZHOU).when(command).then()


@pytest.mark.parametrize(
    "command", [approve(1), confirm(1), return_payment(1)], ids=lambda c: type(c).__name__
)
def test_finance_cannot_act_on_a_base_not_planned(command: Command) -> None:
    refused = given(GUIZHOU).when(command).raises(SubsidyNotPlannedError)
    assert "贵州省（52）无海智基地补助政策" in str(refused)


def test_a_designation_without_a_base_id_is_refused() -> None:
    refused = given().when(create(base_id=" ")).raises(BlankFieldError)
    assert refused.context["field"] == "base_id"


def test_a_command_without_an_actor_is_refused() -> None:
    given(*created(), due(1)).when(approve(1, by="")).raises(BlankFieldError)


@pytest.mark.parametrize(
    "command",
    [mark_due(at(DUE_ON[1])), approve(1), confirm(1), open_hold(), cancel_unpaid()],
    ids=lambda c: type(c).__name__,
)
def test_commands_to_a_plan_that_does_not_exist_are_refused(command: Command) -> None:
    given().when(command).raises(PlanNotFoundError)


# Falling due: the scheduler's clock, China Standard Time


def test_the_first_instalment_falls_due_when_the_approval_day_begins_in_beijing() -> None:
    midnight_in_beijing = datetime(2022, 6, 14, 16, 0, tzinfo=UTC)

    given(*created()).when(mark_due(midnight_in_beijing - timedelta(seconds=1))).then()
    given(*created()).when(mark_due(midnight_in_beijing)).then(due(1))


def test_marking_due_again_changes_nothing() -> None:
    given(*created(), due(1)).when(mark_due(at(date(2022, 12, 31)))).then()


def test_instalments_whose_dates_passed_meanwhile_fall_due_together() -> None:
    given(*created()).when(mark_due(at(date(2024, 7, 1)))).then(due(1), due(2), due(3))


def test_the_next_instalment_falls_due_on_the_anniversary() -> None:
    given(*first_paid()).when(mark_due(at(DUE_ON[2]))).then(due(2))


# Approval by a finance approver


def test_a_due_instalment_is_approved_by_a_finance_approver() -> None:
    given(*created(), due(1)).when(approve(1)).then(approved(1))


def test_the_same_approval_again_changes_nothing() -> None:
    given(*created(), due(1), approved(1)).when(approve(1)).then()


def test_a_second_approver_cannot_approve_an_approved_instalment() -> None:
    given(*created(), due(1), approved(1)).when(approve(1, by="approver-zhao")).raises(
        InstalmentAlreadyApprovedError
    )


def test_an_instalment_not_yet_due_cannot_be_approved() -> None:
    given(*created()).when(approve(2)).raises(InstalmentNotDueError)


def test_a_paid_instalment_cannot_be_approved_again() -> None:
    given(*first_paid()).when(approve(1)).raises(InstalmentAlreadyPaidError)


def test_an_unknown_instalment_is_not_found() -> None:
    command = replace(approve(1), instalment_id=f"{PLAN}-4")
    given(*created(), due(1)).when(command).raises(InstalmentNotFoundError)


def test_a_refusal_names_the_command_and_the_state() -> None:
    refused = given(*created()).when(approve(2)).raises(InstalmentNotDueError)

    assert refused.context["command"] == "ApproveInstalment"
    assert "scheduled, due on 2023-06-15" in refused.detail


# Payment, confirmed by someone other than the approver


def test_finance_confirms_the_payment_of_an_approved_instalment() -> None:
    given(*created(), due(1), approved(1)).when(confirm(1)).then(paid(1))


def test_approver_cannot_confirm_own_approval() -> None:
    given(*created(), due(1), approved(1)).when(confirm(1, by=APPROVER)).raises(
        SeparationOfDutiesError
    )


def test_no_double_payment_on_a_repeated_confirmation() -> None:
    given(*first_paid()).when(confirm(1)).then()
    given(*first_paid()).when(confirm(1, by="cashier-zhou")).then()


def test_a_repeated_confirmation_with_another_date_or_amount_is_refused() -> None:
    later = DUE_ON[1] + timedelta(days=11)
    given(*first_paid()).when(confirm(1, paid_on=later, at=at(later))).raises(
        ConflictingConfirmationError
    )
    given(*first_paid()).when(confirm(1, amount_fen=FEN + 1)).raises(ConflictingConfirmationError)


def test_a_paid_instalment_refuses_another_payment_reference() -> None:
    given(*first_paid()).when(confirm(1, ref="PAY-OTHER")).raises(InstalmentAlreadyPaidError)


def test_an_instalment_must_be_approved_before_it_is_paid() -> None:
    given(*created(), due(1)).when(confirm(1)).raises(InstalmentNotApprovedError)
    given(*created()).when(confirm(1)).raises(InstalmentNotDueError)


def test_one_payment_reference_cannot_pay_two_instalments() -> None:
    history = [*first_paid(), due(2), approved(2)]
    given(*history).when(confirm(2, ref="PAY-1")).raises(PaymentReferenceInUseError)


@pytest.mark.parametrize("amount", [FEN - 1, FEN + 1, 0])
def test_the_amount_paid_must_be_the_instalment_amount_to_the_fen(amount: int) -> None:
    given(*created(), due(1), approved(1)).when(confirm(1, amount_fen=amount)).raises(
        PaymentAmountMismatchError
    )


def test_a_float_amount_is_refused_even_when_equal_in_value() -> None:
    as_float = cast(int, float(FEN))
    given(*created(), due(1), approved(1)).when(confirm(1, amount_fen=as_float)).raises(
        PaymentAmountMismatchError
    )


def test_a_payment_dated_after_today_in_beijing_is_refused() -> None:
    today = DUE_ON[1] + timedelta(days=10)
    tomorrow = today + timedelta(days=1)
    given(*created(), due(1), approved(1)).when(confirm(1, paid_on=tomorrow, at=at(today))).raises(
        PaymentDateInFutureError
    )


def test_a_confirmation_without_a_payment_reference_is_refused() -> None:
    given(*created(), due(1), approved(1)).when(confirm(1, payment_ref="  ")).raises(
        BlankFieldError
    )


# Returned payments


def test_a_bounced_payment_returns_the_instalment_to_due() -> None:
    given(*first_paid()).when(return_payment(1)).then(returned(1))


def test_returned_payment_can_be_re_approved_and_paid() -> None:
    history = [*first_paid(), returned(1)]
    given(*history).when(approve(1)).then(approved(1))
    given(*history, approved(1)).when(confirm(1, ref="PAY-1-BIS")).then(paid(1, ref="PAY-1-BIS"))


def test_a_returned_payment_cannot_be_confirmed_again() -> None:
    history = [*first_paid(), returned(1), approved(1)]
    given(*history).when(confirm(1)).raises(PaymentReferenceReturnedError)


def test_reporting_the_same_bounce_again_changes_nothing() -> None:
    given(*first_paid(), returned(1)).when(return_payment(1)).then()
    given(*first_paid(), returned(1), approved(1)).when(return_payment(1)).then()


def test_a_return_for_another_payment_reference_is_refused() -> None:
    given(*first_paid()).when(return_payment(1, ref="PAY-X")).raises(PaymentReferenceMismatchError)


def test_only_a_paid_instalment_can_be_returned() -> None:
    given(*created(), due(1), approved(1)).when(return_payment(1)).raises(InstalmentNotPaidError)


def test_a_return_needs_a_reason() -> None:
    given(*first_paid()).when(return_payment(1, reason="")).raises(BlankFieldError)


def test_a_payment_returned_during_a_hold_is_held() -> None:
    given(*first_paid(), hold_opened()).when(return_payment(1)).then(returned(1), held(1))


def test_a_payment_returned_after_revocation_is_cancelled_not_paid_again() -> None:
    history = [*first_paid(), cancelled(2), cancelled(3), closed()]
    given(*history).when(return_payment(1)).then(returned(1), cancelled(1))


# Holds while the base rectifies (Art. 12)


def test_a_rectification_order_holds_every_due_or_approved_unpaid_instalment() -> None:
    history = [*first_paid(), due(2), approved(2), due(3)]
    given(*history).when(open_hold()).then(hold_opened(), held(2), held(3))


def test_a_rectification_order_holds_nothing_yet_when_nothing_is_due() -> None:
    given(*first_paid()).when(open_hold()).then(hold_opened())


def test_an_instalment_falling_due_during_a_hold_is_held() -> None:
    given(*first_paid(), hold_opened()).when(mark_due(at(DUE_ON[2]))).then(due(2), held(2))


def test_hold_and_release_on_rectification() -> None:
    history = [*created(), due(1), approved(1)]
    given(*history).when(open_hold()).then(hold_opened(), held(1))
    given(*history, hold_opened(), held(1)).when(release_hold()).then(hold_released(), released(1))


def test_a_released_instalment_needs_approval_again() -> None:
    history = [*created(), due(1), approved(1), hold_opened(), held(1), hold_released()]
    given(*history, released(1)).when(confirm(1)).raises(InstalmentNotApprovedError)
    given(*history, released(1)).when(approve(1)).then(approved(1))


def test_a_held_instalment_can_be_neither_approved_nor_paid() -> None:
    history = [*created(), due(1), approved(1), hold_opened(), held(1)]
    given(*history).when(approve(1)).raises(InstalmentOnHoldError)
    given(*history).when(confirm(1)).raises(InstalmentOnHoldError)


def test_instalments_stay_held_until_every_open_rectification_is_accepted() -> None:
    history = [*created(), due(1), hold_opened("rect-1"), held(1, "rect-1")]
    given(*history).when(open_hold("rect-2")).then(hold_opened("rect-2"))

    both = [*history, hold_opened("rect-2")]
    given(*both).when(release_hold("rect-1")).then(hold_released("rect-1"))
    given(*both, hold_released("rect-1")).when(release_hold("rect-2")).then(
        hold_released("rect-2"), released(1, "rect-2")
    )


def test_a_rectification_order_delivered_again_changes_nothing() -> None:
    given(*created(), due(1), hold_opened(), held(1)).when(open_hold()).then()


def test_an_acceptance_without_an_open_hold_changes_nothing() -> None:
    given(*created(), due(1)).when(release_hold()).then()
    given(*created(), due(1), hold_opened(), held(1), hold_released(), released(1)).when(
        release_hold()
    ).then()


def test_a_policy_without_holds_pays_on_through_a_rectification() -> None:
    policy = replace(POLICY, hold_during_rectification=False)
    given(*created(), due(1), approved(1)).when(open_hold(policy=policy)).then()


# Revocation (Art. 13) and expiry (Art. 14)


def test_revocation_cancels_unpaid_instalments_only() -> None:
    history = [*first_paid(), due(2), approved(2)]
    given(*history).when(cancel_unpaid()).then(cancelled(2), cancelled(3), closed())


def test_expiry_cancels_held_instalments_too() -> None:
    history = [*created(), due(1), hold_opened(), held(1)]
    given(*history).when(cancel_unpaid(ExitReason.EXPIRED)).then(
        cancelled(1, ExitReason.EXPIRED),
        cancelled(2, ExitReason.EXPIRED),
        cancelled(3, ExitReason.EXPIRED),
        closed(ExitReason.EXPIRED),
    )


def test_an_exit_delivered_again_changes_nothing() -> None:
    given(*first_paid(), cancelled(2), cancelled(3), closed()).when(cancel_unpaid()).then()


def test_a_closed_plan_refuses_approvals_and_renewals() -> None:
    history = [*created(), due(1), cancelled(1), cancelled(2), cancelled(3), closed()]
    given(*history).when(approve(1)).raises(PlanClosedError)
    given(*history).when(record_renewal()).raises(PlanClosedError)


def test_a_cancelled_instalment_cannot_be_paid() -> None:
    history = [*created(), due(1), cancelled(1), cancelled(2), cancelled(3), closed()]
    given(*history).when(confirm(1)).raises(InstalmentCancelledError)


@pytest.mark.parametrize(
    "command",
    [mark_due(at(date(2025, 1, 1))), open_hold("rect-9"), release_hold("rect-9")],
    ids=lambda c: type(c).__name__,
)
def test_clock_ticks_and_late_rectification_facts_change_nothing_on_a_closed_plan(
    command: Command,
) -> None:
    given(*first_paid(), cancelled(2), cancelled(3), closed()).when(command).then()


def test_a_payment_confirmed_again_after_closure_is_still_not_a_second_payment() -> None:
    given(*first_paid(), cancelled(2), cancelled(3), closed()).when(confirm(1)).then()


def test_a_policy_that_keeps_unpaid_instalments_records_the_exit_only() -> None:
    keep = replace(POLICY, version="keep", cancel_unpaid_on_exit=False)
    exit_recorded = BaseExitRecorded(
        PLAN, BASE, CASE, ExitReason.REVOKED, date(2024, 3, 1), policy_version="keep"
    )
    history = [*created(), due(1)]
    given(*history).when(cancel_unpaid(policy=keep)).then(exit_recorded)
    given(*history, exit_recorded).when(cancel_unpaid(policy=keep)).then()
    given(*history, exit_recorded).when(approve(1)).then(approved(1))


# Renewal (Art. 14)


def test_a_renewal_is_recorded_without_new_instalments() -> None:
    given(*first_paid()).when(record_renewal()).then(
        PlanTermRenewed(
            PLAN,
            BASE,
            CASE,
            renewal_id="renewal-1",
            term_start=date(2027, 6, 15),
            term_end=date(2032, 6, 14),
            new_plan_on_renewal=False,
            policy_version="53-2022.1",
        )
    )


def test_a_renewal_says_when_the_policy_wants_a_new_plan() -> None:
    policy = replace(POLICY, version="renew", new_plan_on_renewal=True)
    (event,) = given(*created()).when(record_renewal(policy=policy)).decided()

    assert isinstance(event, PlanTermRenewed)
    assert (event.new_plan_on_renewal, event.policy_version) == (True, "renew")


def test_a_renewal_delivered_again_changes_nothing() -> None:
    renewed = given(*created()).when(record_renewal()).decided()
    given(*created(), *renewed).when(record_renewal()).then()


def test_a_renewal_ending_before_it_starts_is_refused() -> None:
    command = replace(record_renewal(), term_end=date(2027, 6, 1))
    given(*created()).when(command).raises(InvalidTermError)


# Money is exact


def run(*commands: Command) -> list[Event]:
    """Decide each command on the state the previous ones left: a life, played through."""
    history: list[Event] = []
    for command in commands:
        history += decider.decide(command, decider.fold(history))
    return history


def test_money_stays_integer_fen_through_a_whole_life() -> None:
    history = run(
        create(),
        mark_due(at(DUE_ON[1])),
        approve(1),
        confirm(1),
        return_payment(1),
        approve(1),
        confirm(1, ref="PAY-1-BIS"),
        mark_due(at(DUE_ON[2])),
        open_hold(),
        release_hold(),
        approve(2),
        confirm(2),
        cancel_unpaid(ExitReason.EXPIRED),
    )

    amounts = [e.amount_fen for e in history if hasattr(e, "amount_fen")]
    assert len(amounts) == 16  # the plan, 3 scheduled, 11 instalment moves, 1 cancellation
    assert all(type(amount) is int for amount in amounts)
    paid_fen = sum(e.amount_fen for e in history if isinstance(e, InstalmentPaid))
    returned_fen = sum(e.amount_fen for e in history if isinstance(e, InstalmentReturned))
    cancelled_fen = sum(e.amount_fen for e in history if isinstance(e, InstalmentCancelled))
    assert (paid_fen - returned_fen, cancelled_fen) == (40_000_000, 20_000_000)
    assert history[-1] == closed(ExitReason.EXPIRED)
