"""The bus: outbox relay, consumer and end-to-end lag against raw nats-py on the same server.

relay_ratio    OutboxRelay.drain_once of N committed events into HAIZHI, on a FastStream broker's
               connection as a service runs it ÷ raw nats-py
               `publish_async` of the same payloads (Nats-Msg-Id set) to a stream created from
               HAIZHI's own config (name and subjects aside), all in flight, then awaited.
               Headline: one event per stream (many cases); `raw` adds streams of ten events,
               where the relay's order-keeping waves cost round trips.
consume_ratio  shared.consumer.Consumer as a service runs it: fed by the FastStream durable pull
               subscriber of shared.edge (batches of 64; inbox rows, one transaction and acks
               per batch, no-op handler, SQLite) ÷ a raw durable pull consumer: fetch(64),
               json.loads of each envelope (for the inbox row's id, stream and version), the
               batch's inbox rows in one `executemany` (sqlite3, BEGIN IMMEDIATE … COMMIT,
               the kernel's pragmas and inbox table), then ack each message.
lag_p99_ratio  p99 of: commit in "service A" (Executor on SQLite A, its relay running, woken
               by the commit) → read model row committed in "service B" (Consumer into SQLite B,
               the toy projection) ÷ p99 of a raw round trip: publish (awaiting the ack) →
               pull → the inbox row and the totals row committed by sqlite3 in one durable
               transaction (BEGIN IMMEDIATE … COMMIT, `synchronous=FULL`) → ack. One command at
               a time; both use their own NATS connections.
Every trial also reports CPU µs per operation (time.process_time: every thread of the process).
All on the embedded nats-server (`sync_interval: always`) of shared.nats_server.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import sqlite3
import statistics
import time
from collections.abc import AsyncIterator
from typing import Any

import nats
from nats.aio.client import Client as NatsClient
from nats.aio.msg import Msg
from nats.errors import TimeoutError as NatsTimeout
from nats.js import JetStreamContext, api
from sqlalchemy.ext.asyncio import AsyncConnection

from shared.consumer import Consumer, Subscription
from shared.edge import Consumers, declare_subscriber, jetstream, new_broker
from shared.envelope import Envelope, format_time
from shared.outbox import OutboxRelay
from shared.streams import STREAM, ensure_streams
from shared.testkit.bus import foreign_event
from shared.testkit.keys import trust
from shared.tests.toy import Open, TotalsProjection, metadata, registry, tally

from .common import (
    CTX,
    NOW,
    Env,
    Figure,
    Round,
    Stopwatch,
    cpu_per_op,
    event_rows,
    executor,
    interleave,
    open_streams,
    paired,
    percentile,
    ratio,
    sqlite_connect,
    sqlite_file,
)

RAW_STREAM = "BENCH_RAW"
RAW_PREFIX = "benchraw"
MSG_ID = "Nats-Msg-Id"
INBOX_COLUMNS = (
    "consumer",
    "event_id",
    "upstream_stream",
    "version",
    "outcome",
    "envelope",
    "processed_at",
)
INSERT_INBOX = (
    f"INSERT INTO inbox ({', '.join(INBOX_COLUMNS)}) "
    f"VALUES ({', '.join('?' for _ in INBOX_COLUMNS)})"
)
INSERT_TOTALS = "INSERT INTO toy_totals (tally_id, name, total, events) VALUES (?, ?, 0, 1)"


def inbox_row(consumer: str, data: bytes) -> tuple[Any, ...]:
    """A raw consumer's inbox row for one message: what ours records, from a plain parse."""
    attributes = json.loads(data)
    return (
        consumer,
        attributes["id"],
        attributes["subject"],
        attributes["streamversion"],
        "applied",
        data.decode("utf-8"),
        format_time(NOW),
    )


def durable_write(conn: sqlite3.Connection, sql: str, rows: list[tuple[Any, ...]]) -> None:
    conn.execute("BEGIN IMMEDIATE")
    try:
        conn.executemany(sql, rows)
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


