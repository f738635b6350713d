"""Policies: an upstream event becomes a notice to the people its rule names (domain/rules.py),
and sets, meets, reopens or ends a base's deadline (`rules.DEADLINES`).

Each handler runs inside the consumer's transaction: it finds the recipients now, and issues
the notice on the stream `notice-<event id>`, whose projection writes one delivery row per
recipient in that same transaction — with the consumer's inbox record. A redelivered event
finds its notice issued and decides nothing: told once per event and recipient. A deadline's
step goes to the base's `deadlines-<base id>` stream in the same transaction.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from shared.auth import single_address
from shared.consumer import Deferred
from shared.cst import cst_date
from shared.envelope import Envelope
from shared.usecase import CommandContext, Executor

from ..domain import deadlines, notice
from ..domain.events import Contact, Fact
from ..domain.rules import DEADLINES, RULES, Audience, DeadlineRule, Rule, Step
from .recipients import Unit, recipients, unit_of_case, unit_registered

SERVICE = "notification"
Reaction = Callable[[AsyncConnection, Envelope], Awaitable[None]]


#: The application service's events that name a unit's contacts.
CONTACTS = frozenset({"UnitRegistered", "UnitRegistrationAmended"})

#: Facts that are integers (fen, an instalment's number, a year, a count of days, a
#: submission's revision): any other value is left out.
INTEGER_FACTS = frozenset({"amount_fen", "number", "year", "days_before", "days_left", "revision"})


def _fact(name: str, value: Any) -> str | None:
    """The fact as the notice keeps it, or None to leave it out (absent, or not its type)."""
    if value is None:
        return None
    if name in INTEGER_FACTS:
        return str(value) if isinstance(value, int) and not isinstance(value, bool) else None
    if isinstance(value, list):
        return "；".join(str(v) for v in value)
    return str(value)


def _facts(names: tuple[str, ...], data: Mapping[str, Any]) -> tuple[Fact, ...]:
    """The named facts the event carries, each as the notice keeps it."""
    return tuple(
        Fact(name, text)
        for name in names
        if name in data and (text := _fact(name, data[name])) is not None
    )


@dataclass
class Reactions:
    executor: Executor
    #: How old an event may be and still be told (`HAIZHI_NOTIFY_WITHIN_DAYS`).
    window: timedelta = timedelta(days=30)

    def handlers(self, upstream: str, names: list[str]) -> dict[str, Reaction]:
        """What each consumer does, by upstream event name (the names `consumes` lists)."""
        return {name: self._reacting(upstream, name) for name in names}

    def _reacting(self, upstream: str, name: str) -> Reaction:
        """The notice its rule names (if any, and if its `when` holds), then its deadline
        step (if any): in that order, so that a notice that must wait for its case holds the
        step back with it."""
        if upstream == "application" and name in CONTACTS:
            return self.when_unit_registered_then_record_contacts
        rule = RULES.get((upstream, name))
        step = DEADLINES.get((upstream, name))
        if rule is None and step is None:
            raise KeyError(f"no rule for {upstream}.{name}")

        async def when_event_then_notify_and_track(
            conn: AsyncConnection, envelope: Envelope
        ) -> None:
            if rule is not None and rule.applies(envelope.data):
                await self.notify(conn, envelope, rule)
            if step is not None:
                await self.track(conn, envelope, step)

        return when_event_then_notify_and_track

    async def notify(self, conn: AsyncConnection, envelope: Envelope, rule: Rule) -> None:
        data = envelope.data
        case_id = str(data["case_id"])
        unit: Unit | None
        if "unit_id" in data:  # a review opened, a renewal request, a designation
            unit = Unit(data["unit_id"], data["unit_name"], data["jurisdiction"])
        else:  # a return, a case moved up the chain, a base's events: the case's unit
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
        level = None
        if rule.audience == Audience.REVIEWERS:
            level = rule.level or str(data["level"])
        told = () if stale else await recipients(conn, rule.audience, rule.kind, unit, level=level)
        facts = list(_facts(rule.facts, data))
        if rule.level is not None and "level" in rule.facts and "level" not in data:
            facts.append(Fact("level", rule.level))  # the level the rule names
        command = notice.IssueNotice(
            notice_id=envelope.id,
            case_id=case_id,
            kind=rule.kind,
            upstream=f"{envelope.service}.{envelope.name}",
            unit_id=unit.unit_id if unit else None,
            unit_name=unit.unit_name if unit else None,
            jurisdiction=unit.jurisdiction if unit else None,
            facts=tuple(facts),
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

    async def track(self, conn: AsyncConnection, envelope: Envelope, rule: DeadlineRule) -> None:
        """The event's step of its base's deadline, on `deadlines-<base id>`. Recorded whatever
        the event's age: a deadline still ahead is reminded of, whoever was told of its order."""
        data = envelope.data
        base_id, case_id = str(data["base_id"]), str(data["case_id"])
        upstream = f"{envelope.service}.{envelope.name}"
        command: deadlines.Command
        if rule.step == Step.ENDED or rule.obligation is None or rule.key is None:
            command = deadlines.EndDeadlines(base_id, case_id, upstream)
        else:
            which = deadlines.deadline_id(rule.obligation, base_id, str(data[rule.key]))
            ids = (base_id, case_id, which, rule.obligation)
            if rule.step == Step.MET:
                command = deadlines.MeetDeadline(*ids, upstream)
            elif rule.step == Step.REOPENED:
                command = deadlines.ReopenDeadline(*ids, upstream)
            else:
                assert rule.due is not None
                command = deadlines.SetDeadline(
                    *ids,
                    due_on=date.fromisoformat(str(data[rule.due])),
                    known_on=cst_date(envelope.time),
                    upstream=upstream,
                    facts=_facts(rule.facts, data),
                )
        await self.executor.execute(
            deadlines.decider,
            f"deadlines-{base_id}",
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
