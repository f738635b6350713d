"""A store that refuses writes, for fault tests: real errors from the real database.

`StoreFault(db).break_writes()` makes every write transaction of `db` fail as a store in
trouble does, until `restore()`: on SQLite `PRAGMA query_only` ("attempt to write a readonly
database", SQLITE_READONLY, as after a file system remounted read-only); on PostgreSQL
`SET TRANSACTION READ ONLY` (25006, as when a failover left us talking to a standby).
Set on each connection as the pool hands it out, and at the start of every `Database.begin()`
transaction (whose connections are held, not checked out each time): the driver's transaction
begins with it. Both
are transient to `shared.faults.is_transient`; reads keep working, as they do in those faults.
A real full disk is in `shared/tests/test_transient.py` (`PRAGMA max_page_count`).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncConnection

from shared.db import Database


class StoreFault:
    def __init__(self, db: Database) -> None:
        self.db = db
        self.broken = False
        event.listen(db.engine.sync_engine.pool, "checkout", self._on_checkout)
        db.on_begin.append(self._on_begin)

    def break_writes(self) -> None:
        self.broken = True

    def restore(self) -> None:
        self.broken = False

    def _on_checkout(self, dbapi_connection: Any, _record: Any, _proxy: Any) -> None:
        if not self.db.is_sqlite and not self.broken:
            return
        cursor = dbapi_connection.cursor()
        if self.db.is_sqlite:
            cursor.execute(f"PRAGMA query_only = {int(self.broken)}")
        else:  # asyncpg's adapter opens the transaction the checkout's user goes on with
            cursor.execute("SET TRANSACTION READ ONLY")
        cursor.close()

    async def _on_begin(self, conn: AsyncConnection) -> None:
        if self.db.is_sqlite:  # the held connection keeps it: set either way
            await conn.exec_driver_sql(f"PRAGMA query_only = {int(self.broken)}")
        elif self.broken:
            await conn.exec_driver_sql("SET TRANSACTION READ ONLY")
