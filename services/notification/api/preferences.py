"""HTTP: the caller's notification preferences (通知设置)."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter
from pydantic import BaseModel, Field, StrictBool

from shared.api import Body

from ..domain.events import Kind
from ..usecases.inbox import Preferences
from .dependencies import Person, UseCases

router = APIRouter(prefix="/preferences", tags=["preferences 通知设置"])


class PreferencesView(BaseModel):
    email_enabled: bool = Field(description="false: the inbox only")
    language: Literal["zh", "en"]
    opt_out: list[Kind] = Field(description="the kinds the caller is not told of at all")
    digest: Literal["off", "daily"] = Field(description="daily: one mail a day (reviewers)")


class PreferencesBody(Body):
    email_enabled: StrictBool
    language: Literal["zh", "en"]
    opt_out: list[Kind] = Field(
        default_factory=list,
        max_length=len(Kind),
        description="optional kinds only: designated, report_due, report_reminder, "
        "renewal_window_open, renewal_reminder, instalment_paid, review_queued, "
        "review_reopened, renewal_review_queued, instalment_due; the others are a 422",
    )
    digest: Literal["off", "daily"] = "off"


def _view(chosen: Preferences) -> PreferencesView:
    return PreferencesView(
        email_enabled=chosen.email_enabled,
        language=chosen.language,
        opt_out=list(chosen.opt_out),
        digest=chosen.digest,
    )


@router.get("", summary="The caller's preferences (defaults until set)")
async def read_preferences(person: Person, usecases: UseCases) -> PreferencesView:
    return _view(await usecases.inbox.preferences(person))


@router.put(
    "",
    summary="Set the caller's preferences",
    responses={422: {"description": "a mandatory kind opted out, or a digest for a non-reviewer"}},
)
async def set_preferences(
    body: PreferencesBody, person: Person, usecases: UseCases
) -> PreferencesView:
    chosen = Preferences(body.email_enabled, body.language, tuple(body.opt_out), body.digest)
    return _view(await usecases.inbox.set_preferences(person, chosen))
