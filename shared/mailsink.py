"""A real SMTP server for development and tests (aiosmtpd), keeping every message it takes.

`haizhi up` runs one for the notification service (on 127.0.0.1:1025 when free), writing
each message it takes to `<data dir>/mail/` as an `.eml` file a mail program opens; the
tests' systems run one on a free port.

    async with smtp_sink() as sink:
        ...  # point HAIZHI_SMTP_HOST/PORT at sink.host, sink.port
        await sink.wait_for(3)
        sink.messages  # every message taken, resends included, in order
        sink.mailbox  # delivered: one per Message-ID, as a de-duplicating mailbox store keeps

It listens on a free port (or `port`) in a thread of its own. Tests make it misbehave as a real
server would: `refuse_next(n)` answers the next n transactions `451` (try again later),
`refuse_address(addr)` answers `550` to that recipient for good, `delay` slows each DATA (a
server under load, so that mails are in flight when a test kills their sender). `stop()` and
`start()` take it down and up again on the same port.
"""

from __future__ import annotations

import asyncio
import contextlib
import email
import email.policy
import threading
import time
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from shared.nats_server import free_port


@dataclass
class _Handler:
    sink: SmtpSink

    async def handle_RCPT(  # noqa: N802 - aiosmtpd's hook name
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        with self.sink.lock:
            refused = address.lower() in self.sink.refused_addresses
        if refused:
            return "550 5.1.1 mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(  # noqa: N802
        self, server: SMTP, session: Session, envelope: Envelope
    ) -> str:
        with self.sink.lock:
            if self.sink.temporary_refusals > 0:
                self.sink.temporary_refusals -= 1
                return "451 4.3.0 try again later"
        if self.sink.delay:
            await asyncio.sleep(self.sink.delay)  # the server's own pace, not the test's wait
        raw = envelope.original_content or envelope.content or b""
        message = email.message_from_bytes(
            raw if isinstance(raw, bytes) else raw.encode(), policy=email.policy.default
        )
        assert isinstance(message, EmailMessage)
        self.sink.took(message)
        return "250 OK"


@dataclass
class SmtpSink:
    host: str = "127.0.0.1"
    port: int = 0
    messages: list[EmailMessage] = field(default_factory=list)
    refused_addresses: set[str] = field(default_factory=set)
    temporary_refusals: int = 0
    delay: float = 0.0
    #: Where each message taken is also written as `<UTC time>-<n>.eml` (None: nowhere).
    folder: Path | None = None
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _controller: Controller | None = field(default=None, repr=False)
    _loop: asyncio.AbstractEventLoop | None = field(default=None, repr=False)
    _arrived: asyncio.Event | None = field(default=None, repr=False)

    def start(self) -> None:
        if not self.port:
            self.port = free_port()
        try:  # `wait_for` needs the caller's loop; a runner without one only collects
            self._loop = asyncio.get_running_loop()
            self._arrived = asyncio.Event()
        except RuntimeError:
            self._loop = self._arrived = None
        self._controller = Controller(_Handler(self), hostname=self.host, port=self.port)
        self._controller.start()

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def took(self, message: EmailMessage) -> None:
        """Called in the server's thread for each message taken."""
        with self.lock:
            self.messages.append(message)
            if self.folder is not None:
                self.folder.mkdir(parents=True, exist_ok=True)
                at = datetime.now(UTC).strftime("%Y%m%dT%H%M%S.%fZ")
                (self.folder / f"{at}-{len(self.messages)}.eml").write_bytes(bytes(message))
        if self._loop is not None and self._arrived is not None:
            with contextlib.suppress(RuntimeError):  # the test's loop has closed
                self._loop.call_soon_threadsafe(self._arrived.set)

    def refuse_next(self, transactions: int) -> None:
        with self.lock:
            self.temporary_refusals = transactions

    def refuse_address(self, address: str) -> None:
        with self.lock:  # the server's thread reads the set
            self.refused_addresses.add(address.lower())

    @property
    def message_ids(self) -> Counter[str]:
        """How many times each `Message-ID` arrived (more than once: a resend)."""
        with self.lock:
            return Counter(str(m["Message-ID"]) for m in self.messages)

    @property
    def mailbox(self) -> list[EmailMessage]:
        """What the recipients' mailboxes hold: one message per `Message-ID`, the first taken,
        as a mailbox store that de-duplicates by Message-ID keeps them. `messages` keeps every
        raw SMTP transaction (resends included), counted apart."""
        with self.lock:
            first: dict[str, EmailMessage] = {}
            for message in self.messages:
                first.setdefault(str(message["Message-ID"]), message)
            return list(first.values())

    @property
    def transactions(self) -> int:
        """Raw SMTP transactions taken (each resend counts)."""
        with self.lock:
            return len(self.messages)

    def to(self, address: str) -> list[EmailMessage]:
        with self.lock:
            return [m for m in self.messages if str(m["To"]).lower() == address.lower()]

    async def wait_for(
        self, count: int, *, distinct: bool = False, within: float = 20.0
    ) -> list[EmailMessage]:
        """Until `count` messages (or distinct Message-IDs) have arrived; fail after `within`."""
        assert self._arrived is not None, "the sink is not started"
        deadline = time.monotonic() + within
        while True:
            self._arrived.clear()
            have = len(self.message_ids) if distinct else len(self.messages)
            if have >= count:
                with self.lock:
                    return list(self.messages)
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"{have} of {count} messages within {within}s")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._arrived.wait(), left)


@contextlib.asynccontextmanager
async def smtp_sink(
    host: str = "127.0.0.1", port: int = 0, **options: Any
) -> AsyncIterator[SmtpSink]:
    """A started sink on `host` (a free port unless `port`), stopped on leaving."""
    sink = SmtpSink(host=host, port=port, **options)
    sink.start()
    try:
        yield sink
    finally:
        sink.stop()
