"""Search of bases, the annual-report statistics and the exports: within the caller's reach,
equal to the lists and to what happened."""

from __future__ import annotations

import csv
import io
from typing import Any

from openpyxl import load_workbook

from shared.projection import rebuild_and_compare

from ..messaging.contracts import registry
from ..projections import projections
from .world import World


async def _world(world: World) -> None:
    """昆明理工大学 (5301) reports for 2022; 大理大学 (5329) and 广州理工学院 (4401) do not."""
    await world.designate("b1", unit_name="昆明理工大学")
    await world.designate("b2", unit="unit-dali", jurisdiction="5329", unit_name="大理大学")
    await world.designate("b3", unit="unit-gz", jurisdiction="4401", unit_name="广州理工学院")
    await world.on(2022, 12, 20)
    await world.file_report("b1", 2022)
    await world.on(2023, 1, 2)


async def _found(world: World, q: str, headers: dict[str, str]) -> list[str]:
    answer = await world.client.get("/search/bases", params={"q": q}, headers=headers)
    assert answer.status_code == 200, answer.text
    return [item["base_id"] for item in answer.json()["items"]]


def _csv(answer: Any) -> list[dict[str, str]]:
    assert answer.status_code == 200, answer.text
    assert answer.content.startswith(b"\xef\xbb\xbf")
    return list(csv.DictReader(io.StringIO(answer.content.decode("utf-8-sig"))))


async def test_bases_are_found_by_two_characters_of_their_unit_within_reach(world: World) -> None:
    await _world(world)
    everyone = world.auditor()
    assert await _found(world, "理工", everyone) == ["b1", "b3"]
    assert await _found(world, "昆明", everyone) == ["b1"]
    assert await _found(world, "昆明理工大学", everyone) == ["b1"]
    assert await _found(world, "大学", everyone) == ["b1", "b2"]
    assert await _found(world, "理工", world.local_cast("5301")) == ["b1"]
    assert await _found(world, "理工", world.auditor("53")) == ["b1"]
    assert await _found(world, "广州", world.local_cast("5329")) == []
    assert await _found(world, "理工", world.unit()) == ["b1"]
    page = await world.client.get(
        "/search/bases", params={"q": "理工", "limit": 1}, headers=everyone
    )
    assert page.json()["next_cursor"] == "b1"
    for bad in ({"q": ""}, {"q": "・・"}, {}, {"q": "理工", "cursor": ""}):
        refused = await world.client.get("/search/bases", params=bad, headers=everyone)
        assert refused.status_code == 422, bad
        assert refused.headers["content-type"] == "application/problem+json"
    assert await rebuild_and_compare(world.svc.kernel.db, registry, projections()) == []


async def test_overdue_reports_per_year_and_province_equal_what_happened(world: World) -> None:
    await _world(world)
    figures = (await world.client.get("/statistics/reports", headers=world.auditor())).json()
    assert figures["rows"] == [
        {"year": 2022, "province": "44", "bases": 1, "filed": 0, "filed_late": 0, "overdue": 1},
        {"year": 2022, "province": "53", "bases": 2, "filed": 1, "filed_late": 0, "overdue": 1},
    ]
    assert figures["overdue"] == 2
    kunming = await world.client.get("/statistics/reports", headers=world.local_cast("5301"))
    assert kunming.json()["rows"] == [
        {"year": 2022, "province": "53", "bases": 1, "filed": 1, "filed_late": 0, "overdue": 0}
    ]
    later = await world.client.get("/statistics/reports?year=2023", headers=world.auditor())
    assert later.json() == {"rows": [], "overdue": 0}
    exported = _csv(await world.client.get("/exports/reports", headers=world.auditor()))
    assert [(r["省份"], r["逾期未报"]) for r in exported] == [("44", "1"), ("53", "1")]
    for bad in ("year=1999", "year=abc"):
        refused = await world.client.get(f"/statistics/reports?{bad}", headers=world.auditor())
        assert refused.status_code == 422


async def test_the_bases_export_equals_the_list_with_their_terms(world: World) -> None:
    await _world(world)
    listed = (await world.client.get("/bases", headers=world.auditor())).json()["items"]
    exported = _csv(await world.client.get("/exports/bases?lang=en", headers=world.auditor()))
    assert [
        (r["Base"], r["Unit"], r["Status"], r["Term start"], r["Term end"]) for r in exported
    ] == [
        (b["base_id"], b["unit_name"], b["status"], b["term_start"], b["term_end"]) for b in listed
    ]
    book = await world.client.get("/exports/bases?format=xlsx", headers=world.auditor())
    ws = load_workbook(io.BytesIO(book.content)).active
    assert ws is not None
    rows = list(ws.iter_rows(values_only=True))
    assert rows[0][:2] == ("基地编号", "依托单位")
    assert [(r[0], r[6].date().isoformat()) for r in rows[1:]] == [
        (b["base_id"], b["term_end"]) for b in listed
    ]
    dali = _csv(await world.client.get("/exports/bases", headers=world.local_cast("5329")))
    assert [r["基地编号"] for r in dali] == ["b2"]
    unit = _csv(await world.client.get("/exports/bases?status=active", headers=world.unit()))
    assert [r["基地编号"] for r in unit] == ["b1"]


async def test_the_grade_list_export_equals_the_entries_the_caller_may_see(world: World) -> None:
    await _world(world)
    for base_id, value in (("b1", 90), ("b2", 70), ("b3", 40)):
        await world.score(base_id, 2022, value)
    proposed = await world.client.post(
        "/grade-lists/2022/proposal", json={}, headers=world.department()
    )
    assert proposed.status_code == 200, proposed.text
    listed = (await world.client.get("/grade-lists/2022", headers=world.auditor())).json()
    exported = _csv(
        await world.client.get("/exports/grade-lists/2022?lang=en", headers=world.auditor())
    )
    assert [(r["Base"], r["Unit"], r["Proposed grade"]) for r in exported] == [
        (e["base_id"], e["unit_name"], e["grade"]) for e in listed["entries"]
    ]
    kunming = await world.client.get("/exports/grade-lists/2022", headers=world.local_cast())
    assert [r["基地编号"] for r in _csv(kunming)] == ["b1"]
    assert 'filename="grade-list-2022.csv"' in kunming.headers["content-disposition"]
    missing = await world.client.get("/exports/grade-lists/2021", headers=world.auditor())
    assert missing.status_code == 404
    for bad in ("/exports/grade-lists/1999", "/exports/grade-lists/2022?format=doc"):
        assert (await world.client.get(bad, headers=world.auditor())).status_code == 422
