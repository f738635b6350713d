"""The messaging edge: FastStream declarations of what a service publishes and consumes.

FastStream owns the edge: the broker's connection and its lifecycle, one durable pull
subscriber per upstream service fetching batches, and the AsyncAPI 3.0 document generated
from these declarations. The kernel owns what delivery means (`shared/consumer.py`): a
subscriber hands each fetched batch, as raw nats-py messages, to its `Consumer`, which
acknowledges, naks, terms and dead-letters by its own rules. So every subscriber runs with
`AckPolicy.MANUAL` (FastStream's default terminates a message whose handler raised) and a
decoder that leaves the bodies as bytes (the kernel parses each envelope once).

`HAIZHI` is declared with `declare=False`: FastStream would otherwise "update" the existing
stream to its own config (a two-minute duplicate window, deletes allowed); `ensure_streams`
provisions it. Publishers are declarations for the AsyncAPI document only: the outbox relay
publishes through the broker's JetStream context (`shared/outbox.py` says why).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Annotated, Any, cast

from fastapi import APIRouter
from fastapi.responses import HTMLResponse
from faststream import AckPolicy, Context
from faststream.message import StreamMessage
from faststream.nats import JStream, NatsBroker, NatsRouter, NatsUserPassword, PullSub
from faststream.nats.message import NatsBatchMessage
from faststream.nats.subscriber.usecases.stream_pull_subscriber import BatchPullStreamSubscriber
from faststream.specification import AsyncAPI, get_asyncapi_html
from nats.aio.msg import Msg
from nats.errors import ConnectionClosedError
from nats.js import JetStreamContext
from nats.js.errors import ServiceUnavailableError
from pydantic import TypeAdapter, WithJsonSchema

from shared.codec import EventRegistry
from shared.consumer import Consumer, consumer_config, eager
from shared.logging import get_logger
from shared.nats_auth import inbox_prefix
from shared.streams import STREAM, SUBJECT_PREFIX

HAIZHI = JStream(STREAM, declare=False)
#: A fetch returns up to `BATCH_SIZE` messages as soon as any are there, waiting at most
#: `FETCH_WAIT` seconds for the first (a long poll: no latency added to a trickle).
BATCH_SIZE = 64
FETCH_WAIT = 1.0

ENVELOPE_ATTRIBUTES: dict[str, Any] = {
    "specversion": {"const": "1.0"},
    "id": {"type": "string", "description": "ULID, time-sortable"},
    "source": {"type": "string"},
    "type": {"type": "string"},
    "subject": {"type": "string", "description": "the producing aggregate's stream id"},
    "time": {"type": "string", "format": "date-time"},
    "datacontenttype": {"const": "application/json"},
    "streamversion": {"type": "integer", "minimum": 1},
    "caseid": {"type": "string"},
    "correlationid": {"type": "string"},
    "causationid": {"type": ["string", "null"]},
    "actor": {"type": "string"},
    "policyversion": {"type": ["string", "null"]},
    "prevhash": {"type": "string", "pattern": "^[0-9a-f]{64}$"},
    "hash": {"type": "string", "pattern": "^[0-9a-f]{64}$"},
    "sigkeyid": {
        "type": "string",
        "description": "the producer's signing key, <service>:<fingerprint> (shared/signing.py)",
    },
    "signature": {
        "type": "string",
        "description": "Ed25519 over the envelope with hash and sigkeyid, base64url; required: "
        "consumers refuse an event its own service did not sign",
    },
}
_REQUIRED = [
    "specversion", "id", "source", "type", "subject", "time", "data", "sigkeyid", "signature",
]  # fmt: skip

log = get_logger(__name__)


class Consumers(dict[str, Consumer]):
    """The kernel consumers of a running service, by durable name: what its subscribers feed.

    Declared at build time (for the document), the subscribers find their consumer here once
    the lifespan has built it. `ack_wait` goes into each durable consumer's config.
    """

    def __init__(self, ack_wait: float = 30.0, user: str | None = None) -> None:
        super().__init__()
        self.ack_wait = ack_wait
        #: Where the pull subscribers' messages arrive: the NATS user's own inbox, which no
        #: other user may read (FastStream's default, `_INBOX.`, would be refused to it).
        self.inbox_prefix = f"{inbox_prefix(user) if user else '_INBOX'}.".encode()
        #: The durable names of the subscribers declared to feed these consumers.
        self.declared: set[str] = set()


class LinkEvents:
    """Who is told when the broker's NATS connection drops (`on_lost`) and when it is back
    (`on_back`): what a NATS restart may have taken with it is set up again there."""

    def __init__(self) -> None:
        self.on_lost: list[Callable[[], Awaitable[None]]] = []
        self.on_back: list[Callable[[], Awaitable[None]]] = []

    async def lost(self) -> None:
        for listener in self.on_lost:
            await listener()

    async def back(self) -> None:
        for listener in self.on_back:
            await listener()


def new_broker(
    url: str | list[str],
    service: str,
    user: str | None = None,
    password: str | None = None,
    link: LinkEvents | None = None,
) -> NatsBroker:
    """The service's broker; nothing connects until the lifespan starts it.

    With `user`, it connects as that NATS user and takes its replies on the user's own inbox
    (`shared/nats_auth.py`); without, as the URL says. `link` hears of the connection's
    drops and returns.
    """
    security = NatsUserPassword(user, password or "") if user else None
    link = link or LinkEvents()
    return NatsBroker(
        url,
        security=security,
        inbox_prefix=inbox_prefix(user) if user else "_INBOX",
        name=f"haizhi-{service}",
        max_reconnect_attempts=-1,  # a NATS outage must not stop the service
        reconnect_time_wait=1,
        connect_timeout=5,
        drain_timeout=5,
        ack_policy=AckPolicy.MANUAL,
        graceful_timeout=15.0,
        logger=None,  # the kernel logs what it does with each message
        disconnected_cb=link.lost,
        reconnected_cb=link.back,
    )


def jetstream(broker: NatsBroker) -> JetStreamContext:
    """The JetStream context of the broker's own connection (FastStream has no public name)."""
    js: JetStreamContext = broker.config.connection_state.stream
    return js