@contextlib.asynccontextmanager
async def connected(env: Env) -> AsyncIterator[tuple[NatsClient, JetStreamContext]]:
    nc = await nats.connect(env.nats_url)
    try:
        js = nc.jetstream()
        await ensure_streams(js)
        yield nc, js
    finally:
        await nc.close()  # not drain(): a lingering pull request would hold it for its timeout


async def ensure_raw_stream(js: JetStreamContext) -> None:
    """A stream with HAIZHI's configuration, under another name and subject root."""
    with contextlib.suppress(nats.js.errors.NotFoundError):
        await js.stream_info(RAW_STREAM)
        return
    haizhi = (await js.stream_info(STREAM)).config
    await js.add_stream(
        haizhi.evolve(name=RAW_STREAM, subjects=[f"{RAW_PREFIX}.>"], description="bench baseline")
    )


def raw_payloads(prefix: str, n: int) -> list[tuple[str, bytes, str]]:
    """(subject, payload, id) of n events shaped as the store writes them, for the raw stream."""
    out = []
    for row in event_rows(prefix, n):
        envelope = Envelope.from_json(row["envelope"])
        subject = envelope.nats_subject.replace("haizhi.", f"{RAW_PREFIX}.", 1)
        out.append((subject, row["envelope"].encode(), envelope.id))
    return out


