"""What the browser tests share: finding Chromium, and a journey's screens — each page
photographed and checked for accessibility as the journey passes it."""

from __future__ import annotations

import os
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Page

#: axe-core's impacts that fail a test; "moderate" and "minor" are reported, not failed.
FAILING_IMPACTS = frozenset({"serious", "critical"})
_AXE = Axe()
#: WCAG 2.1 A and AA: labels and names, keyboard use, contrast, structure — the rules that
#: matter here; axe's "best practice" extras (half its rules again) add time, not findings.
AXE_OPTIONS = {
    "resultTypes": ["violations"],
    "runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]},
}


def chromium_path() -> str | None:
    """`$HAIZHI_CHROMIUM`, else Debian's `chromium` (or another Chromium) on the PATH."""
    explicit = os.environ.get("HAIZHI_CHROMIUM")
    if explicit:
        return explicit if Path(explicit).exists() else None
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        found = shutil.which(name)
        if found:
            return found
    return None


def launch_options() -> dict[str, Any]:
    path = chromium_path()
    assert path is not None, "no Chromium"
    # Chromium's sandbox refuses to run as root (CI's user here); elsewhere it stays on.
    args = ["--no-sandbox"] if hasattr(os, "geteuid") and os.geteuid() == 0 else []
    return {"executable_path": path, "args": args, "headless": True}


def accessibility_violations(page: Page) -> list[str]:
    """axe-core's serious and critical violations of the page as it stands, one line each."""
    results = _AXE.run(page, options=AXE_OPTIONS).response
    return [
        f"{v['id']} ({v['impact']}): {v['help']} — "
        + "; ".join(str(node.get("target")) for node in v["nodes"][:5])
        for v in results["violations"]
        if v.get("impact") in FAILING_IMPACTS
    ]


@dataclass
class Screens:
    """A journey's pages: each one saved (`<folder>/<nn>-<name>.png`) and checked once."""

    folder: Path
    shown: list[str] = field(default_factory=list)
    violations: dict[str, list[str]] = field(default_factory=dict)
    _checked: set[str] = field(default_factory=set)

    def __post_init__(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)

    def see(self, page: Page, name: str, *, state: str = "") -> None:
        """Photograph `page` as `name` and check it, once per kind of page (its path with
        ids taken out, and the `state` named where one path shows other forms as the case
        moves on: a review before and after the declaration), as the journey reaches it."""
        slug = re.sub(r"[^a-z0-9-]+", "-", name.lower()).strip("-")
        self.shown.append(slug)
        scrolled = page.evaluate("[window.scrollX, window.scrollY]")
        page.screenshot(path=str(self.folder / f"{len(self.shown):02d}-{slug}.png"), full_page=True)
        # A full-page screenshot leaves the page scrolled to its end, and Chromium scrolls it
        # back only at the next input: the journey's next click would land beside its target.
        page.evaluate("([x, y]) => window.scrollTo(x, y)", scrolled)
        kind = re.sub(r"/[0-9A-Z]{20,}|/[0-9a-f]{32,}|/\d+", "/…", page.url.split("?")[0])
        kind += f" [{state}]" if state else ""
        if kind not in self._checked:
            self._checked.add(kind)
            found = accessibility_violations(page)
            if found:
                self.violations[f"{slug} ({page.url})"] = found