def envelope_schema(event_type: Mapping[str, Any], data: Mapping[str, Any]) -> dict[str, Any]:
    """The CloudEvents envelope as JSON Schema, its `type` and `data` as given."""
    return {
        "type": "object",
        "required": _REQUIRED,
        "properties": {**ENVELOPE_ATTRIBUTES, "type": dict(event_type), "data": dict(data)},
    }


def published_schema(registry: EventRegistry, name: str, example: object | None) -> dict[str, Any]:
    """What `registry`'s service publishes as `name`: `data` typed from the event's dataclass."""
    data = _inlined(TypeAdapter(registry.class_of(name)).json_schema(mode="serialization"))
    schema = envelope_schema({"const": registry.type_for(name)}, data)
    if example is not None:
        schema["examples"] = [{"type": registry.type_for(name), "data": registry.encode(example)}]
    return schema


def consumed_schema(upstream: str, name: str) -> dict[str, Any]:
    """What a consumer reads of `upstream`'s `name`: any version, `data` as its producer says."""
    return {
        "title": name,
        **envelope_schema(
            {"type": "string", "pattern": rf"^{SUBJECT_PREFIX}\.{upstream}\.{name}\.v[0-9]+$"},
            {"type": "object", "description": f"as {upstream}'s AsyncAPI document states it"},
        ),
    }


def declare_publishers(
    router: NatsRouter, registry: EventRegistry, examples: Sequence[object]
) -> None:
    """One publisher per event type the service publishes, for the AsyncAPI document."""
    by_name = {type(example).__name__: example for example in examples}
    for name in registry.names:
        schema = published_schema(registry, name, by_name.get(name))
        router.publisher(
            f"{SUBJECT_PREFIX}.{registry.service}.{{case_id}}.{name}",
            stream=HAIZHI,
            schema=Annotated[bytes, WithJsonSchema(schema)],
            title=f"publish{name}",
            description=f"{registry.type_for(name)}, CloudEvents 1.0 structured JSON",
        )


def service_edge(
    consumers: Consumers,
    registry: EventRegistry,
    examples: Sequence[object],
    consumes: Sequence[tuple[str, Sequence[str]]],
) -> NatsRouter:
    """A service on the bus, declared with FastStream: every event type it publishes, and a
    durable pull subscriber `<service>-from-<upstream>` per upstream service it `consumes`
    (with the event names its handlers read), feeding the kernel consumer of that name."""
    router = NatsRouter()
    declare_publishers(router, registry, examples)
    for upstream, names in consumes:
        durable = f"{registry.service}-from-{upstream}"
        declare_subscriber(router, consumers, durable, upstream, names)
    return router


def declare_subscriber(
    router: NatsRouter | NatsBroker,
    consumers: Consumers,
    durable: str,
    upstream: str,
    reads: Sequence[str],
) -> None:
    """The durable pull subscriber `durable` on every event of `upstream`, feeding its consumer.

    It filters on all of `upstream`'s events (a gap is only a gap if every version is seen);
    `reads` are the events its handlers act on, which the document lists.
    """
    filter_subject = f"{SUBJECT_PREFIX}.{upstream}.>"
    batch = Annotated[
        list[bytes],
        WithJsonSchema(
            {"type": "array", "items": {"oneOf": [consumed_schema(upstream, n) for n in reads]}}
        ),
    ]

    async def handle(messages: list[Msg]) -> None:
        consumer = consumers.get(durable)
        if consumer is None:  # the lifespan binds every consumer before the broker starts
            raise LookupError(f"no consumer bound for {durable}")
        try:
            await consumer.handle(messages)
        except Exception:  # unacknowledged messages come back after ack_wait
            log.exception("consumer batch failed", consumer=durable)
            raise

    async def deliver(body: Any, msg: NatsBatchMessage) -> None:
        await handle(msg.raw_message)

    # Set here, not in the signature: the body's schema is built per subscriber.
    deliver.__annotations__ = {"body": batch, "msg": _Batch, "return": None}
    consumers.declared.add(durable)
    subscriber = router.subscriber(
        filter_subject,
        stream=HAIZHI,
        durable=durable,
        config=consumer_config(durable, filter_subject, ack_wait=consumers.ack_wait),
        pull_sub=PullSub(batch_size=BATCH_SIZE, timeout=FETCH_WAIT, batch=True),
        inbox_prefix=consumers.inbox_prefix,
        ack_policy=AckPolicy.MANUAL,
        decoder=_raw_bodies,
        title=durable,
        description=f"{upstream}'s events, in order per stream, exactly once in effect",
    )
    subscriber(deliver)
    assert isinstance(subscriber, BatchPullStreamSubscriber)
    subscriber.__class__ = _BatchPulls  # same slots: only the fetch loop differs
    cast(_BatchPulls, subscriber).handle_batch = handle


