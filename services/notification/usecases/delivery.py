"""The delivery worker: every pending mail sent over SMTP, retried until the server takes it.

A row is `pending` from the notice's transaction until its `MailSent` (the server answered
250) or `MailRefused` (the server refused the address for good: 5xx to RCPT TO) is recorded.
Anything else — the server down, a 4xx, a timeout, a 5xx to anything but the address, our
own crash — leaves it pending for a later try, after a doubling wait: nothing is lost.

SMTP cannot make "the server took it" and "we recorded it" one act: a crash between the
server's 250 and our record sends the mail again on restart. Every mail of one (notice,
recipient) carries the same `Message-ID`, so the resend is the same message, which receiving
systems recognise as a duplicate (docs/notifications.md says what the tests measure).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import smtplib
import ssl
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime
from typing import Any

from sqlalchemy import ColumnElement, func, or_, select, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from shared.envelope import format_time
from shared.lease import Lease
from shared.logging import get_logger
from shared.usecase import CommandContext, Executor, retry_on_conflict

from ..domain import notice
from ..domain.events import DigestItem, Kind
from ..domain.templates import Text, path, render, render_digest
from ..projections.tables import attempts, deliveries
from ..settings import NotificationSettings

log = get_logger(__name__)

#: The delivery worker's advisory lock ("hzml"): one replica sends.
LEASE_KEY = 0x687A6D6C
MAX_WAIT = timedelta(minutes=10)
ACTOR = "system:notification"


#: How a give-up's reason begins (the inbox shows such a mail as `failed`).
GAVE_UP = "gave up"


def smtp_error(failed: BaseException) -> str:
    """What a failure may say in logs and the store: the SMTP code and text, or the kind of
    error — never the addresses an SMTP exception carries."""
    if isinstance(failed, smtplib.SMTPRecipientsRefused):
        return "; ".join(
            f"{code} {text.decode(errors='replace')}" for code, text in failed.recipients.values()
        )
    if isinstance(failed, smtplib.SMTPResponseException):
        text = failed.smtp_error
        said = text.decode(errors="replace") if isinstance(text, bytes) else text
        return f"{failed.smtp_code} {said}"
    return type(failed).__name__


class Refused(Exception):
    """The server refused the address for good: recorded, never retried."""


def compose(row: Mapping[str, Any], console_url: str) -> Text:
    facts = json.loads(row["facts"])
    if row["kind"] == "digest":
        items = [
            DigestItem(i["notice_id"], i["case_id"], Kind(i["kind"]), None) for i in facts["items"]
        ]
        return render_digest(row["language"], facts["day"], items, console_url)
    facts.setdefault("unit_name", row["unit_name"] or "")
    return render(Kind(row["kind"]), row["language"], row["case_id"], facts, console_url)


def link_of(row: Mapping[str, Any]) -> str:
    """The console path the row's notice points to (the digest: the inbox)."""
    if row["kind"] == "digest":
        return "/inbox"
    facts = json.loads(row["facts"])
    return path(Kind(row["kind"]), row["case_id"], facts)


def mail_of(row: Mapping[str, Any], settings: NotificationSettings, now: datetime) -> EmailMessage:
    text = compose(row, settings.console_public_url)
    mail = EmailMessage()
    mail["From"] = settings.mail_from
    mail["To"] = row["email"]
    mail["Subject"] = text.subject
    mail["Message-ID"] = row["message_id"]
    mail["Date"] = format_datetime(now)
    mail["X-HaiZhi-Notice"] = row["notice_id"]
    mail["X-HaiZhi-Recipient"] = row["recipient"]
    mail["Content-Language"] = "en" if row["language"] == "en" else "zh-CN"
    mail.set_content(text.body)
    return mail


