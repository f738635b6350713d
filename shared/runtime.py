"""Composition of one service: store, outbox relay, broker and consumers, scheduler, HTTP app.

A service's `main.py` builds its settings and a `ServiceSpec` (its registry, read models,
routes, messaging edge, subscriptions, scheduler tick and migrations) and calls `build_app`.
The FastStream broker and its declarations are built with the app (the AsyncAPI document is
generated from them then); nothing connects before the app's lifespan starts it.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from faststream.nats import NatsBroker, NatsRouter
from nats.aio.client import Client as NatsClient
from nats.js import JetStreamContext
from sqlalchemy import text

from shared.audit import audit_router
from shared.clock import SharedDevClock, SystemClock, WatchableClock
from shared.codec import EventRegistry
from shared.consumer import Consumer, Subscription
from shared.db import Database, open_database
from shared.decider import Decider
from shared.edge import Consumers, LinkEvents, asyncapi_routes, jetstream, new_broker
from shared.envelope import Envelope
from shared.faults import patiently
from shared.http import create_app
from shared.lease import Lease
from shared.logging import configure_logging, get_logger
from shared.metrics import Metrics
from shared.migrate import require_current, upgrade
from shared.outbox import OutboxRelay
from shared.policy import PolicyBook
from shared.projection import TableProjection
from shared.scheduler import LEASE_KEY as SCHEDULER_LEASE
from shared.scheduler import run_scheduler
from shared.settings import ServiceSettings
from shared.signing import Signer, TrustedKeys, development_signer
from shared.snapshot import Snapshotting
from shared.store import EventStore
from shared.streams import ensure_streams
from shared.usecase import Executor, Projection

log = get_logger(__name__)


@dataclass
class Kernel:
    """What a service's use cases are given: its store, executor, clock, policy and bus."""

    settings: ServiceSettings
    db: Database
    store: EventStore
    executor: Executor
    clock: WatchableClock
    policies: PolicyBook
    metrics: Metrics
    nc: NatsClient
    js: JetStreamContext
    relay: OutboxRelay
    broker: NatsBroker | None = None
    consumers: list[Consumer] = field(default_factory=list)
    #: The public keys this service trusts (shared/signing.py); its audit checks with them.
    trust: TrustedKeys = field(default_factory=TrustedKeys)


@dataclass(frozen=True)
class ServiceSpec:
    name: str
    registry: EventRegistry
    projections: Sequence[Projection]
    migrations: Path
    routers: Sequence[APIRouter]
    #: Builds the service's use cases (stored on `app.state.usecases`).
    usecases: Callable[[Kernel], Any]
    #: The service's FastStream declarations (`messaging/`), given the consumers to feed.
    messaging: Callable[[Consumers], NatsRouter] = lambda _: NatsRouter()
    subscriptions: Callable[[Any], Sequence[Subscription]] = lambda _: ()
    tick: Callable[[Any, datetime], Awaitable[Any]] | None = None
    #: How much the tick would find due at a time (given the use cases): `/metrics` says it
    #: (`scheduled_due_events`), so a wait for the bus to settle waits for the tick's work too
    #: — work that falls due when an event is consumed or the clock moves, before the tick.
    due: Callable[[Any, datetime], Awaitable[int]] | None = None
    #: A long-running task of the service's own beside the relay (a notifier's delivery
    #: worker), given the use cases and the event that asks it to stop.
    background: Callable[[Any, asyncio.Event], Coroutine[Any, Any, None]] | None = None
    examples: Sequence[object] = ()
    consumes: Sequence[tuple[str, Sequence[str]]] = ()
    #: Stream-id prefix (`application` of `application-01H…`) -> its decider, for `as-of`.
    deciders: Mapping[str, Decider[Any, Any, Any]] = field(default_factory=dict)
    #: Deciders whose long streams load from a snapshot (shared/snapshot.py).
    snapshots: Mapping[Decider[Any, Any, Any], Snapshotting[Any]] = field(default_factory=dict)


