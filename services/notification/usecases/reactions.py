"""Policies: an upstream event becomes a notice to the people its rule names (domain/rules.py).

Each handler runs inside the consumer's transaction: it finds the recipients now, and issues
the notice on the stream `notice-<event id>`, whose projection writes one delivery row per
recipient in that same transaction — with the consumer's inbox record. A redelivered event
finds its notice issued and decides nothing: told once per event and recipient.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from shared.auth import single_address
from shared.consumer import Deferred
from shared.envelope import Envelope
from shared.usecase import CommandContext, Executor

from ..domain import notice
from ..domain.events import Contact, Fact
from ..domain.rules import RULES, Audience, Rule
from .recipients import Unit, recipients, unit_of_case, unit_registered

SERVICE = "notification"
Reaction = Callable[[AsyncConnection, Envelope], Awaitable[None]]


#: Facts that are integers (fen, an instalment's number, a year): any other value is left out.
INTEGER_FACTS = frozenset({"amount_fen", "number", "year"})


def _fact(name: str, value: Any) -> str | None:
    """The fact as the notice keeps it, or None to leave it out (absent, or not its type)."""
    if value is None:
        return None
    if name in INTEGER_FACTS:
        return str(value) if isinstance(value, int) and not isinstance(value, bool) else None
    if isinstance(value, list):
        return "；".join(str(v) for v in value)
    return str(value)


@dataclass
class Reactions:
    executor: Executor
    #: How old an event may be and still be told (`HAIZHI_NOTIFY_WITHIN_DAYS`).
    window: timedelta = timedelta(days=30)

    def handlers(self, upstream: str, names: list[str]) -> dict[str, Reaction]:
        """What each consumer does, by upstream event name (the names `consumes` lists)."""
        if upstream == "application":
            return {name: self.when_unit_registered_then_record_contacts for name in names}
        return {name: self._notifying(RULES[(upstream, name)]) for name in names}

    def _notifying(self, rule: Rule) -> Reaction:
        async def when_event_then_notify(conn: AsyncConnection, envelope: Envelope) -> None:
            await self.notify(conn, envelope, rule)

        return when_event_then_notify

    async def notify(self, conn: AsyncConnection, envelope: Envelope, rule: Rule) -> None:
        data = envelope.data
        case_id = str(data["case_id"])
        unit: Unit | None
        if rule.audience == Audience.REVIEWERS or "unit_id" in data:  # opened, designated
            unit = Unit(data["unit_id"], data["unit_name"], data["jurisdiction"])
        else:
            unit = await unit_of_case(conn, case_id)
        # An old event (the history read at a first deployment, a replay) is recorded, told
        # to nobody: people hear of what happens now, not of years past.
        stale = self.executor.clock.now() - envelope.time > self.window
        if unit is None and not stale:
            # Named by review's events, which another consumer reads: wait for them (no
            # order holds between two upstreams' streams).
            raise Deferred(f"case {case_id} is not yet known to the notifier")
        if (
            unit is not None
            and not stale
            and rule.audience == Audience.APPLICANTS
            and not await unit_registered(conn, unit.unit_id)  # its contacts: application's
        ):
            raise Deferred(f"unit {unit.unit_id}'s registration has not arrived yet")
        level = data["level"] if rule.audience == Audience.REVIEWERS else None
        told = () if stale else await recipients(conn, rule.audience, rule.kind, unit, level=level)
        command = notice.IssueNotice(
            notice_id=envelope.id,
            case_id=case_id,
            kind=rule.kind,
            upstream=f"{envelope.service}.{envelope.name}",
            unit_id=unit.unit_id if unit else None,
            unit_name=unit.unit_name if unit else None,
            jurisdiction=unit.jurisdiction if unit else None,
            facts=tuple(
                Fact(name, text)
                for name in rule.facts
                if name in data and (text := _fact(name, data[name])) is not None
            ),
            recipients=told,
        )
        await self.executor.execute(
            notice.decider,
            f"notice-{envelope.id}",
            command,
            ctx=CommandContext.reacting_to(envelope, SERVICE),
            case_id=case_id,
            conn=conn,
        )

    async def when_unit_registered_then_record_contacts(
        self, conn: AsyncConnection, envelope: Envelope
    ) -> None:
        data = envelope.data
        command = notice.RecordContacts(
            unit_id=data["unit_id"],
            name=data["name"],
            jurisdiction=data["jurisdiction"],
            contacts=tuple(
                Contact(name=c["name"], email=address)
                for c in data["contacts"]
                if (address := single_address(c.get("email"))) is not None
            ),
        )
        await self.executor.execute(
            notice.directory,
            f"unit-{command.unit_id}",
            command,
            ctx=CommandContext.reacting_to(envelope, SERVICE),
            case_id=envelope.caseid,
            conn=conn,
        )
