"""Who may say what on the bus: one NATS user per service, an operator and an auditor.

A service publishes only its own events (`haizhi.<service>.>`) and its own dead letters
(`haizhidlq.<service>-from-<upstream>.>`), drives only its own durable consumers
(`<service>-from-<upstream>`) and reads the streams through ephemeral consumers. The upstreams
are the four services of a case's steps; the notification service (通知服务) consumes all four
and is no one's upstream: nobody holds a durable consumer of its events. Nobody but the
operator may delete or purge a stream or a message, change a stream's configuration, or move
the development clock; the auditor only reads. Replies come back on an inbox of the user's own
(`_INBOX.<user>.>`), so no user sees another's acknowledgements or deliveries.

The embedded nats-server (`shared/nats_server.py`) runs with exactly these permissions: the
passwords are drawn at its first start into `<data dir>/users.json` (0600, its folder 0700)
and the server's configuration is written beside it with the same mode. Production loads the
same rules into its own server (`docs/runbook.md`, "NATS credentials and permissions").
"""

from __future__ import annotations

import json
import os
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit, urlunsplit

from shared.clock import BUCKET as CLOCK_BUCKET
from shared.clock import CLOCK_STREAM as _CLOCK_STREAM
from shared.streams import DLQ_STREAM, DLQ_SUBJECT_PREFIX, STREAM, SUBJECT_PREFIX

#: The services whose events the others consume: a case's four steps.
UPSTREAMS = ("application", "review", "assessment", "funding")
#: Consumes the four upstreams' events, publishes only its own, which no service consumes.
NOTIFICATION = "notification"
#: Every service's user.
SERVICES = (*UPSTREAMS, NOTIFICATION)
OPERATOR = "operator"
AUDITOR = "auditor"
USERS_FILE = "users.json"

_API = "$JS.API"
#: What only the operator may do, denied to every other user whatever else they are allowed.
OPERATOR_ONLY = (
    f"{_API}.STREAM.DELETE.>",
    f"{_API}.STREAM.PURGE.>",
    f"{_API}.STREAM.MSG.DELETE.>",
    f"{_API}.STREAM.UPDATE.>",
    f"{_API}.STREAM.RESTORE.>",
    f"{_API}.STREAM.SNAPSHOT.>",
    f"{_API}.STREAM.PEER.>",
    f"{_API}.STREAM.LEADER.>",
    f"{_API}.META.>",
    f"{_API}.SERVER.>",
    f"$KV.{CLOCK_BUCKET}.>",
)


def inbox_prefix(user: str) -> str:
    """Where `user`'s replies and pull deliveries arrive: an inbox no other user may read."""
    return f"_INBOX.{user}"


def durables(service: str, upstreams: Sequence[str] = UPSTREAMS) -> list[str]:
    """The durable consumer names `service` may own: `<service>-from-<upstream>`."""
    return [f"{service}-from-{upstream}" for upstream in upstreams if upstream != service]


def _read_streams(streams: Sequence[str], foreign_durables: Sequence[str]) -> dict[str, list[str]]:
    """Reading `streams` through ephemeral consumers, never through another's durable one."""
    allow = [f"{_API}.INFO", f"{_API}.STREAM.NAMES", f"{_API}.STREAM.LIST"]
    for stream in streams:
        allow += [
            f"{_API}.STREAM.INFO.{stream}",
            f"{_API}.STREAM.MSG.GET.{stream}",
            f"{_API}.DIRECT.GET.{stream}",
            f"{_API}.DIRECT.GET.{stream}.>",
            f"{_API}.CONSUMER.CREATE.{stream}",
            f"{_API}.CONSUMER.CREATE.{stream}.>",
            f"{_API}.CONSUMER.INFO.{stream}.*",
            f"{_API}.CONSUMER.MSG.NEXT.{stream}.*",
            f"{_API}.CONSUMER.DELETE.{stream}.*",
        ]
    deny = []
    for stream in streams:
        for durable in foreign_durables:
            deny += [
                f"{_API}.CONSUMER.CREATE.{stream}.{durable}",
                f"{_API}.CONSUMER.CREATE.{stream}.{durable}.>",
                f"{_API}.CONSUMER.DURABLE.CREATE.{stream}.{durable}",
                f"{_API}.CONSUMER.MSG.NEXT.{stream}.{durable}",
                f"{_API}.CONSUMER.DELETE.{stream}.{durable}",
            ]
    return {"allow": allow, "deny": deny}


