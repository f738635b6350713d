"""The whole system as operating-system processes: embedded NATS and the four services.

Used by `haizhi up`, the end-to-end tests, the demo and the benchmarks. Each service is its
own `uvicorn` process with its own database (a SQLite file under the data folder, or a
PostgreSQL URL and schema per service).

`supervise` is what an orchestrator does for `haizhi up`: a service that exits is started
again after an exponential backoff, and given up on only when it crashes more than
`RestartPolicy.max_crashes` times within `window` seconds.

A deployment's shape on one machine (tests/cluster): `nats` may be a `NatsCluster`, and
`replicas` processes of each service share its database and its listening socket, as
replicas behind a load balancer do: the kernel hands each new connection to one of them.
Each replica also listens on a socket of its own (`replica_urls`), so its readiness can be
asked of it alone. Replica 1 of a service is named as the service, the others
`<service>.<n>` (their processes, logs and private addresses).
"""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from shared.mailsink import SmtpSink
from shared.nats_auth import OPERATOR, nats_servers
from shared.nats_server import EmbeddedNats, NatsCluster
from shared.provision import provision
from shared.serve import uvicorn_options

REPO = Path(__file__).resolve().parents[1]
SERVICES = ("application", "review", "assessment", "funding", "notification")
#: The web console (`web/`): a process beside the services that calls them over HTTP only.
CONSOLE = "web"
CONSOLE_APP = "web.main:create_app"
MAIL_SINK = "smtp"
DEFAULT_PORTS = {
    "application": 8001,
    "review": 8002,
    "assessment": 8003,
    "funding": 8004,
    "notification": 8005,
    CONSOLE: 8000,
    #: The development mail sink the notification service sends to (shared/mailsink.py).
    MAIL_SINK: 1025,
}
#: Whether a child process can inherit a socket (`pass_fds`: not on Windows).
PASS_FDS = sys.platform != "win32"


@dataclass(frozen=True)
class ServiceDatabase:
    url: str
    schema: str | None = None

    def env(self) -> dict[str, str]:
        """As `StoreSettings` reads it (a service, and its one-shot steps)."""
        return {"HAIZHI_DATABASE_URL": self.url} | (
            {"HAIZHI_DATABASE_SCHEMA": self.schema} if self.schema else {}
        )


@dataclass(frozen=True)
class RestartPolicy:
    """How `System.supervise` restarts a crashed service: after `base_delay` seconds, doubled
    at each crash within `window` (at most `max_delay`); more than `max_crashes` crashes
    within `window` and it gives up on the service."""

    max_crashes: int = 5
    window: float = 300.0
    base_delay: float = 0.5
    max_delay: float = 30.0

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> RestartPolicy:
        """`HAIZHI_RESTART_MAX_CRASHES`, `HAIZHI_RESTART_WINDOW` (seconds), else the defaults."""
        env = dict(os.environ) if env is None else env
        default = cls()
        return cls(
            max_crashes=int(env.get("HAIZHI_RESTART_MAX_CRASHES", default.max_crashes)),
            window=float(env.get("HAIZHI_RESTART_WINDOW", default.window)),
        )

    def delay(self, crashes: int) -> float:
        return float(min(self.base_delay * 2 ** max(crashes - 1, 0), self.max_delay))


def listen(preferred: int = 0, host: str = "127.0.0.1") -> socket.socket:
    """A listening TCP socket on `preferred`, else (taken, or 0) on a port the system picks."""
    try:
        return _listening(host, preferred)
    except OSError:
        if not preferred:
            raise
        return _listening(host, 0)


def _listening(host: str, port: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    if sys.platform == "win32":  # its SO_REUSEADDR would share a port another listens on
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_EXCLUSIVEADDRUSE, 1)
    else:  # a port in TIME_WAIT may be taken again, a listened one not
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
        sock.listen(2048)  # another's bound, not yet listening socket may refuse it here
    except OSError:
        sock.close()
        raise
    return sock


