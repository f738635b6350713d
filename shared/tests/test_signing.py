"""Only a service may speak for itself: signed events, verified before anything is applied.

Real NATS, real databases. Each refused message is dead-lettered with its reason, raises the
alert metric, and has no effect; the real event keeps its place in the stream's order.
"""

from __future__ import annotations

import base64
import json
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from nats.js import JetStreamContext
from sqlalchemy import Column, Integer, MetaData, String, Table, insert, select, text
from sqlalchemy.ext.asyncio import AsyncConnection

from shared.consumer import Consumer, Outcome, Reason, Subscription
from shared.db import Database
from shared.envelope import Envelope
from shared.metrics import Metrics
from shared.signing import (
    Signer,
    TrustedKeys,
    Untrusted,
    Verification,
    _unb64,
    development_signer,
    trust_key,
)
from shared.store import EventStore, Metadata, PendingEvent
from shared.stream_audit import audit_stream
from shared.streams import DLQ_STREAM
from shared.testkit.bus import foreign_event, publish, run_until_idle
from shared.testkit.keys import signer, trust

effects_metadata = MetaData()
effects = Table(
    "signing_effects",
    effects_metadata,
    Column("seq", Integer, primary_key=True, autoincrement=True),
    Column("stream", String(50)),
    Column("version", Integer),
    Column("event_id", String(26)),
)


async def record(conn: AsyncConnection, event: Envelope) -> None:
    await conn.execute(
        insert(effects).values(stream=event.subject, version=event.streamversion, event_id=event.id)
    )


def event(stream: str, version: int, **data: Any) -> Envelope:
    return foreign_event("upstream", "Happened", dict(data), stream_id=stream, version=version)


@pytest.fixture
def metrics() -> Metrics:
    return Metrics("probe")


@pytest.fixture
async def consumer(database: Database, js: JetStreamContext, metrics: Metrics) -> Consumer:
    async with database.engine.begin() as conn:
        await conn.run_sync(effects_metadata.create_all)
    subscription = Subscription("signing-consumer", "upstream", {"Happened": record})
    consumer = Consumer(
        database,
        js,
        subscription,
        gap_delay=0.05,
        trust=trust(),
        on_alert=metrics.alert,
        max_gap_deliveries=3,
    )
    await consumer.start()
    return consumer


async def applied(database: Database) -> list[tuple[str, int, str]]:
    async with database.read_engine.connect() as conn:
        rows = await conn.execute(
            select(effects.c.stream, effects.c.version, effects.c.event_id).order_by(effects.c.seq)
        )
        return [(r.stream, r.version, r.event_id) for r in rows]


async def dead_reasons(js: JetStreamContext) -> list[str]:
    info = await js.stream_info(DLQ_STREAM)
    reasons = []
    for seq in range(int(info.state.first_seq), int(info.state.last_seq) + 1):
        message = await js.get_msg(DLQ_STREAM, seq)
        reasons.append((message.headers or {}).get("Haizhi-Reason", ""))
    return reasons


def alerts(metrics: Metrics, name: str, reason: str) -> float:
    value = metrics.registry.get_sample_value(
        name, {"consumer": "signing-consumer", "reason": reason}
    )
    return float(value or 0.0)


def forged(original: Envelope, **data: Any) -> Envelope:
    """`original` with other data, re-sealed: a valid hash chain, its signature kept."""
    return Envelope.from_attributes({**original.attributes(), "data": data}).sealed()


@pytest.mark.parametrize(
    ("forge", "reason"),
    [
        (lambda e: replace(forged(e, amount=600000), sigkeyid=None, signature=None), "unsigned"),
        (lambda e: forged(e, amount=600000), Untrusted.BAD_SIGNATURE),
        (lambda e: signer("review").sign(forged(e, amount=600000)), Untrusted.WRONG_SERVICE),
        (lambda e: Signer.generate("upstream").sign(forged(e)), Untrusted.UNKNOWN_KEY),
        (lambda e: replace(e, hash="0" * 64), Untrusted.BAD_HASH),
    ],
    ids=["unsigned", "re-sealed", "another-service", "unknown-key", "bad-hash"],
)
async def test_a_forged_event_is_dead_lettered_with_its_reason_and_never_applied(
    consumer: Consumer,
    js: JetStreamContext,
    database: Database,
    metrics: Metrics,
    forge: Any,
    reason: str,
) -> None:
    real = event("s-1", 1)
    fake = forge(real)
    await publish(js, fake, msg_id=f"{fake.id}-forged")  # ahead of the real one
    await publish(js, real)

    outcomes = await run_until_idle(consumer)

    assert outcomes == [Outcome.UNTRUSTED, Outcome.APPLIED]
    assert await applied(database) == [("s-1", 1, real.id)]
    assert await dead_reasons(js) == [reason]
    assert alerts(metrics, "untrusted_events_total", reason) == 1
    # Listed as a dead letter, by its HAIZHI sequence (its claimed version is the real one's).
    assert [letter["subject"] for letter in await consumer.unreadable_letters()] == [
        fake.nats_subject
    ]


