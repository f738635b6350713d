"""The auditor's view of one service: chains, stream agreement, rebuilds, a case as of a time.

Read-only for the `auditor` role (and `admin`); republishing what the stream lacks is an
operator's act (`admin`). The `haizhi audit` command asks every service and merges the
answers; the case timeline is read from the `HAIZHI` stream itself, so it spans all services.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request
from nats.js import JetStreamContext

from shared.api import (
    DEFAULT_PAGE_SIZE,
    MAX_PAGE_SIZE,
    PageParams,
    bad_cursor,
    keyset,
    page_of,
)
from shared.auth import NATIONWIDE, Principal, Role, forbidden, require_roles
from shared.codec import EventRegistry
from shared.consumer import Consumer
from shared.db import Database
from shared.decider import Decider, InvalidCommand, NotFound
from shared.envelope import Envelope
from shared.problems import jsonable
from shared.projection import TableProjection, rebuild_and_compare
from shared.reconcile import reconcile, stored_messages
from shared.signing import TrustedKeys, published_on
from shared.store import EventStore

Auditor = Annotated[Principal, Depends(require_roles(Role.AUDITOR, Role.ADMIN))]
Operator = Annotated[Principal, Depends(require_roles(Role.ADMIN))]

#: A case id is one NATS subject token (`haizhi.*.<case_id>.>`): never `.`, `*`, `>`, a space
#: or a control character, which would widen the subject to other cases.
CASE_ID_PATTERN = r"^[A-Za-z0-9_-]{1,128}$"
_CASE_ID = re.compile(CASE_ID_PATTERN)
CaseId = Annotated[
    str,
    Path(pattern=CASE_ID_PATTERN, description="a case id: letters, digits, `_` and `-`"),
]
#: Where an event says which division it belongs to; the most specific field first.
_JURISDICTION_FIELDS = ("jurisdiction", "province")


def nationwide(principal: Principal) -> bool:
    return any(own in NATIONWIDE for own in principal.jurisdictions)


def require_nationwide(principal: Principal) -> None:
    """Service-wide reports span every jurisdiction: only a nationwide auditor reads them."""
    if not nationwide(principal):
        raise forbidden(
            "This report spans every jurisdiction; it needs a nationwide (CN) auditor.",
            "outside-jurisdiction",
        )


def _codes(data: object, field: str) -> set[str]:
    match data:
        case Mapping():
            found = {str(v) for k, v in data.items() if k == field and isinstance(v, str) and v}
            for value in data.values():
                found |= _codes(value, field)
            return found
        case list() | tuple():
            return set().union(*(_codes(item, field) for item in data))
        case _:
            return set()


def case_jurisdictions(datas: Iterable[object]) -> set[str]:
    """The division codes a case's events name: their `jurisdiction`, else their `province`."""
    datas = list(datas)
    for field in _JURISDICTION_FIELDS:
        codes = set().union(*(_codes(data, field) for data in datas))
        if codes:
            return codes
    return set()


def require_case_in_scope(principal: Principal, datas: Iterable[object]) -> None:
    """403 unless the case is in the caller's jurisdiction; a case naming none: nationwide only.

    A case with no events at all reveals nothing and passes (its timeline is empty).
    """
    datas = list(datas)
    if not datas or nationwide(principal):
        return
    codes = case_jurisdictions(datas)
    if not any(principal.covers(code) for code in codes):
        raise forbidden("This case is outside your jurisdiction.", "outside-jurisdiction")


def stream_kind(stream_id: str) -> str:
    """`application-01H…` -> `application`: the aggregate a stream belongs to."""
    return stream_id.split("-", 1)[0]


def timeline_entry(envelope: Envelope) -> dict[str, Any]:
    return {
        "time": envelope.time.isoformat(),
        "service": envelope.service,
        "event": envelope.name,
        "type": envelope.type,
        "stream": envelope.subject,
        "version": envelope.streamversion,
        "actor": envelope.actor,
        "policy_version": envelope.policyversion,
        "event_id": envelope.id,
        "hash": envelope.hash,
        "data": envelope.data,
    }


#: A timeline entry's `signature` when the event verified under a trusted key of its service.
VERIFIED = "verified"


async def case_timeline(
    js: JetStreamContext, case_id: str, trust: TrustedKeys
) -> list[dict[str, Any]]:
    """Every service's events about one case, from `HAIZHI`, by the time each was recorded.

    The stream's own order is the order of publication, and two services' relays publish
    independently; the events' times (one clock) put a cause before its effect. Events of one
    instant keep their order in the stream.

    The stream may hold what a consumer refused, so each entry says what its signature is:
    `verified`, or the reason it is refused (`unsigned`, `bad-signature`, … as in
    shared/signing.py). A message that is no envelope, or that cannot be placed (a type with
    no subject of its own, a time without an offset), is left out.
    """
    if not _CASE_ID.fullmatch(case_id):
        raise ValueError(f"not a case id: {case_id!r}")
    found = []
    async for message in stored_messages(js, f"haizhi.*.{case_id}.>"):
        try:
            envelope = Envelope.from_json(message.data)
        except (ValueError, KeyError, TypeError):
            continue
        if envelope.time.tzinfo is None or not published_on(envelope, message.subject):
            continue
        found.append((envelope, message.seq, trust.check(envelope) or VERIFIED))
    found.sort(key=lambda item: (item[0].time, item[1]))
    return [
        timeline_entry(envelope) | {"stream_sequence": seq, "signature": signature}
        for envelope, seq, signature in found
    ]


