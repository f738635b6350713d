"""Composition root of the notification service: the only place that builds settings and the app.

uvicorn --factory services.notification.main:create_app
"""

from __future__ import annotations

import asyncio
from datetime import datetime
from pathlib import Path

from fastapi import FastAPI

from shared.runtime import ServiceSpec, build_app

from .api import inbox, preferences
from .domain import deadlines, notice
from .messaging.contracts import CONSUMES, EXAMPLES, SERVICE, registry
from .messaging.subscriptions import edge, subscriptions
from .projections import projections
from .settings import NotificationSettings
from .usecases import NotificationUseCases


async def _tick(usecases: NotificationUseCases, now: datetime) -> None:
    await usecases.tick(now)


async def _due(usecases: NotificationUseCases, now: datetime) -> int:
    return await usecases.due(now)


async def _deliver(usecases: NotificationUseCases, stop: asyncio.Event) -> None:
    await usecases.run_delivery(stop)


def spec() -> ServiceSpec:
    return ServiceSpec(
        name=SERVICE,
        registry=registry,
        projections=projections(),
        migrations=Path(__file__).parent / "migrations" / "versions",
        routers=[inbox.router, preferences.router],
        usecases=NotificationUseCases.build,
        messaging=edge,
        subscriptions=subscriptions,
        tick=_tick,
        due=_due,
        background=_deliver,
        examples=EXAMPLES,
        consumes=CONSUMES,
        deciders={
            "notice": notice.decider,
            "digest": notice.decider,
            "unit": notice.directory,
            "deadlines": deadlines.decider,
        },
    )


def create_app(settings: NotificationSettings | None = None) -> FastAPI:
    return build_app(settings or NotificationSettings(), spec())
