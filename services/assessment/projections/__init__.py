"""The assessment service's read models, one module per question they answer."""

from __future__ import annotations

from shared.projection import TableProjection

from .base import metadata
from .base_years import BaseYearsProjection
from .bases import BasesProjection
from .documents import documents_projection
from .grade_lists import GradeListsProjection
from .renewal_assessments import RenewalAssessmentsProjection
from .search import SearchProjection
from .workstations import WorkstationsProjection


def projections() -> list[TableProjection]:
    return [
        BasesProjection(),
        BaseYearsProjection(),
        GradeListsProjection(),
        RenewalAssessmentsProjection(),
        WorkstationsProjection(),
        SearchProjection(),
        documents_projection(),
    ]


__all__ = ["metadata", "projections"]
