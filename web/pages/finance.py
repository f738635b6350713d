"""The finance officers' pages: subsidy plans (补助资金), their instalments, the reconciliation.

Yunnan's subsidy (Notice §4: 200,000 CNY a year for three years) is paid by instalments of a
plan the funding service draws up once a base is approved (批复). One finance officer approves
an instalment that has fallen due; another confirms its payment (拨付) with the bank's
reference, the day and the amount — the service refuses the approver (separation of duties).
An instalment is held (暂缓拨付) while the base's rectification (整改) order is open. Money is
integer fen throughout; what an officer types in 元 is converted with `Decimal`, exactly.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from fastapi import APIRouter
from fastapi.responses import Response
from starlette.datastructures import FormData

from shared.auth import Role

from ..backend import Json
from ..fields import Id, Refusal, Typed
from ..i18n import N_
from ..paging import PAGE, every
from ..visit import CurrentVisit, Form, NavItem, Visit

router = APIRouter()
NAV: list[NavItem] = [
    NavItem(N_("Subsidies"), "/finance/plans", frozenset({Role.FINANCE})),
    NavItem(N_("Reconciliation"), "/finance/reconciliation", frozenset({Role.FINANCE})),
]

#: Who reads plans and the reconciliation (the funding service lets auditors read them too);
#: only finance acts on an instalment.
READERS = (Role.FINANCE, Role.AUDITOR)

STAGES = {
    "scheduled": N_("Not yet due"),
    "due": N_("Due: awaiting approval"),
    "approved": N_("Approved: awaiting payment"),
    "paid": N_("Paid"),
    "held": N_("On hold (rectification)"),
    "cancelled": N_("Cancelled"),
}
#: A sign beside each stage's words, so that no stage is told by colour alone.
STAGE_SIGNS = {
    "scheduled": "○",
    "due": "●",
    "approved": "◐",
    "paid": "✓",
    "held": "⏸",
    "cancelled": "✗",
}
PLAN_STATUSES = {"active": N_("Plan in force"), "closed": N_("Plan closed")}
EXIT_REASONS = {
    "revoked": N_("Plan ended: designation revoked"),
    "expired": N_("Plan ended: designation expired"),
}
PROGRAMMES = {
    "national_base": N_("CAST HaiZhi Plan work base (national)"),
    "provincial_workstation": N_("Provincial CAST HaiZhi work station"),
}
#: The reconciliation's figures, in the order of the service's CSV.
FIGURES = {
    "planned": N_("Planned"),
    "scheduled": N_("Not yet due"),
    "due": N_("Due"),
    "approved": N_("Approved, unpaid"),
    "held": N_("On hold"),
    "paid": N_("Paid"),
    "cancelled": N_("Cancelled"),
    "returned": N_("Payments returned"),
}
_STOCKS = ("scheduled", "due", "approved", "held", "paid", "cancelled")
#: What a payment's forms are refused for.
PAYMENT_REF = Refusal(
    N_("Enter the payment reference of the bank transfer (at most 100 characters)."),
    N_("Copy the reference from the bank's record of the transfer and send again."),
)
PAID_ON = Refusal(
    N_("The payment date is not a date."),
    N_("Enter the day of the transfer as YYYY-MM-DD (Beijing time), e.g. 2022-07-01."),
)
AMOUNT_PAID = Refusal(
    N_("The amount paid is not an amount in yuan."),
    N_("Enter the amount in yuan (元) with at most two decimals, e.g. 200000 or 200,000.00."),
)
RETURNED = Refusal(
    N_("Give the returned payment's reference and why it came back."),
    N_(
        "Enter the reference of the payment that bounced and the bank's reason (at most "
        "500 characters), then send again."
    ),
)


def _plan_path(plan_id: str) -> str:
    return f"/finance/plans/{quote(plan_id, safe='')}"


def _plan_of(instalment_id: str) -> str:
    """The plan an instalment belongs to: its id is `<plan_id>-<number>`."""
    return instalment_id.rsplit("-", 1)[0]


def _covers(visit: Visit, province: str) -> bool:
    return visit.person.principal.covers(province)


def _stocks_balance(figures: dict[str, Any]) -> bool:
    """Every planned instalment stands in exactly one stock (as the service reconciles)."""
    count = sum(int(figures[name]["count"]) for name in _STOCKS)
    fen = sum(int(figures[name]["amount_fen"]) for name in _STOCKS)
    planned = figures["planned"]
    return count == int(planned["count"]) and fen == int(planned["amount_fen"])


# --- subsidy plans --------------------------------------------------------------------------


@router.get("/finance/plans")
async def plans(visit: CurrentVisit, cursor: str | None = None) -> Response:
    """Every subsidy plan, and the instalments that wait for finance: due, approved, held."""
    visit.require(*READERS)
    page = await visit.get("funding", "/plans", limit=PAGE, cursor=cursor)
    found: list[dict[str, Any]] = page["items"]
    waiting = [
        (plan, inst)
        for plan in found
        for inst in plan["instalments"]
        if inst["stage"] in ("due", "approved", "held")
    ]
    waiting.sort(key=lambda pair: (pair[1]["due_on"], pair[1]["instalment_id"]))
    return visit.page(
        "finance/plans.html",
        plans=found,
        waiting=waiting,
        next_cursor=page.get("next_cursor"),
        first_page=cursor is None,
        stages=STAGES,
        signs=STAGE_SIGNS,
        statuses=PLAN_STATUSES,
        programmes=PROGRAMMES,
        plan_path=_plan_path,
        paid_fen=lambda plan: sum(
            i["amount_fen"] for i in plan["instalments"] if i["stage"] == "paid"
        ),
    )


@router.get("/finance/plans/{plan_id}")
async def plan(visit: CurrentVisit, plan_id: Id) -> Response:
    """One plan: its instalments, what each waits for, and the acts finance may take on it."""
    person = visit.require(*READERS)
    found = await visit.get("funding", f"/plans/{plan_id}")
    return visit.page(
        "finance/plan.html",
        plan=found,
        instalments=sorted(found["instalments"], key=lambda i: i["number"]),
        may_act=person.has(Role.FINANCE) and _covers(visit, found["province"]),
        is_finance=person.has(Role.FINANCE),
        stages=STAGES,
        signs=STAGE_SIGNS,
        statuses=PLAN_STATUSES,
        exits=EXIT_REASONS,
        programmes=PROGRAMMES,
    )


# --- finance's acts on an instalment ------------------------------------------------------


async def _act(
    visit: Visit, form: FormData, instalment_id: str, act: str, done: str, body: Json = None
) -> Response:
    """The funding service's `act` on the instalment; its plan's page then says `done`."""
    answer = await visit.send("funding", f"/instalments/{instalment_id}/{act}", form, json=body)
    plan_id = str((answer or {}).get("plan_id") or _plan_of(instalment_id))
    return visit.done(done, _plan_path(plan_id))


@router.post("/finance/instalments/{instalment_id}/approval")
async def approve(visit: CurrentVisit, form: Form, instalment_id: Id) -> Response:
    visit.require(Role.FINANCE)
    return await _act(
        visit,
        form,
        instalment_id,
        "approval",
        N_("The instalment is approved. Another finance officer now confirms its payment."),
    )


@router.post("/finance/instalments/{instalment_id}/payment")
async def confirm_payment(visit: CurrentVisit, form: Form, instalment_id: Id) -> Response:
    visit.require(Role.FINANCE)
    typed = Typed(visit, form)
    body = {
        "payment_ref": typed.text("payment_ref", PAYMENT_REF, most=100),
        "paid_on": typed.day("paid_on", PAID_ON).isoformat(),
        "amount_fen": typed.fen("amount_yuan", AMOUNT_PAID),
    }
    done = N_("The payment is confirmed: the instalment is paid.")
    return await _act(visit, form, instalment_id, "payment", done, body)


@router.post("/finance/instalments/{instalment_id}/return")
async def report_return(visit: CurrentVisit, form: Form, instalment_id: Id) -> Response:
    visit.require(Role.FINANCE)
    typed = Typed(visit, form)
    body = {
        "payment_ref": typed.text("payment_ref", RETURNED, most=100),
        "reason": typed.text("reason", RETURNED, most=500),
    }
    done = N_(
        "The returned payment is recorded: the instalment is due again and can be approved anew."
    )
    return await _act(visit, form, instalment_id, "return", done, body)


# --- the reconciliation --------------------------------------------------------------------


@router.get("/finance/reconciliation")
async def reconciliation(
    visit: CurrentVisit, cursor: str | None = None, base_id: str | None = None
) -> Response:
    """Where every planned fen stands, per base and year and in total, in 元."""
    visit.require(*READERS)
    found = await visit.get(
        "funding", "/reconciliation", limit=PAGE, cursor=cursor, base_id=base_id or None
    )
    # The bases' units, for the reader: the reconciliation names bases by id only.
    listed = await every(visit, "funding", "/plans", base_id=base_id or None)
    names = {p["base_id"]: p["unit_name"] for p in listed}
    return visit.page(
        "finance/reconciliation.html",
        report=found,
        names=names,
        figures=FIGURES,
        balanced=_stocks_balance,
        base_id=base_id or "",
        next_cursor=found.get("next_cursor"),
        csv_path="/finance/reconciliation.csv"
        + (f"?base_id={quote(base_id, safe='')}" if base_id else ""),
    )


@router.get("/finance/reconciliation.csv")
async def reconciliation_csv(visit: CurrentVisit, base_id: str | None = None) -> Response:
    """The funding service's CSV, fetched with the officer's own token, as a download."""
    visit.require(*READERS)
    params = {"base_id": base_id} if base_id else {}
    download = await visit.download("funding", "/reconciliation.csv", **params)
    return visit.file(download, download.filename or "funding-reconciliation.csv")
