"""Transient or deterministic: whether a failure may go away by itself if we wait and try again.

A consumer retries a *transient* failure without limit, with a bounded exponential backoff,
and never dead-letters it: the event is fine, the store or the network is not (a full disk,
a lost or refused database connection, a failover, a lock or serialization timeout, NATS
away). Everything else is *deterministic*: the same message fails the same way each time
(an undecodable envelope, a handler's refusal, a bug), so after `max_failures` deliveries it
goes to the dead letters. The classification is by exception type and database error code,
never by message text, and follows the chain of causes (`raise ... from`, or an exception
raised while handling another), so a handler that wraps a lost connection is still transient.
"""

from __future__ import annotations

import asyncio
import errno
import sqlite3
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

from nats.errors import ConnectionClosedError, NoRespondersError, StaleConnectionError
from nats.errors import TimeoutError as NatsTimeout
from nats.js.errors import ServiceUnavailableError
from sqlalchemy import exc as sa

from shared.logging import get_logger

T = TypeVar("T")
log = get_logger(__name__)

#: SQLite primary result codes that describe the disk, a lock or the file, not the statement.
SQLITE_TRANSIENT = {
    sqlite3.SQLITE_BUSY,  # 5
    sqlite3.SQLITE_LOCKED,  # 6
    sqlite3.SQLITE_NOMEM,  # 7
    sqlite3.SQLITE_READONLY,  # 8: e.g. the file system was remounted read-only
    sqlite3.SQLITE_IOERR,  # 10
    sqlite3.SQLITE_FULL,  # 13: "database or disk is full"
    sqlite3.SQLITE_CANTOPEN,  # 14
    sqlite3.SQLITE_PROTOCOL,  # 15
}

#: PostgreSQL SQLSTATE classes (first two characters) that are conditions of the server.
POSTGRES_TRANSIENT_CLASSES = {
    "08",  # connection exception
    "53",  # insufficient resources: disk full, out of memory, too many connections
    "57",  # operator intervention: admin/crash shutdown, cannot connect now, query canceled
    "58",  # system error: I/O error
}
#: And single SQLSTATEs outside those classes.
POSTGRES_TRANSIENT_CODES = {
    "40001",  # serialization_failure
    "40P01",  # deadlock_detected
    "55P03",  # lock_not_available (lock_timeout)
    "25006",  # read_only_sql_transaction: we are talking to a standby after a failover
}

#: OS errors of the machine or the network, not of our input.
OS_TRANSIENT_ERRNOS = {
    errno.ENOSPC,
    errno.EDQUOT,
    errno.EIO,
    errno.EAGAIN,
    errno.EROFS,
    errno.ENOMEM,
    errno.EMFILE,
    errno.ENFILE,
}

_NATS_TRANSIENT = (
    ConnectionClosedError,
    NoRespondersError,
    StaleConnectionError,
    NatsTimeout,
    ServiceUnavailableError,
)


def is_transient(failure: BaseException) -> bool:
    """Whether `failure`, or any failure it was raised from or while handling, is transient."""
    seen: set[int] = set()
    pending: list[BaseException] = [failure]
    while pending:
        current = pending.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        if _transient_itself(current):
            return True
        pending.extend(e for e in (current.__cause__, current.__context__) if e is not None)
        orig = getattr(current, "orig", None)
        if isinstance(orig, BaseException):
            pending.append(orig)
    return False


def _transient_itself(failure: BaseException) -> bool:
    if isinstance(failure, sa.DBAPIError) and failure.connection_invalidated:
        return True  # SQLAlchemy saw a disconnect: the pool reconnects on the next try
    if isinstance(failure, (sa.InterfaceError, sa.DisconnectionError, sa.TimeoutError)):
        return True  # the driver's connection is unusable, or the pool had none to give
    if isinstance(failure, sqlite3.Error):
        code = getattr(failure, "sqlite_errorcode", None)
        return isinstance(code, int) and code & 0xFF in SQLITE_TRANSIENT
    sqlstate = getattr(failure, "sqlstate", None)
    if isinstance(sqlstate, str) and len(sqlstate) == 5:
        return sqlstate[:2] in POSTGRES_TRANSIENT_CLASSES or sqlstate in POSTGRES_TRANSIENT_CODES
    if isinstance(failure, _NATS_TRANSIENT):
        return True
    if isinstance(failure, (ConnectionError, TimeoutError)):
        return True  # includes asyncio's TimeoutError and asyncpg's connection failures
    if isinstance(failure, OSError):
        return failure.errno in OS_TRANSIENT_ERRNOS
    return _asyncpg_connection_error(failure)


def _asyncpg_connection_error(failure: BaseException) -> bool:
    """asyncpg's "the connection is gone", which carries no SQLSTATE (asyncpg is optional)."""
    return any(
        kind.__name__ == "ConnectionDoesNotExistError" and kind.__module__.startswith("asyncpg")
        for kind in type(failure).__mro__
    )


async def patiently(
    step: Callable[[], Awaitable[T]], what: str, *, within: float = 60.0, first_wait: float = 0.5
) -> T:
    """`step()`, tried again after a transient failure (backing off, up to 5 s between tries);
    no new try starts once `within` seconds have passed (a try itself may take the step's own
    timeout), and then the last failure is raised. A deterministic failure is raised at once.

    For a service's start-up: a NATS cluster electing a stream leader (a node was lost, or
    restarted) answers nothing for a few seconds, and a replica starting meanwhile should wait
    for it rather than exit and be restarted in a loop by its orchestrator.
    """
    deadline = time.monotonic() + within
    wait = first_wait
    while True:
        try:
            return await step()
        except Exception as failure:
            if not is_transient(failure) or time.monotonic() + wait > deadline:
                raise
            log.warning("waiting to start", step=what, error=repr(failure), retry_in=wait)
        await asyncio.sleep(wait)  # a backoff between tries, not a synchronisation
        wait = min(wait * 2, 5.0)
