"""What the contract tests share: the four services' specs, their examples as published, and
each consumer's real handlers on a real database, issuing commands to a dry-run executor.

A consumer's handler is the code that reads `envelope.data`. To prove it reads a producer's
example, the test runs the handler itself — the service's own use cases, built from its own
`spec()`, on a migrated database — with one change: the executor records each command the
handler issues instead of deciding and appending it (`DryRunExecutor`). What the command
carries is what the consumer understood of the example; whether the consumer's decider then
accepts it depends on the consumer's history, which the end-to-end scenarios play out.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast

from pydantic_core import to_jsonable_python
from sqlalchemy.ext.asyncio import AsyncConnection

from services.application import main as application
from services.assessment import main as assessment
from services.funding import main as funding
from services.notification import main as notification
from services.review import main as review
from shared.clock import FixedClock
from shared.consumer import Handler, Subscription
from shared.db import Database
from shared.decider import C, Decider, E, S
from shared.envelope import GENESIS, Envelope, new_id
from shared.metrics import Metrics
from shared.migrate import upgrade
from shared.policy import PolicyBook
from shared.runtime import Kernel, ServiceSpec
from shared.settings import ServiceSettings
from shared.store import EventStore
from shared.testkit.keys import signer
from shared.usecase import CommandContext, CommandResult, Executor

REPO = Path(__file__).resolve().parents[2]
#: Later than every example's dates that a policy lookup depends on, in the 2022.1 policy.
NOW = datetime(2023, 3, 1, 2, 0, tzinfo=UTC)


def specs() -> dict[str, ServiceSpec]:
    """Every service's composition root, by name."""
    built = [
        application.spec(),
        review.spec(),
        assessment.spec(),
        funding.spec(),
        notification.spec(),
    ]
    return {spec.name: spec for spec in built}


SPECS = specs()


def example_of(producer: str, name: str) -> object | None:
    """The producer's example of event `name`, or None when it has none."""
    found = [e for e in SPECS[producer].examples if type(e).__name__ == name]
    return found[0] if found else None


def consumed() -> list[tuple[str, str, str]]:
    """Every (consumer, producer, event name) the services declare in their `consumes`."""
    return [
        (spec.name, upstream, name)
        for spec in SPECS.values()
        for upstream, names in spec.consumes
        for name in names
    ]


class ReadTracking(dict[str, Any]):
    """`envelope.data` that remembers which fields a handler read."""

    def __init__(self, data: Mapping[str, Any]) -> None:
        super().__init__(data)
        self.read: set[str] = set()

    def __getitem__(self, key: str) -> Any:
        self.read.add(key)
        return super().__getitem__(key)

    def get(self, key: str, default: Any = None) -> Any:
        self.read.add(key)
        return super().get(key, default)


def published(producer: str, name: str, data: Mapping[str, Any] | None = None) -> Envelope:
    """The producer's example of `name` as its outbox relay would publish it.

    `data` replaces the example's data (to arrange a consumer's history, never for the
    example under test).
    """
    registry = SPECS[producer].registry
    example = example_of(producer, name)
    assert example is not None, f"{producer} has no example of {name}"
    plain = dict(registry.encode(example) if data is None else data)
    case_id = str(plain.get("case_id") or new_id())
    payload = ReadTracking(plain)
    envelope = Envelope(
        id=new_id(),
        source=f"/haizhi/{producer}",
        type=registry.type_for(name),
        subject=f"{producer}-{case_id}",
        time=NOW,
        data=payload,
        streamversion=1,
        caseid=case_id,
        correlationid=new_id(),
        causationid=None,
        actor=f"system:{producer}",
        policyversion=plain.get("policy_version"),
        prevhash=GENESIS,
        hash="",
    ).sealed()
    return signer(producer).sign(envelope)


@dataclass
class DryRunExecutor(Executor):
    """The real executor, except that while `dry_run` is on a command is recorded, not run."""

    dry_run: bool = False
    issued: list[object] = field(default_factory=list)

    async def execute(
        self,
        decider: Decider[C, S, E],
        stream_id: str,
        command: C,
        *,
        ctx: CommandContext,
        case_id: str | None = None,
        expected_version: int | None = None,
        conn: AsyncConnection | None = None,
    ) -> CommandResult[S]:
        if not self.dry_run:
            return await super().execute(
                decider,
                stream_id,
                command,
                ctx=ctx,
                case_id=case_id,
                expected_version=expected_version,
                conn=conn,
            )
        self.issued.append(command)
        return CommandResult(stream_id, case_id or "", 0, cast(S, None), ())


