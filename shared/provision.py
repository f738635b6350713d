"""Provisioning of the bus, once per deployment and upgrade, as the NATS operator.

    python -m shared.provision --replicas 3 [--dev-clock]

Creates `HAIZHI` and `HAIZHI_DLQ`, or brings them to what this version wants (their replicas
included): the services may create a missing stream but never change one, so this is the
step that applies a change (docs/runbook.md, "NATS in production"). With `--dev-clock`, the
development clock's bucket too, at the same replicas. Reads `HAIZHI_NATS_URL` (one server or a
cluster's, comma-separated), `HAIZHI_NATS_USER` and `HAIZHI_NATS_PASSWORD` (the operator's).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sys
from collections.abc import AsyncIterator

import nats
from nats.aio.client import Client as NatsClient
from nats.errors import Error as NatsError
from pydantic import ValidationError

from shared.clock import ensure_clock
from shared.nats_auth import OPERATOR, inbox_prefix
from shared.settings import BusSettings
from shared.streams import ensure_streams


@contextlib.asynccontextmanager
async def operator_connection(
    servers: list[str], user: str | None = None, password: str | None = None
) -> AsyncIterator[NatsClient]:
    """A connection as the operator (credentials given, or in the URLs), for one-shot steps."""

    errors: list[Exception] = []

    async def keep(error: Exception) -> None:
        """nats-py would print each failed attempt's traceback; the caller reports the last."""
        errors.append(error)

    try:
        client = await nats.connect(
            servers,
            user=user,
            password=password,
            inbox_prefix=inbox_prefix(user or OPERATOR),
            connect_timeout=5,
            max_reconnect_attempts=2,
            reconnect_time_wait=0.5,
            error_cb=keep,
        )
    except NatsError as failed:  # "no servers": say why (a refused password above all)
        telling = [e for e in errors if "authoriz" in str(e).lower()] or errors
        raise NatsError(f"{failed}; {telling[-1]}" if telling else str(failed)) from None
    try:
        yield client
    finally:
        await client.close()


def operator_from_environment(command: str) -> tuple[list[str], str | None, str | None]:
    """The servers, user and password of `HAIZHI_NATS_*` (the operator unless another user is
    named), or exit with what is wrong."""
    settings = bus_from_environment(command)
    password = settings.nats_password.get_secret_value() if settings.nats_password else None
    user = (settings.nats_user or OPERATOR) if password is not None else None
    return settings.nats_servers, user, password


def bus_from_environment(command: str) -> BusSettings:
    try:
        return BusSettings()
    except ValidationError as invalid:
        sys.exit(f"{command}: {invalid}")


async def provision(
    servers: list[str],
    *,
    replicas: int = 1,
    dev_clock: bool = False,
    user: str | None = None,
    password: str | None = None,
) -> None:
    """`HAIZHI`, `HAIZHI_DLQ` (and the clock's bucket) as this version wants them."""
    async with operator_connection(servers, user, password) as client:
        js = client.jetstream()
        await ensure_streams(js, replicas=replicas)
        if dev_clock:
            await ensure_clock(js, replicas)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m shared.provision", description=__doc__)
    parser.add_argument("--replicas", type=int, help="replicas (default HAIZHI_NATS_REPLICAS)")
    parser.add_argument("--dev-clock", action="store_true", help="the development clock too")
    args = parser.parse_args(argv)
    servers, user, password = operator_from_environment("provision")
    replicas = (
        bus_from_environment("provision").nats_replicas if args.replicas is None else args.replicas
    )
    if not 1 <= replicas <= 5:
        sys.exit(f"provision: --replicas must be 1 to 5 (a JetStream stream's), not {replicas}")
    try:
        asyncio.run(
            provision(
                servers, replicas=replicas, dev_clock=args.dev_clock, user=user, password=password
            )
        )
    except (NatsError, OSError, TimeoutError) as failed:
        sys.exit(f"provision: NATS at {', '.join(servers)}: {failed!r}")
    print(f"provisioned HAIZHI and HAIZHI_DLQ at {replicas} replica(s)", file=sys.stderr)


if __name__ == "__main__":
    main()