def verified_data(events: Sequence[dict[str, Any]]) -> list[object]:
    """The data of a timeline's verified events: what may place a case in a jurisdiction (a
    forged event naming one must not open a case to that jurisdiction's auditors). Events,
    none of them verified: a case naming no jurisdiction (nationwide auditors only)."""
    verified = [event["data"] for event in events if event["signature"] == VERIFIED]
    return verified if verified or not events else [{}]


async def case_as_of(
    store: EventStore,
    registry: EventRegistry,
    deciders: Mapping[str, Decider[Any, Any, Any]],
    case_id: str,
    at: datetime,
) -> dict[str, Any]:
    """Each of this service's streams of the case, folded from the events up to `at`."""
    streams: dict[str, list[Envelope]] = {}
    for envelope in await store.read_case(case_id):
        if envelope.time <= at:
            streams.setdefault(envelope.subject, []).append(envelope)
    result: dict[str, Any] = {}
    for stream_id, envelopes in sorted(streams.items()):
        decider = deciders.get(stream_kind(stream_id))
        state = (
            decider.fold(registry.decode(e.type, e.data) for e in envelopes)
            if decider is not None
            else None
        )
        result[stream_id] = {
            "version": envelopes[-1].streamversion,
            "last_event": envelopes[-1].name,
            "last_event_at": envelopes[-1].time.isoformat(),
            "state_kind": type(state).__name__ if state is not None else None,
            "state": jsonable(state),
            "events": [e.name for e in envelopes],
        }
    return result


def _timeline_key(event: Mapping[str, Any]) -> tuple[datetime, int]:
    return datetime.fromisoformat(event["time"]), int(event["stream_sequence"])


def _timeline_after(cursor: str | None) -> tuple[datetime, int] | None:
    """A timeline cursor, `<time>~<HAIZHI sequence>`, as the key it names; a 422 if not one."""
    after = keyset(cursor)
    if after is None:
        return None
    with contextlib.suppress(ValueError):
        time = datetime.fromisoformat(after[0])
        if time.tzinfo is not None and after[1].isdigit():
            return time, int(after[1])
    raise bad_cursor()


def _letter(letter: Envelope | dict[str, Any]) -> dict[str, Any]:
    """A dead letter as listed: its event's timeline entry, or what an unread one shows."""
    if isinstance(letter, Envelope):
        return timeline_entry(letter)
    # Dead-lettered unread (undecodable) or unverified: listed by their HAIZHI sequence,
    # so this list is what HAIZHI_DLQ holds; an unverified one by what it claims to be.
    return {
        "event_id": letter["id"],
        "event": _claimed(letter.get("data")),
        "stream": letter["subject"],
        "sequence": letter["sequence"],
        "error": letter["error"],
    }


def _claimed(data: object) -> str:
    """`(untrusted) <name>` for a readable envelope refused unverified, else `(unread)`."""
    try:
        return f"(untrusted) {Envelope.from_json(str(data)).name}"
    except (ValueError, KeyError, TypeError):
        return "(unread)"


def _without_seq(letter: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in letter.items() if key != "seq"}


