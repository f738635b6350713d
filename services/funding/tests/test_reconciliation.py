"""Reconciliation: given plans' events, then figures per base, per year and in total, to the fen."""

from __future__ import annotations

import contextlib
import random
from collections import defaultdict
from dataclasses import replace
from datetime import date, datetime, timedelta

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
from services.funding.domain.events import (
    Event,
    ExitReason,
    InstalmentApproved,
    InstalmentCancelled,
    InstalmentDue,
    InstalmentHeld,
    InstalmentPaid,
    InstalmentReleased,
    InstalmentReturned,
    InstalmentScheduled,
)
from services.funding.domain.policy import FirstDue, FundingPolicy, NoSubsidy
from services.funding.domain.reconciliation import (
    Figures,
    Reconciliation,
    Tally,
    reconcile,
    reconcile_plans,
)
from services.funding.domain.subsidy_plan import NoPlan, NotPlanned, Paid, State, decider
from shared.cst import start_of_day
from shared.decider import DomainError

POLICY = FundingPolicy(
    version="53-2022.1",
    instalments=3,
    amount_fen=20_000_000,
    first_due=FirstDue.APPROVAL,
    hold_during_rectification=True,
    cancel_unpaid_on_exit=True,
    new_plan_on_renewal=False,
)
FEN = POLICY.amount_fen
APPROVER, PAYER = "approver-wang", "cashier-li"


def at(day: date) -> datetime:
    return start_of_day(day) + timedelta(hours=10)


def tally(count: int, amount_fen: int = FEN) -> Tally:
    return Tally(count, count * amount_fen)


class Ledger:
    """Plays commands through the decider, one state per plan, and keeps every event."""

    def __init__(self) -> None:
        self.states: dict[str, State] = {}
        self.events: list[Event] = []

    def play(self, *commands: Command) -> Ledger:
        for command in commands:
            state = self.states.get(command.plan_id, decider.initial_state())
            new = decider.decide(command, state)
            self.states[command.plan_id] = decider.fold(new, state)
            self.events += new
        return self

    def attempt(self, command: Command) -> None:
        with contextlib.suppress(DomainError):  # a refused command appends nothing
            self.play(command)


def create(plan: str, base: str, approved_on: date, policy: FundingPolicy = POLICY) -> CreatePlan:
    return CreatePlan(
        plan, base, f"case-{base}", "unit", "单位", "53", "national_base", approved_on, policy,
        at=at(approved_on), by="review-consumer",
    )  # fmt: skip


def pay(plan: str, n: int, day: date, ref: str = "") -> list[Command]:
    instalment = f"{plan}-{n}"
    return [
        MarkDue(plan, at(day), "scheduler"),
        ApproveInstalment(plan, instalment, at(day), APPROVER),
        ConfirmPayment(plan, instalment, ref or f"{instalment}-PAY", day, FEN, at(day), PAYER),
    ]


def bounce(plan: str, n: int, day: date, ref: str = "") -> ReturnPayment:
    ref = ref or f"{plan}-{n}-PAY"
    return ReturnPayment(plan, f"{plan}-{n}", ref, "bank rejected", at(day), PAYER)


def test_an_empty_log_reconciles_to_nothing() -> None:
    assert reconcile([]) == Reconciliation(bases=(), total=Figures())


def test_a_new_plan_is_all_planned_and_still_scheduled() -> None:
    ledger = Ledger().play(create("plan-1", "base-1", date(2022, 6, 15)))

    result = reconcile(ledger.events)

    assert result.total == Figures(planned=tally(3), scheduled=tally(3))
    (base,) = result.bases
    assert [(y.year, y.figures) for y in base.years] == [
        (year, Figures(planned=tally(1), scheduled=tally(1))) for year in (2022, 2023, 2024)
    ]


def test_a_base_not_planned_and_a_priority_approval_count_no_money() -> None:
    promised = replace(POLICY, priority_project_approval=True)
    guizhou = replace(create("plan-gz", "base-gz", date(2022, 6, 15)), province="52")
    revoked = date(2024, 1, 1)
    ledger = Ledger().play(
        create("plan-1", "base-1", date(2022, 6, 15), promised),
        replace(guizhou, policy=NoSubsidy()),
        MarkDue("plan-gz", at(date(2023, 6, 15)), "scheduler"),
        CancelUnpaid("plan-gz", ExitReason.REVOKED, revoked, POLICY, at(revoked), "assessment"),
    )

    result = reconcile(ledger.events)

    assert [b.base_id for b in result.bases] == ["base-1"]
    assert result.total == Figures(planned=tally(3), scheduled=tally(3))
    assert result == reconcile_plans(ledger.states.values())


