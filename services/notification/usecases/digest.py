"""The daily digest: what was queued for a reviewer before today (CST), in one mail.

The scheduler's tick gathers, per reviewer, the items marked for the digest on earlier days
and issues `digest-<sha256(user)[:32]>-<day>` listing them (its projection marks them
digested in the same transaction); a second tick the same day finds the stream issued and
decides nothing. One reviewer's failure is logged and the others' digests still go out.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import ColumnElement, distinct, func, select

from shared.cst import cst_date, start_of_day
from shared.envelope import format_time
from shared.logging import get_logger
from shared.usecase import CommandContext, Executor

from ..domain import notice
from ..domain.events import Channel, DigestItem, Kind, Recipient
from ..projections.tables import deliveries
from .delivery import ACTOR

log = get_logger(__name__)


def digest_stream(user_id: str, day: date) -> str:
    """`digest-<sha256(user id)[:32]>-<day>`: a valid, bounded stream id whatever the token's
    `sub` holds (dots, wildcards, spaces, any length)."""
    return f"digest-{hashlib.sha256(user_id.encode()).hexdigest()[:32]}-{day.isoformat()}"


def _waiting(today: date) -> tuple[ColumnElement[bool], ...]:
    """Items marked for a digest on a day before `today` (CST): today's digest lists them."""
    return (
        deliveries.c.status == "digest",
        deliveries.c.created_at < format_time(start_of_day(today)),
    )


@dataclass
class Digests:
    executor: Executor

    async def due(self, today: date) -> int:
        """How many reviewers' digests are due `today` (CST) and not yet issued."""
        async with self.executor.db.read_engine.connect() as conn:
            query = select(func.count(distinct(deliveries.c.user_id))).where(*_waiting(today))
            return int((await conn.execute(query)).scalar_one())

    async def issue_due(self, now: datetime) -> int:
        """Issue today's digest of every reviewer with items from earlier days; how many."""
        today = cst_date(now)
        async with self.executor.db.read_engine.connect() as conn:
            rows = (
                await conn.execute(
                    select(deliveries).where(*_waiting(today)).order_by(deliveries.c.seq)
                )
            ).all()
        by_user: dict[str, list[dict[str, object]]] = {}
        for row in rows:
            by_user.setdefault(str(row.user_id), []).append(dict(row._mapping))
        issued = 0
        for user_id, items in by_user.items():
            last = items[-1]
            digest_id = digest_stream(user_id, today)
            command = notice.IssueDigest(
                notice_id=digest_id,
                user_id=user_id,
                day=today,
                recipient=Recipient(
                    f"user:{user_id}",
                    user_id,
                    str(last["email"]),
                    str(last["language"]),
                    Channel.MAIL,
                ),
                items=tuple(
                    DigestItem(
                        str(i["notice_id"]),
                        str(i["case_id"]),
                        Kind(str(i["kind"])),
                        str(i["unit_name"]) if i["unit_name"] else None,
                    )
                    for i in items
                ),
            )
            try:  # one reviewer's digest failing never holds back another's
                await self.executor.execute(
                    notice.decider,
                    digest_id,
                    command,
                    ctx=CommandContext(ACTOR, correlation_id=digest_id),
                    case_id=digest_id,
                )
            except Exception:
                log.exception("digest not issued", digest_id=digest_id)
                continue
            issued += 1
        return issued
