"""The export mechanism: CSV and XLSX read back equal the rows, money exact, formulas inert."""

from __future__ import annotations

import csv
import io
import re
import zipfile
from datetime import date, datetime
from decimal import Decimal
from urllib.parse import unquote

import pytest
from fastapi import APIRouter, FastAPI
from httpx import ASGITransport, AsyncClient
from openpyxl import load_workbook

from shared.exports import (
    MAX_EXPORT_ROWS,
    XLSX_MEDIA_TYPE,
    Column,
    Export,
    Kind,
    Sheet,
    export_response,
    export_route,
    render_csv,
    render_xlsx,
    too_large,
    yuan,
)
from shared.problems import HTTPProblem, install_problem_handlers

COLUMNS = (
    Column("name", "单位名称", "Unit", Kind.TEXT),
    Column("count", "件数", "Count", Kind.INTEGER),
    Column("on", "日期", "Date", Kind.DATE),
    Column("amount_fen", "金额（元）", "Amount (yuan)", Kind.MONEY),
)
ROWS = [
    {"name": "昆明理工大学", "count": 3, "on": "2022-04-30", "amount_fen": 60_000_000},
    {"name": '=HYPERLINK("x")', "count": 0, "on": date(2023, 1, 2), "amount_fen": -5},
    {"name": 'a,b "c"\nd', "count": 2**40, "on": None, "amount_fen": 10**15 - 1},
]
SHEET = Sheet("units", "单位", COLUMNS, ROWS)


@pytest.mark.parametrize(
    ("fen", "text"), [(0, "0.00"), (5, "0.05"), (-5, "-0.05"), (123456, "1234.56"), (-100, "-1.00")]
)
def test_money_is_exact_yuan_text(fen: int, text: str) -> None:
    assert yuan(fen) == text


def test_the_csv_reads_back_as_the_rows_with_chinese_headers_and_a_bom() -> None:
    data = render_csv(SHEET)
    assert data.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))
    assert rows[0] == ["单位名称", "件数", "日期", "金额（元）"]
    assert rows[1] == ["昆明理工大学", "3", "2022-04-30", "600000.00"]
    assert rows[2] == ['\'=HYPERLINK("x")', "0", "2023-01-02", "-0.05"]
    assert rows[3] == ['a,b "c"\nd', str(2**40), "", "9999999999999.99"]
    assert b"\r\n" in data


def test_english_headers_and_machine_headers() -> None:
    english = render_csv(SHEET, "en").decode("utf-8-sig").splitlines()[0]
    assert english == "Unit,Count,Date,Amount (yuan)"
    keys = render_csv(SHEET, None, bom=False).decode().splitlines()[0]
    assert keys == "name,count,on,amount_fen"


@pytest.mark.parametrize("start", ["=", "+", "-", "@", "\t", "\r"])
def test_a_cell_that_could_start_a_formula_is_prefixed(start: str) -> None:
    sheet = Sheet("x", "x", (Column("t", "t", "t"),), [{"t": start + "1+1"}])
    (cell,) = list(csv.reader(io.StringIO(render_csv(sheet).decode("utf-8-sig"))))[1]
    assert cell == "'" + start + "1+1"
    ws = load_workbook(io.BytesIO(render_xlsx(sheet))).active
    assert ws is not None
    value = ws.cell(2, 1).value
    assert isinstance(value, str)
    assert value.startswith("'")
    assert value.endswith("1+1")  # XML reads a lone CR as LF


def test_the_xlsx_holds_numbers_dates_and_exact_money() -> None:
    ws = load_workbook(io.BytesIO(render_xlsx(SHEET, "en"))).active
    assert ws is not None
    rows = list(ws.iter_rows(values_only=True))
    assert rows[0] == ("Unit", "Count", "Date", "Amount (yuan)")
    assert rows[1][:2] == ("昆明理工大学", 3)
    assert [r[2] for r in rows[1:]] == [datetime(2022, 4, 30), datetime(2023, 1, 2), None]
    for row, source in zip(rows[1:], ROWS, strict=True):
        assert row[1] == source["count"]
        assert round(Decimal(str(row[3])) * 100) == source["amount_fen"]
    assert ws.cell(2, 4).number_format == "#,##0.00"


def test_the_workbook_stores_money_as_its_exact_decimal_text() -> None:
    with zipfile.ZipFile(io.BytesIO(render_xlsx(SHEET))) as book:
        xml = book.read("xl/worksheets/sheet1.xml").decode()
    assert "<v>600000</v>" in xml or "<v>600000.00</v>" in xml
    assert "<v>9999999999999.99</v>" in xml
    assert "<v>-0.05</v>" in xml


def test_the_same_rows_give_the_same_workbook_bytes() -> None:
    assert render_xlsx(SHEET) == render_xlsx(SHEET)


def test_the_workbook_says_the_fixed_time_not_the_time_it_was_saved() -> None:
    """openpyxl stamps `modified` as it saves: two exports a second apart differed."""
    with zipfile.ZipFile(io.BytesIO(render_xlsx(SHEET))) as book:
        core = book.read("docProps/core.xml").decode()
    stamps = re.findall(r"<dcterms:(created|modified)[^>]*>([^<]*)<", core)
    assert stamps == [("created", "2020-01-01T00:00:00Z"), ("modified", "2020-01-01T00:00:00Z")]


def test_too_many_rows_are_refused() -> None:
    too_large([{}] * MAX_EXPORT_ROWS)
    with pytest.raises(HTTPProblem) as refused:
        too_large([{}] * (MAX_EXPORT_ROWS + 1))
    assert refused.value.status == 422


async def test_format_and_lang_are_chosen_by_the_query_and_anything_else_is_a_problem() -> None:
    app = FastAPI()
    install_problem_handlers(app)
    router = APIRouter()

    @export_route(router, "/export", summary="units", description="A row per unit.")
    async def export(asked: Export) -> object:
        return await export_response(SHEET, asked)

    app.include_router(router)

    async with AsyncClient(transport=ASGITransport(app), base_url="http://t") as client:
        plain = await client.get("/export")
        assert plain.headers["content-type"] == "text/csv; charset=utf-8"
        disposition = plain.headers["content-disposition"]
        assert disposition.startswith('attachment; filename="units.csv";')
        assert unquote(disposition.split("UTF-8''")[1]) == "单位.csv"
        book = await client.get("/export?format=xlsx&lang=en")
        assert book.headers["content-type"].startswith("application/vnd.openxmlformats")
        assert book.content.startswith(b"PK")
        for bad in ("format=pdf", "lang=fr", "format=", "format=CSV"):
            refused = await client.get(f"/export?{bad}")
            assert refused.status_code == 422, bad
            assert refused.headers["content-type"] == "application/problem+json"
        documented = (await client.get("/openapi.json")).json()["paths"]["/export"]["get"]
        assert documented["description"].startswith("A row per unit. A download: `format`")
        assert set(documented["responses"]["200"]["content"]) == {"text/csv", XLSX_MEDIA_TYPE}
        assert {p["name"] for p in documented["parameters"]} == {"format", "lang"}
