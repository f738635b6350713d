"""docs/events.md is what docs/catalogue.py writes from the code as it is now."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parents[2]


def _catalogue() -> ModuleType:
    spec = importlib.util.spec_from_file_location("catalogue", ROOT / "docs" / "catalogue.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_event_catalogue_is_up_to_date() -> None:
    catalogue = _catalogue()
    page = ROOT / "docs" / "events.md"
    written = page.read_text(encoding="utf-8") if page.exists() else ""
    assert written == catalogue.render(), (
        f"docs/events.md is stale: run `{catalogue.COMMAND}` and commit the result"
    )


def test_the_catalogue_lists_every_event_with_its_readers() -> None:
    catalogue = _catalogue()
    page = catalogue.render()
    for spec in catalogue.specs():
        for name in spec.registry.names:
            assert f"- type: `{spec.registry.type_for(name)}`" in page
        for upstream, names in spec.consumes:
            for name in names:
                assert f"{spec.name} (durable `{spec.name}-from-{upstream}`)" in page, name
