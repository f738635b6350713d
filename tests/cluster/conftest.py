"""A deployment's shape on this machine: a three-node NATS cluster, PostgreSQL and two
replicas of every service. It needs PostgreSQL (replicas share a store; SQLite is one
process's): without one this session, its tests are deselected and the header says why."""

from __future__ import annotations

import pytest

from shared.testkit.fixtures import BACKENDS

NO_POSTGRESQL = "postgresql" not in BACKENDS


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "cluster: a NATS cluster and replicated services (needs PostgreSQL)"
    )


def pytest_report_header() -> list[str]:
    if NO_POSTGRESQL:
        return ["cluster: deselected: replicas need PostgreSQL (TEST_DATABASE_URL or Docker)"]
    return []


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Deselect (never skip) the cluster tests where no PostgreSQL runs."""
    if not NO_POSTGRESQL:
        return
    dropped = [item for item in items if item.get_closest_marker("cluster")]
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = [item for item in items if item not in dropped]
