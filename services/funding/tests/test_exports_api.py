"""The reconciliation and the funds per year as exports: equal to the JSON, exact to the fen,
within the caller's reach."""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from decimal import Decimal
from typing import Any

from openpyxl import load_workbook

from shared.testkit.service import RunningService

from .conftest import FEN, Upstream, auditor, cashier, finance, plan_when
from .test_finance_api import approve, designated, pay


async def _world(service: RunningService, upstream: Upstream) -> None:
    """Three bases of Yunnan: one instalment paid, returned and paid again; one base revoked."""
    await designated(service, upstream, "base-km")
    await designated(service, upstream, "base-dl", unit_id="unit-dali")
    await designated(service, upstream, "base-qj", unit_id="unit-qujing")
    await approve(service, "base-km-1")
    await pay(service, "base-km-1")
    returned = await service.client.post(
        "/instalments/base-km-1/return",
        json={"payment_ref": "YN-PAY-1", "reason": "account closed"},
        headers=cashier(service),
    )
    assert returned.status_code == 200, returned.text
    await approve(service, "base-km-1")
    await pay(service, "base-km-1", payment_ref="YN-PAY-1-BIS")
    await upstream.assess("base-qj", "BaseRevoked", revoked_on="2022-06-15", years=[])
    await plan_when(service, "base-qj", lambda p: p["status"] == "closed")


def _fen(yuan: str) -> int:
    return int(Decimal(yuan) * 100)


def _csv(answer: Any) -> list[dict[str, str]]:
    assert answer.status_code == 200, answer.text
    return list(csv.DictReader(io.StringIO(answer.content.decode("utf-8-sig"))))


async def test_the_reconciliation_export_equals_the_machine_csv_in_yuan_and_xlsx(
    service: RunningService, upstream: Upstream
) -> None:
    await _world(service, upstream)
    headers = finance(service)
    machine = _csv(await service.client.get("/reconciliation.csv", headers=headers))
    assert not (
        await service.client.get("/reconciliation.csv", headers=headers)
    ).content.startswith(
        b"\xef\xbb\xbf"
    )  # the machine file's contract: no BOM, keys as headers, fen
    people = _csv(await service.client.get("/exports/reconciliation?lang=en", headers=headers))
    assert len(people) == len(machine) == 3 * 3 + 3 + 1
    for mine, theirs in zip(people, machine, strict=True):
        assert (mine["Scope"], mine["Base"], mine["Year"]) == (
            theirs["scope"],
            theirs["base_id"],
            theirs["year"],
        )
        assert _fen(mine["Paid amount (yuan)"]) == int(theirs["paid_fen"])
        assert _fen(mine["Planned amount (yuan)"]) == int(theirs["planned_fen"])
        assert mine["Returned count"] == theirs["returned_count"]
    chinese = _csv(await service.client.get("/exports/reconciliation", headers=headers))
    assert chinese[-1]["范围"] == "total"
    assert _fen(chinese[-1]["计划金额（元）"]) == 9 * FEN

    book = await service.client.get("/exports/reconciliation?format=xlsx", headers=headers)
    assert book.status_code == 200
    ws = load_workbook(io.BytesIO(book.content)).active
    assert ws is not None
    rows = list(ws.iter_rows(values_only=True))
    header = list(rows[0])
    paid = header.index("已拨付金额（元）")
    for row, theirs in zip(rows[1:], machine, strict=True):
        assert round(Decimal(str(row[paid])) * 100) == int(theirs["paid_fen"])
        assert row[2] == (int(theirs["year"]) if theirs["year"] else None)


async def test_the_funds_per_year_equal_what_the_events_imply(
    service: RunningService, upstream: Upstream
) -> None:
    await _world(service, upstream)
    feed = (await service.client.get("/feed?limit=500", headers=finance(service))).json()
    implied: defaultdict[tuple[int, str], list[int]] = defaultdict(lambda: [0, 0])
    due_year: dict[str, int] = {}
    paid_last: dict[str, tuple[int, int]] = {}
    for item in feed["items"]:
        name, data = item["event"]["type"].split(".")[2], item["event"]["data"]
        if name == "InstalmentScheduled":
            due_year[data["instalment_id"]] = int(data["due_on"][:4])
        year = due_year.get(data.get("instalment_id", ""), 0)
        if name in ("InstalmentScheduled", "InstalmentCancelled", "InstalmentReturned"):
            flow = {"InstalmentScheduled": "planned", "InstalmentCancelled": "cancelled"}
            tally = implied[year, flow.get(name, "returned")]
            tally[0], tally[1] = tally[0] + 1, tally[1] + data["amount_fen"]
        if name == "InstalmentPaid":
            paid_last[data["instalment_id"]] = (year, data["amount_fen"])
        if name == "InstalmentReturned":
            paid_last.pop(data["instalment_id"], None)
    for year, fen in paid_last.values():
        tally = implied[year, "paid"]
        tally[0], tally[1] = tally[0] + 1, tally[1] + fen

    figures = (await service.client.get("/statistics/funds", headers=finance(service))).json()
    assert [y["year"] for y in figures["years"]] == [2022, 2023, 2024]
    for year in figures["years"]:
        for name in ("planned", "paid", "cancelled", "returned"):
            expected = implied.get((year["year"], name), [0, 0])
            assert [year[name]["count"], year[name]["amount_fen"]] == expected, (year, name)
    assert figures["total"]["planned"] == {"count": 9, "amount_fen": 9 * FEN}
    assert figures["total"]["cancelled"]["count"] == 3

    exported = _csv(await service.client.get("/exports/funds?lang=en", headers=finance(service)))
    assert [int(r["Year"]) for r in exported] == [2022, 2023, 2024]
    for row, year in zip(exported, figures["years"], strict=True):
        assert _fen(row["Paid amount (yuan)"]) == year["paid"]["amount_fen"]
        assert int(row["Cancelled count"]) == year["cancelled"]["count"]


async def test_the_exports_and_statistics_keep_to_the_callers_reach(
    service: RunningService, upstream: Upstream
) -> None:
    await _world(service, upstream)
    kunming = service.auth("applicant", user="zhang", org="unit-kunming")
    own = _csv(await service.client.get("/exports/reconciliation?lang=en", headers=kunming))
    assert {r["Base"] for r in own} == {"base-km", ""}
    mine = (await service.client.get("/statistics/funds", headers=kunming)).json()
    assert mine["total"]["planned"] == {"count": 3, "amount_fen": 3 * FEN}
    hidden = await service.client.get("/exports/reconciliation?base_id=base-dl", headers=kunming)
    assert hidden.status_code == 404
    guangdong = (
        await service.client.get("/statistics/funds", headers=auditor(service, "44"))
    ).json()
    assert guangdong == {"years": [], "total": None}
    reviewer = service.auth("province_reviewer", jurisdictions=["53"])
    for path in ("/exports/reconciliation", "/exports/funds", "/statistics/funds"):
        refused = await service.client.get(path, headers=reviewer)
        assert refused.status_code == 403, path
        assert refused.headers["content-type"] == "application/problem+json"
    for bad in ("format=pdf", "lang=de", "format=xlsx&lang=", "base_id="):
        refused = await service.client.get(f"/exports/reconciliation?{bad}", headers=kunming)
        assert refused.status_code == 422, bad
