"""Two replicas of every service on a three-node NATS cluster, killed mid-load.

A bounded load of whole cases runs three times: before, during and after the fault. The fault
is SIGKILL of the `HAIZHI` stream's leader node and of one replica of each service (the one
whose outbox relay leads, so the standby must take over), all started again. The common
oracle (tests/faults/oracle.py) must hold afterwards: every 2xx command's events exactly once
in the stores and on the stream, `audit verify` and the read models' rebuilds clean. The
figures (commands per second in each phase, seconds to ready again) go to the test report.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from typing import Any

import httpx
import nats
import pytest
from prometheus_client.parser import text_string_to_metric_families

from haizhi.flows import HaiZhi
from shared.clock import CLOCK_STREAM
from shared.nats_auth import OPERATOR, inbox_prefix, nats_servers
from shared.nats_server import NatsCluster
from shared.streams import DLQ_STREAM, STREAM
from shared.system import SERVICES, System
from shared.testkit.system import whole_system
from tests.faults.load import FAULT_ENV, Journal, Load, driver
from tests.faults.oracle import check

pytestmark = [pytest.mark.slow, pytest.mark.cluster]

REPLICAS = 2
#: The services with a scheduler (deadlines as events; the notifier's daily digests); review
#: has none.
SCHEDULED = ("application", "assessment", "funding", "notification")
#: Commands answered in the faulted phase before the kill: the load well under way.
KILL_AFTER = 30


@pytest.fixture(scope="module")
def system(postgresql_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[System]:
    folder = tmp_path_factory.mktemp("cluster")
    with whole_system(
        folder,
        postgresql_url,
        extra_env=FAULT_ENV,
        replicas=REPLICAS,
        nats=NatsCluster(folder / "nats"),
        timeout=180,
    ) as running:
        yield running


def metric(url: str, name: str, **labels: str) -> float:
    """The sum of a replica's samples of `name` whose labels include `labels` (its own
    `/metrics`: each replica counts only what it did)."""
    text = httpx.get(f"{url}/metrics", timeout=10).text
    return sum(
        sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == name and labels.items() <= sample.labels.items()
    )


def leaders(system: System, task: str) -> dict[str, list[str]]:
    """For each service, the replicas whose `leads{task=…}` gauge is 1."""
    return {
        service: [
            instance
            for instance in system.instances(service)
            if metric(system.replica_urls[instance], "leads", task=task) == 1
        ]
        for service in SERVICES
    }


def standbys_lead(system: System, victims: list[str], within: float = 30.0) -> None:
    """Until the other replica of each victim's service leads its outbox relay."""
    standbys = {v: next(i for i in system.instances(v.split(".")[0]) if i != v) for v in victims}
    deadline = time.monotonic() + within
    waiting = dict(standbys)
    while waiting:
        for victim, standby in list(waiting.items()):
            if metric(system.replica_urls[standby], "leads", task="outbox relay") == 1:
                del waiting[victim]
        assert time.monotonic() < deadline, f"no standby took over the relay of {waiting}"
        time.sleep(0.2)  # polling the standbys' gauges


async def bus_state(system: System) -> dict[str, Any]:
    client = await nats.connect(
        nats_servers(system.operator_url), inbox_prefix=inbox_prefix(OPERATOR)
    )
    try:
        js = client.jetstream()
        state = {}
        for stream in (STREAM, DLQ_STREAM, CLOCK_STREAM):
            info = await js.stream_info(stream)
            assert info.cluster is not None
            state[stream] = (info.config.num_replicas, info.cluster.leader)
        return state
    finally:
        await client.close()


def timed(load: Load, journal: Journal, **kwargs: Any) -> tuple[int, float]:
    """Run `load`; the cases played and the commands answered per second."""
    before, began = len(journal.answered()), time.monotonic()
    cases = load.run(**kwargs)
    seconds = time.monotonic() - began
    return len(cases), round((len(journal.answered()) - before) / seconds, 1)