def test_each_instalment_counts_in_the_year_it_falls_due_whenever_it_is_paid() -> None:
    ledger = Ledger().play(create("plan-1", "base-1", date(2022, 12, 20)))
    ledger.play(*pay("plan-1", 1, date(2023, 1, 10)))

    (base,) = reconcile(ledger.events).bases

    assert base.years[0].year == 2022
    assert base.years[0].figures == Figures(planned=tally(1), paid=tally(1))


def test_a_payment_returned_and_paid_again_counts_once_paid_and_once_returned() -> None:
    ledger = Ledger().play(create("plan-1", "base-1", date(2022, 6, 15)))
    ledger.play(*pay("plan-1", 1, date(2022, 6, 20)), bounce("plan-1", 1, date(2022, 6, 25)))
    ledger.play(*pay("plan-1", 1, date(2022, 7, 1), ref="PAY-AGAIN"))

    total = reconcile(ledger.events).total

    assert total == Figures(planned=tally(3), scheduled=tally(2), paid=tally(1), returned=tally(1))


def test_held_cancelled_and_paid_money_is_reconciled_per_base_and_in_total() -> None:
    ledger = Ledger().play(
        create("plan-a", "base-a", date(2022, 6, 15)),
        create("plan-b", "base-b", date(2022, 9, 1)),
        *pay("plan-b", 1, date(2022, 9, 5)),
        MarkDue("plan-a", at(date(2023, 7, 1)), "scheduler"),
        ApproveInstalment("plan-a", "plan-a-1", at(date(2023, 7, 1)), APPROVER),
        OpenHold("plan-a", "rect-1", POLICY, at(date(2023, 7, 2)), "assessment-consumer"),
        CancelUnpaid(
            "plan-b", ExitReason.REVOKED, date(2024, 1, 5), POLICY, at(date(2024, 1, 5)), "c"
        ),
    )

    result = reconcile(ledger.events)

    base_a, base_b = result.bases
    assert (base_a.base_id, base_a.total) == (
        "base-a",
        Figures(planned=tally(3), held=tally(2), scheduled=tally(1)),
    )
    assert (base_b.base_id, base_b.total) == (
        "base-b",
        Figures(planned=tally(3), paid=tally(1), cancelled=tally(2)),
    )
    assert result.total == base_a.total + base_b.total
    assert result.total.balanced


def test_a_base_with_two_plans_adds_them_up_year_by_year() -> None:
    ledger = Ledger().play(
        create("plan-1", "base-1", date(2022, 6, 15)),
        create("plan-2", "base-1", date(2024, 1, 1), replace(POLICY, amount_fen=1)),
    )

    (base,) = reconcile(ledger.events).bases

    year_2024 = next(y.figures for y in base.years if y.year == 2024)
    assert year_2024.planned == Tally(2, FEN + 1)
    assert base.total.planned == Tally(6, 3 * FEN + 3)


def test_folded_states_and_events_reconcile_alike() -> None:
    ledger = Ledger().play(create("plan-1", "base-1", date(2022, 6, 15)))
    ledger.play(*pay("plan-1", 1, date(2022, 6, 20)))

    assert reconcile_plans(ledger.states.values()) == reconcile(ledger.events)


# Any life the rules allow, played at random: the figures always equal the sum of the events.

STOCK_AFTER: dict[type, str] = {
    InstalmentScheduled: "scheduled",
    InstalmentDue: "due",
    InstalmentApproved: "approved",
    InstalmentHeld: "held",
    InstalmentReleased: "due",
    InstalmentPaid: "paid",
    InstalmentReturned: "due",
    InstalmentCancelled: "cancelled",
}


