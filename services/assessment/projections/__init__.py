"""The assessment service's read models, one module per question they answer."""

from __future__ import annotations

from shared.projection import TableProjection

from .base import metadata
from .base_years import BaseYearsProjection
from .bases import BasesProjection
from .grade_lists import GradeListsProjection


def projections() -> list[TableProjection]:
    return [BasesProjection(), BaseYearsProjection(), GradeListsProjection()]


__all__ = ["metadata", "projections"]
