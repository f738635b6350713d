"""Composition root of the assessment service: the only place that builds settings and the app.

uvicorn --factory services.assessment.main:create_app
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from fastapi import FastAPI

from shared import issuance
from shared.runtime import ServiceSpec, build_app
from shared.settings import ServiceSettings

from .api import bases, documents, exports, grade_lists, renewals, workstations
from .domain import base, grade_list, station
from .messaging.contracts import EXAMPLES, SERVICE, registry
from .messaging.subscriptions import CONSUMES, edge, subscriptions
from .projections import projections
from .usecases import AssessmentUseCases


async def _tick(usecases: AssessmentUseCases, now: datetime) -> None:
    await usecases.tick(now)


def spec() -> ServiceSpec:
    return ServiceSpec(
        name=SERVICE,
        registry=registry,
        projections=projections(),
        migrations=Path(__file__).parent / "migrations" / "versions",
        routers=[
            bases.router,
            grade_lists.router,
            renewals.router,
            workstations.router,
            exports.router,
            documents.base_router,
            documents.grade_list_router,
        ],
        usecases=AssessmentUseCases.build,
        messaging=edge,
        subscriptions=subscriptions,
        tick=_tick,
        examples=EXAMPLES,
        consumes=CONSUMES,
        # stream-id prefix -> decider, for the auditor's case-as-of view
        deciders={
            "base": base.decider,
            "grade": grade_list.decider,
            "station": station.decider,
            issuance.STREAM_PREFIX: issuance.decider,
        },
    )


def create_app(settings: ServiceSettings | None = None) -> FastAPI:
    return build_app(settings or ServiceSettings(service=SERVICE), spec())
