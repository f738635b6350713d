"""The console in a real Chromium: Debian's `chromium` (or `$HAIZHI_CHROMIUM`), driven by
Playwright for Python through its executable path. Where no Chromium is installed these tests
are deselected, and the pytest header says so; CI installs it (`.ci/run`).

One system with the console per module (SQLite: the console touches no database), and one
Chromium; each test gets a fresh browser context. `Screens` saves a screenshot of every page a
journey shows (`build/screenshots/<journey>/`) and checks it with axe-core: no serious or
critical accessibility violation (labels, names, contrast, keyboard reachability).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Playwright, sync_playwright

from shared.system import System
from shared.testkit.deselect import Needs, hooks
from shared.testkit.system import whole_system

from .harness import chromium_path, launch_options

NEEDS = [
    Needs(
        "browser",
        "drives the console in a real Chromium (Debian's chromium)",
        "the browser tests (tests/browser)",
        lambda: None if chromium_path() else "no Chromium here (apt-get install chromium)",
    )
]
pytest_configure, pytest_report_header, pytest_collection_modifyitems = hooks(NEEDS)


@pytest.fixture(scope="module")
def playwright(system: System) -> Iterator[Playwright]:
    """After the system: Playwright's synchronous API keeps an event loop running on this
    thread, and the system's start runs its own (`asyncio.run`)."""
    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="module")
def chromium(playwright: Playwright) -> Iterator[Browser]:
    browser = playwright.chromium.launch(**launch_options())
    yield browser
    browser.close()


@pytest.fixture(scope="module")
def system(tmp_path_factory: pytest.TempPathFactory) -> Iterator[System]:
    with whole_system(tmp_path_factory.mktemp("browser"), console=True) as running:
        yield running


@pytest.fixture(scope="session")
def screenshots() -> Path:
    folder = Path(__file__).resolve().parents[2] / "build" / "screenshots"
    folder.mkdir(parents=True, exist_ok=True)
    return folder
