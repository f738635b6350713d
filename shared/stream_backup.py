"""Snapshots of `HAIZHI`: taken from a running bus, restored into an empty one, as the operator.

    python -m shared.stream_backup backup DIR
    python -m shared.stream_backup restore DIR [--replicas N]

`backup` asks JetStream for a snapshot of the stream (its messages, without consumers: the
services recreate their durable consumers and their inboxes skip what they had applied) and
writes it to `DIR`: `backup.json` (the stream's configuration and state when taken, which
`restore` sends back, and the snapshot's SHA-256) and `stream.tar.s2` (the snapshot as the
server sent it). `restore` checks the digest and sends both to a bus that has no `HAIZHI`;
`--replicas` restores onto a cluster of another size. Then the provisioning step, the
services, and `haizhi audit reconcile --repair` for the events committed after the snapshot
(docs/deployment.md, "Backup and restore"). The JetStream API of both is the operator's
alone (`shared/nats_auth.py`); the connection is taken from `HAIZHI_NATS_URL`,
`HAIZHI_NATS_USER` and `HAIZHI_NATS_PASSWORD`, as `shared.provision` takes it.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nats.aio.client import Client as NatsClient
from nats.aio.msg import Msg
from nats.errors import Error as NatsError

from shared.provision import operator_connection, operator_from_environment
from shared.streams import STREAM

_API = "$JS.API.STREAM"
META = "backup.json"
DATA = "stream.tar.s2"
#: Bytes per restore chunk: each is a request the server answers before the next.
CHUNK = 128 * 1024


class SnapshotError(RuntimeError):
    """JetStream refused, or the snapshot on disk is not what was taken."""


@dataclass(frozen=True)
class Snapshot:
    """What `backup` wrote: the stream's configuration and state, and the snapshot's bytes."""

    config: dict[str, Any]
    state: dict[str, Any]
    data: bytes

    @property
    def messages(self) -> int:
        return int(self.state.get("messages", 0))

    def write(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        (folder / DATA).write_bytes(self.data)
        meta = {
            "config": self.config,
            "state": self.state,
            "sha256": hashlib.sha256(self.data).hexdigest(),
        }
        (folder / META).write_text(json.dumps(meta, indent=2), encoding="utf-8")

    @classmethod
    def read(cls, folder: Path) -> Snapshot:
        try:
            meta = json.loads((folder / META).read_text(encoding="utf-8"))
            data = (folder / DATA).read_bytes()
        except (OSError, ValueError) as unreadable:
            raise SnapshotError(f"no readable snapshot in {folder}: {unreadable}") from None
        if hashlib.sha256(data).hexdigest() != meta.get("sha256"):
            raise SnapshotError(f"{folder / DATA} is not the snapshot {META} describes")
        return cls(meta["config"], meta["state"], data)


def _answer(message: Msg) -> dict[str, Any]:
    answer: dict[str, Any] = json.loads(message.data)
    if error := answer.get("error"):
        raise SnapshotError(f"JetStream: {error.get('description', error)}")
    return answer


async def take(client: NatsClient, stream: str = STREAM, within: float = 60.0) -> Snapshot:
    """A snapshot of `stream`, its chunks acknowledged as they arrive (the server's flow)."""
    inbox = client.new_inbox()
    chunks: list[bytes] = []
    done: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    async def receive(message: Msg) -> None:
        if not message.data:  # the end
            if not done.done():
                done.set_result(None)
            return
        chunks.append(message.data)
        if message.reply:
            await message.respond(b"")

    subscription = await client.subscribe(inbox, cb=receive)
    try:
        request = {"deliver_subject": inbox, "no_consumers": True}
        answer = _answer(
            await client.request(
                f"{_API}.SNAPSHOT.{stream}", json.dumps(request).encode(), min(10.0, within)
            )
        )
        await asyncio.wait_for(done, within)
    finally:
        await subscription.unsubscribe()
    return Snapshot(answer["config"], answer["state"], b"".join(chunks))


async def restore(
    client: NatsClient, snapshot: Snapshot, replicas: int | None = None, within: float = 30.0
) -> dict[str, Any]:
    """Restore `snapshot` as a new stream (refused where it exists); its stream info."""
    config = dict(snapshot.config)
    if replicas is not None:
        config["num_replicas"] = replicas
    request = json.dumps({"config": config, "state": snapshot.state}).encode()
    answer = _answer(await client.request(f"{_API}.RESTORE.{config['name']}", request, 10))
    deliver = answer["deliver_subject"]
    for start in range(0, len(snapshot.data), CHUNK):
        ack = await client.request(deliver, snapshot.data[start : start + CHUNK], within)
        if ack.data:
            raise SnapshotError(f"JetStream refused a chunk: {ack.data.decode(errors='replace')}")
    return _answer(await client.request(deliver, b"", within))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m shared.stream_backup", description=__doc__)
    actions = parser.add_subparsers(dest="action", required=True)
    backup_parser = actions.add_parser("backup", help="snapshot HAIZHI into a folder")
    backup_parser.add_argument("folder", type=Path)
    restore_parser = actions.add_parser("restore", help="restore HAIZHI from a folder")
    restore_parser.add_argument("folder", type=Path)
    restore_parser.add_argument("--replicas", type=int, choices=range(1, 6), metavar="1-5")
    args = parser.parse_args(argv)
    servers, user, password = operator_from_environment("stream_backup")

    async def run() -> str:
        async with operator_connection(servers, user, password) as client:
            if args.action == "backup":
                snapshot = await take(client)
                snapshot.write(args.folder)
                return f"{STREAM}: {snapshot.messages} messages, {len(snapshot.data)} bytes"
            restored = await restore(client, Snapshot.read(args.folder), args.replicas)
            return f"{STREAM} restored: {restored['state']['messages']} messages"

    try:
        print(asyncio.run(run()), file=sys.stderr)
    except (SnapshotError, NatsError, OSError, TimeoutError) as failed:
        sys.exit(f"stream_backup {args.action}: {failed}")


if __name__ == "__main__":
    main()
