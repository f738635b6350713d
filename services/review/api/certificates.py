"""HTTP: the public certificate check — anyone may verify a certificate number: a national
base's plaque (HZJD-…) or a province's work station (e.g. 云海智站-2022-001)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

from fastapi import APIRouter, Path
from pydantic import BaseModel, Field
from sqlalchemy import Table, select
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncConnection

from shared.cst import cst_date
from shared.decider import NotFound

from ..domain.certificate import ended_past_term
from ..domain.events import Programme
from ..projections.certificates import EXPIRED, VALID, certificates, station_certificates
from ..projections.renewals import renewals
from .dependencies import UseCases
from .problems import problems

router = APIRouter(prefix="/certificates", tags=["certificate check 证书查验"])


class CertificateView(BaseModel):
    certificate_no: str
    programme: Programme = Field(
        description="national_base (the national plaque) or provincial_workstation (a"
        " province's station: no plaque, no term)"
    )
    base_name: str = Field(description="the designated unit (base or station)")
    plaque_name: str | None = Field(description="the national plaque's name; null for a station")
    term_start: date = Field(description="a station: its approval day")
    term_end: date | None = Field(description="null for a station (no term configured)")
    status: str = Field(description="valid | revoked | expired")
    since: date | None = Field(description="when it was revoked or expired")
    renewal_pending: bool = Field(
        False,
        description="the term has ended while a renewal request filed in its window awaits"
        " its decision: the base stays designated until then (Art. 14, our reading)",
    )
    designation_hash: str = Field(description="the hash of the event that awarded it")
    province: str | None = Field(None, description="a station's province")
    policy_version: str | None = Field(None, description="a station's provincial policy")


@router.get(
    "/{certificate_no}",
    summary="Check a certificate (no sign-in needed)",
    responses=problems(s404=[("not-found", "No certificate has this number")]),
)
async def check_certificate(
    certificate_no: Annotated[str, Path(min_length=1, max_length=60)], usecases: UseCases
) -> CertificateView:
    async with usecases.executor.db.read_engine.connect() as conn:
        row = await _first(conn, certificates, certificate_no)
        station = (
            None if row is not None else await _first(conn, station_certificates, certificate_no)
        )
    if station is not None:
        return CertificateView(
            certificate_no=station["certificate_no"],
            programme=Programme(station["programme"]),
            base_name=station["station_name"],
            plaque_name=None,
            term_start=date.fromisoformat(station["approved_on"]),
            term_end=None,
            status=station["status"],
            since=None,
            designation_hash=station["designation_hash"],
            province=station["province"],
            policy_version=station["policy_version"],
        )
    if row is None:
        raise NotFound(f"no certificate {certificate_no}")
    term_end = date.fromisoformat(row["term_end"])
    status, since, pending = row["status"], row["status_since"], False
    if status == VALID and cst_date(usecases.executor.clock.now()) > term_end:
        # The term is over, even before the expiry (or the renewed term) reaches us.
        async with usecases.executor.db.read_engine.connect() as conn:
            renewal = await _renewal_of_term(conn, row["base_id"], row["term_end"])
        state, decided_on = None, None
        if renewal is not None:
            state = renewal["status"]
            if state == "refused" and renewal["refused_on"]:
                decided_on = date.fromisoformat(renewal["refused_on"])
            elif state == "withdrawn":
                decided_on = cst_date(datetime.fromisoformat(renewal["updated_at"]))
        ended = ended_past_term(term_end, state, decided_on)
        if ended is None:
            pending = True
        else:
            status, since = EXPIRED, ended.isoformat()
    return CertificateView(
        certificate_no=row["certificate_no"],
        programme=Programme.NATIONAL_BASE,
        base_name=row["base_name"],
        plaque_name=row["plaque_name"],
        term_start=date.fromisoformat(row["term_start"]),
        term_end=term_end,
        status=status,
        since=date.fromisoformat(since) if since else None,
        renewal_pending=pending,
        designation_hash=row["designation_hash"],
    )


async def _renewal_of_term(conn: AsyncConnection, base_id: str, term_end: str) -> RowMapping | None:
    """The latest renewal request filed for the term that ends on `term_end`."""
    query = (
        select(renewals)
        .where(renewals.c.base_id == base_id, renewals.c.term_end == term_end)
        .order_by(renewals.c.updated_at.desc())
    )
    return (await conn.execute(query)).mappings().first()


async def _first(conn: AsyncConnection, table: Table, certificate_no: str) -> RowMapping | None:
    query = select(table).where(table.c.certificate_no == certificate_no)
    return (await conn.execute(query)).mappings().first()
