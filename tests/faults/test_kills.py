"""SIGKILL mid-load, then restart: a service (each of the four in turn), and nats-server.

The kill lands when the load has had a fixed number of commands answered, so it finds
commands, relays and consumers in flight; the restarted process must pick up where the
killed one stopped, the clients' retries with their first `Idempotency-Key` must be
answered from the first result, and the common oracle must hold.
"""

from __future__ import annotations

import os
import signal
import time
from typing import Any

import pytest

from haizhi.flows import HaiZhi
from shared.nats_server import EmbeddedNats
from shared.system import SERVICES, System

from .load import Journal, Load
from .oracle import check

pytestmark = pytest.mark.slow

#: Commands answered before the kill: the load is well under way (about a third of it).
KILL_AFTER = 30


@pytest.mark.parametrize("victim", SERVICES)
def test_a_service_killed_mid_load_and_restarted_loses_nothing(
    system: System, hz: HaiZhi, journal: Journal, victim: str, figures: dict[str, Any]
) -> None:
    before = len(journal.answered())

    def kill_and_restart() -> None:
        journal.wait_answered(before + KILL_AFTER)
        pid = system.processes[victim].pid
        os.kill(pid, signal.SIGKILL)
        killed = time.monotonic()
        system.stop_service(victim)  # reaps it: gone already
        system.start_service(victim)
        system.wait_ready(timeout=60)
        figures["seconds_to_ready_again"] = round(time.monotonic() - killed, 1)

    cases = Load(hz, f"kill-{victim}").run(midway=kill_and_restart)

    assert len(cases) == 6
    assert all(case.base_id for case in cases)
    check(system, hz, journal)


def test_nats_killed_mid_load_and_restarted_loses_nothing(
    system: System, hz: HaiZhi, journal: Journal, figures: dict[str, Any]
) -> None:
    before = len(journal.answered())
    assert isinstance(system.nats, EmbeddedNats)
    nats_server = system.nats

    def kill_and_restart() -> None:
        journal.wait_answered(before + KILL_AFTER)
        nats_server.kill()
        killed = time.monotonic()
        nats_server.start()
        system.wait_ready(timeout=60)
        figures["seconds_to_ready_again"] = round(time.monotonic() - killed, 1)

    cases = Load(hz, "kill-nats").run(midway=kill_and_restart)

    assert len(cases) == 6
    check(system, hz, journal)
