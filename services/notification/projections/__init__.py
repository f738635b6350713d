"""The notification service's read models: deliveries (inbox and mail), cases, unit contacts,
and the bases' deadlines the tick reminds of."""

from __future__ import annotations

from shared.projection import TableProjection

from .deadlines import DeadlinesProjection
from .deliveries import DeliveriesProjection
from .tables import metadata


def projections() -> list[TableProjection]:
    return [DeliveriesProjection(), DeadlinesProjection()]


__all__ = ["metadata", "projections"]
