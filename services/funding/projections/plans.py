"""Read models: which subsidy plan does a base have, and where does each instalment stand?

`plans` is the base → plan read model (the consumers find a base's plans here) and
`instalments` says which instalment belongs to which plan, at which stage (finance's commands
address an instalment; the scheduler looks for scheduled ones whose date has come).
"""

from __future__ import annotations

from datetime import date
from typing import Any, ClassVar

from sqlalchemy import BigInteger, Column, Integer, String, Table
from sqlalchemy.ext.asyncio import AsyncConnection

from shared.envelope import Envelope
from shared.projection import TableProjection

from ..domain.events import (
    BaseExitRecorded,
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
    SubsidyPlanCreated,
)
from .base import metadata

ID = 120  # plan ids are base ids, or base id and renewal id for a renewed term's plan

plans = Table(
    "funding_plans",
    metadata,
    Column("plan_id", String(ID), primary_key=True),
    Column("base_id", String(ID), nullable=False, index=True),
    Column("case_id", String(ID), nullable=False),
    Column("unit_id", String(ID), nullable=False, index=True),
    Column("unit_name", String(200), nullable=False),
    Column("province", String(12), nullable=False),
    Column("approved_on", String(10), nullable=False),
    Column("instalments", Integer, nullable=False),
    Column("amount_fen", BigInteger, nullable=False),
    Column("total_fen", BigInteger, nullable=False),
    Column("policy_version", String(40), nullable=False),  # the province's, e.g. 53-2022.1
    Column("programme", String(30), nullable=False, server_default="national_base"),
    Column("call_opened_on", String(10)),  # null: the designation carried none
    Column("status", String(10), nullable=False),  # active | closed
    Column("open_holds", Integer, nullable=False),
    Column("exit_reason", String(10)),
    Column("exited_on", String(10)),
    Column("term_end", String(10)),  # of the latest renewal recorded
    Column("version", Integer, nullable=False),
)

instalments = Table(
    "funding_instalments",
    metadata,
    Column("instalment_id", String(ID + 4), primary_key=True),
    Column("plan_id", String(ID), nullable=False, index=True),
    Column("base_id", String(ID), nullable=False),
    Column("number", Integer, nullable=False),
    Column("amount_fen", BigInteger, nullable=False),
    Column("due_on", String(10), nullable=False),
    # scheduled | due | approved | paid | held | cancelled, as in the domain's stages
    Column("stage", String(10), nullable=False, index=True),
    Column("prepared_by", String(200)),
    Column("payment_ref", String(100)),
    Column("paid_on", String(10)),
    Column("confirmed_by", String(200)),
    Column("held_for", String(ID)),
    Column("returned", Integer, nullable=False),  # payments of it that bounced
    Column("cancel_reason", String(10)),
)


class PlansProjection(TableProjection):
    name = "plans"
    tables: ClassVar = (plans, instalments)

    async def apply(self, conn: AsyncConnection, envelope: Envelope, event: Any) -> None:
        plan_values: dict[str, Any] = {}
        inst_values: dict[str, Any] = {}
        plan_add: dict[str, int] = {}  # column → amount added to it
        inst_add: dict[str, int] = {}
        match event:
            case SubsidyPlanCreated():
                plan = {
                    "plan_id": event.plan_id,
                    "base_id": event.base_id,
                    "case_id": event.case_id,
                    "unit_id": event.unit_id,
                    "unit_name": event.unit_name,
                    "province": event.province,
                    "approved_on": event.approved_on.isoformat(),
                    "instalments": event.instalments,
                    "amount_fen": event.amount_fen,
                    "total_fen": event.total_fen,
                    "policy_version": event.policy_version,
                    "programme": event.programme.value,
                    "call_opened_on": _day(event.call_opened_on),
                    "status": "active",
                    "open_holds": 0,
                    "version": envelope.streamversion,
                }
                await self.insert_row(conn, "funding_plans", plan)
                return
            case InstalmentScheduled():
                instalment = {
                    "instalment_id": event.instalment_id,
                    "plan_id": event.plan_id,
                    "base_id": event.base_id,
                    "number": event.number,
                    "amount_fen": event.amount_fen,
                    "due_on": event.due_on.isoformat(),
                    "stage": "scheduled",
                    "returned": 0,
                }
                await self.insert_row(conn, "funding_instalments", instalment)
            case InstalmentDue() | InstalmentReleased():
                inst_values = {"stage": "due", "held_for": None, "prepared_by": None}
            case InstalmentApproved():
                inst_values = {"stage": "approved", "prepared_by": event.prepared_by}
            case InstalmentPaid():
                inst_values = {
                    "stage": "paid",
                    "payment_ref": event.payment_ref,
                    "paid_on": event.paid_on.isoformat(),
                    "confirmed_by": event.confirmed_by,
                }
            case InstalmentHeld():
                inst_values = {"stage": "held", "held_for": event.rectification_id}
            case InstalmentReturned():
                inst_values = {
                    "stage": "due",
                    "prepared_by": None,
                    "paid_on": None,
                    "confirmed_by": None,
                }
                inst_add = {"returned": 1}
            case InstalmentCancelled():
                inst_values = {"stage": "cancelled", "cancel_reason": event.reason.value}
            case HoldOpened():
                plan_add = {"open_holds": 1}
            case HoldReleased():
                plan_add = {"open_holds": -1}
            case BaseExitRecorded():
                plan_values = {
                    "exit_reason": event.reason.value,
                    "exited_on": event.exited_on.isoformat(),
                }
            case PlanClosed():
                plan_values = {
                    "status": "closed",
                    "exit_reason": event.reason.value,
                    "exited_on": event.exited_on.isoformat(),
                }
            case PlanTermRenewed():
                plan_values = {"term_end": event.term_end.isoformat()}
            case _:
                return  # not about a plan's money (`SubsidyNotPlanned`, priority approval)
        if inst_values:
            where = {"instalment_id": event.instalment_id}
            await self.update_rows(conn, "funding_instalments", where, inst_values, add=inst_add)
        plan_values["version"] = envelope.streamversion
        where = {"plan_id": event.plan_id}
        await self.update_rows(conn, "funding_plans", where, plan_values, add=plan_add)


def _day(day: date | None) -> str | None:
    return None if day is None else day.isoformat()
