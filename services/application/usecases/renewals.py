"""Renewal requests of designated bases (Art. 14), and the base facts learned from review and
assessment that decide when a request may be filed (`when_<event>_then_<action>`)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from shared.cst import cst_date
from shared.policy import PolicyBook
from shared.usecase import Aggregate, CommandContext, CommandResult, Executor

from ..domain import base_renewal
from ..domain.commands import (
    RecordBaseDesignation,
    RecordBaseExpiry,
    RecordBaseRevocation,
    RecordRenewalGrant,
    RecordRenewalPendingPastTerm,
    RecordRenewalRefusal,
    RecordRenewalReturn,
    RecordRenewalWindow,
    RecordTermRenewal,
    RenewalCommand,
    RequestRenewal,
    ResubmitRenewalRequest,
    WithdrawRenewalRequest,
)
from ..domain.policy import RenewalPolicy

Result = CommandResult[base_renewal.State]


BASE: Aggregate[RenewalCommand, base_renewal.State, Any] = Aggregate(
    "base", base_renewal.decider, lambda command: command.base_id
)


def base_stream(base_id: str) -> str:
    return BASE.stream(base_id)


@dataclass(frozen=True, slots=True)
class Term:
    start: date
    end: date


@dataclass
class RenewalUseCases:
    executor: Executor
    policies: PolicyBook

    def policy(self, on: date) -> RenewalPolicy:
        """The renewal numbers in force on a day, from policies/<version>.toml."""
        document = self.policies.in_force(on)
        return RenewalPolicy(document.version, int(document.section("renewal")["window_days"]))

    async def request(
        self,
        conn: AsyncConnection,
        ctx: CommandContext,
        base_id: str,
        *,
        renewal_id: str,
        statement: str,
        by_org: str,
    ) -> Result:
        now = self.executor.clock.now()
        policy = self.policy(cst_date(now))
        command = RequestRenewal(base_id, renewal_id, statement, policy, now, ctx.actor, by_org)
        return await self._run(conn, ctx, command)

    async def withdraw(
        self,
        conn: AsyncConnection,
        ctx: CommandContext,
        base_id: str,
        renewal_id: str,
        *,
        reason: str,
        by_org: str,
    ) -> Result:
        now = self.executor.clock.now()
        command = WithdrawRenewalRequest(base_id, renewal_id, reason, now, ctx.actor, by_org)
        return await self._run(conn, ctx, command)

    async def resubmit(
        self,
        conn: AsyncConnection,
        ctx: CommandContext,
        base_id: str,
        renewal_id: str,
        *,
        statement: str,
        by_org: str,
    ) -> Result:
        now = self.executor.clock.now()
        command = ResubmitRenewalRequest(base_id, renewal_id, statement, now, ctx.actor, by_org)
        return await self._run(conn, ctx, command)

    async def when_renewal_returned_then_record_return(
        self,
        conn: AsyncConnection,
        ctx: CommandContext,
        base_id: str,
        renewal_id: str,
        reasons: tuple[str, ...],
    ) -> Result:
        now = self.executor.clock.now()
        command = RecordRenewalReturn(base_id, renewal_id, reasons, now, ctx.actor)
        return await self._run(conn, ctx, command)

    async def when_renewal_pending_past_term_then_record_it(
        self,
        conn: AsyncConnection,
        ctx: CommandContext,
        base_id: str,
        renewal_id: str,
        term_end: date,
    ) -> Result:
        now = self.executor.clock.now()
        command = RecordRenewalPendingPastTerm(base_id, renewal_id, term_end, now, ctx.actor)
        return await self._run(conn, ctx, command)

    async def when_base_designated_then_record_base(
        self,
        conn: AsyncConnection,
        ctx: CommandContext,
        base_id: str,
        *,
        case_id: str,
        unit_id: str,
        unit_name: str,
        province: str,
        jurisdiction: str,
        term: Term,
    ) -> Result:
        command = RecordBaseDesignation(
            base_id, case_id, unit_id, unit_name, province, jurisdiction, term.start, term.end,
            self.executor.clock.now(), ctx.actor,
        )  # fmt: skip
        return await self._run(conn, ctx, command, case_id=case_id)

    async def when_renewal_window_opened_then_record_window(
        self,
        conn: AsyncConnection,
        ctx: CommandContext,
        base_id: str,
        *,
        opens_on: date,
        closes_on: date,
        term_end: date,
        policy_version: str,
    ) -> Result:
        command = RecordRenewalWindow(
            base_id, opens_on, closes_on, term_end, policy_version,
            self.executor.clock.now(), ctx.actor,
        )  # fmt: skip
        return await self._run(conn, ctx, command)

    async def when_renewal_granted_then_record_grant(
        self, conn: AsyncConnection, ctx: CommandContext, base_id: str, renewal_id: str, term: Term
    ) -> Result:
        now = self.executor.clock.now()
        command = RecordRenewalGrant(base_id, renewal_id, term.start, term.end, now, ctx.actor)
        return await self._run(conn, ctx, command)

    async def when_renewal_refused_then_record_refusal(
        self,
        conn: AsyncConnection,
        ctx: CommandContext,
        base_id: str,
        renewal_id: str,
        reasons: tuple[str, ...],
    ) -> Result:
        now = self.executor.clock.now()
        command = RecordRenewalRefusal(base_id, renewal_id, reasons, now, ctx.actor)
        return await self._run(conn, ctx, command)

    async def when_term_renewed_then_record_term(
        self, conn: AsyncConnection, ctx: CommandContext, base_id: str, term: Term
    ) -> Result:
        now = self.executor.clock.now()
        command = RecordTermRenewal(base_id, term.start, term.end, now, ctx.actor)
        return await self._run(conn, ctx, command)

    async def when_base_expired_then_record_expiry(
        self,
        conn: AsyncConnection,
        ctx: CommandContext,
        base_id: str,
        expired_on: date,
        reason: str = "term_ended",
    ) -> Result:
        now = self.executor.clock.now()
        command = RecordBaseExpiry(base_id, expired_on, now, ctx.actor, reason)
        return await self._run(conn, ctx, command)

    async def when_base_revoked_then_record_revocation(
        self, conn: AsyncConnection, ctx: CommandContext, base_id: str, revoked_on: date
    ) -> Result:
        command = RecordBaseRevocation(base_id, revoked_on, self.executor.clock.now(), ctx.actor)
        return await self._run(conn, ctx, command)

    async def _run(
        self,
        conn: AsyncConnection,
        ctx: CommandContext,
        command: RenewalCommand,
        *,
        case_id: str | None = None,
    ) -> Result:
        return await self.executor.run(BASE, command, ctx=ctx, case_id=case_id, conn=conn)
