"""JetStream provisioning: the `HAIZHI` event log and its dead-letter stream, idempotently.

The operator's provisioning (`shared/provision.py`) and every service at start-up call
`ensure_streams`. A stream that already exists as wanted is left alone; one that differs in a
way JetStream can change in place (subjects, limits, duplicate window, replicas, turning
deny-delete/purge on) is updated by the operator, and only reported by a service (its NATS
user may not change a stream); one that differs in a way it cannot (storage, retention) is
refused loudly, because moving the log is an operator's job, not a side effect of starting a
service.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from nats.js import JetStreamContext
from nats.js.api import RetentionPolicy, StorageType, StreamConfig
from nats.js.errors import BadRequestError, NotFoundError

from shared.logging import get_logger

log = get_logger(__name__)

STREAM = "HAIZHI"
DLQ_STREAM = "HAIZHI_DLQ"
SUBJECT_PREFIX = "haizhi"
#: A root of its own, so `haizhi.>` (the log) never captures a dead letter.
DLQ_SUBJECT_PREFIX = "haizhidlq"

#: Seconds. JetStream drops a message whose `Nats-Msg-Id` it stored within this window, and the
#: relay republishes every event it could not record as delivered (a crash between the ack and
#: the outbox delete, a lost ack, an outage). The window must outlast the longest such gap we
#: expect to recover from without an operator, so a day: ids cost a few dozen bytes each in
#: server memory at our volume. A republish later than that (a relay down for days, a
#: `reconcile --repair` after a restore) is caught by the consumers' inbox, which makes a
#: second copy a no-op, and by `reconcile`, which reports it.
DUPLICATE_WINDOW = 24 * 60 * 60.0

#: JetStream refuses to change these on an existing stream.
_FIXED = ("storage", "retention")
_ERR_STREAM_NAME_IN_USE = 10058


class StreamMisconfiguredError(RuntimeError):
    """An existing stream differs from ours in a way that cannot be updated in place."""


@dataclass(frozen=True, slots=True)
class _Wanted:
    name: str
    fields: dict[str, Any]

    def config(self) -> StreamConfig:
        return StreamConfig(name=self.name, **self.fields)


def _log(replicas: int) -> _Wanted:
    return _Wanted(
        STREAM,
        {
            "description": "Every service's events: the audited log (never deleted, never purged)",
            "subjects": [f"{SUBJECT_PREFIX}.>"],
            "retention": RetentionPolicy.LIMITS,
            "storage": StorageType.FILE,
            "num_replicas": replicas,
            # No limits of any kind, so the discard policy never applies.
            "max_age": 0.0,
            "max_msgs": -1,
            "max_bytes": -1,
            "max_msgs_per_subject": -1,
            "duplicate_window": DUPLICATE_WINDOW,
            "deny_delete": True,
            "deny_purge": True,
        },
    )


def _dead_letters(replicas: int) -> _Wanted:
    return _Wanted(
        DLQ_STREAM,
        {
            "description": "Messages a consumer gave up on, with the error, for an operator",
            "subjects": [f"{DLQ_SUBJECT_PREFIX}.>"],
            "retention": RetentionPolicy.LIMITS,
            "storage": StorageType.FILE,
            "num_replicas": replicas,
            "max_age": 0.0,
            "max_msgs": -1,
            "max_bytes": -1,
            "duplicate_window": DUPLICATE_WINDOW,
            # A single dead letter cannot be made to disappear; purging the stream once handled
            # stays an explicit operator action.
            "deny_delete": True,
        },
    )


async def ensure_streams(
    js: JetStreamContext, replicas: int = 1, *, may_update: bool = True
) -> None:
    """Create or update `HAIZHI` and `HAIZHI_DLQ`; a no-op when both are already as wanted.

    `replicas` is 1 on the embedded server and 3 on the production cluster. A service passes
    `may_update=False`: it creates a missing stream but leaves one that differs as it is,
    with a warning (changing it is the operator's provisioning step, and the stream serves
    meanwhile: an old release's replica meets a stream a new release provisioned).
    """
    for wanted in (_log(replicas), _dead_letters(replicas)):
        await _ensure(js, wanted, may_update)


async def _ensure(js: JetStreamContext, wanted: _Wanted, may_update: bool) -> None:
    try:
        info = await js.stream_info(wanted.name)
    except NotFoundError:
        try:
            await js.add_stream(wanted.config())
            return
        except BadRequestError as clash:
            # Another service created it between our look and our create.
            if clash.err_code != _ERR_STREAM_NAME_IN_USE:
                raise
            info = await js.stream_info(wanted.name)
    current = info.config
    differing = {k for k, v in wanted.fields.items() if _normal(getattr(current, k)) != _normal(v)}
    if not differing:
        return
    if fixed := differing.intersection(_FIXED):
        raise StreamMisconfiguredError(
            f"stream {wanted.name} exists with a different {', '.join(sorted(fixed))}; "
            "it cannot be changed in place"
        )
    if not may_update:
        log.warning(
            "the stream differs from what this version wants: the operator applies it with "
            "`python -m shared.provision`",
            stream=wanted.name,
            fields=sorted(differing),
        )
        return
    # Evolve the live config so settings an operator added (placement, metadata) survive.
    await js.update_stream(current.evolve(**wanted.fields))


def _normal(value: Any) -> Any:
    """Compare as the server reports: enums by value, durations as floats, lists as sets."""
    if isinstance(value, RetentionPolicy | StorageType):
        return value.value
    if isinstance(value, list):
        return sorted(value)
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    return value
