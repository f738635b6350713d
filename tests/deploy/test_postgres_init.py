"""deploy/postgres/init-databases.sh, run as the postgres image runs it at its first start (a
script of psql commands with POSTGRES_USER and POSTGRES_DB set), against the test kit's
PostgreSQL; deselected where there is none or no psql (conftest.py).

Roles are global to a server, so the test makes its own (`DB_SERVICES`: names of its own) and
drops them again.
"""

from __future__ import annotations

import os
import secrets
import subprocess
from collections.abc import Iterator
from urllib.parse import unquote, urlsplit

import pytest

from .kit import DEPLOY

SCRIPT = DEPLOY / "postgres" / "init-databases.sh"

pytestmark = pytest.mark.needs_postgresql


def server_environment(url: str) -> dict[str, str]:
    """libpq's variables for the server of `url` (its user must be able to create roles)."""
    parts = urlsplit(url)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PG", "DB_"))}
    env.update(
        PGHOST=parts.hostname or "127.0.0.1",
        PGPORT=str(parts.port or 5432),
        POSTGRES_USER=unquote(parts.username or "postgres"),
        POSTGRES_DB=parts.path.lstrip("/") or "postgres",
    )
    if parts.password:
        env["PGPASSWORD"] = unquote(parts.password)
    return env


def psql(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["psql", "--no-psqlrc", "-v", "ON_ERROR_STOP=1", "-At", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.fixture
def names(postgresql_url: str) -> Iterator[tuple[dict[str, str], list[str]]]:
    env = server_environment(postgresql_url)
    suffix = secrets.token_hex(4)
    services = [f"deploytest{suffix}a", f"deploytest{suffix}b"]
    yield env, services
    admin = ["-U", env["POSTGRES_USER"], "-d", env["POSTGRES_DB"]]
    for service in services:
        psql(env, *admin, "-c", f"DROP DATABASE IF EXISTS haizhi_{service}")
        psql(env, *admin, "-c", f"DROP ROLE IF EXISTS haizhi_{service}")


def test_each_service_gets_a_role_and_a_database_no_other_role_may_enter(
    names: tuple[dict[str, str], list[str]],
) -> None:
    env, services = names
    passwords = {service: f"pw'; DROP ROLE x; --{service}" for service in services}
    run_env = {
        **env,
        "DB_SERVICES": " ".join(services),
        **{f"DB_PASSWORD_{s.upper()}": password for s, password in passwords.items()},
    }
    done = subprocess.run(
        ["sh", str(SCRIPT)], env=run_env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stdout + done.stderr
    first, second = services
    as_first = {**env, "PGPASSWORD": passwords[first]}
    # Its own database: it logs in and owns it (creates a table).
    own = psql(as_first, "-U", f"haizhi_{first}", "-d", f"haizhi_{first}", "-c",
               "CREATE TABLE t (x int); SELECT current_user")  # fmt: skip
    assert own.returncode == 0, own.stderr
    assert own.stdout.strip().splitlines()[-1] == f"haizhi_{first}"
    # Another service's database: refused at the door.
    other = psql(as_first, "-U", f"haizhi_{first}", "-d", f"haizhi_{second}", "-c", "SELECT 1")
    assert other.returncode != 0
    assert "permission denied" in other.stderr or "CONNECT" in other.stderr, other.stderr
    query = f"SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = 'haizhi_{second}'"
    owner = psql(env, "-U", env["POSTGRES_USER"], "-d", env["POSTGRES_DB"], "-c", query)
    assert owner.stdout.strip() == f"haizhi_{second}"


def test_a_missing_password_stops_the_first_start(names: tuple[dict[str, str], list[str]]) -> None:
    env, services = names
    run_env = {**env, "DB_SERVICES": services[0]}
    done = subprocess.run(
        ["sh", str(SCRIPT)], env=run_env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode != 0
    assert f"DB_PASSWORD_{services[0].upper()} is not set" in done.stderr
