"""The application service's read models, one module per question they answer."""

from __future__ import annotations

from shared.projection import TableProjection

from .base import metadata
from .calls import CallsProjection


def projections() -> list[TableProjection]:
    return [CallsProjection()]


__all__ = ["metadata", "projections"]
