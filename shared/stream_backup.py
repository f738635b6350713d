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
import os
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nats.aio.client import Client as NatsClient
from nats.aio.msg import Msg
from nats.errors import Error as NatsError

from shared.nats_auth import private_folder, write_private
from shared.provision import operator_connection, operator_from_environment
from shared.streams import STREAM

_API = "$JS.API.STREAM"
META = "backup.json"
DATA = "stream.tar.s2"
#: Bytes per restore chunk: each is a request the server answers before the next.
CHUNK = 128 * 1024


class SnapshotError(RuntimeError):
    """JetStream refused or broke off, or the snapshot on disk is not what was taken."""


@dataclass(frozen=True)
class Snapshot:
    """What `backup` wrote: the stream's configuration and state, and the snapshot's bytes."""

    config: dict[str, Any]
    state: dict[str, Any]
    data: bytes

    @property
    def messages(self) -> int:
        return int(self.state.get("messages", 0))

    def digest(self) -> str:
        """SHA-256 of the configuration and state (as `restore` sends them) and the bytes."""
        described = json.dumps({"config": self.config, "state": self.state}, sort_keys=True)
        return hashlib.sha256(described.encode() + b"\n" + self.data).hexdigest()

    def write(self, folder: Path) -> None:
        """Into `folder`, new or empty: written beside it first, owner-only (the log holds
        people's names and contacts), then moved into place whole."""
        if folder.exists() and (not folder.is_dir() or any(folder.iterdir())):
            raise SnapshotError(f"{folder} is not an empty folder: choose a new one")
        partial = folder.with_name(f".{folder.name}.partial")
        shutil.rmtree(partial, ignore_errors=True)
        private_folder(partial)
        descriptor = os.open(partial / DATA, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "wb") as out:
            out.write(self.data)
        meta = {"config": self.config, "state": self.state, "sha256": self.digest()}
        write_private(partial / META, json.dumps(meta, indent=2))
        os.replace(partial, folder)

    @classmethod
    def read(cls, folder: Path) -> Snapshot:
        try:
            meta = json.loads((folder / META).read_text(encoding="utf-8"))
            data = (folder / DATA).read_bytes()
        except (OSError, ValueError) as unreadable:
            raise SnapshotError(f"no readable snapshot in {folder}: {unreadable}") from None
        config = meta.get("config") if isinstance(meta, dict) else None
        state = meta.get("state") if isinstance(meta, dict) else None
        if not (isinstance(config, dict) and isinstance(state, dict)):
            raise SnapshotError(f"{folder / META} is not a snapshot's description")
        snapshot = cls(config, state, data)
        if snapshot.digest() != meta.get("sha256"):
            raise SnapshotError(f"{folder} is not the snapshot that was taken (SHA-256)")
        return snapshot


def _answer(message: Msg) -> dict[str, Any]:
    try:
        answer = json.loads(message.data)
    except ValueError:
        answer = None
    if not isinstance(answer, dict):
        raise SnapshotError(f"JetStream answered {message.data[:200]!r}")
    if error := answer.get("error"):
        raise SnapshotError(f"JetStream: {error.get('description', error)}")
    return answer


async def take(client: NatsClient, stream: str = STREAM, idle: float = 30.0) -> Snapshot:
    """A snapshot of `stream`, each chunk acknowledged as it arrives (the server's flow
    control), checked to come in order and to end with the server's "complete" (204): a
    snapshot the server broke off (408 no interest or no flow response, 500) is an error,
    and so is `idle` seconds without a chunk."""
    inbox = client.new_inbox()
    chunks: list[bytes] = []
    ended: asyncio.Future[str | None] = asyncio.get_running_loop().create_future()
    arriving = asyncio.Event()

    async def receive(message: Msg) -> None:
        if ended.done():
            return
        if not message.data:  # the end, with its status
            headers = message.headers or {}
            status = headers.get("Status")
            complete = status in (None, "204")
            ended.set_result(None if complete else f"{status} {headers.get('Description', '')}")
            return
        if message.reply:  # $JS.SNAPSHOT.ACK.<stream>.<id>.<size>.<index>
            index = int(message.reply.rsplit(".", 1)[-1])
            if index != len(chunks) + 1:
                ended.set_result(f"chunk {index} arrived after {len(chunks)}")
                return
            await message.respond(b"")
        chunks.append(message.data)
        arriving.set()

    subscription = await client.subscribe(inbox, cb=receive)
    try:
        request = {"deliver_subject": inbox, "no_consumers": True}
        answer = _answer(
            await client.request(
                f"{_API}.SNAPSHOT.{stream}", json.dumps(request).encode(), min(10.0, idle)
            )
        )
        while not ended.done():
            arriving.clear()
            finished, _ = await asyncio.wait({ended}, timeout=idle)
            if not finished and not arriving.is_set():
                received = sum(len(chunk) for chunk in chunks)
                raise SnapshotError(f"no snapshot data for {idle:.0f} s after {received} bytes")
    finally:
        await subscription.unsubscribe()
    if failure := ended.result():
        raise SnapshotError(f"JetStream broke the snapshot off: {failure}")
    return Snapshot(answer["config"], answer["state"], b"".join(chunks))


