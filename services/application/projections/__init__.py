"""The application service's read models, one module per question they answer."""

from __future__ import annotations

from shared.projection import TableProjection

from .applications import ApplicationsProjection
from .base import metadata
from .bases import BasesProjection
from .calls import CallsProjection
from .documents import documents_projection
from .search import SearchProjection
from .units import UnitsProjection


def projections() -> list[TableProjection]:
    return [
        UnitsProjection(),
        CallsProjection(),
        ApplicationsProjection(),
        BasesProjection(),
        SearchProjection(),
        documents_projection(),
    ]


__all__ = ["metadata", "projections"]