def build_app(settings: ServiceSettings, spec: ServiceSpec) -> FastAPI:
    metrics = Metrics(spec.name)
    configure_logging(settings.log_json)
    consumers = Consumers(ack_wait=settings.consumer_ack_wait, user=settings.nats_user)
    password = settings.nats_password
    link = LinkEvents()
    broker = new_broker(
        settings.nats_servers,
        spec.name,
        settings.nats_user,
        password.get_secret_value() if password is not None else None,
        link,
    )
    broker.include_router(spec.messaging(consumers))

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # What has started is undone if start-up fails (a schema behind, a bus that never
        # answers), so nothing is left running in the process that tried.
        async with contextlib.AsyncExitStack() as undo:
            db = open_database(
                settings.database_url, schema=settings.database_schema, name=f"haizhi-{spec.name}"
            )
            undo.push_async_callback(db.dispose)
            if settings.migrate_on_start:
                await upgrade(db, [spec.migrations])
            else:
                await require_current(db, [spec.migrations])
            nc = await broker.connect()
            undo.push_async_callback(broker.stop)
            js = jetstream(broker)
            # Before any subscriber binds: FastStream leaves HAIZHI to us (declare=False).
            await patiently(
                lambda: ensure_streams(js, replicas=settings.nats_replicas, may_update=False),
                "streams",
            )
            clock: WatchableClock
            if settings.clock == "controlled":
                shared_clock = await patiently(
                    lambda: SharedDevClock.connect(
                        js, environment=settings.environment, replicas=settings.nats_replicas
                    ),
                    "shared clock",
                )
                undo.push_async_callback(shared_clock.close)
                link.on_lost.append(shared_clock.lost)
                link.on_back.append(shared_clock.rewatch)
                clock = shared_clock
            else:
                clock = SystemClock()
            signer, trust = signing_keys(settings)
            store = EventStore(db, spec.name, signer)
            relay = OutboxRelay(
                db,
                js,
                on_lag=metrics.outbox_lag_events.set,
                on_lead=lambda leads: metrics.leads.labels("outbox relay").set(int(leads)),
            )

            def observe(command: str, outcome: str, events: Sequence[Envelope]) -> None:
                metrics.commands_total.labels(command, outcome).inc()
                for envelope in events:
                    metrics.events_appended_total.labels(envelope.type).inc()

            executor = Executor(
                db,
                store,
                spec.registry,
                clock,
                spec.projections,
                observe,
                on_commit=relay.wake,
                snapshots=spec.snapshots,
            )
            kernel = Kernel(
                settings,
                db,
                store,
                executor,
                clock,
                PolicyBook.load(settings.policy_dir),
                metrics,
                nc,
                js,
                relay,
                broker,
            )
            kernel.trust = trust
            usecases = spec.usecases(kernel)
            app.state.kernel = kernel
            app.state.usecases = usecases
            for subscription in spec.subscriptions(usecases):
                consumer = Consumer(
                    db,
                    js,
                    subscription,
                    ack_wait=settings.consumer_ack_wait,
                    on_dead_letter=lambda name: metrics.dead_letters_total.labels(name).inc(),
                    on_transient=lambda name: metrics.transient_failures_total.labels(name).inc(),
                    on_store=lambda available: metrics.store_available.set(int(available)),
                    trust=trust,
                    on_alert=metrics.alert,
                    max_gap_deliveries=settings.consumer_max_gap_deliveries,
                    on_outcome=lambda name, outcome: metrics.consumer_messages_total.labels(
                        name, outcome
                    ).inc(),
                )
                consumers[consumer.durable] = consumer
                kernel.consumers.append(consumer)
                metrics.dead_letters_total.labels(subscription.name)  # a series at 0 from the start
                metrics.transient_failures_total.labels(subscription.name)
            if consumers.declared != set(consumers):
                raise RuntimeError(
                    f"subscribers {sorted(consumers.declared)} vs consumers {sorted(consumers)}"
                )
            # The subscribers bind their durable consumers as the broker starts: a cluster electing
            # a consumer's leader does not answer for a few seconds, so start them again then.
            await patiently(functools.partial(_start_subscribers, broker), "subscribers")
            undo.pop_all()
        stop = asyncio.Event()
        tasks = [asyncio.create_task(relay.run(stop), name="outbox-relay")]
        tick = spec.tick
        if tick is not None:
            tasks.append(
                asyncio.create_task(
                    run_scheduler(
                        clock,
                        lambda now: tick(usecases, now),
                        stop,
                        lease=Lease(
                            db,
                            SCHEDULER_LEASE,
                            "scheduler",
                            lambda leads: metrics.leads.labels("scheduler").set(int(leads)),
                        ),
                    ),
                    name="scheduler",
                )
            )
        if spec.background is not None:
            tasks.append(asyncio.create_task(spec.background(usecases, stop), name="background"))
        log.info("service started", service=spec.name, database=db.engine.dialect.name)
        try:
            yield
        finally:
            stop.set()
            relay.wake()
            # The scheduler stops at once (an interrupted transaction rolls back); subscribers
            # finish the batch they are handling; the relay finishes the batch it is sending.
            for task in tasks[1:]:
                task.cancel()
            for subscriber in broker.subscribers:
                await subscriber.stop()
            await asyncio.gather(*tasks, return_exceptions=True)
            if isinstance(clock, SharedDevClock):
                await clock.close()
            await broker.stop()  # drains the connection
            await db.dispose()

    async def readiness() -> dict[str, bool]:
        kernel: Kernel | None = getattr(app.state, "kernel", None)
        if kernel is None:
            return {"store": False, "nats": False}
        try:
            async with kernel.db.read_engine.connect() as conn:
                await conn.execute(text("SELECT 1"))
            store_ok = True
        except Exception:  # readiness reports, it does not raise
            store_ok = False
        # A full disk still answers SELECT 1: the consumers say whether writes go through.
        writes_ok = all(consumer.store_available for consumer in kernel.consumers)
        checks = {"store": store_ok and writes_ok, "nats": kernel.nc.is_connected}
        if isinstance(kernel.clock, SharedDevClock):
            checks["clock"] = kernel.clock.following  # watching the shared clock again
        return checks

    async def lag_metrics() -> None:
        kernel: Kernel = app.state.kernel
        metrics.outbox_lag_events.set(await kernel.relay.lag())
        if spec.due is not None:
            due = await spec.due(app.state.usecases, kernel.clock.now())
            metrics.scheduled_due_events.set(due)

        async def consumer_lag(consumer: Consumer) -> None:
            with contextlib.suppress(Exception):
                metrics.consumer_lag_events.labels(consumer.durable).set(await consumer.pending())

        # together, not one after another: each asks JetStream, which may be slow to answer
        await asyncio.gather(*(consumer_lag(consumer) for consumer in kernel.consumers))

    def audit_parts(request: Request) -> tuple[Database, EventStore, JetStreamContext]:
        kernel = kernel_of(request)
        return kernel.db, kernel.store, kernel.js

    table_projections = [p for p in spec.projections if isinstance(p, TableProjection)]
    audit = audit_router(
        spec.name,
        spec.registry,
        table_projections,
        spec.deciders,
        audit_parts,
        lambda request: kernel_of(request).consumers,
        lambda request: kernel_of(request).trust,
    )
    app = create_app(
        title=f"HaiZhi {spec.name} service",
        settings=settings,
        metrics=metrics,
        routers=[*spec.routers, audit, asyncapi_routes(broker, spec.name)],
        lifespan=lifespan,
        readiness=readiness,
        refresh_metrics=lag_metrics,
    )
    app.state.broker = broker
    return app


