"""A deployment's shape on this machine: a three-node NATS cluster, PostgreSQL and two
replicas of every service. It needs PostgreSQL (replicas share a store; SQLite is one
process's): without one this session, its tests are deselected and the header says why."""

from __future__ import annotations

from shared.testkit.deselect import Needs, hooks
from shared.testkit.fixtures import BACKENDS

NEEDS = (
    Needs(
        "cluster",
        "a NATS cluster and replicated services (needs PostgreSQL)",
        "cluster: the replicated system",
        lambda: (
            None
            if "postgresql" in BACKENDS
            else "replicas need PostgreSQL (TEST_DATABASE_URL or Docker)"
        ),
    ),
)


pytest_configure, pytest_report_header, pytest_collection_modifyitems = hooks(NEEDS)