def audit_router(
    service: str,
    registry: EventRegistry,
    projections: Sequence[TableProjection],
    deciders: Mapping[str, Decider[Any, Any, Any]],
    parts: Callable[[Request], tuple[Database, EventStore, JetStreamContext]],
    consumers: Callable[[Request], Sequence[Consumer]],
    trusted: Callable[[Request], TrustedKeys] | None = None,
) -> APIRouter:
    router = APIRouter(prefix="/audit", tags=["audit"])

    def keys(request: Request) -> TrustedKeys:
        return trusted(request) if trusted is not None else TrustedKeys()

    @router.get("/verify", summary="Hash chains intact, and the stream holds exactly our events")
    async def verify(request: Request, auditor: Auditor) -> dict[str, Any]:
        require_nationwide(auditor)
        db, store, js = parts(request)
        breaks = await store.verify()
        report = await reconcile(db, js, service, repair=False)
        signatures = await store.verify_signatures(keys(request))
        return {
            "service": service,
            "ok": not breaks and report.clean and signatures.clean,
            "chain_breaks": [jsonable(b) for b in breaks],
            # Every stored event signed by a trusted key of this service (shared/signing.py).
            "signatures": {
                "signed": signatures.signed,
                "unsigned_legacy": signatures.unsigned_legacy,
                "bad": signatures.bad,
            },
            "stream": {
                **report.counts(),
                "missing_ids": report.missing,
                "extra_ids": report.extra,
                "altered_ids": report.altered,
                "duplicated_ids": report.duplicated,
            },
        }

    @router.post("/reconcile", summary="Republish what the stream lacks (operator)")
    async def repair(request: Request, _operator: Operator) -> dict[str, Any]:
        db, _store, js = parts(request)
        report = await reconcile(db, js, service, repair=True)
        return {"service": service, **report.counts(), "republished_ids": report.republished}

    @router.get("/rebuild", summary="Rebuild the read models into scratch tables and compare")
    async def rebuild(request: Request, auditor: Auditor) -> dict[str, Any]:
        require_nationwide(auditor)
        db, _store, _js = parts(request)
        differences = await rebuild_and_compare(db, registry, projections)
        return {
            "service": service,
            "ok": not differences,
            "differences": [jsonable(d) for d in differences],
        }

    @router.get(
        "/cases/{case_id}/timeline",
        summary="One case's whole life, from HAIZHI",
        description="Every service's events of the case, by the time each was recorded (then"
        " by HAIZHI sequence). `events` come in pages of `limit` (default"
        f" {DEFAULT_PAGE_SIZE}, 1–{MAX_PAGE_SIZE}); pass `next_cursor` (the last event's time"
        " and stream sequence) as `cursor` for the next (null: no more).",
    )
    async def timeline(
        request: Request, case_id: CaseId, auditor: Auditor, page: PageParams
    ) -> dict[str, Any]:
        limit, cursor = page
        after = _timeline_after(cursor)
        _db, _store, js = parts(request)
        events = await case_timeline(js, case_id, keys(request))
        require_case_in_scope(auditor, verified_data(events))
        if after is not None:
            events = [e for e in events if _timeline_key(e) > after]
        found = page_of(events, limit, lambda e: f"{e['time']}~{e['stream_sequence']}")
        return {"case_id": case_id, "events": found.items, "next_cursor": found.next_cursor}

    @router.get("/cases/{case_id}/as-of", summary="This service's view of a case at a time")
    async def as_of(
        request: Request,
        case_id: CaseId,
        auditor: Auditor,
        time: Annotated[datetime, Query(description="an ISO 8601 instant with its offset")],
    ) -> dict[str, Any]:
        if time.tzinfo is None:
            raise InvalidCommand("give the time with its offset, e.g. 2027-01-01T00:00:00+08:00")
        _db, store, js = parts(request)
        if not nationwide(auditor):  # the case's jurisdiction, from every service's events
            ours = [envelope.data for envelope in await store.read_case(case_id)]
            events = await case_timeline(js, case_id, keys(request))
            require_case_in_scope(auditor, [*ours, *verified_data(events)])
        streams = await case_as_of(store, registry, deciders, case_id, time)
        return {"service": service, "case_id": case_id, "as_of": time, "streams": streams}

    @router.get(
        "/dead-letters",
        summary="Events our consumers dead-lettered, not yet replayed",
        description="By consumer (durable name), then in the order each was recorded."
        f" Pages of `limit` (default {DEFAULT_PAGE_SIZE}, 1–{MAX_PAGE_SIZE}); pass"
        " `next_cursor` (the last letter's consumer and inbox sequence) as `cursor` for the"
        " next (null: no more).",
    )
    async def dead_letters(request: Request, auditor: Auditor, page: PageParams) -> dict[str, Any]:
        require_nationwide(auditor)
        limit, cursor = page
        after = keyset(cursor)
        if after is not None and not after[1].isdigit():
            raise bad_cursor()
        letters: list[dict[str, Any]] = []
        for consumer in sorted(consumers(request), key=lambda c: c.durable):
            if after is not None and consumer.durable < after[0]:
                continue
            since = int(after[1]) if after is not None and consumer.durable == after[0] else 0
            for seq, letter in await consumer.letters(since, limit + 1 - len(letters)):
                letters.append({"consumer": consumer.durable, **_letter(letter), "seq": seq})
            if len(letters) > limit:
                break
        found = page_of(letters, limit, lambda letter: f"{letter['consumer']}~{letter['seq']}")
        return {
            "service": service,
            "dead_letters": [_without_seq(letter) for letter in found.items],
            "next_cursor": found.next_cursor,
        }

    @router.post(
        "/dead-letters/{consumer}/{event_id}/replay",
        summary="Apply a dead-lettered event now, once its cause is fixed (operator)",
    )
    async def replay(
        request: Request, consumer: str, event_id: str, _operator: Operator
    ) -> dict[str, Any]:
        chosen = next((c for c in consumers(request) if c.durable == consumer), None)
        if chosen is None:
            raise NotFound(f"{service} has no consumer {consumer}")
        try:
            outcome = await chosen.replay(event_id)
        except LookupError as missing:
            raise NotFound(str(missing)) from None
        return {"service": service, "consumer": consumer, "event_id": event_id, "outcome": outcome}

    return router
