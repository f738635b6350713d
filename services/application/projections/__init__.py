"""The application service's read models, one module per question they answer."""

from __future__ import annotations

from shared.projection import TableProjection

from .applications import ApplicationsProjection
from .base import metadata
from .bases import BasesProjection
from .calls import CallsProjection
from .units import UnitsProjection


def projections() -> list[TableProjection]:
    return [UnitsProjection(), CallsProjection(), ApplicationsProjection(), BasesProjection()]


__all__ = ["metadata", "projections"]