class _BatchPulls(BatchPullStreamSubscriber):
    """FastStream 0.7.8's batch subscriber with the kernel's fetch loop.

    FastStream's loop keeps fetching until a batch is full or its timeout has passed, so every
    batch short of full waits out the timeout (latency for a trickle, and a slower tail for a
    backlog). It also catches only nats-py's own `TimeoutError`, while nats-py 2.16 sometimes
    raises asyncio's: the loop then died, was restarted, and the messages it had fetched for
    the batch waited out `ack_wait`. Here each fetch is one long poll, handled as it returns
    (what `Consumer.fetch_and_process` does), any `TimeoutError` is an empty poll, and a batch
    fetched while the subscriber stops is given back (`nak`) rather than dropped.

    A fetched batch goes straight to its kernel consumer (`handle_batch`), under the
    subscriber's lock (a stop waits for it, up to the broker's graceful timeout), without
    FastStream's per-batch processing: the kernel consumer needs the raw messages, and the
    parsing, decoding, dependency injection and body validation before it cost about a tenth
    of the consumer's CPU per message. No middleware is declared on the broker; one added would
    not see the live batches. FastStream's in-memory test broker still delivers through the
    declared handler (`deliver`), which hands the same raw messages to the same consumer.
    """

    __slots__ = ()

    #: The kernel consumer's entry for a fetched batch (`declare_subscriber` sets it).
    handle_batch: Callable[[list[Msg]], Awaitable[None]] | None = None

    async def _consume_pull(self) -> None:
        assert self.subscription, "the subscription is created before the loop starts"
        eager(self.subscription)
        batch_size, wait = self.pull_sub.batch_size, self.pull_sub.timeout or FETCH_WAIT
        while self.running:
            try:
                messages = await self.subscription.fetch(batch=batch_size, timeout=wait)
            except TimeoutError:
                continue
            except (ConnectionClosedError, ServiceUnavailableError):
                await asyncio.sleep(wait)  # back off while NATS is away; nothing was fetched
                continue
            if self.running:
                await self._deliver(messages)
                continue
            for message in messages:
                with contextlib.suppress(Exception):
                    await message.nak()

    async def _deliver(self, messages: list[Msg]) -> None:
        if self.handle_batch is None:
            await self.consume(messages)
            return
        with self.lock, contextlib.suppress(Exception):  # logged by the handler; unacknowledged
            await self.handle_batch(messages)  # messages come back after `ack_wait`


def _inlined(schema: dict[str, Any]) -> dict[str, Any]:
    """`schema` with its `$defs` written in place: the document keeps one schema per message,
    and pydantic resolves a `$ref` only against its own definitions."""
    definitions = schema.pop("$defs", {})

    def inline(node: Any) -> Any:
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str) and ref.startswith("#/$defs/"):
                rest = {k: v for k, v in node.items() if k != "$ref"}
                return {**inline(definitions[ref.removeprefix("#/$defs/")]), **inline(rest)}
            return {k: inline(v) for k, v in node.items()}
        if isinstance(node, list):
            return [inline(item) for item in node]
        return node

    inlined: dict[str, Any] = inline(schema)
    return inlined


_Batch = Annotated[NatsBatchMessage, Context("message")]


async def _raw_bodies(message: StreamMessage[Any]) -> Any:
    return message.body


def asyncapi_routes(broker: NatsBroker, service: str, version: str = "1.0.0") -> APIRouter:
    """`/asyncapi.json` and `/asyncapi`: the document FastStream generates from the broker."""
    specification = AsyncAPI(broker, title=f"haizhi {service}", version=version).to_specification()
    document = specification.to_jsonable()
    html = get_asyncapi_html(specification, try_it_out_path=None)
    router = APIRouter(tags=["operations"])

    @router.get("/asyncapi.json", summary="AsyncAPI 3.0: the events published and consumed")
    async def asyncapi_json() -> dict[str, Any]:
        return dict(document)

    @router.get("/asyncapi", summary="The AsyncAPI document, rendered", response_class=HTMLResponse)
    async def asyncapi_html() -> HTMLResponse:
        return HTMLResponse(html)

    return router
