"""The questions asked of this service's read models, each answered only within the reader's
reach: an applicant unit reaches its own applications and bases; a reviewer those whose
jurisdiction its own codes cover, and never a draft that was not yet submitted."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, false, func, or_, select, true
from sqlalchemy.ext.asyncio import AsyncConnection

from shared.cst import cst_date
from shared.envelope import Envelope
from shared.search import matching
from shared.usecase import Executor

from ..domain.errors import ApplicationNotFound, AttachmentNotFound, BaseNotFound, UnitNotFound
from ..domain.policy import RenewalPolicy
from ..projections.applications import application_files, applications
from ..projections.bases import bases, renewal_requests
from ..projections.calls import calls
from ..projections.search import search_terms
from ..projections.units import units
from .applications import application_stream

NATIONWIDE = ("CN", "00")


@dataclass(frozen=True, slots=True)
class Scope:
    """What a reader may reach: its own unit's objects, and those inside its jurisdictions."""

    unit_id: str | None = None
    jurisdictions: tuple[str, ...] = ()

    def owns(self, row: Any) -> bool:
        return self.unit_id is not None and row["unit_id"] == self.unit_id

    def covering(self, column: Any) -> ColumnElement[bool]:
        if any(code in NATIONWIDE for code in self.jurisdictions):
            return true()
        codes = [code for code in self.jurisdictions if code.isdigit()]
        return or_(*(column.startswith(code) for code in codes)) if codes else false()


@dataclass(frozen=True, slots=True)
class ApplicationFilter:
    call_id: str | None = None
    status: str | None = None
    route: str | None = None
    category: str | None = None
    programme: str | None = None


