#!/usr/bin/env python3
"""Development tasks with nothing but Python 3.11+: each makes the virtualenv it needs first.

python3 tasks.py run      # embedded NATS + the five services and the console on SQLite (./var)
python3 tasks.py test     # the whole test suite, on 3 workers (PostgreSQL too with Docker or
                          # TEST_DATABASE_URL); arguments go to pytest
python3 tasks.py lint     # ruff, mypy --strict, import-linter
python3 tasks.py bench    # benchmarks, figures in bench/results.json
"""

from __future__ import annotations

import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
STAMP = VENV / ".installed"
EXTRAS = "dev,bench"
WORKERS = "3"  # test workers (`tasks.py test`)


def ensure_environment() -> None:
    if sys.version_info < (3, 11):  # noqa: UP036 -- the guard is for whoever runs an old python3
        sys.exit(f"Python 3.11 or newer is needed, this is {sys.version.split()[0]}")
    pyproject = ROOT / "pyproject.toml"
    if STAMP.exists() and STAMP.stat().st_mtime >= pyproject.stat().st_mtime:
        return
    if not (BIN / "python").exists():
        print("creating the virtual environment in .venv", flush=True)
        venv.EnvBuilder(with_pip=True).create(VENV)
    print("installing the project and its tools into .venv", flush=True)
    pip = [str(BIN / "python"), "-m", "pip", "install", "-qq", "--disable-pip-version-check"]
    subprocess.run([*pip, "--upgrade", "pip"], check=True)
    subprocess.run([*pip, "-e", f"{ROOT}[{EXTRAS}]"], check=True)
    STAMP.touch()


def tool(name: str, *args: str) -> int:
    return subprocess.run([str(BIN / name), *args], cwd=ROOT).returncode


def main(argv: list[str]) -> int:
    task, *rest = argv or ["help"]
    if task not in {"run", "test", "lint", "bench"}:
        print(__doc__)
        return 0 if task == "help" else 2
    ensure_environment()
    if task == "run":
        return tool("haizhi", *(rest or ["up"]))
    if task == "test":
        # Whole files to parallel workers (pytest-xdist): a test spends most of its time
        # waiting on processes, NATS and the databases, so three workers keep two cores busy.
        # An `-n` of one's own (`-n 0`: none) comes later and wins.
        return tool("pytest", "-n", WORKERS, "--dist", "loadfile", *rest)
    if task == "bench":
        return tool("python", "-m", "bench", *rest)
    checks = [
        ("ruff", "check", "."),
        ("ruff", "format", "--check", "."),
        ("mypy", "."),
        ("lint-imports",),
    ]
    failed = [" ".join(check) for check in checks if tool(*check) != 0]
    if failed:
        print("failed:", "; ".join(failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
