"""The notification service running for real (NATS, database, shared clock), the upstream
services' events on the bus, and a real SMTP sink its mails go to."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest
from nats.aio.client import Client as NatsClient

from shared.clock import set_clock
from shared.envelope import Envelope
from shared.mailsink import SmtpSink, smtp_sink
from shared.runtime import build_app
from shared.testkit.bus import foreign_event, publish
from shared.testkit.keys import install
from shared.testkit.service import (
    REPO,
    RunningService,
    TestEnvironment,
    eventually,
    nats_login,
    serving,
)

from ..main import spec
from ..settings import NotificationSettings

#: 10:00 in Beijing, 1 April 2022.
MORNING = datetime(2022, 4, 1, 2, 0, tzinfo=UTC)
UNIT = "unit-kunming"
UNIT_NAME = "昆明高新技术产业开发区"


def settings_for(env: TestEnvironment, sink: SmtpSink, **extra: Any) -> NotificationSettings:
    return NotificationSettings(
        environment="test",
        database_url=env.database_url,
        database_schema=env.database_schema,
        **nats_login(env, "notification"),
        data_dir=env.data_dir,
        policy_dir=REPO / "policies",
        clock="controlled",
        log_json=False,
        smtp_host=sink.host,
        smtp_port=sink.port,
        smtp_retry_seconds=0.2,
        **extra,
    )


@pytest.fixture
async def sink() -> AsyncIterator[SmtpSink]:
    async with smtp_sink() as running:
        yield running


@pytest.fixture
async def service(
    test_env: TestEnvironment, nats_client: NatsClient, sink: SmtpSink
) -> AsyncIterator[RunningService]:
    await set_clock(nats_client.jetstream(), MORNING)
    install(test_env.data_dir)
    async with serving(build_app(settings_for(test_env, sink), spec()), test_env) as svc:
        yield svc


class Upstream:
    """The four services' events on the bus, each stream's versions in order."""

    def __init__(self, svc: RunningService) -> None:
        self.js = svc.bus
        self.versions: defaultdict[str, int] = defaultdict(int)
        #: When the events happen (unless a call says): the tests' morning.
        self.time = MORNING

    async def send(
        self,
        service: str,
        name: str,
        data: dict[str, Any],
        stream_id: str,
        time: datetime | None = None,
    ) -> Envelope:
        self.versions[stream_id] += 1
        event = foreign_event(
            service,
            name,
            data,
            stream_id=stream_id,
            version=self.versions[stream_id],
            case_id=data.get("case_id", stream_id),
            time=time or self.time,
        )
        await publish(self.js, event)
        return event

    async def register_unit(self, *emails: str, unit_id: str = UNIT) -> Envelope:
        contacts = [
            {"name": f"联系人{n}", "phone": "0871-1", "email": e} for n, e in enumerate(emails)
        ]
        data = {
            "unit_id": unit_id,
            "name": UNIT_NAME,
            "credit_code": "12530100MB0000000X",
            "category": "development_zone",
            "level": "prefecture",
            "province": "53",
            "jurisdiction": "5301",
            "contacts": contacts,
            "address": "昆明市",
        }
        return await self.send("application", "UnitRegistered", data, f"unit-{unit_id}")

    async def review_opened(
        self, case_id: str, *, level: str = "prefecture", unit_id: str = UNIT
    ) -> Envelope:
        data = {
            "review_id": f"review-{case_id}",
            "application_id": f"application-{case_id}",
            "case_id": case_id,
            "call_id": "call-53",
            "programme": "national_base",
            "unit_id": unit_id,
            "unit_name": UNIT_NAME,
            "province": "53",
            "jurisdiction": "5301",
            "route": "via_prefecture",
            "revision": 1,
            "form_hash": "0" * 64,
            "files": [],
            "level": level,
            "at": "2022-04-01T02:00:00Z",
        }
        return await self.send("review", "ReviewOpened", data, f"review-{case_id}")

    async def review(self, case_id: str, name: str, **data: Any) -> Envelope:
        payload = {"review_id": f"review-{case_id}", "case_id": case_id, **data}
        return await self.send("review", name, payload, f"review-{case_id}")

    async def assess(self, case_id: str, name: str, **data: Any) -> Envelope:
        payload = {"base_id": f"base-{case_id}", "case_id": case_id, **data}
        return await self.send("assessment", name, payload, f"base-{case_id}")

    async def rectification(self, case_id: str = "case-1") -> Envelope:
        """A rectification ordered for the case's base (a kind nobody may turn off)."""
        return await self.assess(
            case_id, "RectificationOrdered", rectification_id="r1", year=2023, deadline="2024-06-30"
        )

    async def fund(self, case_id: str, name: str, **data: Any) -> Envelope:
        payload = {
            "plan_id": f"plan-{case_id}",
            "base_id": f"base-{case_id}",
            "case_id": case_id,
            "instalment_id": f"plan-{case_id}-1",
            "number": 1,
            "amount_fen": 20_000_000,
            **data,
        }
        return await self.send("funding", name, payload, f"plan-{case_id}")


@pytest.fixture
def upstream(service: RunningService) -> Upstream:
    return Upstream(service)


def person(
    svc: RunningService,
    user: str,
    *roles: str,
    org: str | None = None,
    jurisdictions: tuple[str, ...] = (),
    email: str | None = None,
) -> dict[str, str]:
    return svc.auth(*roles, user=user, org=org, jurisdictions=jurisdictions, email=email)


async def known(svc: RunningService, headers: dict[str, str]) -> None:
    """The person signs in once (reads their preferences): the notifier knows them now."""
    assert (await svc.client.get("/preferences", headers=headers)).status_code == 200


async def inbox_when(
    svc: RunningService, headers: dict[str, str], count: int, **params: Any
) -> list[dict[str, Any]]:
    async def probe() -> list[dict[str, Any]] | None:
        read = await svc.client.get("/inbox", headers=headers, params=params)
        assert read.status_code == 200, read.text
        items: list[dict[str, Any]] = read.json()["items"]
        return items if len(items) >= count else None

    return await eventually(probe)


async def deliveries_of(svc: RunningService, notice_id: str) -> list[dict[str, Any]]:
    from sqlalchemy import select

    from ..projections.tables import deliveries

    async with svc.kernel.db.read_engine.connect() as conn:
        rows = await conn.execute(select(deliveries).where(deliveries.c.notice_id == notice_id))
        return [dict(r._mapping) for r in rows]


async def tries_of(svc: RunningService, notice_id: str) -> list[dict[str, Any]]:
    """The delivery worker's tries of the notice's mails (its own table, not the projection)."""
    from sqlalchemy import select

    from ..projections.tables import attempts, deliveries

    query = (
        select(attempts)
        .join(deliveries, deliveries.c.delivery_id == attempts.c.delivery_id)
        .where(deliveries.c.notice_id == notice_id)
    )
    async with svc.kernel.db.read_engine.connect() as conn:
        return [dict(r._mapping) for r in await conn.execute(query)]


async def tried(svc: RunningService, notice_id: str, times: int) -> dict[str, Any]:
    """Until the worker has failed to send the notice's (one) mail `times` times."""

    async def probe() -> dict[str, Any] | None:
        rows = await tries_of(svc, notice_id)
        return rows[0] if rows and rows[0]["attempts"] >= times else None

    return await eventually(probe)
