"""HTTP: the caller's in-app inbox (站内通知), newest first, and read marks."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel, Field

from shared.api import PAGING, Page, PageParams, page_of, position

from .dependencies import Person, UseCases

router = APIRouter(prefix="/inbox", tags=["inbox 站内通知"])


class InboxItem(BaseModel):
    notification_id: str
    position: int = Field(description="the item's place in the inbox (larger: newer)")
    kind: str = Field(description="what it tells: returned, rejected, designated, …")
    case_id: str
    subject: str = Field(description="in the language of the caller's preference")
    body: str
    language: Literal["zh", "en"]
    created_at: str
    read_at: str | None = Field(description="when the caller marked it read; null: unread")
    link: str | None = Field(
        default=None,
        description="the console path of the case's page the notice points to (as its mail "
        "links), e.g. /review/cases/<review id>; null when it cannot be told",
    )
    mail: Literal["pending", "sent", "refused", "failed", "digest", "digested", "inbox", "none"] = (
        Field(
            description="what became of its mail: pending (being sent or retried), sent, refused "
            "(the address was refused for good, or the notice could not be rendered), failed "
            "(given up after HAIZHI_SMTP_GIVE_UP_ATTEMPTS tries), digest/digested (in a daily "
            "digest), inbox "
            "(no mail: turned off or no address)"
        )
    )


NotificationId = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[0-9a-f]+$")]


@router.get(
    "",
    summary="The caller's inbox, newest first",
    description="Every notice the caller was told, mailed or not." + PAGING,
)
async def read_inbox(
    person: Person,
    usecases: UseCases,
    page: PageParams,
    unread: Annotated[bool, Query(description="only the items not yet marked read")] = False,
) -> Page[InboxItem]:
    limit, cursor = page
    rows = await usecases.inbox.page(person, unread=unread, after=position(cursor), limit=limit + 1)
    items = [InboxItem.model_validate(row) for row in rows]
    return page_of(items, limit, lambda item: str(item.position))


@router.post(
    "/{notification_id}/read",
    summary="Mark one of the caller's items read",
    responses={404: {"description": "no such item in the caller's inbox"}},
)
async def mark_read(
    notification_id: NotificationId, person: Person, usecases: UseCases
) -> InboxItem:
    row = await usecases.inbox.mark_read(person, notification_id, datetime.now(UTC))
    return InboxItem.model_validate(row)