def test_the_signature_is_verified_over_exactly_the_envelopes_signed_bytes() -> None:
    """`prepare` builds the signed bytes beside the hash; they are `signed_bytes()`, and only
    a signature over them, under the named key, of the right length, verifies."""
    real = event("s-1", 1, amount=5, text="海智")
    prepared = trust().prepare(real)
    assert isinstance(prepared, Verification)
    assert real.signature is not None
    assert prepared.signed == _unb64(real.signature) + real.signed_bytes()
    assert prepared.run() is None
    assert trust().check(real) is None
    flipped = bytearray(_unb64(real.signature))
    flipped[10] ^= 1
    short = _unb64(real.signature)[:63]
    for bad in (bytes(flipped), short, _unb64(real.signature) + b"\0"):
        changed = replace(real, signature=base64.urlsafe_b64encode(bad).decode().rstrip("="))
        assert trust().check(changed) == Untrusted.BAD_SIGNATURE
    assert trust().check(replace(real, signature="not base64!")) == Untrusted.BAD_SIGNATURE
    # Signed by upstream's key over other bytes: the key id's service is checked after it.
    other = signer("upstream").sign(event("s-1", 2))
    assert trust().check(replace(real, signature=other.signature)) == Untrusted.BAD_SIGNATURE


@pytest.mark.parametrize(
    ("odd", "reason"),
    [
        ({"hash": float("nan")}, Untrusted.BAD_HASH),
        ({"hash": ["h"]}, Untrusted.BAD_HASH),
        ({"sigkeyid": ["upstream:1"]}, Untrusted.UNKNOWN_KEY),
        ({"sigkeyid": 7}, Untrusted.UNKNOWN_KEY),
        ({"signature": 12345}, Untrusted.BAD_SIGNATURE),
        ({"data": {"amount": float("nan")}}, Untrusted.BAD_HASH),
        ({"data": {"amount": float("inf")}, "actor": float("nan")}, Untrusted.BAD_HASH),
    ],
    ids=["nan-hash", "list-hash", "list-key-id", "number-key-id", "number-signature",
         "nan-data", "infinity-data"],
)  # fmt: skip
def test_a_received_envelope_of_odd_types_is_refused_with_a_reason_never_raised(
    odd: dict[str, Any], reason: str
) -> None:
    """What JSON can carry and no producer writes (`json.loads` reads NaN and Infinity):
    the check answers with a reason, so the consumer dead-letters the message as untrusted
    instead of failing on it as on a poison message."""
    received = Envelope.from_json(json.dumps({**event("s-1", 1).attributes(), **odd}))
    assert trust().check(received) == reason


async def test_messages_no_producer_writes_are_dead_lettered_and_the_rest_flows(
    consumer: Consumer, js: JetStreamContext, database: Database
) -> None:
    """Bytes that are JSON but not an envelope (not an object, a time or version of another
    type, a version beyond any float, nesting too deep to read) and a signed event whose type
    has no subject: each is dead-lettered, none stops the consumer; the real event after
    them is applied."""
    real = event("s-1", 1)
    good = json.loads(real.to_json())
    subject = real.nats_subject
    for body in (
        b"[]",
        json.dumps({**good, "time": 0}).encode(),
        json.dumps(good).replace('"streamversion": 1', '"streamversion": 1e400').encode(),
        b'{"data":' + b"[" * 3000 + b"]" * 3000 + b"}",
    ):
        await js.publish(subject, body)
    odd_type = signer("upstream").sign(replace(real, type="haizhi.upstream.NoVersion").sealed())
    await js.publish(subject, odd_type.to_json())
    await publish(js, real)

    outcomes = await run_until_idle(consumer)

    assert outcomes == [*[Outcome.DEAD_LETTERED] * 4, Outcome.UNTRUSTED, Outcome.APPLIED]
    assert await applied(database) == [("s-1", 1, real.id)]
    reasons = await dead_reasons(js)
    assert reasons[-1] == "wrong-subject"


def test_a_signature_is_the_keys_ed25519_signature_of_the_signed_bytes() -> None:
    """The store signs through libsodium: what it writes is exactly the RFC 8032 signature of
    the key (as `cryptography` computes it) over `signed_bytes()`, so any Ed25519 library,
    the auditor's included, checks it."""
    key = signer("upstream")
    signed = key.sign(event("s-1", 1, amount=5, text="海智"))
    assert signed.signature is not None
    assert _unb64(signed.signature) == key.private.sign(signed.signed_bytes())
    key.public.verify(_unb64(signed.signature), signed.signed_bytes())  # raises if not


