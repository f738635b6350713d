"""The notification service's read models: deliveries (inbox and mail), cases, unit contacts."""

from __future__ import annotations

from shared.projection import TableProjection

from .deliveries import DeliveriesProjection
from .tables import metadata


def projections() -> list[TableProjection]:
    return [DeliveriesProjection()]


__all__ = ["metadata", "projections"]
