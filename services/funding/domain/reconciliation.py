"""Reconciliation: where every planned fen of the subsidy stands, per base, per year and in total.

A year is the calendar year of an instalment's `due_on` (China Standard Time), whenever it was
paid. Each figure is a `Tally`: a count of instalments and their amount in integer fen.

Stocks — each planned instalment is in exactly one, as of the last event folded:
- `scheduled`: not yet fallen due (its date may have passed if the scheduler has not run yet);
- `due`: due and waiting for approval, not held — also after a release or a returned payment;
- `approved`: approved by finance, waiting for payment;
- `held`: withheld while the base is under an open rectification order;
- `paid`: paid and not returned since;
- `cancelled`: cancelled when the base was revoked or expired.
So `planned` (every `InstalmentScheduled`) = scheduled + due + approved + held + paid + cancelled.

Flow — `returned`: every payment that bounced, ever (`InstalmentReturned`). An instalment paid,
returned and paid again counts once in `paid` and once in `returned`, so the sum of every
`InstalmentPaid` = paid + returned.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, fields
from itertools import groupby

from services.funding.domain.events import Event
from services.funding.domain.subsidy_plan import (
    ActivePlan,
    Approved,
    Cancelled,
    ClosedPlan,
    Due,
    Held,
    Instalment,
    Paid,
    Scheduled,
    State,
    evolve,
    initial_state,
)


@dataclass(frozen=True, slots=True)
class Tally:
    count: int = 0
    amount_fen: int = 0

    def __add__(self, other: Tally) -> Tally:
        return Tally(self.count + other.count, self.amount_fen + other.amount_fen)


@dataclass(frozen=True, slots=True)
class Figures:
    planned: Tally = Tally()
    scheduled: Tally = Tally()
    due: Tally = Tally()
    approved: Tally = Tally()
    held: Tally = Tally()
    paid: Tally = Tally()
    cancelled: Tally = Tally()
    returned: Tally = Tally()

    def __add__(self, other: Figures) -> Figures:
        return Figures(*(getattr(self, f.name) + getattr(other, f.name) for f in fields(self)))

    @property
    def balanced(self) -> bool:
        """Every planned instalment stands in exactly one stock."""
        stocks = (self.scheduled, self.due, self.approved, self.held, self.paid, self.cancelled)
        return sum(stocks, Tally()) == self.planned


@dataclass(frozen=True, slots=True)
class YearFigures:
    year: int
    figures: Figures


@dataclass(frozen=True, slots=True)
class BaseFigures:
    base_id: str
    years: tuple[YearFigures, ...]
    total: Figures


@dataclass(frozen=True, slots=True)
class Reconciliation:
    bases: tuple[BaseFigures, ...]
    total: Figures


def reconcile(events: Iterable[Event]) -> Reconciliation:
    """Reconcile the plans these events build; each plan's events must come in stream order."""
    plans: dict[str, State] = {}
    for event in events:
        plans[event.plan_id] = evolve(plans.get(event.plan_id, initial_state()), event)
    return reconcile_plans(plans.values())


def reconcile_plans(plans: Iterable[State]) -> Reconciliation:
    """Reconcile folded plan states (a base may have several plans, e.g. one per term)."""
    cells: defaultdict[tuple[str, int], Figures] = defaultdict(Figures)
    for plan in plans:
        if not isinstance(plan, ActivePlan | ClosedPlan):
            continue  # no plan (yet), or not planned: nothing promised, nothing to count
        for inst in plan.instalments:
            cells[plan.base_id, inst.due_on.year] += _figures(inst)
    bases = tuple(
        _base(base_id, [YearFigures(year, figures) for (_, year), figures in rows])
        for base_id, rows in groupby(sorted(cells.items()), key=lambda cell: cell[0][0])
    )
    return Reconciliation(bases, sum((b.total for b in bases), Figures()))


def _base(base_id: str, years: list[YearFigures]) -> BaseFigures:
    return BaseFigures(base_id, tuple(years), sum((y.figures for y in years), Figures()))


def _figures(inst: Instalment) -> Figures:
    one = Tally(1, inst.amount_fen)
    bounced = len(inst.returned_refs)
    returned = Tally(bounced, bounced * inst.amount_fen)
    match inst.stage:
        case Scheduled():
            return Figures(planned=one, scheduled=one, returned=returned)
        case Due():
            return Figures(planned=one, due=one, returned=returned)
        case Approved():
            return Figures(planned=one, approved=one, returned=returned)
        case Held():
            return Figures(planned=one, held=one, returned=returned)
        case Paid():
            return Figures(planned=one, paid=one, returned=returned)
        case Cancelled():
            return Figures(planned=one, cancelled=one, returned=returned)
