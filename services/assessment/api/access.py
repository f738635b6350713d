"""Who may see which base (or work station): applicants their unit's, officials their
jurisdictions', auditors all.

A base outside the caller's reach answers 404, as if it did not exist.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, RowMapping, Table, false, or_, select, true
from sqlalchemy.ext.asyncio import AsyncConnection

from shared.auth import NATIONWIDE, Principal, Role

from ..domain.errors import BaseNotFound, WorkstationNotFound
from ..projections.bases import bases
from ..projections.workstations import workstations


def _officials_codes(principal: Principal) -> tuple[str, ...]:
    """Jurisdictions count for every role but the applicant's, who acts for a unit: an auditor
    reads what lies in theirs (a nationwide auditor, CN, reads everything)."""
    official = principal.roles - {Role.APPLICANT}
    return principal.jurisdictions if official else ()


def visible_bases(principal: Principal, table: Table = bases) -> ColumnElement[bool]:
    """A filter on `bases` (or another table with `unit_id` and `jurisdiction`): the rows this
    caller may read."""
    clauses: list[ColumnElement[bool]] = []
    if principal.has(Role.APPLICANT) and principal.org_id:
        clauses.append(table.c.unit_id == principal.org_id)
    for code in _officials_codes(principal):
        if code in NATIONWIDE:
            return true()
        if code:
            clauses.append(table.c.jurisdiction.startswith(code, autoescape=True))
    return or_(*clauses) if clauses else false()


def can_see(principal: Principal, base: RowMapping) -> bool:
    if principal.has(Role.APPLICANT) and principal.belongs_to(base["unit_id"]):
        return True
    return bool(_officials_codes(principal)) and principal.covers(base["jurisdiction"])


async def base_in_reach(conn: AsyncConnection, principal: Principal, base_id: str) -> RowMapping:
    """The base's row, if it exists and the caller may see it; else 404."""
    row = (await conn.execute(select(bases).where(bases.c.base_id == base_id))).mappings().first()
    if row is None or not can_see(principal, row):
        raise BaseNotFound(f"no base {base_id}")
    return row


async def station_in_reach(
    conn: AsyncConnection, principal: Principal, station_id: str
) -> RowMapping:
    """The work station's row, if it exists and the caller may see it; else 404."""
    query = select(workstations).where(workstations.c.station_id == station_id)
    row = (await conn.execute(query)).mappings().first()
    if row is None or not can_see(principal, row):
        raise WorkstationNotFound(f"no work station {station_id}")
    return row


def local_jurisdiction(principal: Principal, base: RowMapping) -> str:
    """The caller's most specific jurisdiction that covers the base: the CAST acting for it."""
    covering = [c for c in principal.jurisdictions if c and base["jurisdiction"].startswith(c)]
    return max(covering, key=len) if covering else ""