def send(settings: NotificationSettings, mail: EmailMessage) -> None:
    """One SMTP conversation (blocking: run in a thread). Raises `Refused` for an address the
    server refuses for good, anything else for a failure worth another try."""
    opened: type[smtplib.SMTP] = smtplib.SMTP_SSL if settings.smtp_tls == "tls" else smtplib.SMTP
    with opened(settings.smtp_host, settings.smtp_port, timeout=settings.smtp_timeout) as smtp:
        if settings.smtp_tls == "starttls":
            smtp.starttls(context=ssl.create_default_context())
        if settings.smtp_username:
            password = settings.smtp_password
            smtp.login(settings.smtp_username, password.get_secret_value() if password else "")
        try:
            smtp.send_message(mail)
        except smtplib.SMTPRecipientsRefused as refused:
            replies = list(refused.recipients.values())
            if replies and all(500 <= code < 600 for code, _ in replies):
                reply = "; ".join(f"{c} {m.decode(errors='replace')}" for c, m in replies)
                raise Refused(reply) from refused
            raise


#: Each delivery with its worker's tries (none before the first).
_TRIED = deliveries.outerjoin(attempts, attempts.c.delivery_id == deliveries.c.delivery_id)


def _pending_due(now: datetime) -> tuple[ColumnElement[bool], ...]:
    """Mails not yet sent or refused whose (next) try is due by `now` (a query over `_TRIED`)."""
    due = func.coalesce(attempts.c.next_attempt_at, deliveries.c.next_attempt_at)
    return deliveries.c.status == "pending", due <= format_time(now)


