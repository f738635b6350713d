"""A store that refuses writes while funding consumes: the designation waits, readiness says
so, a metric counts it, and once the store is back the plan is made, with no dead letter."""

from __future__ import annotations

from typing import Any

from shared.streams import DLQ_STREAM
from shared.testkit.faults import StoreFault
from shared.testkit.service import RunningService, eventually

from .conftest import Upstream, auditor, plan_when, stages


def metric(text: str, name: str) -> float:
    """The sum of a metric's samples in the Prometheus text `text`."""
    return sum(
        float(line.rsplit(" ", 1)[1])
        for line in text.splitlines()
        if line.startswith((f"{name} ", f"{name}{{"))
    )


async def test_a_store_refusing_writes_holds_the_event_turns_readiness_false_and_loses_nothing(
    service: RunningService, upstream: Upstream
) -> None:
    fault = StoreFault(service.kernel.db)
    fault.break_writes()
    await upstream.designate("base-km")

    async def not_ready() -> dict[str, Any] | None:
        ready = await service.client.get("/readyz")
        return ready.json() if ready.status_code == 503 else None

    problem = await eventually(not_ready)
    assert problem["failing"] == ["store"]
    metrics = (await service.client.get("/metrics")).text
    assert metric(metrics, "store_available") == 0
    assert metric(metrics, "transient_failures_total") >= 1

    fault.restore()
    plan = await plan_when(service, "base-km", lambda p: stages(p) == ["due", *["scheduled"] * 2])
    assert plan["total_fen"] > 0
    ready = await service.client.get("/readyz")
    assert ready.status_code == 200, ready.text
    assert metric((await service.client.get("/metrics")).text, "store_available") == 1
    assert (await service.bus.stream_info(DLQ_STREAM)).state.messages == 0
    letters = await service.client.get("/audit/dead-letters", headers=auditor(service))
    assert letters.json()["dead_letters"] == []
