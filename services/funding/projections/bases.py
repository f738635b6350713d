"""Read models: what funding says about a base beyond its plans.

`not_planned` holds each designation the province does not fund, with the reason (a base's
funding view shows it instead of a 404, and the consumers find there that a later fact about
the base has nothing to act on); `priority_approvals` each priority project approval (优先立项)
recorded for a base.
"""

from __future__ import annotations

from typing import Any, ClassVar

from sqlalchemy import Column, String, Table, Text
from sqlalchemy.ext.asyncio import AsyncConnection

from shared.envelope import Envelope
from shared.projection import TableProjection

from ..domain.events import PriorityApprovalRecorded, SubsidyNotPlanned
from .base import metadata
from .plans import ID

not_planned = Table(
    "funding_not_planned",
    metadata,
    Column("plan_id", String(ID), primary_key=True),
    Column("base_id", String(ID), nullable=False, index=True),
    Column("case_id", String(ID), nullable=False),
    Column("unit_id", String(ID), nullable=False, index=True),
    Column("unit_name", String(200), nullable=False),
    Column("province", String(12), nullable=False),
    Column("programme", String(30), nullable=False),
    Column("approved_on", String(10), nullable=False),
    Column("call_opened_on", String(10)),
    Column("policy_version", String(40)),  # the province's version without such a table
    Column("reason", Text, nullable=False),
)

priority_approvals = Table(
    "funding_priority_approvals",
    metadata,
    Column("plan_id", String(ID), primary_key=True),
    Column("base_id", String(ID), nullable=False, index=True),
    Column("case_id", String(ID), nullable=False),
    Column("province", String(12), nullable=False),
    Column("policy_version", String(40), nullable=False),
)


class BasesProjection(TableProjection):
    name = "bases"
    tables: ClassVar = (not_planned, priority_approvals)

    async def apply(self, conn: AsyncConnection, envelope: Envelope, event: Any) -> None:
        match event:
            case SubsidyNotPlanned():
                row = {
                    "plan_id": event.plan_id,
                    "base_id": event.base_id,
                    "case_id": event.case_id,
                    "unit_id": event.unit_id,
                    "unit_name": event.unit_name,
                    "province": event.province,
                    "programme": event.programme.value,
                    "approved_on": event.approved_on.isoformat(),
                    "call_opened_on": (
                        None if event.call_opened_on is None else event.call_opened_on.isoformat()
                    ),
                    "policy_version": event.policy_version,
                    "reason": event.reason,
                }
                await self.insert_row(conn, "funding_not_planned", row)
            case PriorityApprovalRecorded():
                row = {
                    "plan_id": event.plan_id,
                    "base_id": event.base_id,
                    "case_id": event.case_id,
                    "province": event.province,
                    "policy_version": event.policy_version,
                }
                await self.insert_row(conn, "funding_priority_approvals", row)
