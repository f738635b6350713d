"""Composition root of the application service: the only place that builds settings and the app.

uvicorn --factory services.application.main:create_app
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from fastapi import FastAPI

from shared.runtime import ServiceSpec, build_app
from shared.settings import ServiceSettings

from .api import calls
from .messaging.contracts import EXAMPLES, SERVICE, registry
from .projections import projections
from .usecases import ApplicationUseCases


async def _tick(usecases: ApplicationUseCases, now: datetime) -> None:
    await usecases.tick(now)


def spec() -> ServiceSpec:
    return ServiceSpec(
        name=SERVICE,
        registry=registry,
        projections=projections(),
        migrations=Path(__file__).parent / "migrations" / "versions",
        routers=[calls.router],
        usecases=ApplicationUseCases.build,
        tick=_tick,
        examples=EXAMPLES,
    )


def create_app(settings: ServiceSettings | None = None) -> FastAPI:
    return build_app(settings or ServiceSettings(service=SERVICE), spec())
