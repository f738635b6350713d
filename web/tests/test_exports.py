"""Search, statistics and exports in the console, against the running system.

昆明理工大学 is designated on 1 July 2022 (set up with the driver). The provincial CAST finds
its application and its base by two characters of its name; Qujing's CAST, whose jurisdiction
does not hold it, finds nothing; the dashboard counts it, and the exports download as CSV (UTF-8
with BOM) and XLSX holding what the services hold.
"""

from __future__ import annotations

import csv
import io

import pytest
from openpyxl import load_workbook

from haizhi.flows import HaiZhi
from haizhi.journeys import Case
from haizhi.people import CAST, KMUST

from .forms import FormClient
from .stories import ZH, designated, sign_in


@pytest.fixture(scope="module")
def case(hz: HaiZhi) -> Case:
    (found,) = designated(hz)
    return found


def test_the_province_finds_the_university_by_two_characters_of_its_name(
    browser: FormClient, case: Case
) -> None:
    sign_in(browser, CAST.province_intake)
    home = browser.get("/")
    assert 'href="/search"' in home.html
    assert 'href="/statistics"' in home.html
    for q in ("理工", "昆明", KMUST.credit_code):
        page = browser.get(f"/search?q={q}")
        assert page.status == 200, q
        assert page.says("昆明理工大学", case.application_id), q
    bases = browser.get("/search?q=理工&kind=bases")
    assert bases.says("昆明理工大学", case.base_id)
    nothing = browser.get("/search?q=北京")
    assert nothing.says(ZH.gettext("Nothing within your reach matches."))


def test_search_keeps_to_the_jurisdiction_and_the_roles(browser: FormClient, case: Case) -> None:
    sign_in(browser, CAST.qujing)
    page = browser.get("/search?q=理工")
    assert page.status == 200
    assert "昆明理工大学" not in page.text
    sign_in(browser, KMUST)
    assert browser.get("/search?q=理工").status == 403
    assert browser.get("/statistics").status == 403
    assert browser.http.get("/exports/applications.csv").status_code == 403


def test_the_dashboard_counts_the_case_and_the_exports_hold_it(
    browser: FormClient, case: Case
) -> None:
    sign_in(browser, CAST.province_intake)
    page = browser.get("/statistics")
    assert page.status == 200
    assert page.says(ZH.gettext("Applications per stage and province"), "53")
    answer = browser.http.get("/exports/applications.csv")
    assert answer.status_code == 200
    assert answer.content.startswith(b"\xef\xbb\xbf")
    rows = list(csv.DictReader(io.StringIO(answer.content.decode("utf-8-sig"))))
    assert [(r["申报编号"], r["申报单位"]) for r in rows] == [(case.application_id, "昆明理工大学")]
    book = browser.http.get("/exports/bases.xlsx")
    assert book.status_code == 200
    ws = load_workbook(io.BytesIO(book.content)).active
    assert ws is not None
    assert [r[:2] for r in ws.iter_rows(min_row=2, values_only=True)] == [
        (case.base_id, "昆明理工大学")
    ]
    cases = browser.http.get("/exports/cases.csv?year=2022")
    assert cases.status_code == 200
    assert "昆明" not in cases.content.decode("utf-8-sig")  # figures, not names


def test_finance_sees_the_funds_per_year_and_downloads_the_reconciliation(
    browser: FormClient, case: Case
) -> None:
    sign_in(browser, CAST.finance_approver)
    page = browser.get("/statistics")
    assert page.status == 200
    assert page.says(ZH.gettext("Subsidy funds per year"), "2022", "200,000.00 元")
    book = browser.http.get("/exports/reconciliation.xlsx")
    assert book.status_code == 200
    ws = load_workbook(io.BytesIO(book.content)).active
    assert ws is not None
    assert ws.cell(1, 1).value == "范围"
    assert browser.http.get("/exports/cases.csv").status_code == 403
    recon = browser.get("/finance/reconciliation")
    assert 'href="/exports/reconciliation.xlsx"' in recon.html


@pytest.mark.parametrize(
    "path",
    [
        "/search?q=！！",
        "/search?q=" + "x" * 200,
        "/search?q=理工&kind=people",
        "/search?q=理工&cursor=%00",
        "/statistics?year=1999",
        "/exports/nothing.csv",
        "/exports/cases.pdf",
        "/exports/cases.csv?year=abc",
    ],
)
def test_no_search_or_export_fails_on_what_a_client_sends(
    browser: FormClient, case: Case, path: str
) -> None:
    sign_in(browser, CAST.province_intake)
    answer = browser.http.get(path)
    assert 400 <= answer.status_code < 500, (path, answer.status_code)
