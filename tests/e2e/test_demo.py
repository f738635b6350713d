"""`haizhi demo` against a running System: it plays its cases and prints their timelines."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from shared.system import System

from .support import assert_audit_clean

pytestmark = pytest.mark.slow

UNITS = ("昆明理工大学", "曲靖经济技术开发区管理委员会", "昆明高新技术产业开发区管理委员会")


@pytest.mark.parametrize("system", ["sqlite"], indirect=True)
def test_the_demo_plays_its_cases_and_prints_each_timeline(system: System) -> None:
    script = Path(sys.executable).with_name("haizhi")  # the console script pyproject installs
    done = subprocess.run(
        [str(script), "--data-dir", str(system.data_dir), "demo"],
        capture_output=True,
        encoding="utf-8",
        env={**os.environ, "PYTHONUTF8": "1"},
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    headers = [line for line in done.stdout.splitlines() if line.startswith("=== ")]
    assert [h.split(" · ")[0].removeprefix("=== ") for h in headers] == list(UNITS)
    for event in (
        "ApplicationReturned",
        "ApplicationRejected",
        "BaseDesignated",
        "GradeFinalised",
        "InstalmentHeld",
        "InstalmentReleased",
        "InstalmentPaid",
    ):
        assert f" {event} " in done.stdout, event
    assert "李明" in done.stdout  # actors by name
    assert "王芳" in done.stdout
    assert_audit_clean(system.data_dir)