async def test_an_event_on_another_services_subject_is_refused(
    consumer: Consumer, js: JetStreamContext, database: Database
) -> None:
    real = event("s-1", 1)
    await js.publish("haizhi.upstream.s-2.Happened", real.to_json())
    assert await run_until_idle(consumer) == [Outcome.UNTRUSTED]
    assert await dead_reasons(js) == ["wrong-subject"]
    assert await applied(database) == []


async def test_a_consumer_without_trusted_keys_applies_nothing(
    database: Database, js: JetStreamContext
) -> None:
    async with database.engine.begin() as conn:
        await conn.run_sync(effects_metadata.create_all)
    subscription = Subscription("untrusting", "upstream", {"Happened": record})
    blind = Consumer(database, js, subscription)
    await publish(js, event("s-1", 1))
    assert await run_until_idle(blind) == [Outcome.UNTRUSTED]
    assert await applied(database) == []


async def test_rotation_accepts_the_old_and_new_keys_until_the_old_is_removed(
    database: Database, js: JetStreamContext, tmp_path: Path
) -> None:
    async with database.engine.begin() as conn:
        await conn.run_sync(effects_metadata.create_all)
    old, new = Signer.generate("upstream"), Signer.generate("upstream")
    trusted = tmp_path / "trusted"
    old_file = trust_key(trusted, "upstream", old.public)
    trust_key(trusted, "upstream", new.public)
    subscription = Subscription("rotating", "upstream", {"Happened": record})
    keys = TrustedKeys.from_directory(trusted)
    rotating = Consumer(database, js, subscription, trust=keys)

    base = event("s-1", 1)
    await publish(js, old.sign(replace(base, sigkeyid=None, signature=None)))
    await publish(js, new.sign(replace(event("s-1", 2), sigkeyid=None, signature=None)))
    assert await run_until_idle(rotating) == [Outcome.APPLIED, Outcome.APPLIED]

    old_file.unlink()  # the old key retired: what it signs is refused from now on
    await publish(js, old.sign(replace(event("s-1", 3), sigkeyid=None, signature=None)))
    await publish(js, new.sign(replace(event("s-1", 3), sigkeyid=None, signature=None)))
    assert await run_until_idle(rotating) == [Outcome.UNTRUSTED, Outcome.APPLIED]
    assert [version for _, version, _ in await applied(database)] == [1, 2, 3]
    assert await dead_reasons(js) == [Untrusted.UNKNOWN_KEY]


async def test_another_event_at_a_processed_version_is_quarantined_not_skipped(
    consumer: Consumer, js: JetStreamContext, database: Database, metrics: Metrics
) -> None:
    first = event("s-1", 1)
    await publish(js, first)
    await run_until_idle(consumer)
    other = event("s-1", 1, note="another event, validly signed, at the same version")
    await publish(js, other)
    await publish(js, first, msg_id=f"{first.id}-again")  # a true duplicate stays a duplicate

    outcomes = await run_until_idle(consumer)

    assert outcomes == [Outcome.QUARANTINED, Outcome.SKIPPED]
    assert await applied(database) == [("s-1", 1, first.id)]
    assert await dead_reasons(js) == [Reason.VERSION_CONFLICT]
    assert alerts(metrics, "quarantined_events_total", Reason.VERSION_CONFLICT) == 1


async def test_a_version_conflict_inside_a_fetch_is_quarantined_too(
    consumer: Consumer, js: JetStreamContext, database: Database
) -> None:
    first = event("s-1", 1)
    await publish(js, first)
    await publish(js, event("s-1", 1, note="same version, another id"))
    second = event("s-1", 2)
    await publish(js, second)
    outcomes = await run_until_idle(consumer)
    assert outcomes == [Outcome.APPLIED, Outcome.QUARANTINED, Outcome.APPLIED]
    assert await applied(database) == [("s-1", 1, first.id), ("s-1", 2, second.id)]
    assert await dead_reasons(js) == [Reason.VERSION_CONFLICT]


