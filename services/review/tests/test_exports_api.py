"""The province's ranking as CSV and XLSX: the candidates of the ranking read, in its order,
within the same reach."""

from __future__ import annotations

import csv
import io
from typing import Any

from openpyxl import load_workbook

from shared.testkit.service import RunningService

from .scenario import GUIZHOU, NATION, YUNNAN, YUNNAN_RANKER, Application, act, through_province


def _csv(answer: Any) -> list[dict[str, str]]:
    assert answer.status_code == 200, answer.text
    assert answer.content.startswith(b"\xef\xbb\xbf")
    return list(csv.DictReader(io.StringIO(answer.content.decode("utf-8-sig"))))


async def test_the_ranking_export_equals_the_ranking_in_its_order(service: RunningService) -> None:
    best = Application(
        route="direct", jurisdiction="53", unit_id="unit-kust", unit_name="昆明理工大学"
    )
    other = Application(
        route="direct", jurisdiction="53", unit_id="unit-yas", unit_name="=云南省农科院"
    )
    for app in (best, other):
        await app.submit(service)
        await through_province(service, app)
    ranking = f"/calls/{best.call_id}/ranking"
    await act(service, f"{ranking}/declarations", YUNNAN_RANKER)
    await act(
        service,
        ranking,
        YUNNAN_RANKER,
        {
            "ranked": [best.application_id],
            "not_recommended": [
                {"application_id": other.application_id, "reasons": ["海外渠道较弱", "+1"]}
            ],
        },
    )
    read = (await service.client.get(ranking, headers=NATION.headers(service))).json()
    path = f"/exports{ranking}"
    exported = _csv(await service.client.get(f"{path}?lang=en", headers=NATION.headers(service)))
    assert [(r["Rank"], r["Application"], r["Status"]) for r in exported] == [
        (str(c["rank"] or ""), c["application_id"], c["status"]) for c in read["candidates"]
    ]
    assert [r["Unit"] for r in exported] == ["昆明理工大学", "'=云南省农科院"]  # inert
    assert exported[1]["Reasons not recommended"] == "海外渠道较弱；+1"
    book = await service.client.get(f"{path}?format=xlsx", headers=YUNNAN.headers(service))
    assert book.status_code == 200
    ws = load_workbook(io.BytesIO(book.content)).active
    assert ws is not None
    rows = list(ws.iter_rows(values_only=True))
    assert rows[0][:3] == ("推荐排序", "申报编号", "申报单位")
    assert [(r[0], r[1]) for r in rows[1:]] == [
        (c["rank"], c["application_id"]) for c in read["candidates"]
    ]

    elsewhere = await service.client.get(path, headers=GUIZHOU.headers(service))
    assert elsewhere.status_code == 404
    assert elsewhere.headers["content-type"] == "application/problem+json"
    applicant = service.auth("applicant", user="u", org="unit-kust", jurisdictions=["53"])
    assert (await service.client.get(path, headers=applicant)).status_code == 403
    for bad in ("format=ods", "lang=ja"):
        refused = await service.client.get(f"{path}?{bad}", headers=NATION.headers(service))
        assert refused.status_code == 422, bad