async def _start_subscribers(broker: NatsBroker) -> None:
    """`broker.start()`, or, where it fails, every subscriber stopped again (to start afresh)."""
    try:
        await broker.start()
    except BaseException:
        for subscriber in broker.subscribers:
            with contextlib.suppress(Exception):
                await subscriber.stop()
        raise


def signing_keys(settings: ServiceSettings) -> tuple[Signer, TrustedKeys]:
    """The service's signing key and the keys it trusts (shared/signing.py).

    Production reads the key from `signing_key` and refuses to start without it; elsewhere a
    missing key is generated into the data folder (0600) and trusted next to the others'.
    """
    trusted_dir = settings.trusted_keys_path
    if settings.environment == "production":
        key = settings.signing_key_path
        if not key.is_file():
            raise RuntimeError(f"HAIZHI_SIGNING_KEY {key} is not a file: refusing to start")
        signer = Signer.load(settings.service, key)
    else:
        signer = development_signer(settings.service, settings.signing_key_path, trusted_dir)
    trust = TrustedKeys.from_directory(trusted_dir)
    if signer.key_id not in trust.keys:
        log.warning(
            "our own key is not trusted: consumers will refuse our events", key=signer.key_id
        )
    return signer, trust


def kernel_of(request: Request) -> Kernel:
    kernel: Kernel = request.app.state.kernel
    return kernel
