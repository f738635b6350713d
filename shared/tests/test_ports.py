"""`free_port` within a range: parallel test workers each take their ports from their own."""

from __future__ import annotations

import os
import socket

import pytest

from shared.nats_server import PORTS_VARIABLE, free_port


def test_ports_come_from_the_range_in_turn_skipping_one_in_use(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        taken = holder.getsockname()[1]
        monkeypatch.setenv(PORTS_VARIABLE, f"{taken - 1}-{taken + 1}")
        given = [free_port() for _ in range(4)]
    # never the one in use; a port given out is not given again before the range comes round
    assert taken not in given
    assert given[0] != given[1]
    assert set(given) <= {taken - 1, taken + 1}


def test_a_range_with_no_port_free_says_so(monkeypatch: pytest.MonkeyPatch) -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        taken = holder.getsockname()[1]
        monkeypatch.setenv(PORTS_VARIABLE, f"{taken}-{taken}")
        with pytest.raises(RuntimeError, match="no free port"):
            free_port()


def test_parallel_workers_have_ranges_of_their_own_below_the_ephemeral_ports() -> None:
    span = os.environ.get(PORTS_VARIABLE)
    if os.environ.get("PYTEST_XDIST_WORKER") is None:
        assert span is None  # one process: the ports the system picks
        return
    assert span is not None
    low, high = (int(bound) for bound in span.split("-"))
    assert 20000 <= low < high < 32768
    assert low <= free_port() <= high
