"""FastAPI dependencies of this service's routes."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from ..usecases import ApplicationUseCases


def _usecases(request: Request) -> ApplicationUseCases:
    usecases: ApplicationUseCases = request.app.state.usecases
    return usecases


UseCases = Annotated[ApplicationUseCases, Depends(_usecases)]
