"""FastAPI dependencies of this service's routes."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from ..usecases import AssessmentUseCases


def _usecases(request: Request) -> AssessmentUseCases:
    usecases: AssessmentUseCases = request.app.state.usecases
    return usecases


UseCases = Annotated[AssessmentUseCases, Depends(_usecases)]
