"""Certificates: numbers from the year's register, and the standing of designated bases."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy.ext.asyncio import AsyncConnection

from shared.envelope import Envelope
from shared.usecase import CommandContext, Executor

from ..domain import certificate
from ..domain.commands import IssueCertificateNumber, RecordBaseExpiry, RecordBaseRevocation
from ..domain.events import CertificateNumberIssued
from .streams import register_id, standing_stream, station_register_id

SYSTEM = "system:review"


def reaction_context(envelope: Envelope) -> CommandContext:
    """Who acts when this service reacts to another's event: itself, caused by that event."""
    return CommandContext.reacting_to(envelope, "review")


@dataclass
class CertificateUseCases:
    executor: Executor

    async def issue_number(
        self,
        conn: AsyncConnection,
        ctx: CommandContext,
        *,
        year: int,
        base_id: str,
        case_id: str,
        station_series: tuple[str, str] | None = None,
    ) -> str:
        """The next certificate number of `year`, in the caller's transaction: a rollback of
        the designation gives the number back. `station_series` is (province, series) for a
        work station's certificate, numbered in that province's own register."""
        now = self.executor.clock.now()
        if station_series is None:
            command = IssueCertificateNumber(year, base_id, case_id, ctx.actor, now)
            register = register_id(year)
        else:
            province, series = station_series
            command = IssueCertificateNumber(
                year, base_id, case_id, ctx.actor, now, series=series, width=3
            )
            register = station_register_id(province, year)
        result = await self.executor.execute(
            certificate.register, register, command, ctx=ctx, case_id=register, conn=conn
        )
        issued = self.executor.registry.decode(result.events[0].type, result.events[0].data)
        assert isinstance(issued, CertificateNumberIssued)
        return issued.certificate_no

    async def when_base_revoked_then_record_revocation(
        self, conn: AsyncConnection, envelope: Envelope
    ) -> None:
        data = envelope.data
        command = RecordBaseRevocation(
            base_id=data["base_id"],
            case_id=data["case_id"],
            revoked_on=date.fromisoformat(data["revoked_on"]),
            policy_version=data["policy_version"],
            by=SYSTEM,
            at=self._now(),
        )
        await self._record(conn, envelope, command)

    async def when_base_expired_then_record_expiry(
        self, conn: AsyncConnection, envelope: Envelope
    ) -> None:
        data = envelope.data
        command = RecordBaseExpiry(
            base_id=data["base_id"],
            case_id=data["case_id"],
            expired_on=date.fromisoformat(data["expired_on"]),
            policy_version=data["policy_version"],
            by=SYSTEM,
            at=self._now(),
        )
        await self._record(conn, envelope, command)

    async def _record(
        self,
        conn: AsyncConnection,
        envelope: Envelope,
        command: RecordBaseRevocation | RecordBaseExpiry,
    ) -> None:
        await self.executor.execute(
            certificate.standing,
            standing_stream(command.base_id),
            command,
            ctx=reaction_context(envelope),
            case_id=command.case_id,
            conn=conn,
        )

    def _now(self) -> datetime:
        return self.executor.clock.now()