async def restore(
    client: NatsClient, snapshot: Snapshot, replicas: int | None = None, within: float = 30.0
) -> dict[str, Any]:
    """Restore `snapshot` as `HAIZHI` (refused where it exists); its stream info, checked to
    hold what the snapshot held."""
    config = dict(snapshot.config)
    if config.get("name") != STREAM:
        raise SnapshotError(f"a snapshot of {config.get('name')!r}, not of {STREAM}")
    if replicas is not None:
        config["num_replicas"] = replicas
    request = json.dumps({"config": config, "state": snapshot.state}).encode()
    answer = _answer(await client.request(f"{_API}.RESTORE.{STREAM}", request, 10))
    deliver = answer.get("deliver_subject")
    if not isinstance(deliver, str):
        raise SnapshotError("JetStream named no subject to restore to")
    for start in range(0, len(snapshot.data), CHUNK):
        ack = await client.request(deliver, snapshot.data[start : start + CHUNK], within)
        if ack.data:
            raise SnapshotError(f"JetStream refused a chunk: {_answer(ack)}")
    restored = _answer(await client.request(deliver, b"", within))
    state = restored.get("state") or {}
    for key in ("messages", "last_seq"):
        if state.get(key) != snapshot.state.get(key):
            raise SnapshotError(
                f"restored {key} {state.get(key)}, the snapshot held {snapshot.state.get(key)}"
            )
    return restored


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m shared.stream_backup", description=__doc__)
    actions = parser.add_subparsers(dest="action", required=True)
    backup_parser = actions.add_parser("backup", help="snapshot HAIZHI into a folder")
    backup_parser.add_argument("folder", type=Path, help="a new or empty folder")
    backup_parser.add_argument(
        "--idle", type=float, default=30.0, help="seconds without data before giving up"
    )
    restore_parser = actions.add_parser("restore", help="restore HAIZHI from a folder")
    restore_parser.add_argument("folder", type=Path)
    restore_parser.add_argument("--replicas", type=int, choices=range(1, 6), metavar="1-5")
    args = parser.parse_args(argv)
    servers, user, password = operator_from_environment("stream_backup")
    try:
        snapshot = Snapshot.read(args.folder) if args.action == "restore" else None
        if args.action == "backup" and args.folder.exists() and any(args.folder.iterdir()):
            raise SnapshotError(f"{args.folder} is not an empty folder: choose a new one")
    except (SnapshotError, OSError) as refused:
        sys.exit(f"stream_backup {args.action}: {refused}")

    async def run() -> str:
        async with operator_connection(servers, user, password) as client:
            if snapshot is None:
                taken = await take(client, idle=args.idle)
                taken.write(args.folder)
                return f"{STREAM}: {taken.messages} messages, {len(taken.data)} bytes"
            restored = await restore(client, snapshot, args.replicas)
            return f"{STREAM} restored: {restored['state']['messages']} messages"

    try:
        print(asyncio.run(run()), file=sys.stderr)
    except (SnapshotError, NatsError, OSError, TimeoutError) as failed:
        sys.exit(f"stream_backup {args.action}: {failed or type(failed).__name__}")
    except KeyboardInterrupt:
        sys.exit(f"stream_backup {args.action}: interrupted")


if __name__ == "__main__":
    main()
