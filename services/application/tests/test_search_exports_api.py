"""Search, the cases per stage and the exports: within the reader's reach, equal to the lists."""

from __future__ import annotations

import csv
import io
from typing import Any

from openpyxl import load_workbook

from shared.projection import rebuild_and_compare
from shared.testkit.service import RunningService

from ..messaging.contracts import registry
from ..projections import projections
from .support import (
    FORM,
    applicant,
    credit_code,
    draft,
    officer,
    open_call,
    register_unit,
    reviewer,
    submitted,
)

KUST, QJ = "unit-kust", "unit-qj-park"


async def _world(service: RunningService) -> dict[str, str]:
    """昆明理工大学 (Kunming, 5301) and a park of Qujing (5303) submitted under one call."""
    call_id = await open_call(service)
    await register_unit(service, KUST, "5301", name="昆明理工大学", category="university")
    await register_unit(service, QJ, "5303", name="曲靖经济技术开发区管委会")
    return {
        "kust": await submitted(service, call_id, KUST, "5301"),
        "qj": await submitted(service, call_id, QJ, "5303"),
        "call": call_id,
    }


async def _found(service: RunningService, path: str, q: str, headers: dict[str, str]) -> list[str]:
    answer = await service.client.get(path, params={"q": q}, headers=headers)
    assert answer.status_code == 200, answer.text
    key = "application_id" if path.endswith("applications") else "unit_id"
    return [item[key] for item in answer.json()["items"]]


async def test_search_finds_kunming_university_of_science_by_two_characters_code_and_overview(
    service: RunningService,
) -> None:
    ids = await _world(service)
    province = officer(service)
    path = "/search/applications"
    assert await _found(service, path, "理工", province) == [ids["kust"]]
    assert await _found(service, path, "昆明", province) == [ids["kust"]]
    assert await _found(service, path, "昆明理工大学", province) == [ids["kust"]]
    assert await _found(service, path, credit_code(KUST, "5301"), province) == [ids["kust"]]
    assert await _found(service, path, credit_code(KUST, "5301").lower(), province) == [ids["kust"]]
    both = sorted([ids["kust"], ids["qj"]])
    assert await _found(service, path, "区位优势", province) == both
    assert await _found(service, path, "南亚 理工", province) == [ids["kust"]]
    assert await _found(service, path, "北京", province) == []
    assert await _found(service, "/search/units", "理工", province) == [KUST]
    assert await _found(service, "/search/units", credit_code(QJ, "5303"), province) == [QJ]
    assert await rebuild_and_compare(service.kernel.db, registry, projections()) == []


async def test_search_never_reaches_beyond_the_callers_jurisdiction_or_unit(
    service: RunningService,
) -> None:
    ids = await _world(service)
    qujing = reviewer(service, "prefecture_reviewer", "5303")
    guangdong = officer(service, "44")
    qj_clerk = applicant(service, QJ, "5303")
    for headers in (qujing, guangdong, qj_clerk):
        assert await _found(service, "/search/applications", "理工", headers) == []
        assert await _found(service, "/search/units", "理工", headers) == []
    assert await _found(service, "/search/applications", "曲靖", qj_clerk) == [ids["qj"]]
    assert await _found(service, "/search/applications", "理工", applicant(service, KUST)) == [
        ids["kust"]
    ]


async def test_a_draft_is_found_by_its_words_by_its_own_unit_only(service: RunningService) -> None:
    call_id = await open_call(service)
    await register_unit(service, KUST, "5301", name="昆明理工大学", category="university")
    draft_id = await draft(service, call_id, KUST, "5301")
    own = applicant(service, KUST)
    words = {"overview_description": "Yunnan photonics 光电子平台"}
    saved = await service.client.patch(f"/applications/{draft_id}", json=words, headers=own)
    assert saved.status_code == 200, saved.text
    assert await _found(service, "/search/applications", "光电", own) == [draft_id]
    assert await _found(service, "/search/applications", "PHOTONICS", own) == [draft_id]
    assert await _found(service, "/search/applications", "光电", officer(service)) == []
    assert await rebuild_and_compare(service.kernel.db, registry, projections()) == []


async def test_search_pages_by_id(service: RunningService) -> None:
    ids = await _world(service)
    first = await service.client.get(
        "/search/applications", params={"q": "区位", "limit": 1}, headers=officer(service)
    )
    page = first.json()
    assert [i["application_id"] for i in page["items"]] == [min(ids["kust"], ids["qj"])]
    second = await service.client.get(
        "/search/applications",
        params={"q": "区位", "limit": 1, "cursor": page["next_cursor"]},
        headers=officer(service),
    )
    assert [i["application_id"] for i in second.json()["items"]] == [max(ids["kust"], ids["qj"])]
    assert second.json()["next_cursor"] is None


