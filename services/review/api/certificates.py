"""HTTP: the public certificate check — anyone may verify a plaque's certificate number."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Annotated

from fastapi import APIRouter, Path
from pydantic import BaseModel
from sqlalchemy import select

from shared.cst import cst_date
from shared.decider import NotFound

from ..projections.certificates import EXPIRED, VALID, certificates
from .dependencies import UseCases

router = APIRouter(prefix="/certificates", tags=["certificate check 证书查验"])


class CertificateView(BaseModel):
    certificate_no: str
    base_name: str
    plaque_name: str
    term_start: date
    term_end: date
    status: str  # valid | revoked | expired
    since: date | None  # when it was revoked or expired
    designation_hash: str  # the hash of the event that awarded the plaque


@router.get("/{certificate_no}", summary="Check a certificate (no sign-in needed)")
async def check_certificate(
    certificate_no: Annotated[str, Path(min_length=1, max_length=40)], usecases: UseCases
) -> CertificateView:
    async with usecases.executor.db.read_engine.connect() as conn:
        row = (
            (
                await conn.execute(
                    select(certificates).where(certificates.c.certificate_no == certificate_no)
                )
            )
            .mappings()
            .first()
        )
    if row is None:
        raise NotFound(f"no certificate {certificate_no}")
    term_end = date.fromisoformat(row["term_end"])
    status, since = row["status"], row["status_since"]
    if status == VALID and cst_date(usecases.executor.clock.now()) > term_end:
        # The term is over, even before the expiry (or the renewed term) reaches us.
        status, since = EXPIRED, (term_end + timedelta(days=1)).isoformat()
    return CertificateView(
        certificate_no=row["certificate_no"],
        base_name=row["base_name"],
        plaque_name=row["plaque_name"],
        term_start=date.fromisoformat(row["term_start"]),
        term_end=term_end,
        status=status,
        since=date.fromisoformat(since) if since else None,
        designation_hash=row["designation_hash"],
    )