def service_permissions(
    service: str, services: Sequence[str] = SERVICES, consumes: Sequence[str] | None = None
) -> dict[str, Any]:
    """The NATS permissions of `service`'s user: it consumes `consumes` (by default every
    upstream but itself)."""
    upstreams = [s for s in UPSTREAMS if s != service] if consumes is None else list(consumes)
    own = durables(service, upstreams)
    foreign = [d for other in services if other != service for d in durables(other)]
    reads = _read_streams([STREAM, DLQ_STREAM], foreign)
    publish = [
        f"{SUBJECT_PREFIX}.{service}.>",
        *(f"{DLQ_SUBJECT_PREFIX}.{durable}.>" for durable in own),
        *reads["allow"],
        # Creating the two streams when they do not exist yet (changing them is the operator's).
        f"{_API}.STREAM.CREATE.{STREAM}",
        f"{_API}.STREAM.CREATE.{DLQ_STREAM}",
        *(f"{_API}.CONSUMER.DURABLE.CREATE.{STREAM}.{durable}" for durable in own),
        *(f"$JS.ACK.{STREAM}.{durable}.>" for durable in own),
        # The development clock: read and watched, never written by a service.
        f"{_API}.STREAM.INFO.{_CLOCK_STREAM}",
        f"{_API}.STREAM.CREATE.{_CLOCK_STREAM}",
        f"{_API}.STREAM.MSG.GET.{_CLOCK_STREAM}",
        f"{_API}.DIRECT.GET.{_CLOCK_STREAM}.>",
        f"{_API}.CONSUMER.CREATE.{_CLOCK_STREAM}",
        f"{_API}.CONSUMER.CREATE.{_CLOCK_STREAM}.>",
        f"{_API}.CONSUMER.INFO.{_CLOCK_STREAM}.*",
        f"{_API}.CONSUMER.DELETE.{_CLOCK_STREAM}.*",
        f"$JS.FC.{_CLOCK_STREAM}.>",
    ]
    subscribe = [
        f"{inbox_prefix(service)}.>",
        *(f"{SUBJECT_PREFIX}.{upstream}.>" for upstream in upstreams),
    ]
    return {
        "publish": {"allow": publish, "deny": [*OPERATOR_ONLY, *reads["deny"]]},
        "subscribe": {"allow": subscribe},
    }


def auditor_permissions(services: Sequence[str] = SERVICES) -> dict[str, Any]:
    """Read-only: the two streams through ephemeral consumers, nothing published."""
    every_durable = [d for service in services for d in durables(service)]
    reads = _read_streams([STREAM, DLQ_STREAM], every_durable)
    return {
        "publish": {"allow": reads["allow"], "deny": [*OPERATOR_ONLY, *reads["deny"]]},
        "subscribe": {
            "allow": [
                f"{inbox_prefix(AUDITOR)}.>",
                f"{SUBJECT_PREFIX}.>",
                f"{DLQ_SUBJECT_PREFIX}.>",
            ]
        },
    }


def operator_permissions() -> dict[str, Any]:
    return {"publish": {"allow": [">"]}, "subscribe": {"allow": [">"]}}


def permissions(user: str, services: Sequence[str] = SERVICES) -> dict[str, Any]:
    if user == OPERATOR:
        return operator_permissions()
    if user == AUDITOR:
        return auditor_permissions(services)
    return service_permissions(user, services)