@dataclass
class Consumer:
    """One service's use cases and handlers on its own database, as its lifespan builds them."""

    spec: ServiceSpec
    db: Database
    executor: DryRunExecutor
    handlers: dict[tuple[str, str], Handler]
    subscriptions: list[Subscription]

    async def handle(self, envelope: Envelope) -> None:
        """Run the handler for `envelope` in one transaction, committed, as the consumer does."""
        handler = self.handlers[(envelope.service, envelope.name)]
        async with self.db.engine.begin() as conn:
            await handler(conn, envelope)

    async def commands_for(self, envelope: Envelope) -> list[object]:
        """What the handler issues for `envelope`; nothing is appended (rolled back)."""
        self.executor.dry_run, self.executor.issued = True, []
        try:
            await self.handle(envelope)
        finally:
            self.executor.dry_run = False
        return self.executor.issued


async def consumer(name: str, db: Database, tmp: Path) -> Consumer:
    spec = SPECS[name]
    await upgrade(db, [spec.migrations])
    settings = ServiceSettings(
        service=name,
        environment="test",
        database_url=f"sqlite:///{tmp / name}.db",  # only read for its data folder here
        data_dir=tmp,
        policy_dir=REPO / "policies",
        clock="controlled",
        log_json=False,
    )
    clock = FixedClock(NOW)
    store = EventStore(db, name)
    executor = DryRunExecutor(db, store, spec.registry, clock, spec.projections)
    kernel = Kernel(
        settings=settings,
        db=db,
        store=store,
        executor=executor,
        clock=cast(Any, clock),
        policies=PolicyBook.load(settings.policy_dir),
        metrics=Metrics(name),
        nc=cast(Any, None),  # the use cases under test never touch the bus
        js=cast(Any, None),
        relay=cast(Any, None),
    )
    usecases = spec.usecases(kernel)
    subscriptions = list(spec.subscriptions(usecases))
    handlers = {
        (subscription.upstream, event): handler
        for subscription in subscriptions
        for event, handler in subscription.handlers.items()
    }
    return Consumer(spec, db, executor, handlers, subscriptions)


def jsonable(value: object) -> Any:
    return to_jsonable_python(value)


def disagreements(
    command: object, data: ReadTracking, renamed: Mapping[str, str] | None = None
) -> Iterator[str]:
    """Command fields named like a data field the handler read, whose values differ from it.

    `renamed` maps a command field to the data field it is read from under another name.
    Fields the handler did not read (its own `at` and `by`, say) are the consumer's own.
    """
    assert dataclasses.is_dataclass(command)
    assert not isinstance(command, type)
    for f in dataclasses.fields(command):
        source = (renamed or {}).get(f.name, f.name)
        if source not in data.read:
            continue
        if not _agrees(jsonable(getattr(command, f.name)), dict.__getitem__(data, source)):
            yield f"{type(command).__name__}.{f.name}={getattr(command, f.name)!r}"


def shared_fields(
    commands: Sequence[object], data: ReadTracking, renamed: Mapping[str, str] | None = None
) -> set[str]:
    """The fields the handler read that reached a command (under their name or `renamed`)."""
    return {
        (renamed or {}).get(f.name, f.name)
        for command in commands
        if dataclasses.is_dataclass(command)
        for f in dataclasses.fields(command)
        if (renamed or {}).get(f.name, f.name) in data.read
    }


def _agrees(ours: Any, theirs: Any) -> bool:
    """Equal, where a dict of ours may keep only some of the keys of theirs (a consumer's
    own view of a nested value, e.g. a file without its media type)."""
    if isinstance(ours, dict) and isinstance(theirs, dict):
        return all(k in theirs and _agrees(v, theirs[k]) for k, v in ours.items())
    if isinstance(ours, list) and isinstance(theirs, list):
        return len(ours) == len(theirs) and all(map(_agrees, ours, theirs))
    return bool(ours == theirs)
