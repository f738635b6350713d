"""Tests that need what a machine may not have (root, a Docker engine, PostgreSQL's client
tools): deselected where it is missing, never skipped, and the pytest header says why.

A conftest lists its `Needs` and takes its three hooks from them:

    pytest_configure, pytest_report_header, pytest_collection_modifyitems = hooks(NEEDS)
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import pytest


@dataclass(frozen=True)
class Needs:
    """Tests marked `marker` (`meaning`, for `pytest --markers`) need something; `missing`
    says why it is not here, or None where it is. `what` names those tests in the header."""

    marker: str
    meaning: str
    what: str
    missing: Callable[[], str | None]


def register(config: pytest.Config, needs: Sequence[Needs]) -> None:
    for need in needs:
        config.addinivalue_line("markers", f"{need.marker}: {need.meaning}")


def header(needs: Sequence[Needs]) -> list[str]:
    return [f"{need.what} is deselected: {why}" for need in needs if (why := need.missing())]


def deselect(config: pytest.Config, items: list[pytest.Item], needs: Sequence[Needs]) -> None:
    """Drop the items whose need is missing here, telling pytest they were deselected."""
    missing = [need.marker for need in needs if need.missing()]
    dropped = [item for item in items if any(item.get_closest_marker(m) for m in missing)]
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = [item for item in items if item not in dropped]


def hooks(needs: Sequence[Needs]) -> tuple[Callable[..., Any], ...]:
    """`pytest_configure`, `pytest_report_header` and `pytest_collection_modifyitems` for a
    conftest whose tests have `needs`."""

    def pytest_configure(config: pytest.Config) -> None:
        register(config, needs)

    def pytest_report_header() -> list[str]:
        return header(needs)

    def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
        deselect(config, items, needs)

    return pytest_configure, pytest_report_header, pytest_collection_modifyitems