def test_replicas_on_a_cluster_share_the_work_and_lose_nothing_to_killed_leaders(
    system: System, record_property: Any
) -> None:
    journal = Journal()
    hz: HaiZhi = driver(system.urls, system.operator_url, journal)
    figures: dict[str, Any] = {}
    try:
        bus = asyncio.run(bus_state(system))
        assert {stream: replicas for stream, (replicas, _) in bus.items()} == {
            STREAM: 3,
            DLQ_STREAM: 3,
            CLOCK_STREAM: 3,  # the development clock on a replicated bucket
        }

        cases, figures["commands_per_second_before"] = timed(Load(hz, "before"), journal)
        assert cases == 6
        relay_leaders = leaders(system, "outbox relay")
        assert {s: len(led) for s, led in relay_leaders.items()} == dict.fromkeys(SERVICES, 1)
        scheduler_leaders = leaders(system, "scheduler")
        assert {s: len(led) for s, led in scheduler_leaders.items()} == {
            s: int(s in SCHEDULED) for s in SERVICES
        }

        stream_leader = asyncio.run(bus_state(system))[STREAM][1]
        cluster = system.nats
        assert isinstance(cluster, NatsCluster)
        mark = len(journal.answered())

        def kill_leaders_and_restart() -> None:
            journal.wait_answered(mark + KILL_AFTER)
            victims = [led[0] for led in relay_leaders.values()]
            cluster.node(stream_leader).kill()
            for victim in victims:
                system.stop_service(victim, kill=True)
            killed = time.monotonic()
            standbys_lead(system, victims)  # before the victims are back to take it again
            figures["seconds_to_standby_relays"] = round(time.monotonic() - killed, 1)
            cluster.start_node(stream_leader)
            for victim in victims:
                system.start_service(victim)
            system.wait_ready(timeout=120)
            figures["seconds_to_ready_again"] = round(time.monotonic() - killed, 1)

        cases, figures["commands_per_second_during"] = timed(
            Load(hz, "during"), journal, midway=kill_leaders_and_restart
        )
        assert cases == 6
        figures["stream_leader_after"] = asyncio.run(bus_state(system))[STREAM][1]

        cases, figures["commands_per_second_after"] = timed(Load(hz, "after"), journal)
        assert cases == 6

        figures.update(check(system, hz, journal))
        relay_leaders = leaders(system, "outbox relay")
        assert {s: len(led) for s, led in relay_leaders.items()} == dict.fromkeys(SERVICES, 1)
        scheduler_leaders = leaders(system, "scheduler")
        assert {s: len(led) for s, led in scheduler_leaders.items()} == {
            s: int(s in SCHEDULED) for s in SERVICES
        }
        instances = [i for s in SERVICES for i in system.instances(s)]
        handled = "consumer_messages_total"
        shares = {
            i: int(metric(system.replica_urls[i], handled, outcome="applied")) for i in instances
        }
        figures["consumer_messages_applied_per_replica"] = shares
        figures["consumer_gaps_waited"] = int(
            sum(metric(system.replica_urls[i], handled, outcome="gap") for i in instances)
        )
        assert all(applied > 0 for applied in shares.values()), shares  # every replica works
    finally:
        hz.close()
        record_property("figures", figures)


def test_a_replica_started_while_the_cluster_has_no_quorum_waits_for_it(
    system: System,
) -> None:
    """Two of three nodes down: JetStream answers nothing (no quorum, no leaders). A replica
    starting then waits for the bus (its streams, clock and durable consumers) instead of
    exiting, and is ready once the nodes are back."""
    cluster = system.nats
    assert isinstance(cluster, NatsCluster)
    down = [node.server_name for node in cluster.nodes[1:]]
    victim = system.instances("review")[-1]
    system.stop_service(victim)
    for name in down:
        assert name is not None
        cluster.node(name).stop()
    system.start_service(victim)
    with pytest.raises(RuntimeError, match="not ready"):
        system.wait_ready(timeout=8)  # alive (it would have raised "exited"), not ready
    for name in down:
        assert name is not None
        cluster.node(name).start()
    cluster.wait_healthy(60)
    system.wait_ready(timeout=90)
    assert httpx.get(f"{system.replica_urls[victim]}/readyz", timeout=10).status_code == 200
