"""A relay that dies by SIGKILL after JetStream acknowledged a batch, before deleting its rows.

    python -m shared.tests.relay_victim DATABASE_URL SCHEMA|- NATS_URL BATCH_SIZE

Run by `test_outbox.py`: whatever it published must not appear twice once a normal relay
drains the outbox it left behind.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections.abc import Sequence

import nats

from shared.db import open_database
from shared.outbox import OutboxRelay


def _die(_acknowledged: Sequence[str]) -> None:
    os.kill(os.getpid(), signal.SIGKILL)


async def main(url: str, schema: str, nats_url: str, batch_size: int) -> None:
    db = open_database(url, schema=None if schema == "-" else schema)
    client = await nats.connect(nats_url)
    relay = OutboxRelay(db, client.jetstream(), batch_size=batch_size, after_publish=_die)
    await relay.drain_once()
    raise SystemExit("the relay survived its batch: nothing was published")


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])))
