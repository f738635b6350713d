"""Leadership among the replicas of one service: who alone runs a singleton task.

Several processes of a service share one database; some of their work must be done by one of
them at a time (the outbox relay, the scheduler). On PostgreSQL a `Lease` is a session
advisory lock held on a connection of its own: taken with `pg_try_advisory_lock`, kept while
that session lives, given up by `release`, and lost with the session when its process dies
(the server drops the lock the moment the connection closes; a host that vanishes without
closing it holds it until the server's TCP keepalive gives up: docs/deployment.md). A standby
calls `hold` again on its next pass and takes over. SQLite is the embedded, single-process
store: there is nobody to share with, and `hold` is always true.

The lock is keyed by the task (`key`) and the store's schema, so services sharing one
database in separate schemas (the tests) lead separately.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncConnection

from shared.db import Database
from shared.logging import get_logger

log = get_logger(__name__)


class Lease:
    """`on_change` hears True when this process takes the lead and False when it gives it up
    or finds it lost (a gauge shows which replica leads)."""

    def __init__(
        self,
        db: Database,
        key: int,
        name: str,
        on_change: Callable[[bool], None] | None = None,
    ) -> None:
        self._db = db
        self._key = key
        self._name = name
        self._on_change = on_change
        self._session: AsyncConnection | None = None

    async def hold(self) -> bool:
        """Whether this process leads now: keeps the lock it has, or tries to take it."""
        if self._db.is_sqlite:
            return True
        if self._session is not None:
            try:
                await self._session.execute(text("SELECT 1"))
                return True
            except SQLAlchemyError:
                await self.release()
        conn = await self._db.engine.connect()
        # Autocommit: the lock is the session's; an open transaction would idle for hours.
        conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
        try:
            taken = (
                await conn.execute(
                    text("SELECT pg_try_advisory_lock(:k, hashtext(current_schema()))"),
                    {"k": self._key},
                )
            ).scalar()
        except BaseException:
            # Not back to the pool: a lock taken just before a cancellation would stay with it.
            await conn.invalidate()
            raise
        if not taken:
            await conn.close()
            return False
        log.info("leads", task=self._name)
        self._session = conn
        if self._on_change is not None:
            self._on_change(True)
        return True

    async def release(self) -> None:
        """Give up the lead, so a standby takes over at once."""
        session, self._session = self._session, None
        if session is None:
            return
        if self._on_change is not None:
            self._on_change(False)
        try:
            await session.execute(
                text("SELECT pg_advisory_unlock(:k, hashtext(current_schema()))"),
                {"k": self._key},
            )
        except SQLAlchemyError:
            await session.invalidate()  # the session is gone, and its lock with it
            return
        except BaseException:  # cancelled mid-unlock: end the session, and the lock with it
            await session.invalidate()
            raise
        await session.close()