@dataclass
class Queries:
    executor: Executor
    policy: Callable[[date], RenewalPolicy]

    async def units(
        self,
        scope: Scope,
        *,
        status: str | None,
        office: str | None,
        limit: int,
        cursor: str | None,
    ) -> list[dict[str, Any]]:
        query = _visible_units(scope).order_by(units.c.unit_id)
        if status is not None:
            query = query.where(units.c.status == status)
        if office is not None:
            query = query.where(units.c.office == office)
        if cursor:
            query = query.where(units.c.unit_id > cursor)
        return await self._all(query.limit(limit + 1))

    async def unit(self, scope: Scope, unit_id: str) -> dict[str, Any]:
        rows = await self._all(_visible_units(scope).where(units.c.unit_id == unit_id))
        if not rows:
            raise UnitNotFound(f"no registered unit {unit_id} within your reach")
        return rows[0]

    async def applications(
        self, scope: Scope, where: ApplicationFilter, limit: int, cursor: str | None
    ) -> list[dict[str, Any]]:
        query = _visible_applications(scope).order_by(applications.c.application_id)
        for name in ("call_id", "status", "route", "category", "programme"):
            value = getattr(where, name)
            if value is not None:
                query = query.where(applications.c[name] == value)
        if cursor:
            query = query.where(applications.c.application_id > cursor)
        return await self._all(query.limit(limit + 1))

    async def application(self, scope: Scope, application_id: str) -> dict[str, Any]:
        query = _visible_applications(scope).where(applications.c.application_id == application_id)
        rows = await self._all(query)
        if not rows:
            raise ApplicationNotFound(f"no application {application_id} within your reach")
        return rows[0]

    async def history(
        self, scope: Scope, application_id: str, after_version: int = 0, limit: int | None = None
    ) -> list[Envelope]:
        """The application's events after `after_version`, in order (at most `limit`)."""
        await self.application(scope, application_id)
        async with self.executor.db.read_engine.connect() as conn:
            return await self.executor.store.read_stream(
                conn, application_stream(application_id), after_version, limit
            )

    async def file(self, scope: Scope, application_id: str, sha256: str) -> dict[str, Any]:
        """A file the application held at some point of its history (any revision)."""
        row = await self.application(scope, application_id)
        table = application_files
        query = select(table).where(
            table.c.application_id == application_id, table.c.sha256 == sha256
        )
        if not scope.owns(row):  # reviewers see what was submitted, never the working copy
            query = query.where(table.c.submitted_in.is_not(None))
        rows = await self._all(query)
        if not rows:
            raise AttachmentNotFound(f"application {application_id} never held file {sha256}")
        return rows[0]

    async def bases(self, scope: Scope, limit: int, cursor: str | None) -> list[dict[str, Any]]:
        query = _visible_bases(scope).order_by(bases.c.base_id).limit(limit + 1)
        if cursor:
            query = query.where(bases.c.base_id > cursor)
        return [self._with_window(row) for row in await self._all(query)]

    async def base(
        self, scope: Scope, base_id: str, after: str | None = None, limit: int | None = None
    ) -> dict[str, Any]:
        """The base, with its renewal requests by id after `after` (at most `limit`)."""
        rows = await self._all(_visible_bases(scope).where(bases.c.base_id == base_id))
        if not rows:
            raise BaseNotFound(f"no designated base {base_id} within your reach")
        query = select(renewal_requests).where(renewal_requests.c.base_id == base_id)
        if after is not None:
            query = query.where(renewal_requests.c.renewal_id > after)
        requests = await self._all(query.order_by(renewal_requests.c.renewal_id).limit(limit))
        return {**self._with_window(rows[0]), "renewal_requests": requests}

    def _with_window(self, row: dict[str, Any]) -> dict[str, Any]:
        """Art. 14: the window assessment announced, or else the term's last policy days."""
        if row["window_opens_on"] is not None:
            return {**row, "window_announced": True}
        term_end = date.fromisoformat(row["term_end"])
        policy = self.policy(cst_date(self.executor.clock.now()))
        opens_on = term_end - timedelta(days=policy.window_days - 1)
        return {
            **row,
            "window_opens_on": opens_on.isoformat(),
            "window_closes_on": row["term_end"],
            "window_announced": False,
        }

    async def search_applications(
        self, scope: Scope, wanted: list[str], limit: int, cursor: str | None
    ) -> list[dict[str, Any]]:
        """The applications within reach holding every term of `wanted`, by id."""
        found = matching(search_terms, "application", wanted)
        query = _visible_applications(scope).where(applications.c.application_id.in_(found))
        if cursor:
            query = query.where(applications.c.application_id > cursor)
        return await self._all(query.order_by(applications.c.application_id).limit(limit + 1))

    async def search_units(
        self, scope: Scope, wanted: list[str], limit: int, cursor: str | None
    ) -> list[dict[str, Any]]:
        """The registered units within reach holding every term of `wanted`, by id."""
        query = _visible_units(scope).where(
            units.c.unit_id.in_(matching(search_terms, "unit", wanted))
        )
        if cursor:
            query = query.where(units.c.unit_id > cursor)
        return await self._all(query.order_by(units.c.unit_id).limit(limit + 1))

    async def cases_per_stage(self, scope: Scope, year: int | None) -> list[dict[str, Any]]:
        """How many applications within reach stand at each status, per call year, province
        and programme."""
        visible = _visible_applications(scope).subquery()
        count = func.count().label("cases")
        query = (
            select(calls.c.year, visible.c.province, visible.c.programme, visible.c.status, count)
            .join(calls, calls.c.call_id == visible.c.call_id)
            .group_by(calls.c.year, visible.c.province, visible.c.programme, visible.c.status)
            .order_by(calls.c.year, visible.c.province, visible.c.programme, visible.c.status)
        )
        if year is not None:
            query = query.where(calls.c.year == year)
        return await self._all(query)

    async def _all(self, query: Select[Any]) -> list[dict[str, Any]]:
        async with self.executor.db.read_engine.connect() as conn:
            return await _rows(conn, query)


async def _rows(conn: AsyncConnection, query: Select[Any]) -> list[dict[str, Any]]:
    return [dict(row) for row in (await conn.execute(query)).mappings().all()]


def _visible_applications(scope: Scope) -> Select[Any]:
    own = applications.c.unit_id == scope.unit_id if scope.unit_id else false()
    reviewed = and_(applications.c.revision >= 1, scope.covering(applications.c.jurisdiction))
    return select(applications).where(or_(own, reviewed))


def _visible_units(scope: Scope) -> Select[Any]:
    own = units.c.unit_id == scope.unit_id if scope.unit_id else false()
    return select(units).where(or_(own, scope.covering(units.c.jurisdiction)))


def _visible_bases(scope: Scope) -> Select[Any]:
    own = bases.c.unit_id == scope.unit_id if scope.unit_id else false()
    return select(bases).where(or_(own, scope.covering(bases.c.jurisdiction)))
