"""The common oracle: what must hold after any fault, whatever it was.

1. Every command the load got a 2xx for has its events in its service's store, once: at
   least one event of its correlation id that no other event caused, and no (stream, type)
   twice among them — a command applied again on a retry would show as a second set.
2. `audit verify` is clean in every service: hash chains intact, every signature good, the
   store and `HAIZHI` hold exactly the same events, none missing, extra, altered or twice.
3. `HAIZHI` holds the services' events and nothing else but what the scenario injected;
   the stream audit (as the auditor, under the public keys only) reports each injected
   message no trusted key vouches for, and each version conflict injected — no more.
4. Nothing injected was applied by any consumer.
5. Every read model equals its rebuild from the events.
6. No ghost dead letters: what `/audit/dead-letters` lists in all services is exactly what
   `HAIZHI_DLQ` holds, and exactly the injected messages are there (none for a transient fault).
"""

from __future__ import annotations

import asyncio
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import nats
from sqlalchemy import select

from haizhi.client import Sent
from haizhi.flows import HaiZhi
from haizhi.people import CAST
from shared.db import open_database
from shared.envelope import Envelope
from shared.nats_auth import OPERATOR, inbox_prefix, nats_servers
from shared.reconcile import stored_messages
from shared.schema import events, inbox
from shared.signing import TrustedKeys
from shared.stream_audit import StreamAudit, audit_stream
from shared.streams import DLQ_STREAM, STREAM
from shared.system import SERVICES, System

from .load import Journal

#: Long enough for the consumers to catch up after a restart on this machine.
SETTLE = 120.0


@dataclass
class Injected:
    """What a scenario put on `HAIZHI` behind the services' backs, by stream sequence:
    `untrusted` (no trusted key vouches for it: forged, re-sealed, unsigned, wrongly signed,
    unreadable), `conflicts` (event ids at a version another event already holds) and the
    ids of validly signed events that must still never be applied (`unapplied`)."""

    untrusted: set[int] = field(default_factory=set)
    #: Of those, the ones with no signature at all (the audit counts them apart).
    unsigned: set[int] = field(default_factory=set)
    conflicts: set[str] = field(default_factory=set)
    unapplied: set[str] = field(default_factory=set)
    #: Every injected message's sequence: each must be in the dead letters.
    sequences: set[int] = field(default_factory=set)
    #: The event ids of every injected envelope (the audit reports them as extra).
    ids: set[str] = field(default_factory=set)


@dataclass
class Stored:
    """One service's store, as the oracle reads it directly: its events in order, and its
    consumers' inbox rows (event id, outcome)."""

    events: list[Envelope]
    inbox: list[tuple[str, str]]


def read_store(system: System, service: str) -> Stored:
    """`service`'s store, read directly from its database (SQLite file or PostgreSQL schema)."""

    async def read() -> Stored:
        where = system.database(service)
        db = open_database(where.url, schema=where.schema, pool_size=1)
        try:
            async with db.read_engine.connect() as conn:
                query = select(events.c.envelope).order_by(events.c.position)
                stored = (await conn.execute(query)).scalars().all()
                letters = (await conn.execute(select(inbox.c.event_id, inbox.c.outcome))).all()
        finally:
            await db.dispose()
        return Stored(
            [Envelope.from_json(envelope) for envelope in stored],
            [(event_id, outcome) for event_id, outcome in letters],
        )

    return asyncio.run(read())


async def _bus(system: System) -> tuple[int, StreamAudit, list[dict[str, str]]]:
    """`HAIZHI`'s message count, its audit under the public keys, and `HAIZHI_DLQ`'s letters."""
    servers = nats_servers(system.operator_url)
    client = await nats.connect(servers, inbox_prefix=inbox_prefix(OPERATOR))
    try:
        js = client.jetstream()
        total = (await js.stream_info(STREAM)).state.messages
        trust = TrustedKeys.from_directory(system.data_dir / "keys" / "trusted")
        audit = await audit_stream(js, trust)
        letters = [m.headers async for m in stored_messages(js, ">", stream=DLQ_STREAM)]
        return int(total), audit, letters
    finally:
        await client.close()


