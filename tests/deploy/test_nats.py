"""The NATS of a deployment, offline: the compose cluster's configuration (deploy/nats/) and the
Helm chart's values (deploy/k8s/nats/values.yaml) give every user exactly the permissions of
`shared.nats_auth`, the pinned nats-server accepts the configuration (`-t`), and three nodes
started from it on loopback form a JetStream cluster on which the streams step (`shared.provision`)
makes HAIZHI at three replicas and the users' permissions hold.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib.util
import json
import os
import re
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
import nats
import pytest
from nats.errors import TimeoutError as NatsTimeout

from shared.nats_auth import AUDITOR, OPERATOR, SERVICES, inbox_prefix, permissions
from shared.nats_server import free_port, nats_server_binary
from shared.provision import provision
from shared.streams import STREAM

from .kit import DEPLOY, K8S, load_yaml

NATS_DIR = DEPLOY / "nats"
CONFIG = NATS_DIR / "nats-server.conf"
AUTHORIZATION = NATS_DIR / "authorization.conf"
VALUES = K8S / "nats" / "values.yaml"
USERS = sorted([*SERVICES, OPERATOR, AUDITOR])
NODES = ("nats-1", "nats-2", "nats-3")


def generator() -> ModuleType:
    """deploy/nats/generate.py, imported from its path (deploy/ is not a package)."""
    spec = importlib.util.spec_from_file_location("deploy_nats_generate", NATS_DIR / "generate.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def node_environment(name: str, routes: tuple[str, ...] = ()) -> dict[str, str]:
    """What compose gives a node: its name, the route password and URLs, every user's password."""
    routes = routes or tuple(f"nats://route:cluster-pw@{node}:6222" for node in NODES)
    env = {
        "PATH": os.environ.get("PATH", ""),
        "NATS_SERVER_NAME": name,
        "NATS_CLUSTER_PASSWORD": "cluster-pw",
        **{f"NATS_ROUTE_{i}": route for i, route in enumerate(routes, 1)},
    }
    env.update({f"NATS_PASSWORD_{user.upper()}": f"{user}-pw" for user in USERS})
    return env


def check(config: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [nats_server_binary(), "-t", "-c", str(config)],
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
    )


# --- the files are what shared.nats_auth says ---------------------------------------------------


def test_the_committed_files_are_what_the_generator_writes() -> None:
    for path, text in generator().expected().items():
        assert path.read_text(encoding="utf-8") == text, (
            f"{path.relative_to(DEPLOY.parent)} is stale: run .venv/bin/python "
            "deploy/nats/generate.py"
        )


def authorization_users() -> dict[str, dict[str, Any]]:
    """deploy/nats/authorization.conf read back (its `$VAR` passwords as strings)."""
    lines = [
        line
        for line in AUTHORIZATION.read_text(encoding="utf-8").splitlines()
        if not line.startswith("#")
    ]
    body = "\n".join(lines).removeprefix("authorization: ")
    body = re.sub(r"(\"password\": )\$(\w+)", r'\1"$\2"', body)
    users: list[dict[str, Any]] = json.loads(body)["users"]
    return {user["user"]: user for user in users}


def test_every_user_of_the_compose_cluster_has_exactly_its_permissions() -> None:
    users = authorization_users()
    assert sorted(users) == USERS
    for user in USERS:
        assert users[user]["permissions"] == permissions(user), user
        assert users[user]["password"] == f"$NATS_PASSWORD_{user.upper()}", user


def helm() -> dict[str, Any]:
    values: dict[str, Any] = load_yaml(VALUES)
    return values


def test_every_user_of_the_helm_values_has_exactly_its_permissions() -> None:
    users = {u["user"]: u for u in helm()["config"]["merge"]["authorization"]["users"]}
    assert sorted(users) == USERS
    env = helm()["container"]["env"]
    for user in USERS:
        variable = f"NATS_PASSWORD_{user.upper()}"
        assert users[user]["permissions"] == permissions(user), user
        assert users[user]["password"] == f"<< ${variable} >>", user
        assert env[variable] == {
            "valueFrom": {"secretKeyRef": {"name": "haizhi-nats-users", "key": user}}
        }


def test_the_helm_values_ask_for_a_three_node_jetstream_cluster_syncing_always() -> None:
    config = helm()["config"]
    assert config["cluster"] == {"enabled": True, "replicas": 3}
    jetstream = config["jetstream"]
    assert jetstream["enabled"] is True
    assert jetstream["fileStore"]["enabled"] is True
    assert jetstream["fileStore"]["pvc"]["enabled"] is True
    assert re.fullmatch(r"\d+Gi", jetstream["fileStore"]["pvc"]["size"])
    assert jetstream["merge"] == {"sync_interval": "always"}
    assert helm()["container"]["image"]["tag"] == f"{generator().nats_version()}-alpine"


# --- nats-server accepts them --------------------------------------------------------------


@pytest.mark.parametrize("node", NODES)
def test_nats_server_accepts_each_nodes_configuration(node: str) -> None:
    done = check(CONFIG, node_environment(node))
    assert done.returncode == 0, done.stdout + done.stderr


