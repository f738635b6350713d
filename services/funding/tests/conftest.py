"""The funding service running for real (NATS, database, shared clock), and its upstream."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from nats.aio.client import Client as NatsClient

from shared.clock import set_clock
from shared.envelope import Envelope
from shared.testkit.bus import foreign_event, publish
from shared.testkit.service import (
    RunningService,
    TestEnvironment,
    eventually,
    running_service,
)

from ..main import spec

#: 10:00 in Beijing on the day the general office approves the designation.
APPROVAL_MORNING = datetime(2022, 6, 15, 2, 0, tzinfo=UTC)
FEN = 20_000_000


@pytest.fixture
async def service(
    test_env: TestEnvironment, nats_client: NatsClient
) -> AsyncIterator[RunningService]:
    await set_clock(nats_client.jetstream(), APPROVAL_MORNING)
    async with running_service(spec(), test_env) as svc:
        yield svc


class Upstream:
    """Review's and assessment's events on the bus, each stream's versions in order."""

    def __init__(self, svc: RunningService) -> None:
        self.js = svc.bus
        self.versions: defaultdict[str, int] = defaultdict(int)

    async def send(self, service: str, name: str, data: dict[str, Any], stream_id: str) -> Envelope:
        self.versions[stream_id] += 1
        event = foreign_event(
            service,
            name,
            data,
            stream_id=stream_id,
            version=self.versions[stream_id],
            case_id=data["case_id"],
            policy_version=data.get("policy_version"),
        )
        await publish(self.js, event)
        return event

    async def designate(
        self,
        base_id: str,
        *,
        unit_id: str = "unit-kunming",
        province: str = "53",
        approved_on: str = "2022-06-15",
        call_opened_on: str | None = "2022-03-01",
    ) -> Envelope:
        data = {
            "review_id": f"review-of-{base_id}",
            "application_id": f"application-of-{base_id}",
            "case_id": case_of(base_id),
            "base_id": base_id,
            "programme": "national_base",
            "call_id": f"call-{province}-{call_opened_on}",
            "call_opened_on": call_opened_on,
            "unit_id": unit_id,
            "unit_name": "昆明高新技术产业开发区",
            "province": province,
            "jurisdiction": f"{province}01",
            "approval_no": "科协函〔2022〕88号",
            "certificate_no": f"HZ-{base_id}",
            "plaque_name": "中国科协海智计划工作基地",
            "approved_on": approved_on,
            "term_start": approved_on,
            "term_end": "2027-06-14",
            "policy_version": "2022.1",
        }
        return await self.send("review", "BaseDesignated", data, f"review-{base_id}")

    async def designate_station(
        self,
        station_id: str,
        *,
        province: str = "53",
        approved_on: str = "2022-06-15",
        call_opened_on: str | None = "2022-03-01",
    ) -> Envelope:
        """Review's `WorkstationDesignated`: the provincial CAST approves a work station."""
        data = {
            "review_id": f"review-of-{station_id}",
            "application_id": f"application-of-{station_id}",
            "case_id": case_of(station_id),
            "station_id": station_id,
            "programme": "provincial_workstation",
            "call_id": f"call-{province}-{call_opened_on}",
            "call_opened_on": call_opened_on,
            "unit_id": f"unit-{station_id}",
            "unit_name": "云南省农业科学院",
            "province": province,
            "jurisdiction": province,
            "certificate_no": f"云海智站-2022-{station_id}",
            "approved_on": approved_on,
            "policy_version": f"{province}-2022.1",
        }
        return await self.send("review", "WorkstationDesignated", data, f"review-{station_id}")

    async def assess(self, base_id: str, name: str, **data: Any) -> Envelope:
        payload = {"base_id": base_id, "case_id": case_of(base_id), **data}
        return await self.send("assessment", name, payload, f"base-{base_id}")


def case_of(base_id: str) -> str:
    return f"case-{base_id}"


def finance(
    svc: RunningService, user: str = "approver-wang", province: str = "53"
) -> dict[str, str]:
    return svc.auth("finance", user=user, jurisdictions=[province])


def cashier(svc: RunningService) -> dict[str, str]:
    return finance(svc, user="cashier-li")


def stages(plan: dict[str, Any]) -> list[str]:
    return [i["stage"] for i in plan["instalments"]]


async def funding_when(
    svc: RunningService, base_id: str, condition: Callable[[dict[str, Any]], bool] = bool
) -> dict[str, Any]:
    """The base's funding view (`GET /bases/{base_id}/funding`) once `condition` holds."""

    async def probe() -> dict[str, Any] | None:
        read = await svc.client.get(f"/bases/{base_id}/funding", headers=auditor(svc))
        view: dict[str, Any] = read.json()
        return view if read.status_code == 200 and condition(view) else None

    return await eventually(probe)


def auditor(svc: RunningService, *jurisdictions: str) -> dict[str, str]:
    """An auditor of `jurisdictions`; nationwide (CN) unless given."""
    return svc.auth("auditor", user="auditor", jurisdictions=jurisdictions or ("CN",))


async def plan_when(
    svc: RunningService, base_id: str, condition: Callable[[dict[str, Any]], bool]
) -> dict[str, Any]:
    """The base's plan once `condition` holds (effects of the bus arrive when they arrive)."""

    async def probe() -> dict[str, Any] | None:
        read = await svc.client.get(f"/plans/{base_id}", headers=auditor(svc))
        plan: dict[str, Any] = read.json()
        return plan if read.status_code == 200 and condition(plan) else None

    return await eventually(probe)


@pytest.fixture
def upstream(service: RunningService) -> Upstream:
    return Upstream(service)
