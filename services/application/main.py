"""Composition root of the application service: the only place that builds settings and the app.

uvicorn --factory services.application.main:create_app
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from fastapi import FastAPI

from shared import issuance
from shared.runtime import ServiceSpec, build_app
from shared.settings import ServiceSettings

from .api import applications, attachments, calls, documents, exports, renewals, units
from .domain import application, base_renewal, call, unit
from .messaging.contracts import EXAMPLES, SERVICE, registry
from .messaging.subscribers import CONSUMES, edge, subscriptions
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
        routers=[
            units.router,
            calls.router,
            applications.router,
            attachments.router,
            renewals.router,
            exports.router,
            documents.router,
        ],
        usecases=ApplicationUseCases.build,
        messaging=edge,
        subscriptions=subscriptions,
        tick=_tick,
        examples=EXAMPLES,
        consumes=CONSUMES,
        # stream-id prefix -> decider, for the auditor's case-as-of view
        deciders={
            "application": application.decider,
            "base": base_renewal.decider,
            "call": call.decider,
            "unit": unit.decider,
            issuance.STREAM_PREFIX: issuance.decider,
        },
    )


def create_app(settings: ServiceSettings | None = None) -> FastAPI:
    return build_app(settings or ServiceSettings(service=SERVICE), spec())
