"""The image, offline: no Docker engine builds it here, so the Dockerfile and .dockerignore are
read and held to what the deployment relies on, and every command the compose file and the
Kubernetes manifests give a container is checked to name a module and a factory that exist.
The image installs the project with `pip install .` (not a checkout): what a package needs
besides its Python modules reaches the image only as declared package data.
"""

from __future__ import annotations

import glob
import importlib
import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from shared.signing import development_signer

from .kit import CONSOLE, ROOT, SERVED, SERVICES, compose, kustomize
from .kit import K8S as K8S_DIR

DOCKERFILE = ROOT / "Dockerfile"
DOCKERIGNORE = ROOT / ".dockerignore"


def instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) of the Dockerfile, continuation lines joined, comments dropped."""
    joined: list[str] = []
    pending = ""
    for line in DOCKERFILE.read_text(encoding="utf-8").splitlines():
        if line.lstrip().startswith("#") and not pending:
            continue
        if line.rstrip().endswith("\\"):
            pending += line.rstrip()[:-1] + " "
            continue
        joined.append(pending + line)
        pending = ""
    found = []
    for line in joined:
        if line.strip():
            instruction, _, arguments = line.strip().partition(" ")
            found.append((instruction.upper(), " ".join(arguments.split())))
    return found


def stages() -> list[list[tuple[str, str]]]:
    """The instructions of each build stage (FROM starts one)."""
    found: list[list[tuple[str, str]]] = []
    for instruction, arguments in instructions():
        if instruction == "FROM":
            found.append([])
        if found:
            found[-1].append((instruction, arguments))
    return found


def test_the_base_image_is_a_pinned_python_of_the_projects_version() -> None:
    (arg,) = [a for i, a in instructions() if i == "ARG" and a.startswith("PYTHON_IMAGE=")]
    image = arg.removeprefix("PYTHON_IMAGE=")
    found = re.fullmatch(r"python:(3\.\d+)\.\d+-slim-bookworm", image)
    assert found, f"{image} is not a concrete python X.Y.Z-slim-bookworm tag"
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    assert project["project"]["requires-python"] == f">={found.group(1)}"
    froms = [a for i, a in instructions() if i == "FROM"]
    assert froms == ["${PYTHON_IMAGE} AS builder", "${PYTHON_IMAGE}"]


def test_the_builder_installs_the_project_without_extras_into_a_venv() -> None:
    builder, _ = stages()
    runs = [a for i, a in builder if i == "RUN"]
    assert "python -m venv /opt/venv" in runs
    assert "pip install ." in runs  # no [dev], no [bench]
    assert not any("[" in run for run in runs)
    copied = {a.split()[0] for i, a in builder if i == "COPY"}
    assert copied == {"pyproject.toml", "shared", "services", "haizhi", CONSOLE}
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    packages = project["tool"]["setuptools"]["packages"]["find"]["include"]
    for package in copied - {"pyproject.toml"}:
        assert f"{package}*" in packages, f"{package} is copied but not installed"


def test_the_console_s_files_besides_its_modules_are_installed_as_package_data() -> None:
    """`pip install .` puts a package's Python modules in the image and, of its other files,
    only those pyproject.toml declares as package data (no MANIFEST.in, no VCS plugin here):
    every template, style, script and message catalogue the console reads at run time must be
    declared, or the console in the image has no pages (its tests, run from the checkout,
    would not notice)."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    declared = project["tool"].get("setuptools", {}).get("package-data", {})
    patterns = [*declared.get(CONSOLE, []), *declared.get("*", [])]
    package = ROOT / CONSOLE
    covered = {
        Path(found)
        for pattern in patterns
        for found in glob.glob(str(package / pattern), recursive=True)
    }
    needed = {
        path
        for path in package.rglob("*")
        if path.is_file()
        and path.suffix not in (".py", ".pyc", ".md")
        and not {"tests", "__pycache__"} & set(path.relative_to(package).parts)
    }
    assert needed, "the console reads no file besides its modules?"
    missing = sorted(str(path.relative_to(ROOT)) for path in needed - covered)
    assert not missing, (
        f"not in [tool.setuptools.package-data] {CONSOLE} of pyproject.toml, so not in the "
        f"image: {missing}"
    )