def random_life(seed: int) -> list[Event]:
    rng = random.Random(seed)
    amount = rng.choice([20_000_000, 3_333_333, 1, 987_654_321])
    policy = replace(POLICY, amount_fen=amount, cancel_unpaid_on_exit=rng.random() < 0.8)
    plans = {"plan-1": "base-1", "plan-2": "base-2", "plan-3": "base-1"}
    day = date(2022, 1, 1)
    ledger = Ledger()
    for plan, base in plans.items():
        ledger.play(create(plan, base, day + timedelta(days=rng.randint(0, 700)), policy))
    for step in range(300):
        day += timedelta(days=rng.randint(0, 4))
        plan = rng.choice(list(plans))
        instalment = f"{plan}-{rng.randint(1, 3)}"
        who = rng.choice([APPROVER, PAYER, "approver-zhao"])
        fen = amount + rng.choice([0] * 9 + [1])
        ref = rng.choice(["PAY-A", f"PAY-{step}", f"PAY-{step}"])
        paid_ref = paid_under(ledger.states[plan], instalment) or ref
        rectification = rng.choice(["rect-1", "rect-2"])
        renewed = day + timedelta(days=1825)
        options: list[Command] = [
            MarkDue(plan, at(day), "scheduler"),
            ApproveInstalment(plan, instalment, at(day), who),
            ConfirmPayment(plan, instalment, ref, day, fen, at(day), who),
            ReturnPayment(plan, instalment, paid_ref, "bank rejected", at(day), who),
            OpenHold(plan, rectification, policy, at(day), "assessment-consumer"),
            ReleaseHold(plan, rectification, at(day), "assessment-consumer"),
            CancelUnpaid(plan, ExitReason.EXPIRED, day, policy, at(day), "assessment-consumer"),
            RecordRenewal(plan, "renewal-1", day, renewed, policy, at(day), "review-consumer"),
        ]
        ledger.attempt(rng.choices(options, weights=[8, 14, 14, 5, 1, 4, 0.3, 1])[0])
    return ledger.events


def paid_under(state: State, instalment_id: str) -> str | None:
    if isinstance(state, NoPlan | NotPlanned):
        return None
    stage = next(i.stage for i in state.instalments if i.instalment_id == instalment_id)
    return stage.payment_ref if isinstance(stage, Paid) else None


def figures_by_summing_events(events: list[Event]) -> dict[tuple[str, int], dict[str, Tally]]:
    """An independent count: each instalment stands where its latest event put it."""
    where: dict[str, tuple[str, int, str, int]] = {}  # instalment -> base, year, stock, fen
    cells: defaultdict[tuple[str, int], defaultdict[str, Tally]] = defaultdict(
        lambda: defaultdict(Tally)
    )
    for event in events:
        if isinstance(event, InstalmentScheduled):
            where[event.instalment_id] = (event.base_id, event.due_on.year, "", event.amount_fen)
        if type(event) in STOCK_AFTER:
            base, year, _, fen = where[getattr(event, "instalment_id")]  # noqa: B009
            where[getattr(event, "instalment_id")] = (base, year, STOCK_AFTER[type(event)], fen)  # noqa: B009
        if isinstance(event, InstalmentScheduled | InstalmentReturned):
            base, year, _, fen = where[event.instalment_id]
            flow = "planned" if isinstance(event, InstalmentScheduled) else "returned"
            cells[base, year][flow] += Tally(1, fen)
    for base, year, stock, fen in where.values():
        cells[base, year][stock] += Tally(1, fen)
    return {cell: dict(tallies) for cell, tallies in cells.items()}


@pytest.mark.parametrize("seed", range(40))
def test_reconciliation_totals_equal_the_sum_of_the_events(seed: int) -> None:
    events = random_life(seed)

    result = reconcile(events)

    expected = figures_by_summing_events(events)
    lines = {(b.base_id, y.year): y.figures for b in result.bases for y in b.years}
    assert lines.keys() == expected.keys()
    for cell, figures in lines.items():
        assert figures == Figures(**expected[cell]), cell
        assert figures.balanced
    paid_ever = sum(
        (Tally(1, e.amount_fen) for e in events if isinstance(e, InstalmentPaid)), Tally()
    )
    assert result.total.paid + result.total.returned == paid_ever
    assert result.total == sum((b.total for b in result.bases), Figures())


@pytest.mark.parametrize("seed", range(40))
def test_no_instalment_is_paid_twice_nor_by_its_approver(seed: int) -> None:
    paid: set[str] = set()
    preparer: dict[str, str] = {}
    for event in random_life(seed):
        match event:
            case InstalmentApproved():
                preparer[event.instalment_id] = event.prepared_by
            case InstalmentPaid():
                assert event.instalment_id not in paid, "paid twice without a return between"
                assert event.confirmed_by != preparer[event.instalment_id]
                paid.add(event.instalment_id)
            case InstalmentReturned():
                paid.remove(event.instalment_id)
            case _:
                pass


def test_the_random_lives_reach_every_stock_and_flow() -> None:
    total = sum((reconcile(random_life(seed)).total for seed in range(40)), Figures())

    for stock in ("scheduled", "due", "approved", "held", "paid", "cancelled", "returned"):
        assert getattr(total, stock).count > 0, stock
