"""docker-compose.yml brought up for real (testcontainers' DockerCompose): the image built, the
NATS cluster, PostgreSQL, the one-shot steps, two replicas of each service and of the web console
and the proxy; each service and the console ready through the proxy, the console's sign-in page,
then one command. Only where a Docker engine with the compose plugin answers: elsewhere
deselected (conftest.py says why in the header). It builds the image and pulls nats, postgres
and nginx the first time: minutes, not seconds.

The stack runs as a compose project of its own, on free host ports, with fresh passwords, and is
removed with its volumes at the end.
"""

from __future__ import annotations

import secrets
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from testcontainers.compose import DockerCompose

from haizhi.people import KMUST
from shared.nats_server import free_port

from .kit import CONSOLE, ROOT, SERVED, env_example

pytestmark = pytest.mark.needs_compose

READY_TIMEOUT = 600.0


@pytest.fixture(scope="module")
def stack(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[DockerCompose, dict[str, str]]]:
    env = env_example()
    for name, value in env.items():
        if value.startswith("change-me-"):
            env[name] = secrets.token_hex(24)
    ports = {service: free_port() for service in SERVED}
    for service, port in ports.items():
        env[f"DEPLOY_PORT_{service.upper()}"] = str(port)
    env["COMPOSE_PROJECT_NAME"] = f"haizhi-smoke-{secrets.token_hex(3)}"
    env_file: Path = tmp_path_factory.mktemp("compose") / ".env"
    env_file.write_text("".join(f"{k}={v}\n" for k, v in env.items()), encoding="utf-8")
    compose = DockerCompose(ROOT, env_file=str(env_file), build=True, wait=False)
    with compose:
        urls = {service: f"http://127.0.0.1:{port}" for service, port in ports.items()}
        yield compose, urls | {"secret": env["HAIZHI_JWT_SECRET"]}


def wait_ready(urls: dict[str, str]) -> None:
    deadline = time.monotonic() + READY_TIMEOUT
    waiting = {service: urls[service] for service in SERVED}
    while waiting:
        for service, url in list(waiting.items()):
            try:
                if httpx.get(f"{url}/readyz", timeout=2).status_code == 200:
                    del waiting[service]
            except httpx.HTTPError:
                pass
        assert time.monotonic() < deadline, f"not ready after {READY_TIMEOUT}s: {list(waiting)}"
        time.sleep(2)  # polling the stack as it starts


def test_every_service_and_the_console_answer_ready_through_the_proxy_on_two_replicas(
    stack: tuple[DockerCompose, dict[str, str]],
) -> None:
    compose, urls = stack
    wait_ready(urls)
    for service in SERVED:
        body = httpx.get(f"{urls[service]}/readyz", timeout=5).json()
        assert body["status"] == "ready", (service, body)
    running = Counter(
        container.Service for container in compose.get_containers() if container.State == "running"
    )
    for service in SERVED:
        assert running[service] == 2, running


def test_the_console_serves_its_sign_in_page_through_the_proxy(
    stack: tuple[DockerCompose, dict[str, str]],
) -> None:
    """Development's persona picker, rendered by the image's console (its templates and
    catalogues installed) behind the proxy."""
    _, urls = stack
    wait_ready(urls)
    page = httpx.get(f"{urls[CONSOLE]}/signin", timeout=10)
    assert page.status_code == 200, page.text
    assert "text/html" in page.headers["content-type"]


def test_a_unit_registers_with_a_token_made_in_a_container(
    stack: tuple[DockerCompose, dict[str, str]],
) -> None:
    compose, urls = stack
    wait_ready(urls)
    token, _, code = compose.exec_in_container(
        ["haizhi", "token", "--role", "applicant", "--org", KMUST.unit_id,
         "--jurisdiction", KMUST.jurisdiction, "--user", KMUST.contact.user_id],
        "application",
    )  # fmt: skip
    assert code == 0
    headers = {
        "Authorization": f"Bearer {token.strip()}",
        "Idempotency-Key": secrets.token_hex(16),
    }
    answer = httpx.post(
        f"{urls['application']}/units", json=KMUST.registration(), headers=headers, timeout=30
    )
    assert answer.status_code == 201, answer.text