async def test_a_gap_that_never_fills_is_parked_then_repaired_by_replay(
    consumer: Consumer, js: JetStreamContext, database: Database, metrics: Metrics
) -> None:
    first, second, third = event("s-1", 1), event("s-1", 2), event("s-1", 3)
    await publish(js, second)  # version 1 is lost on its way

    outcomes = await run_until_idle(consumer)

    assert outcomes == [Outcome.GAP, Outcome.GAP, Outcome.PARKED]  # max_gap_deliveries=3
    assert await dead_reasons(js) == [Reason.GAP_UNFILLED]
    assert alerts(metrics, "quarantined_events_total", Reason.GAP_UNFILLED) == 1
    assert [e.id for e in await consumer.dead_letters()] == [second.id]

    await publish(js, third)  # behind a parked event: parked at once, no waiting
    assert await run_until_idle(consumer) == [Outcome.PARKED]
    with pytest.raises(Exception, match="must arrive first"):
        await consumer.replay(second.id)

    await publish(js, first)  # what `reconcile --repair` republishes upstream
    assert await run_until_idle(consumer) == [Outcome.APPLIED]
    assert await consumer.replay(second.id) == Outcome.REPLAYED  # and the next parked one
    assert [(v, i) for _, v, i in await applied(database)] == [
        (1, first.id),
        (2, second.id),
        (3, third.id),
    ]
    assert await consumer.dead_letters() == []
    await publish(js, event("s-1", 4))
    assert await run_until_idle(consumer) == [Outcome.APPLIED]


async def test_a_parked_event_delivered_again_in_order_is_applied(
    consumer: Consumer, js: JetStreamContext, database: Database
) -> None:
    first, second = event("s-1", 1), event("s-1", 2)
    await publish(js, second)
    await run_until_idle(consumer)
    await publish(js, first)
    await publish(js, second, msg_id=f"{second.id}-again")
    assert await run_until_idle(consumer) == [Outcome.APPLIED, Outcome.APPLIED]
    assert [v for _, v, _ in await applied(database)] == [1, 2]
    assert await consumer.dead_letters() == []


NOW = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
META = Metadata(case_id="case-1", actor="user-1", correlation_id="corr-1")


async def append(store: EventStore, stream: str, n: int) -> list[Envelope]:
    pending = [PendingEvent("haizhi.test.Happened.v1", {"n": i}) for i in range(n)]
    async with store.db.engine.begin() as conn:
        head = await store.stream_head(conn, stream)
        return await store.append(conn, stream, head[0], pending, META, NOW)


async def test_the_store_signs_what_it_appends_and_the_audit_checks_every_signature(
    database: Database,
) -> None:
    store = EventStore(database, "test", signer("test"))
    written = await append(store, "s-1", 3)
    assert all(e.sigkeyid == signer("test").key_id for e in written)
    assert trust().check(written[0]) is None
    report = await store.verify_signatures(trust())
    assert (report.signed, report.unsigned_legacy, report.bad) == (3, 0, {})
    assert await store.verify() == []  # the hash chain is the same with or without a signature

    unsigned = await append(EventStore(database, "test"), "s-1", 1)
    foreign = await append(EventStore(database, "test", signer("review")), "s-2", 1)
    report = await store.verify_signatures(trust())
    assert report.bad == {
        unsigned[0].id: Untrusted.UNSIGNED,
        foreign[0].id: Untrusted.WRONG_SERVICE,
    }


async def test_events_stored_before_the_cutover_are_unsigned_legacy(database: Database) -> None:
    await append(EventStore(database, "test"), "s-1", 2)  # before signing existed
    async with database.engine.begin() as conn:
        await conn.execute(text("UPDATE signing_cutover SET legacy_below = 3"))
    store = EventStore(database, "test", signer("test"))
    await append(store, "s-1", 1)
    report = await store.verify_signatures(trust())
    assert (report.signed, report.unsigned_legacy, report.bad) == (1, 2, {})


def test_the_development_key_is_generated_owner_only_and_trusted(tmp_path: Path) -> None:
    key, trusted = tmp_path / "keys" / "probe.key", tmp_path / "keys" / "trusted"
    made = development_signer("probe", key, trusted)
    assert key.stat().st_mode & 0o777 == 0o600
    again = development_signer("probe", key, trusted)  # the next start reads it back
    assert again.key_id == made.key_id
    assert made.key_id.startswith("probe:")
    assert list(TrustedKeys.from_directory(trusted).keys) == [made.key_id]


async def test_the_stream_audit_reports_untrusted_messages_and_version_conflicts(
    js: JetStreamContext,
) -> None:
    real = event("s-1", 1)
    twin = event("s-1", 1, note="validly signed, same version")
    await publish(js, real)
    await publish(js, real, msg_id=f"{real.id}-again")  # a republished copy: no conflict
    await publish(js, twin)
    unsigned = replace(forged(real, amount=1), sigkeyid=None, signature=None)
    await publish(js, unsigned, msg_id="unsigned")
    await publish(js, forged(real, amount=2), msg_id="re-sealed")

    found = await audit_stream(js, trust())

    upstream = found.services["upstream"]
    assert (upstream.signed, upstream.unsigned) == (3, 1)
    assert list(upstream.bad.values()) == [Untrusted.BAD_SIGNATURE]
    assert found.version_conflicts == [
        {"service": "upstream", "stream": "s-1", "version": 1, "ids": sorted([real.id, twin.id])}
    ]