async def test_bad_searches_are_problems(service: RunningService) -> None:
    headers = officer(service)
    bad: list[dict[str, str | int]] = [
        {},
        {"q": ""},
        {"q": "！？ ·"},
        {"q": "x" * 101},
        {"q": "理工", "limit": 0},
    ]
    for params in bad:
        refused = await service.client.get("/search/applications", params=params, headers=headers)
        assert refused.status_code == 422, params
        assert refused.headers["content-type"] == "application/problem+json"
    nobody = await service.client.get("/search/units", params={"q": "理工"})
    assert nobody.status_code == 401
    finance = service.auth("finance", user="f", jurisdictions=["CN"])
    assert (await service.client.get("/search/units?q=a", headers=finance)).status_code == 403


def _csv(answer: Any) -> list[dict[str, str]]:
    assert answer.status_code == 200, answer.text
    assert answer.content.startswith(b"\xef\xbb\xbf")
    return list(csv.DictReader(io.StringIO(answer.content.decode("utf-8-sig"))))


async def test_the_applications_export_equals_the_list_in_csv_and_xlsx(
    service: RunningService,
) -> None:
    await _world(service)
    headers = officer(service)
    listed = (await service.client.get("/applications", headers=headers)).json()["items"]
    exported = _csv(await service.client.get("/exports/applications?lang=en", headers=headers))
    keys = ["application_id", "unit_name", "credit_code", "status", "revision", "province"]
    english = ["Application", "Unit", "Credit code", "Status", "Revision", "Province"]
    assert [[row[h] for h in english] for row in exported] == [
        [str(item[k]) for k in keys] for item in listed
    ]
    book = await service.client.get("/exports/applications?format=xlsx", headers=headers)
    assert book.status_code == 200
    assert 'filename="applications.xlsx"' in book.headers["content-disposition"]
    ws = load_workbook(io.BytesIO(book.content)).active
    assert ws is not None
    rows = list(ws.iter_rows(values_only=True))
    assert rows[0][:3] == ("申报编号", "申报单位", "统一社会信用代码")
    assert [(r[0], r[1], r[10]) for r in rows[1:]] == [
        (i["application_id"], i["unit_name"], i["revision"]) for i in listed
    ]
    qujing = reviewer(service, "prefecture_reviewer", "5303")
    only_qj = _csv(await service.client.get("/exports/applications", headers=qujing))
    assert [r["申报单位"] for r in only_qj] == ["曲靖经济技术开发区管委会"]
    filtered = _csv(await service.client.get("/exports/applications?status=draft", headers=headers))
    assert filtered == []


async def test_a_name_that_looks_like_a_formula_is_exported_inert(
    service: RunningService,
) -> None:
    call_id = await open_call(service)
    await register_unit(
        service, KUST, "5301", name='=HYPERLINK("http://x")昆明', category="university"
    )
    await submitted(service, call_id, KUST, "5301")
    rows = _csv(await service.client.get("/exports/applications", headers=officer(service)))
    assert [r["申报单位"] for r in rows] == ['\'=HYPERLINK("http://x")昆明']


async def test_the_cases_per_stage_equal_what_happened(service: RunningService) -> None:
    ids = await _world(service)
    await draft(service, ids["call"], "unit-draft-only", "5301")
    withdrawn = await service.client.post(
        f"/applications/{ids['qj']}/withdraw",
        json={"reason": "撤回"},
        headers=applicant(service, QJ, "5303"),
    )
    assert withdrawn.status_code == 200, withdrawn.text
    figures = (await service.client.get("/statistics/cases", headers=officer(service))).json()
    assert figures["rows"] == [
        {"year": 2022, "province": "53", "programme": "national_base", "status": s, "cases": 1}
        for s in ("submitted", "withdrawn")
    ]  # the draft never submitted is no reviewer's case
    assert figures["by_status"] == {"submitted": 1, "withdrawn": 1}
    assert figures["total"] == 2
    none = await service.client.get("/statistics/cases?year=2023", headers=officer(service))
    assert none.json()["rows"] == []
    exported = _csv(await service.client.get("/exports/cases?lang=en", headers=officer(service)))
    assert [(r["Status"], r["Cases"]) for r in exported] == [("submitted", "1"), ("withdrawn", "1")]
    guangdong = await service.client.get("/statistics/cases", headers=officer(service, "44"))
    assert guangdong.json()["total"] == 0
    for bad in ("year=1999", "year=x", "format=pdf", "lang=fr"):
        path = "/exports/cases" if "format" in bad or "lang" in bad else "/statistics/cases"
        refused = await service.client.get(f"{path}?{bad}", headers=officer(service))
        assert refused.status_code == 422, bad
    assert FORM["overview_advantages"]  # the overview words the searches above rely on