async def relay_ratio(env: Env) -> Figure:
    n = env.sizes.relay
    batch = itertools.count()
    broker = new_broker(env.nats_url, "bench-relay")
    await broker.connect()
    async with connected(env) as (_, js), env.sqlite("relay") as db:
        await ensure_raw_stream(js)
        relay = OutboxRelay(db, jetstream(broker))

        async def relay_round(per_stream: int) -> tuple[int, float, float]:
            await open_streams(db, f"s{next(batch)}", n // per_stream, per_stream)
            with Stopwatch() as watch:
                relayed = await relay.drain_once()
            return watch.done(relayed)

        async def raw_round(per_stream: int) -> tuple[int, float, float]:
            messages = raw_payloads(f"r{next(batch)}", n)  # the order of streams is no matter
            with Stopwatch() as watch:
                futures = [
                    await js.publish_async(s, p, stream=RAW_STREAM, headers={MSG_ID: i})
                    for s, p, i in messages
                ]
                await asyncio.gather(*futures)
            return watch.done(len(messages))

        async def relay_single() -> tuple[int, float, float]:
            return await relay_round(1)

        async def raw_single() -> tuple[int, float, float]:
            return await raw_round(1)

        async def relay_tens() -> tuple[int, float, float]:
            return await relay_round(10)

        async def raw_tens() -> tuple[int, float, float]:
            return await raw_round(10)

        single = await interleave({"relay": relay_single, "raw": raw_single}, env.sizes.rounds)
        tens = await interleave(
            {"relay": relay_tens, "raw": raw_tens}, max(1, env.sizes.rounds - 1)
        )
        await relay.close()
    await broker.stop()
    return paired(single, "relay", "raw"), {
        "cpu_us_per_op": cpu_per_op(single, "relay", "raw"),
        "one_event_per_stream": {
            "events_per_s": single,
            "ratio": paired(single, "relay", "raw"),
        },
        "ten_events_per_stream": {
            "events_per_s": tens,
            "ratio": paired(tens, "relay", "raw"),
        },
        "events_per_round": n,
        "relay_batch_size": 256,
    }


async def publish_upstream(js: JetStreamContext, upstream: str, n: int, per_stream: int) -> None:
    """n events of service `upstream`, `per_stream` versions per stream, in version order."""
    streams = n // per_stream
    futures = []
    for version in range(1, per_stream + 1):
        for s in range(streams):
            envelope = foreign_event(
                upstream,
                "Happened",
                {"n": version, "text": "海智" * 20},
                stream_id=f"{upstream}-{s}",
                version=version,
                case_id=f"case-{s}",
            )
            futures.append(
                await js.publish_async(
                    envelope.nats_subject, envelope.to_json(), headers={MSG_ID: envelope.id}
                )
            )
    await asyncio.gather(*futures)


async def _noop(conn: AsyncConnection, envelope: Envelope) -> None:
    return None


class CountingConsumer(Consumer):
    """Says when `target` messages of its batches were applied."""

    target: int
    done: int
    finished: asyncio.Event

    async def handle(self, messages: list[Msg]) -> list[str]:
        outcomes = await super().handle(messages)
        self.done += outcomes.count("applied")
        if self.done >= self.target:
            self.finished.set()
        return outcomes


EDGE = "edge"


async def _consume_rates(env: Env, kinds: dict[str, type[Consumer] | str | None]) -> dict[str, Any]:
    """Rates of each consumer class stepped by hand, of the consumer fed by FastStream (EDGE),
    and of the raw fetch-and-ack loop (None), on fresh messages."""
    n = env.sizes.consume
    batch = itertools.count()
    async with (
        connected(env) as (_, js),
        env.sqlite("consume") as db,
        env.sqlite("consume-raw") as raw_db,
    ):
        raw_conn = sqlite_connect(sqlite_file(raw_db))

        async def through_edge() -> tuple[int, float, float]:
            upstream = f"up{next(batch)}"
            await publish_upstream(js, upstream, n, per_stream=5)
            durable = f"bench-{upstream}"
            consumers = Consumers()
            broker = new_broker(env.nats_url, "bench-consume")
            declare_subscriber(broker, consumers, durable, upstream, ["Happened"])
            await broker.connect()
            subscription = Subscription(durable, upstream, {"Happened": _noop})
            consumer = CountingConsumer(db, jetstream(broker), subscription, trust=trust())
            consumer.target, consumer.done, consumer.finished = n, 0, asyncio.Event()
            consumers[durable] = consumer
            with Stopwatch() as watch:
                await broker.start()
                try:
                    await asyncio.wait_for(consumer.finished.wait(), timeout=120)
                except BaseException:
                    await broker.stop()
                    raise
            await broker.stop()
            return watch.done(consumer.done)

        def ours(kind: type[Consumer]) -> Round:
            async def one_round() -> tuple[int, float, float]:
                upstream = f"up{next(batch)}"
                await publish_upstream(js, upstream, n, per_stream=5)
                subscription = Subscription(f"bench-{upstream}", upstream, {"Happened": _noop})
                consumer = kind(db, js, subscription, trust=trust())
                await consumer.start()
                done = 0
                with Stopwatch() as watch:
                    while done < n:
                        outcomes = await consumer.fetch_and_process(wait=2.0)
                        done += outcomes.count("applied")
                        if not outcomes:
                            raise RuntimeError(f"consumer stalled at {done} of {n}")
                return watch.done(done)

            return one_round

        async def raw() -> tuple[int, float, float]:
            return await raw_round(verify=False)

        async def raw_verifying() -> tuple[int, float, float]:
            return await raw_round(verify=True)

        async def raw_round(*, verify: bool) -> tuple[int, float, float]:
            upstream = f"up{next(batch)}"
            await publish_upstream(js, upstream, n, per_stream=5)
            subject = f"haizhi.{upstream}.>"
            config = api.ConsumerConfig(
                durable_name=f"raw-{upstream}",
                ack_policy=api.AckPolicy.EXPLICIT,
                deliver_policy=api.DeliverPolicy.ALL,
                filter_subject=subject,
                max_ack_pending=10_000,
            )
            sub = await js.pull_subscribe(
                subject, durable=f"raw-{upstream}", stream=STREAM, config=config
            )
            name = f"raw-{upstream}"
            keys = trust()  # after publishing: the upstream's test key exists from then on
            done = 0
            with Stopwatch() as watch:
                while done < n:
                    messages = await sub.fetch(64, timeout=2.0)
                    if verify:  # what ours does first: refuse what no trusted key vouches for
                        for message in messages:
                            if keys.check(Envelope.from_json(message.data)) is not None:
                                raise RuntimeError("the bench's own events failed to verify")
                    durable_write(
                        raw_conn, INSERT_INBOX, [inbox_row(name, m.data) for m in messages]
                    )
                    for message in messages:
                        await message.ack()
                    done += len(messages)
            await sub.unsubscribe()
            return watch.done(done)

        trials: dict[str, Round] = {}
        for name, kind in kinds.items():
            if kind is None:
                trials[name] = raw_verifying if name == RAW_VERIFYING else raw
            elif isinstance(kind, str):
                trials[name] = through_edge
            else:
                trials[name] = ours(kind)
        try:
            return await interleave(trials, env.sizes.rounds)
        finally:
            raw_conn.close()


#: The raw consumer that also checks each message's signature, as ours must since issue 13:
#: not the key's baseline (the issue's raw consumer verifies nothing), its context in `raw`.
RAW_VERIFYING = "raw_verifying"


async def consume_ratio(env: Env) -> Figure:
    rates = await _consume_rates(env, {"consumer": EDGE, "raw": None, RAW_VERIFYING: None})
    return paired(rates, "consumer", "raw"), {
        "events_per_s": rates,
        "cpu_us_per_op": cpu_per_op(rates, "consumer", "raw"),
        "ratio_to_raw_verifying": paired(rates, "consumer", RAW_VERIFYING),
        "cpu_us_per_op_raw_verifying": cpu_per_op(rates, "consumer", RAW_VERIFYING),
        "messages_per_round": env.sizes.consume,
        "database": "sqlite",
        "consumer_batch": 64,
        "driver": "FastStream durable pull subscriber (shared.edge), batches of 64",
        "handler": "no-op: the figure is the consumer's own cost (inbox row, transaction, ack)",
        "baseline": "raw durable pull consumer: fetch(64), json.loads, inbox rows by one "
        "executemany in a sqlite3 BEGIN IMMEDIATE … COMMIT, then ack each",
    }


class TimedConsumer(Consumer):
    """Stamps the moment each message's transaction (read model + inbox) has committed."""

    seen: dict[str, float]
    arrived: asyncio.Event

    async def handle(self, messages: list[Msg]) -> list[str]:
        outcomes = await super().handle(messages)
        now = time.perf_counter()
        for message in messages:
            self.seen[(message.headers or {}).get(MSG_ID, "")] = now
        self.arrived.set()
        return outcomes


async def lag_p99_ratio(env: Env) -> Figure:
    samples = env.sizes.lag_samples
    stop = asyncio.Event()
    async with (
        connected(env) as (_, js_a),
        connected(env) as (_, js_b),
        env.sqlite("lag-a") as db_a,
        env.sqlite("lag-b") as db_b,
        env.sqlite("lag-raw") as db_raw,
    ):
        for db in (db_b, db_raw):
            async with db.engine.begin() as conn:
                await conn.run_sync(metadata.create_all)
        raw_conn = sqlite_connect(sqlite_file(db_raw))
        relay = OutboxRelay(db_a, js_a)
        committed: list[float] = []

        def on_commit() -> None:
            committed.append(time.perf_counter())
            relay.wake()

        service_a = executor(db_a, on_commit=on_commit)
        projection = TotalsProjection()

        async def read_model(conn: AsyncConnection, envelope: Envelope) -> None:
            await projection.apply(conn, envelope, registry.decode(envelope.type, envelope.data))

        # Service B as it runs: the kernel consumer fed by a FastStream subscriber.
        consumers = Consumers()
        broker = new_broker(env.nats_url, "bench-lag")
        declare_subscriber(broker, consumers, "bench-lag", "toy", ["Opened"])
        await broker.connect()
        consumer = TimedConsumer(
            db_b,
            jetstream(broker),
            Subscription("bench-lag", "toy", {"Opened": read_model}),
            trust=trust(),
        )
        consumer.seen, consumer.arrived = {}, asyncio.Event()
        consumers["bench-lag"] = consumer
        await broker.start()
        # The raw round trip: a pull consumer of its own that commits the message's inbox row
        # and its totals row durably (sqlite3, synchronous=FULL) before it acknowledges.
        await ensure_raw_stream(js_a)
        raw_subject = f"{RAW_PREFIX}.lag.>"
        raw_config = api.ConsumerConfig(
            durable_name="raw-lag",
            ack_policy=api.AckPolicy.EXPLICIT,
            deliver_policy=api.DeliverPolicy.NEW,
            filter_subject=raw_subject,
        )
        raw_sub = await js_b.pull_subscribe(
            raw_subject, durable="raw-lag", stream=RAW_STREAM, config=raw_config
        )
        raw_seen: dict[str, float] = {}
        raw_arrived = asyncio.Event()

        async def raw_loop() -> None:
            while not stop.is_set():
                try:
                    messages = await raw_sub.fetch(64, timeout=1.0)
                except NatsTimeout:
                    continue
                inbox = [inbox_row("raw-lag", m.data) for m in messages]
                raw_conn.execute("BEGIN IMMEDIATE")
                raw_conn.executemany(INSERT_INBOX, inbox)
                raw_conn.executemany(INSERT_TOTALS, [(row[1], "lag") for row in inbox])
                raw_conn.execute("COMMIT")
                now = time.perf_counter()
                for message in messages:
                    raw_seen[(message.headers or {}).get(MSG_ID, "")] = now
                raw_arrived.set()
                for message in messages:
                    await message.ack()

        tasks = [
            asyncio.create_task(relay.run(stop)),
            asyncio.create_task(raw_loop()),
        ]
        counter = itertools.count()

        async def wait_for(seen: dict[str, float], arrived: asyncio.Event, key: str) -> float:
            while key not in seen:
                arrived.clear()
                await asyncio.wait_for(arrived.wait(), timeout=30)
            return seen[key]

        async def ours_sample() -> float:
            i = next(counter)
            result = await service_a.execute(
                tally, f"lag-{i}", Open(f"t{i}", "lag"), ctx=CTX, case_id=f"lag-{i}"
            )
            at_commit = committed[-1]
            seen = await wait_for(consumer.seen, consumer.arrived, result.events[0].id)
            return seen - at_commit

        async def raw_sample() -> float:
            subject, payload, key = raw_payloads(f"lag{next(counter)}-", 1)[0]
            subject = subject.replace(f"{RAW_PREFIX}.", f"{RAW_PREFIX}.lag.", 1)
            started = time.perf_counter()
            await js_a.publish(subject, payload, stream=RAW_STREAM, headers={MSG_ID: key})
            return await wait_for(raw_seen, raw_arrived, key) - started

        ours_lags: list[float] = []
        raw_lags: list[float] = []
        cpu = {"ours": 0.0, "raw": 0.0}
        try:
            for _ in range(5):  # warm-up
                await ours_sample()
                await raw_sample()
            block = 10
            for start in range(0, samples, block):
                with Stopwatch() as watch:
                    for _ in range(min(block, samples - start)):
                        ours_lags.append(await ours_sample())
                cpu["ours"] += watch.cpu
                with Stopwatch() as watch:
                    for _ in range(min(block, samples - start)):
                        raw_lags.append(await raw_sample())
                cpu["raw"] += watch.cpu
        finally:
            stop.set()
            relay.wake()
            await asyncio.gather(*tasks, return_exceptions=True)
            await broker.stop()
            raw_conn.close()
    ours_p99, raw_p99 = percentile(ours_lags, 0.99), percentile(raw_lags, 0.99)

    def ms(value: float) -> float:
        return round(value * 1000, 2)

    return ratio(ours_p99, raw_p99), {
        "ours_ms": {
            "p50": ms(statistics.median(ours_lags)),
            "p99": ms(ours_p99),
            "max": ms(max(ours_lags)),
        },
        "raw_ms": {
            "p50": ms(statistics.median(raw_lags)),
            "p99": ms(raw_p99),
            "max": ms(max(raw_lags)),
        },
        "samples": samples,
        "cpu_us_per_op": {
            "ours": round(cpu["ours"] / samples * 1e6, 1),
            "baseline": round(cpu["raw"] / samples * 1e6, 1),
            "note": "per sample, the whole process: ours includes service A's command, its "
            "relay and service B's consumer; the raw side the publish, the pull and the write",
        },
    }
