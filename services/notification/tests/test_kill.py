"""The notifier killed mid-delivery (SIGKILL, several times) loses no mail and tells no one
twice: afterwards the sink's mailbox (one message per Message-ID, as a mailbox store keeps
them) holds exactly one mail per (event, recipient).

The notifier runs as a real process (`python -m shared.serve`) on the test's database and
NATS; the sink takes each message at a server's pace (`delay`), so mails are in flight when
the process dies. A kill between the server's 250 and our record makes the restarted process
send that mail again, under the same Message-ID: the test counts those raw resends and
reports them (docs/notifications.md).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from types import SimpleNamespace
from typing import Any

import httpx
from nats.aio.client import Client as NatsClient
from sqlalchemy import select

from shared.clock import set_clock
from shared.db import open_database
from shared.mailsink import smtp_sink
from shared.nats_server import free_port
from shared.testkit.keys import install
from shared.testkit.service import REPO, TestEnvironment, eventually, nats_login

from ..projections.deliveries import message_id
from ..projections.tables import deliveries
from .conftest import MORNING, Upstream

CONTACTS = [f"contact{n}@km-hitech.example.cn" for n in range(4)]
CASES = [f"case-{n}" for n in range(6)]


@contextmanager
def notifier(
    env: TestEnvironment, smtp_port: int, http_port: int
) -> Iterator[subprocess.Popen[bytes]]:
    login = nats_login(env, "notification")
    environ = {
        **os.environ,
        "HAIZHI_ENVIRONMENT": "test",
        "HAIZHI_SERVICE": "notification",
        "HAIZHI_DATABASE_URL": env.database_url,
        "HAIZHI_NATS_URL": login["nats_url"],
        "HAIZHI_DATA_DIR": str(env.data_dir),
        "HAIZHI_POLICY_DIR": str(REPO / "policies"),
        "HAIZHI_CLOCK": "controlled",
        "HAIZHI_LOG_JSON": "true",
        "HAIZHI_SMTP_HOST": "127.0.0.1",
        "HAIZHI_SMTP_PORT": str(smtp_port),
        "HAIZHI_SMTP_RETRY_SECONDS": "0.2",
        "HAIZHI_SMTP_TIMEOUT": "2",  # a killed worker's claim on a row lapses after 2·2+5 s
        "HAIZHI_CONSUMER_ACK_WAIT": "2",
    }
    if env.database_schema:
        environ["HAIZHI_DATABASE_SCHEMA"] = env.database_schema
    if "nats_user" in login:
        environ["HAIZHI_NATS_USER"] = login["nats_user"]
        environ["HAIZHI_NATS_PASSWORD"] = str(login["nats_password"])
    command = [
        sys.executable,
        "-m",
        "shared.serve",
        "--host",
        "127.0.0.1",
        "--port",
        str(http_port),
        "services.notification.main:create_app",
    ]
    process = subprocess.Popen(command, env=environ, cwd=REPO, stderr=subprocess.DEVNULL)
    try:
        yield process
    finally:
        if process.poll() is None:
            process.kill()
        process.wait()


async def _ready(port: int) -> None:
    async def probe() -> bool:
        try:
            async with httpx.AsyncClient() as client:
                return (await client.get(f"http://127.0.0.1:{port}/readyz")).status_code == 200
        except httpx.TransportError:
            return False

    await eventually(probe, within=60, interval=0.1)


async def test_a_notifier_killed_mid_delivery_delivers_every_mail_exactly_once(
    test_env: TestEnvironment, nats_client: NatsClient
) -> None:
    js = nats_client.jetstream()
    await set_clock(js, MORNING)
    install(test_env.data_dir)
    upstream = Upstream(SimpleNamespace(bus=js))  # type: ignore[arg-type]
    port = free_port()
    async with smtp_sink(delay=0.1) as sink:
        with notifier(test_env, sink.port, port) as first:
            await _ready(port)
            await upstream.register_unit(*CONTACTS)
            notices: list[str] = []
            for case_id in CASES:
                await upstream.review_opened(case_id)
                ordered = await upstream.assess(
                    case_id,
                    "RectificationOrdered",
                    rectification_id=f"r-{case_id}",
                    year=2023,
                    deadline="2024-06-30",
                )
                notices.append(ordered.id)
            await sink.wait_for(3, within=60)
            first.send_signal(signal.SIGKILL)  # mid-delivery: mails pending and in flight
        with notifier(test_env, sink.port, port) as second:
            await sink.wait_for(len(sink.message_ids) + 5, distinct=True, within=60)
            second.send_signal(signal.SIGKILL)
        with notifier(test_env, sink.port, port):
            expected = len(CASES) * len(CONTACTS)
            await sink.wait_for(expected, distinct=True, within=90)
            await _all_recorded(test_env, expected)

    wanted = {message_id(n, f"contact:{c}") for n in notices for c in CONTACTS}
    # The sink judges delivery: its mailbox holds one message per Message-ID (a store that
    # de-duplicates by it); its raw SMTP transactions are counted apart.
    delivered: dict[tuple[str, str], list[str]] = {}
    for mail in sink.mailbox:
        pair = (str(mail["X-HaiZhi-Notice"]), str(mail["X-HaiZhi-Recipient"]))
        delivered.setdefault(pair, []).append(str(mail["Message-ID"]))
    expected_pairs = {(n, f"contact:{c}") for n in notices for c in CONTACTS}
    assert set(delivered) == expected_pairs  # none lost, none of another (event, recipient)
    assert all(len(ids) == 1 for ids in delivered.values())  # exactly one delivered per pair
    assert {ids[0] for ids in delivered.values()} == wanted
    resent = sink.transactions - len(sink.mailbox)
    print(
        f"\nkill test: {len(sink.mailbox)} mails delivered, {sink.transactions} SMTP "
        f"transactions, {resent} raw resends after a kill between the server's 250 and our record"
    )
    assert resent <= 2  # at most one mail in that window per kill (each sends one at a time)


async def _all_recorded(env: TestEnvironment, expected: int) -> None:
    db = open_database(env.database_url, schema=env.database_schema)
    try:

        async def probe() -> bool:
            async with db.read_engine.connect() as conn:
                rows: Any = (await conn.execute(select(deliveries.c.status))).all()
            return len(rows) == expected and all(r.status == "sent" for r in rows)

        await eventually(probe, within=60)
    finally:
        await db.dispose()