def commands_recorded_once(answered: list[Sent], stores: dict[str, Stored]) -> list[str]:
    """Oracle 1: what is wrong with the commands answered 2xx, one line each."""
    direct: dict[str, dict[str, list[tuple[str, str]]]] = {s: {} for s in stores}
    for service, stored in stores.items():
        for e in stored.events:
            if e.causationid is None:
                direct[service].setdefault(e.correlationid, []).append((e.subject, e.type))
    wrong = []
    for sent in answered:
        made = direct[sent.service].get(sent.correlation_id, [])
        if not made:
            wrong.append(f"{sent.method} {sent.service}{sent.path} got {sent.status}: no events")
        twice = [pair for pair, n in Counter(made).items() if n > 1]
        if twice:
            wrong.append(f"{sent.method} {sent.service}{sent.path}: applied twice {twice}")
    return wrong


def store_faults(report: dict[str, Any], injected: Injected) -> list[str]:
    """Oracle 2 for one service's `audit verify`: what is wrong beyond the injections, which
    it must report as extra on the stream (there, not in the store) and nothing else."""
    stream = report["stream"]
    wrong = [f"chain break {b}" for b in report["chain_breaks"]]
    wrong += [f"bad signature in the store {b}" for b in report["signatures"]["bad"]]
    for kind in ("missing", "altered", "duplicated"):
        wrong += [f"{kind} {i}" for i in stream[f"{kind}_ids"]]
    wrong += [f"extra {i}" for i in stream["extra_ids"] if i not in injected.ids]
    return wrong


def check(
    system: System, hz: HaiZhi, journal: Journal, injected: Injected | None = None
) -> dict[str, Any]:
    """Assert the whole oracle; returns its figures for the scenario's report."""
    injected = injected or Injected()
    hz.settle(SETTLE)
    stores = {s: read_store(system, s) for s in SERVICES}
    answered = journal.answered()
    assert commands_recorded_once(answered, stores) == []

    auditor = CAST.auditor
    verified = hz.audit.verify(auditor)
    assert {name: store_faults(report, injected) for name, report in verified.items()} == {
        name: [] for name in SERVICES
    }
    in_stores = sum(report["stream"]["in_store"] for report in verified.values())

    total, audit, letters = asyncio.run(_bus(system))
    assert total == in_stores + len(injected.sequences), (total, in_stores, injected)
    bad = {seq for tally in audit.services.values() for seq in tally.bad}
    assert bad == injected.untrusted - injected.unsigned
    assert sum(tally.unsigned for tally in audit.services.values()) == len(injected.unsigned)
    conflicted = {i for c in audit.version_conflicts for i in c["ids"]}
    assert injected.conflicts <= conflicted
    assert len(audit.version_conflicts) == len(injected.conflicts)

    never = injected.unapplied | injected.conflicts
    applied = [
        (service, event_id)
        for service, stored in stores.items()
        for event_id, outcome in stored.inbox
        if event_id in never and outcome == "applied"
    ]
    assert applied == []

    rebuilt = hz.audit.rebuild(auditor)
    assert {name: r["ok"] for name, r in rebuilt.items()} == dict.fromkeys(SERVICES, True), rebuilt

    listed = {
        (letter["consumer"], letter["event_id"])
        for service in hz.audit.services.values()
        for letter in service.every("/audit/dead-letters", auditor, items="dead_letters")
    }
    in_dlq = {(h["Haizhi-Consumer"], h["Haizhi-Dead-Letter"]) for h in letters}
    assert listed == in_dlq
    assert {int(h["Haizhi-Original-Sequence"]) for h in letters} == injected.sequences
    return {
        "commands_answered": len(answered),
        "commands_retried": sum(1 for s in answered if s.attempts > 1),
        "events_stored": sum(len(s.events) for s in stores.values()),
        "haizhi_messages": total,
        "dead_letters": len(in_dlq),
    }