def test_a_node_without_a_users_password_refuses_to_start() -> None:
    """The passwords are variables the server must be given: none is left empty or default."""
    env = node_environment("nats-1")
    del env["NATS_PASSWORD_AUDITOR"]
    done = check(CONFIG, env)
    assert done.returncode != 0
    assert "NATS_PASSWORD_AUDITOR" in done.stdout + done.stderr


def test_the_configuration_the_chart_renders_from_the_values_is_accepted(tmp_path: Path) -> None:
    """The chart writes its values as JSON (nats.conf) and `<< X >>` unquoted. This renders
    the parts these values set the same way (not the chart itself, which is not here) and has
    nats-server check the result with the variables set."""
    config = helm()["config"]
    rendered = {
        "server_name": "<< $POD_NAME >>",
        "port": 4222,
        "jetstream": {"store_dir": "/data", **config["jetstream"]["merge"]},
        **config["merge"],
    }
    text = re.sub(r'"<< (.*?) >>"', r"\1", json.dumps(rendered, indent=2))
    path = tmp_path / "nats.conf"
    path.write_text(text, encoding="utf-8")
    env = {
        "POD_NAME": "nats-0",
        **{f"NATS_PASSWORD_{user.upper()}": f"{user}-pw" for user in USERS},
    }
    done = check(path, env)
    assert done.returncode == 0, done.stdout + done.stderr


# --- three nodes from the compose configuration -----------------------------------------------


@contextlib.contextmanager
def cluster(tmp_path: Path) -> Iterator[tuple[list[str], list[int]]]:
    """Three nodes from deploy/nats on loopback: the same files, but for `store_dir` (a folder
    here instead of the volume's /data) and the addresses, given on the command line."""
    clients = [free_port() for _ in NODES]
    monitors = [free_port() for _ in NODES]
    routes_ports = [free_port() for _ in NODES]
    routes = tuple(f"nats://route:cluster-pw@127.0.0.1:{port}" for port in routes_ports)
    processes = []
    try:
        for i, node in enumerate(NODES):
            folder = tmp_path / node
            folder.mkdir()
            config = CONFIG.read_text(encoding="utf-8").replace(
                "store_dir: /data", f'store_dir: "{folder / "data"}"'
            )
            assert config != CONFIG.read_text(encoding="utf-8")
            (folder / "nats-server.conf").write_text(config, encoding="utf-8")
            (folder / "authorization.conf").write_text(
                AUTHORIZATION.read_text(encoding="utf-8"), encoding="utf-8"
            )
            command = [
                nats_server_binary(), "-c", str(folder / "nats-server.conf"),
                "-a", "127.0.0.1", "-p", str(clients[i]), "-m", str(monitors[i]),
                "--cluster", f"nats://127.0.0.1:{routes_ports[i]}",
            ]  # fmt: skip
            log = (folder / "nats.log").open("wb")
            processes.append(
                subprocess.Popen(
                    command, env=node_environment(node, routes), stdout=log, stderr=log
                )
            )
        yield [f"nats://127.0.0.1:{port}" for port in clients], monitors
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def wait_healthy(monitors: list[int], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    waiting = set(monitors)
    while waiting:
        for port in list(waiting):
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                    waiting.discard(port)
        assert time.monotonic() < deadline, f"not healthy after {timeout}s: {sorted(waiting)}"
        time.sleep(0.1)  # polling the nodes' monitoring endpoints


async def exercise(servers: list[str]) -> None:
    # The streams step of docker-compose.yml, as the operator.
    await provision(servers, replicas=3, dev_clock=True, user=OPERATOR, password=f"{OPERATOR}-pw")
    reported: list[Exception] = []

    async def note(error: Exception) -> None:
        reported.append(error)

    client = await nats.connect(
        servers, user="application", password="application-pw",
        inbox_prefix=inbox_prefix("application"), error_cb=note,
    )  # fmt: skip
    try:
        js = client.jetstream()
        info = await js.stream_info(STREAM)
        assert info.config.num_replicas == 3
        assert info.cluster is not None
        assert len(info.cluster.replicas or []) == 2
        ack = await js.publish("haizhi.application.deploy-test", b"{}")
        assert ack.stream == STREAM
        with pytest.raises(NatsTimeout):  # another service's subject: refused, no answer
            await js.publish("haizhi.review.deploy-test", b"{}", timeout=0.5)
        assert any("permissions violation" in str(error) for error in reported), reported
    finally:
        await client.close()
    with pytest.raises(nats.errors.Error, match="Authorization Violation"):
        await nats.connect(
            servers, user="application", password="wrong", allow_reconnect=False,
            connect_timeout=1, error_cb=note,
        )  # fmt: skip


def test_three_nodes_from_the_configuration_form_a_cluster_the_streams_step_uses(
    tmp_path: Path,
) -> None:
    with cluster(tmp_path) as (servers, monitors):
        wait_healthy(monitors)
        for port in monitors:
            varz = httpx.get(f"http://127.0.0.1:{port}/varz", timeout=5).json()
            assert varz["jetstream"]["config"]["sync_always"] is True
            assert varz["cluster"]["name"] == "haizhi"
        asyncio.run(exercise(servers))