@dataclass(frozen=True)
class NatsUsers:
    """Every user's password, as drawn at the embedded server's first start."""

    passwords: Mapping[str, str]

    @classmethod
    def generate(cls, services: Sequence[str] = SERVICES) -> NatsUsers:
        users = [*services, OPERATOR, AUDITOR]
        return cls({user: secrets.token_urlsafe(32) for user in users})

    @classmethod
    def load_or_create(cls, folder: Path, services: Sequence[str] = SERVICES) -> NatsUsers:
        """The users kept in `folder`, drawn and written (owner-only) if there are none yet."""
        private_folder(folder)
        path = folder / USERS_FILE
        if path.exists():
            os.chmod(path, 0o600)
            stored: dict[str, str] = json.loads(path.read_text(encoding="utf-8"))
            missing = [u for u in services if u not in stored]
            if not missing and OPERATOR in stored and AUDITOR in stored:
                return cls(stored)
            # A service added since: new users get passwords, the others keep theirs.
            users = cls({**cls.generate(missing).passwords, **stored})
        else:
            users = cls.generate(services)
        write_private(path, json.dumps(dict(users.passwords), indent=2))
        return users

    @classmethod
    def load(cls, folder: Path) -> NatsUsers | None:
        path = folder / USERS_FILE
        if not path.exists():
            return None
        return cls(json.loads(path.read_text(encoding="utf-8")))

    def url(self, url: str, user: str) -> str:
        """`url` carrying `user`'s name and password (for clients that take only a URL)."""
        return with_credentials(url, user, self.passwords[user])

    def authorization(self, services: Sequence[str] = SERVICES) -> str:
        """The nats-server `authorization` block: every user with its permissions."""
        return authorization_block(self.passwords, services)


def authorization_users(
    passwords: Mapping[str, str], services: Sequence[str] = SERVICES
) -> list[dict[str, Any]]:
    """The users of nats-server's `authorization` block, by name: each with its password as
    given (a secret, or a reference a deployment's configuration resolves) and its permissions."""
    return [
        {"user": user, "password": password, "permissions": permissions(user, services)}
        for user, password in sorted(passwords.items())
    ]


def authorization_block(passwords: Mapping[str, str], services: Sequence[str] = SERVICES) -> str:
    """nats-server's `authorization` block for `authorization_users`."""
    # JSON is valid nats-server configuration syntax, and quotes every subject safely.
    users = authorization_users(passwords, services)
    return "authorization: " + json.dumps({"users": users}, indent=2) + "\n"


def nats_servers(url: str) -> list[str]:
    """The servers of `url`: one, or a cluster's separated by commas (the client fails over)."""
    servers = [server.strip() for server in url.split(",") if server.strip()]
    if not servers:
        raise ValueError("no NATS server in the URL")
    return servers


def with_credentials(url: str, user: str, password: str) -> str:
    """`url` (one server or a cluster's, comma-separated) carrying `user`'s credentials."""
    return ",".join(_with_credentials(server, user, password) for server in nats_servers(url))


def _with_credentials(url: str, user: str, password: str) -> str:
    parts = urlsplit(url)
    host = parts.hostname or "127.0.0.1"
    netloc = f"{quote(user, safe='')}:{quote(password, safe='')}@{host}"
    if parts.port:
        netloc += f":{parts.port}"
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


def without_credentials(url: str) -> str:
    """`url` (one server or a cluster's) without the credentials it may carry."""
    return ",".join(_without_credentials(server) for server in nats_servers(url))


def _without_credentials(url: str) -> str:
    parts = urlsplit(url)
    netloc = parts.netloc.rsplit("@", 1)[-1]
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


def user_url(nats_url: str, data_dir: Path | None, user: str) -> str:
    """`nats_url` as `user` of the embedded server under `data_dir`, when it keeps one there.

    A URL that already carries credentials, or a data folder without users (an external
    server), is returned as it is.
    """
    if data_dir is None or urlsplit(nats_servers(nats_url)[0]).username:
        return nats_url
    users = NatsUsers.load(data_dir / "nats")
    if users is None or user not in users.passwords:
        return nats_url
    return users.url(nats_url, user)


def private_folder(folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    os.chmod(folder, 0o700)


def write_private(path: Path, text: str) -> None:
    """Write `text` to `path`, readable and writable by its owner only, from the first byte."""
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(descriptor, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as out:
        out.write(text)
