"""FastAPI dependencies: the use cases, and the caller — any signed-in person, remembered."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import Depends, Request

from shared.auth import CurrentPrincipal, Principal

from ..usecases import NotificationUseCases


def _usecases(request: Request) -> NotificationUseCases:
    usecases: NotificationUseCases = request.app.state.usecases
    return usecases


UseCases = Annotated[NotificationUseCases, Depends(_usecases)]


async def _person(principal: CurrentPrincipal, usecases: UseCases) -> Principal:
    """The caller, whose inbox and preferences these are; known to the notifier from now on
    (with their roles, jurisdictions and address) so that their work reaches them."""
    await usecases.inbox.remember(principal, datetime.now(UTC))
    return principal


Person = Annotated[Principal, Depends(_person)]
