"""The funding service's read models, one module per question they answer."""

from __future__ import annotations

from shared.projection import TableProjection

from .base import metadata
from .bases import BasesProjection
from .plans import PlansProjection


def projections() -> list[TableProjection]:
    return [PlansProjection(), BasesProjection()]


__all__ = ["metadata", "projections"]
