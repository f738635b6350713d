"""The review service's read models, one module per question they answer."""

from __future__ import annotations

from shared.projection import TableProjection

from .base import metadata
from .certificates import CertificatesProjection
from .documents import documents_projection
from .rankings import RankingsProjection
from .renewals import RenewalsProjection
from .reviews import ReviewsProjection


def projections() -> list[TableProjection]:
    return [
        ReviewsProjection(),
        RankingsProjection(),
        RenewalsProjection(),
        CertificatesProjection(),
        documents_projection(),
    ]


__all__ = ["metadata", "projections"]