@dataclass
class DeliveryWorker:
    executor: Executor
    settings: NotificationSettings
    batch: int = 20
    #: Seconds between looks for due mails when there are none.
    idle: float = 0.2
    #: Sends the server took (250) whose record failed: recorded again before any other read.
    unrecorded: list[tuple[dict[str, Any], notice.RecordSent]] = field(default_factory=list)

    async def run(self, stop: asyncio.Event) -> None:
        lease = Lease(self.executor.db, LEASE_KEY, "delivery")
        try:
            while not stop.is_set():
                sent = 0
                try:
                    if await lease.hold():
                        sent = await self.deliver_due(lease)
                except Exception:  # a failing store: tried again on the next round
                    log.exception("delivery round failed")
                if not sent:
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(stop.wait(), self.idle)
        finally:
            with contextlib.suppress(Exception):
                await lease.release()

    def now(self) -> datetime:
        """The service's clock — the one due times are set by (it may be moved in tests)."""
        return self.executor.clock.now()

    async def due(self, now: datetime) -> int:
        """How many mails are due by `now` (the service's clock) and not yet sent or refused:
        a claimed one is in flight, still to be recorded; a failed one waits for its retry."""
        async with self.executor.db.read_engine.connect() as conn:
            query = select(func.count()).select_from(_TRIED).where(*_pending_due(now))
            return int((await conn.execute(query)).scalar_one())

    async def deliver_due(self, lease: Lease | None = None) -> int:
        """Try every mail due now, oldest first; the number tried."""
        while self.unrecorded:  # a 250 not yet recorded is recorded before anything is re-read
            kept, sent = self.unrecorded[0]
            await self._record(kept, sent)
            self.unrecorded.pop(0)
        wall = format_time(datetime.now(UTC))
        async with self.executor.db.read_engine.connect() as conn:
            rows = (
                await conn.execute(
                    select(deliveries, attempts.c.attempts.label("tries"))
                    .select_from(_TRIED)
                    .where(
                        *_pending_due(self.now()),
                        or_(attempts.c.claimed_until.is_(None), attempts.c.claimed_until <= wall),
                    )
                    .order_by(deliveries.c.seq)
                    .limit(self.batch)
                )
            ).all()
        tried = 0
        for found in rows:
            row = dict(found._mapping)
            row["attempts"] = int(row.pop("tries") or 0)
            if lease is not None and not await lease.hold():
                break  # another replica holds the lease now: it sends the rest
            if await self.claim(row):
                tried += 1
                await self.deliver(row)
        return tried

    async def claim(self, row: Mapping[str, Any]) -> bool:
        """Take the row for one send: still pending and due, held by no live claim. The claim
        lasts past the time a send may take (real time: it is a process's hold, not a case's
        time); only one worker's conditional update changes the row (rowcount 1)."""
        now, wall = format_time(self.now()), datetime.now(UTC)
        hold = timedelta(seconds=self.settings.smtp_timeout * 2 + 5)
        first = {
            "delivery_id": row["delivery_id"],
            "attempts": 0,
            "next_attempt_at": row["next_attempt_at"],
            "last_error": None,
            "claimed_until": None,
        }
        pending = (
            select(deliveries.c.seq)
            .where(deliveries.c.delivery_id == row["delivery_id"], deliveries.c.status == "pending")
            .exists()
        )
        async with self.executor.db.begin() as conn:
            insert_of = postgresql_insert if conn.dialect.name == "postgresql" else sqlite_insert
            await conn.execute(
                insert_of(attempts)
                .values(**first)
                .on_conflict_do_nothing(index_elements=["delivery_id"])
            )
            claimed = await conn.execute(
                update(attempts)
                .where(
                    attempts.c.delivery_id == row["delivery_id"],
                    attempts.c.next_attempt_at <= now,
                    or_(
                        attempts.c.claimed_until.is_(None),
                        attempts.c.claimed_until <= format_time(wall),
                    ),
                    pending,
                )
                .values(claimed_until=format_time(wall + hold))
            )
        return claimed.rowcount == 1

    def retry_wait(self, tries: int) -> timedelta:
        """The wait after the `tries`-th failed try: doubling from the first, capped (the
        exponent is capped before multiplying, so no count of tries overflows)."""
        exponent = min(max(tries - 1, 0), 30)
        return min(timedelta(seconds=self.settings.smtp_retry_seconds * 2.0**exponent), MAX_WAIT)

    async def deliver(self, row: Mapping[str, Any]) -> None:
        tries = int(row["attempts"]) + 1
        try:
            mail = mail_of(row, self.settings, self.now())
        except Exception as bad:  # a row that cannot become a mail never blocks the others
            log.warning("mail not renderable", notice_id=row["notice_id"], error=type(bad).__name__)
            await self._record(
                row,
                notice.RecordRefusal(
                    row["notice_id"],
                    row["recipient"],
                    row["message_id"],
                    f"not renderable: {type(bad).__name__}",
                ),
            )
            return
        try:
            await asyncio.to_thread(send, self.settings, mail)
        except Refused as refused:
            log.warning("mail refused", notice_id=row["notice_id"], reason=str(refused))
            await self._record(
                row,
                notice.RecordRefusal(
                    row["notice_id"], row["recipient"], row["message_id"], str(refused)
                ),
            )
            return
        except (OSError, smtplib.SMTPException) as failed:
            error = smtp_error(failed)
            if tries >= self.settings.smtp_give_up_attempts:
                log.warning("mail given up", notice_id=row["notice_id"], attempts=tries)
                await self._record(
                    row,
                    notice.RecordRefusal(
                        row["notice_id"],
                        row["recipient"],
                        row["message_id"],
                        f"{GAVE_UP} after {tries} attempts: {error}",
                    ),
                )
                return
            log.info("mail not sent, will retry", notice_id=row["notice_id"], error=error)
            async with self.executor.db.begin() as conn:
                await conn.execute(
                    update(attempts)
                    .where(attempts.c.delivery_id == row["delivery_id"])
                    .values(
                        attempts=tries,
                        next_attempt_at=format_time(self.now() + self.retry_wait(tries)),
                        last_error=error[:1000],
                        claimed_until=None,
                    )
                )
            return
        sent = notice.RecordSent(row["notice_id"], row["recipient"], row["message_id"], tries)
        try:  # recorded at once: the window in which a crash resends is this one write
            await self._record(row, sent)
        except Exception:
            self.unrecorded.append((dict(row), sent))
            raise

    async def _record(
        self, row: Mapping[str, Any], command: notice.RecordSent | notice.RecordRefusal
    ) -> None:
        ctx = CommandContext(ACTOR, correlation_id=row["notice_id"])
        await retry_on_conflict(
            lambda: self.executor.execute(
                notice.decider, row["stream_id"], command, ctx=ctx, case_id=row["case_id"]
            )
        )