@dataclass
class System:
    data_dir: Path
    databases: dict[str, ServiceDatabase] = field(default_factory=dict)
    preferred_nats_port: int = 4222
    preferred_ports: dict[str, int] = field(default_factory=lambda: dict(DEFAULT_PORTS))
    extra_env: dict[str, str] = field(default_factory=dict)
    nats: EmbeddedNats | NatsCluster | None = None
    #: Processes per service (on SQLite keep 1: its store is one process's).
    replicas: int = 1
    #: Start the web console too (`haizhi up` does; most tests need only the services).
    console: bool = False
    #: The console's address, once started.
    console_url: str | None = None
    #: The development mail sink, started unless `HAIZHI_SMTP_HOST` names a server (in the
    #: environment or `extra_env`).
    mail_sink: SmtpSink | None = None
    #: By instance: `<service>` for the first replica, `<service>.<n>` for the others.
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    urls: dict[str, str] = field(default_factory=dict)
    #: Each instance's own address (beside the service's shared one).
    replica_urls: dict[str, str] = field(default_factory=dict)
    #: Each service's listening socket, bound here and handed to every process of that
    #: service (`python -m shared.serve`): its port is never free between choosing it and
    #: serving on it, so no other service or test can take it, and a restart keeps the
    #: address (a client's connection waits in the backlog instead of being refused).
    listeners: dict[str, socket.socket] = field(default_factory=dict)
    restart_policy: RestartPolicy = field(default_factory=RestartPolicy)
    #: When each service crashed within the policy's window (monotonic seconds).
    crashes: dict[str, list[float]] = field(default_factory=dict)
    #: Crashed services waiting out their backoff: when each starts again.
    restarting: dict[str, float] = field(default_factory=dict)

    @property
    def nats_url(self) -> str:
        assert self.nats is not None, "the system is not started"
        return self.nats.url

    @property
    def operator_url(self) -> str:
        """NATS as its operator (who alone may move the clock, purge or delete)."""
        assert self.nats is not None, "the system is not started"
        return self.nats.url_as(OPERATOR)

    def database(self, service: str) -> ServiceDatabase:
        return self.databases.get(
            service, ServiceDatabase(f"sqlite:///{self.data_dir / service}.db")
        )

    def start(self, timeout: float = 60.0) -> System:
        if self.replicas > 1 and any(
            self.database(service).url.startswith("sqlite") for service in SERVICES
        ):
            raise ValueError("replicas share a PostgreSQL store; SQLite is one process's")
        self.data_dir = self.data_dir.resolve()
        self.data_dir.mkdir(parents=True, exist_ok=True)
        if self.nats is None:
            self.nats = EmbeddedNats(self.data_dir / "nats").start(self.preferred_nats_port)
        elif isinstance(self.nats, NatsCluster):
            self.nats.start()
        # As the operator, as production's deployment does: the streams (and the development
        # clock) as this version wants them (a service may create a missing stream but never
        # change one).
        asyncio.run(
            provision(nats_servers(self.operator_url), replicas=self.nats_replicas, dev_clock=True)
        )
        if self.mail_sink is None and "HAIZHI_SMTP_HOST" not in {**os.environ, **self.extra_env}:
            self.mail_sink = self._start_mail_sink()
        if self.console and PASS_FDS and CONSOLE not in self.listeners:
            # bound first: the notification service's mails link to the console
            self.listeners[CONSOLE] = listen(self.preferred_ports.get(CONSOLE, 0))
        if self.replicas > 1:  # as a deployment does: the migrations once, then the replicas
            for service in SERVICES:
                self.migrate(service)
        for service in SERVICES:
            for instance in self.instances(service):
                self.start_service(instance)
        if self.console:
            self.start_service(CONSOLE)
        self.wait_ready(timeout)
        return self

    def migrate(self, service: str) -> None:
        """The one-shot migration step of `service` (`python -m shared.migrate`)."""
        spec = f"services.{service}.main:spec"
        done = self.run_step("-m", "shared.migrate", spec, env=self.database(service).env())
        if done.returncode != 0:
            raise RuntimeError(f"migrating {service} failed:\n{done.stderr[-3000:]}")

    def run_step(self, *args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
        """A one-shot command (`python -m shared.…`) with `env` added to this one's."""
        return subprocess.run(
            [sys.executable, *args],
            env={**os.environ, **env},
            cwd=REPO,
            capture_output=True,
            text=True,
        )

    def bus_env(self, user: str) -> dict[str, str]:
        """As `BusSettings` reads it: the bus, as `user` (a service, or the operator)."""
        assert self.nats is not None, "the system is not started"
        return {
            "HAIZHI_NATS_URL": self.nats.url,
            "HAIZHI_NATS_USER": user,
            "HAIZHI_NATS_PASSWORD": self.nats.password(user),
        }

    @property
    def nats_replicas(self) -> int:
        """Replicas of the streams: 3 on a cluster (at most its size), else 1."""
        return min(3, self.nats.size) if isinstance(self.nats, NatsCluster) else 1

    def instances(self, service: str) -> list[str]:
        return [service, *(f"{service}.{n}" for n in range(2, self.replicas + 1))]

    def start_service(self, instance: str) -> None:
        """Start a service's process: `<service>`, or its replica `<service>.<n>`."""
        service = instance.split(".")[0]
        app = CONSOLE_APP if service == CONSOLE else f"services.{service}.main:create_app"
        inherit: tuple[int, ...] = ()
        if PASS_FDS:
            listener = self.listeners.get(service)
            if listener is None:
                listener = self.listeners[service] = listen(self.preferred_ports.get(service, 0))
            port = int(listener.getsockname()[1])
            inherit = (listener.fileno(),)
            command = [sys.executable, "-m", "shared.serve", "--fd", str(listener.fileno())]
            if self.replicas > 1:  # and its own address, to ask this replica alone
                own = self.listeners.get(instance + "#own")
                if own is None:
                    own = self.listeners[instance + "#own"] = listen()
                inherit += (own.fileno(),)
                command += ["--fd", str(own.fileno())]
                self.replica_urls[instance] = f"http://127.0.0.1:{own.getsockname()[1]}"
            command.append(app)
        else:  # Windows: the port is chosen, let go of and bound by the process (a narrow race)
            known = self.console_url if service == CONSOLE else self.urls.get(service)
            if known:
                port = int(known.rsplit(":", 1)[1])
            else:
                with listen(self.preferred_ports.get(service, 0)) as probe:
                    port = int(probe.getsockname()[1])
            command = [
                sys.executable, "-m", "uvicorn", "--factory", app,
                "--host", "127.0.0.1", "--port", str(port), *uvicorn_options(),
            ]  # fmt: skip
        env = self._console_env() if service == CONSOLE else self._service_env(instance, port)
        with (self.data_dir / f"{instance}.log").open("ab") as log:  # the child keeps its own
            self.processes[instance] = subprocess.Popen(
                command,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=REPO,
                pass_fds=inherit,
            )
        if service == CONSOLE:
            self.console_url = f"http://127.0.0.1:{port}"
        else:
            self.urls[service] = f"http://127.0.0.1:{port}"

    def _console_env(self) -> dict[str, str]:
        """The console's settings (`web.settings.WebSettings`): where the services are."""
        return {
            **os.environ,
            **self.extra_env,
            "HAIZHI_WEB_ENVIRONMENT": os.environ.get("HAIZHI_ENVIRONMENT", "development"),
            **{f"HAIZHI_WEB_{s.upper()}_URL": self.urls[s] for s in SERVICES},
        }

    def _service_env(self, instance: str, port: int) -> dict[str, str]:
        service = instance.split(".")[0]
        return {
            **self._console_and_mail_env(service),  # unless given
            **os.environ,
            **self.extra_env,
            # Settings default to production; this runner is development's (or a test's).
            "HAIZHI_ENVIRONMENT": os.environ.get("HAIZHI_ENVIRONMENT", "development"),
            "HAIZHI_SERVICE": service,
            "HAIZHI_DATA_DIR": str(self.data_dir),
            **self.database(service).env(),
            # Each service speaks on the bus as itself (shared/nats_auth.py).
            **self.bus_env(service),
            "HAIZHI_NATS_REPLICAS": str(self.nats_replicas),
            "HAIZHI_POLICY_DIR": os.environ.get("HAIZHI_POLICY_DIR", str(REPO / "policies")),
            "HAIZHI_HTTP_PORT": str(port),
            # Replicas check their schema; the migration step has brought it up to date.
            "HAIZHI_MIGRATE_ON_START": str(self.replicas == 1).lower(),
        }

    def _start_mail_sink(self) -> SmtpSink:
        """The development mail sink on its preferred port, else (taken) on a free one."""
        folder = self.data_dir / "mail"
        preferred = self.preferred_ports.get(MAIL_SINK, 0)
        if preferred:
            sink = SmtpSink(port=preferred, folder=folder)
            try:
                sink.start()
                return sink
            except OSError:
                pass  # taken: any free port
        sink = SmtpSink(folder=folder)
        sink.start()
        return sink

    def _console_and_mail_env(self, service: str) -> dict[str, str]:
        """Where the console is (documents print it, mails link to it); the notification
        service's mail: the development sink."""
        env: dict[str, str] = {}
        if self.mail_sink is not None and service == "notification":
            env |= {
                "HAIZHI_SMTP_HOST": self.mail_sink.host,
                "HAIZHI_SMTP_PORT": str(self.mail_sink.port),
            }
        console = self.listeners.get(CONSOLE)
        if console is not None:
            env["HAIZHI_CONSOLE_PUBLIC_URL"] = f"http://127.0.0.1:{console.getsockname()[1]}"
        return env

    def wait_ready(self, timeout: float) -> None:
        """Until every running instance answers its readiness (each replica on its own)."""
        deadline = time.monotonic() + timeout
        waiting = {instance: self.url_of(instance) for instance in self.processes}
        while waiting:
            for instance, url in list(waiting.items()):
                process = self.processes[instance]
                if process.poll() is not None:
                    log = self.data_dir / f"{instance}.log"
                    tail = log.read_text(encoding="utf-8", errors="replace")[-3000:]
                    raise RuntimeError(f"{instance} exited with {process.returncode}:\n{tail}")
                try:
                    if httpx.get(f"{url}/readyz", timeout=1.0).status_code == 200:
                        del waiting[instance]
                except httpx.HTTPError:
                    pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"not ready after {timeout}s: {', '.join(waiting)}")
            time.sleep(0.1)  # polling child processes' readiness endpoints

    def url_of(self, instance: str) -> str:
        """Where `instance` alone answers (a replica's own address, or its service's)."""
        if instance == CONSOLE:
            assert self.console_url is not None
            return self.console_url
        return self.replica_urls.get(instance, self.urls[instance.split(".")[0]])

    def stop_service(self, instance: str, kill: bool = False) -> None:
        process = self.processes.pop(instance, None)
        if process is None:
            return
        if kill:
            process.kill()
        else:
            process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

    def stop(self) -> None:
        for service in list(self.processes):
            self.stop_service(service)
        for listener in self.listeners.values():
            listener.close()
        self.listeners.clear()
        if self.nats is not None:
            self.nats.stop()
            self.nats = None
        if self.mail_sink is not None:
            self.mail_sink.stop()
            self.mail_sink = None

    def exited(self) -> dict[str, int]:
        return {s: p.returncode for s, p in self.processes.items() if p.poll() is not None}

    def supervise(self, report: Callable[[str], None]) -> list[str]:
        """One round of supervision: note the services that exited, start again those whose
        backoff has passed; return the services given up on (too many crashes), if any."""
        now = time.monotonic()
        policy = self.restart_policy
        given_up = []
        for service, code in self.exited().items():
            if service in self.restarting:
                continue
            recent = [t for t in self.crashes.get(service, []) if now - t < policy.window]
            recent.append(now)
            self.crashes[service] = recent
            log = self.data_dir / f"{service}.log"
            if len(recent) > policy.max_crashes:
                report(
                    f"{service} exited with {code}, its crash {len(recent)} within "
                    f"{policy.window:.0f}s: giving up; see {log}"
                )
                given_up.append(service)
                continue
            delay = policy.delay(len(recent))
            report(
                f"{service} exited with {code} (crash {len(recent)} of at most "
                f"{policy.max_crashes} within {policy.window:.0f}s): restarting in "
                f"{delay:.1f}s; see {log}"
            )
            self.restarting[service] = now + delay
        for service, at in list(self.restarting.items()):
            if now >= at:
                del self.restarting[service]
                self.start_service(service)
                report(f"{service} restarted (process {self.processes[service].pid})")
        return given_up

    def __enter__(self) -> System:
        try:
            return self.start()
        except BaseException:
            self.stop()  # what did start: processes, NATS, the listening sockets
            raise

    def __exit__(self, *exc: object) -> None:
        self.stop()
