"""Composition root of the funding service: the only place that builds settings and the app.

uvicorn --factory services.funding.main:create_app
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from fastapi import FastAPI

from shared.runtime import ServiceSpec, build_app
from shared.settings import ServiceSettings

from .api import bases, finance, instalments, plans
from .domain import subsidy_plan
from .messaging.contracts import CONSUMES, EXAMPLES, SERVICE, registry
from .messaging.subscriptions import edge, subscriptions
from .projections import projections
from .usecases import FundingUseCases


async def _tick(usecases: FundingUseCases, now: datetime) -> None:
    await usecases.tick(now)


def spec() -> ServiceSpec:
    return ServiceSpec(
        name=SERVICE,
        registry=registry,
        projections=projections(),
        migrations=Path(__file__).parent / "migrations" / "versions",
        routers=[plans.router, bases.router, instalments.router, finance.router],
        usecases=FundingUseCases.build,
        messaging=edge,
        subscriptions=subscriptions,
        tick=_tick,
        examples=EXAMPLES,
        consumes=CONSUMES,
        # stream-id prefix -> decider, for the auditor's case-as-of view
        deciders={"plan": subsidy_plan.decider},
    )


def create_app(settings: ServiceSettings | None = None) -> FastAPI:
    return build_app(settings or ServiceSettings(service=SERVICE), spec())