def test_the_final_stage_copies_the_venv_and_policies_and_runs_as_10001() -> None:
    _, final = stages()
    assert ("COPY", "--from=builder /opt/venv /opt/venv") in final
    assert ("COPY", "policies /app/policies") in final
    users = [a for i, a in final if i == "USER"]
    assert users == ["10001:10001"]
    # Nothing runs as root after the switch, and nothing is added with apt.
    after = final[[i for i, _ in final].index("USER") :]
    assert not [a for i, a in after if i == "RUN"]
    assert not any("apt-get" in a or "apk " in a for i, a in final if i == "RUN")
    assert ("EXPOSE", "8000") in final
    assert not [a for i, a in final if i == "HEALTHCHECK"]
    env = " ".join(a for i, a in final if i == "ENV")
    assert "HAIZHI_POLICY_DIR=/app/policies" in env
    assert "PATH=/opt/venv/bin:$PATH" in env
    (run,) = [a for i, a in final if i == "RUN"]
    assert "--uid 10001" in run
    assert "chown 10001:10001 /keys /data" in run


def test_the_build_context_holds_only_what_the_image_copies() -> None:
    lines = [
        line.strip()
        for line in DOCKERIGNORE.read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert lines[0] == "*", "the context starts from nothing"
    included = {line[1:].rstrip("/") for line in lines if line.startswith("!")}
    copied = {a.split()[0] for i, a in instructions() if i == "COPY" and not a.startswith("--from")}
    assert included == copied
    assert not any(".env" in line for line in included)


# --- the commands the deployment runs ----------------------------------------------------------


def commands() -> list[tuple[str, list[str]]]:
    """(where, command) of every HaiZhi container of docker-compose.yml and deploy/k8s/base."""
    found = []
    for name, service in compose()["services"].items():
        if "haizhi-cases" in service["image"]:
            found.append((f"compose {name}", list(service["command"])))
    for kustomization in ("base", "base/jobs"):
        for resource in kustomize(K8S_DIR / kustomization):
            if resource["kind"] in ("Deployment", "Job"):
                for container in resource["spec"]["template"]["spec"]["containers"]:
                    found.append((f"k8s {resource['metadata']['name']}", container["command"]))
    return found


def test_every_command_names_a_module_with_a_main_and_a_factory_that_exist() -> None:
    seen_modules = set()
    for where, command in commands():
        assert command[:2] == ["python", "-m"], where
        module = importlib.import_module(command[2])
        assert callable(getattr(module, "main", None)), f"{where}: {command[2]} has no main()"
        seen_modules.add(command[2])
        for argument in command[3:]:
            if re.fullmatch(r"(services\.\w+|web)\.main:\w+", argument):
                target, factory = argument.split(":")
                assert callable(getattr(importlib.import_module(target), factory)), where
    assert seen_modules == {"shared.serve", "shared.migrate", "shared.provision", "shared.signing"}


def test_every_service_and_the_console_is_served_in_both_deployments() -> None:
    """Each service served and migrated, the console served (it has no database to migrate),
    once by compose and once by the manifests."""
    flat = [" ".join(command) for _, command in commands()]
    for name in SERVED:
        app = "web.main" if name == CONSOLE else f"services.{name}.main"
        serve = f"python -m shared.serve --host 0.0.0.0 --port 8000 {app}:create_app"
        assert flat.count(serve) == 2, name  # compose and k8s
    for service in SERVICES:
        migrate = f"python -m shared.migrate services.{service}.main:spec"
        assert flat.count(migrate) == 2, service
    assert not [command for command in flat if "shared.migrate web" in command]


@pytest.mark.skipif(sys.platform == "win32", reason="file modes")
def test_the_keys_step_makes_what_the_services_read_and_they_write_nothing(
    tmp_path: Path,
) -> None:
    """The compose `keys` step, as it runs: each service's key (0600) and its public key under
    the file name a service itself would give it, so a service started on the volume mounted
    read-only (compose) or on a ConfigMap (k8s) finds everything and writes nothing."""
    (command,) = [c for where, c in commands() if where == "compose keys"]
    keys = tmp_path / "keys"
    argv = [a if a != "/keys" else str(keys) for a in command[3:]]
    done = subprocess.run(
        [sys.executable, "-m", command[2], *argv],
        capture_output=True,
        text=True,
        timeout=60,
        env={k: v for k, v in os.environ.items() if not k.startswith("HAIZHI_")},
    )
    assert done.returncode == 0, done.stderr
    before = {p: p.stat().st_mtime_ns for p in keys.rglob("*")}
    for service in SERVICES:
        key = keys / f"{service}.key"
        assert key.stat().st_mode & 0o777 == 0o600
        development_signer(service, key, keys / "trusted")
        assert len(list((keys / "trusted").glob(f"{service}.*.pem"))) == 1
    assert {p: p.stat().st_mtime_ns for p in keys.rglob("*")} == before
