"""The deployment tests run offline; the two that need more are deselected (never skipped) where
it is missing, and the pytest header says why:

- `needs_compose`: a reachable Docker engine with the `docker compose` plugin (the smoke test
  builds the image and brings the whole compose file up); `HAIZHI_TEST_CONTAINERS=0` opts out
  as it does for the test kit's containers.
- `needs_postgresql`: a PostgreSQL the test kit has (`TEST_DATABASE_URL`, or its container) and
  `psql` on PATH (the init script is a psql script).
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess

from shared.testkit.containers import OPT_OUT, docker_engine_reachable, docker_host
from shared.testkit.deselect import Needs, hooks
from shared.testkit.fixtures import BACKENDS


@functools.cache
def compose_missing() -> str | None:
    """Why the compose smoke test cannot run here, or None when it can."""
    if os.environ.get(OPT_OUT) == "0":
        return f"{OPT_OUT}=0"
    host = docker_host()
    # The test kit's probe: GET /_ping on the engine's socket (the docker SDK's own ping
    # leaves its socket open when it fails).
    if not docker_engine_reachable(host):
        return f"no Docker engine answers at {host}"
    try:
        done = subprocess.run(
            ["docker", "compose", "version"], capture_output=True, text=True, timeout=30
        )
    except (OSError, subprocess.TimeoutExpired) as failed:
        return f"`docker compose` cannot run: {failed}"
    if done.returncode != 0:
        return "the docker CLI has no `compose` plugin"
    return None


@functools.cache
def postgresql_missing() -> str | None:
    if "postgresql" not in BACKENDS:
        return "no PostgreSQL (TEST_DATABASE_URL unset and no test containers)"
    if shutil.which("psql") is None:
        return "no psql on PATH"
    return None


NEEDS = (
    Needs(
        "needs_compose",
        "brings docker-compose.yml up (deselected without Docker)",
        "deploy: the compose smoke test (tests/deploy/test_compose_smoke.py)",
        compose_missing,
    ),
    Needs(
        "needs_postgresql",
        "runs a psql script on PostgreSQL (deselected without)",
        "deploy: the PostgreSQL init-script test (tests/deploy)",
        postgresql_missing,
    ),
)


pytest_configure, pytest_report_header, pytest_collection_modifyitems = hooks(NEEDS)
