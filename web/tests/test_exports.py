"""Search, statistics and exports in the console, against the running system.

昆明理工大学 is designated on 1 July 2022 (set up with the driver). The provincial CAST finds
its application and its base by two characters of its name; Qujing's CAST, whose jurisdiction
does not hold it, finds nothing; the dashboard counts it, and the exports download as CSV (UTF-8
with BOM) and XLSX holding what the services hold. The province's ranking page and, once the
base is graded for 2022 (in January 2023), the year's grade-list page link their exports too;
those who may not see the page are refused the file as well.
"""

from __future__ import annotations

import csv
import io
from urllib.parse import quote

import httpx
import pytest
from openpyxl import load_workbook

from haizhi.flows import HaiZhi
from haizhi.journeys import EXCELLENT, Case, assess_year, beijing, report_year
from haizhi.people import CAST, KMUST

from .forms import FormClient
from .stories import ZH, designated, sign_in


@pytest.fixture(scope="module")
def case(hz: HaiZhi) -> Case:
    (found,) = designated(hz)
    return found


@pytest.fixture(scope="module")
def graded(hz: HaiZhi, case: Case) -> Case:
    """The base's 2022 report filed in December and forwarded; graded excellent on the list
    the leading group approves in January 2023."""
    hz.clock.to(beijing(2022, 12, 5))
    report_year(hz, case, 2022)
    hz.clock.to(beijing(2023, 1, 15))
    assess_year(hz, 2022, {case.base_id: EXCELLENT}, meeting_ref="海智计划领导小组2023年第1次会议")
    return case


def rows_of(answer: httpx.Response) -> list[dict[str, str]]:
    """A CSV download's rows: UTF-8 with a byte-order mark, headed in Chinese."""
    assert answer.status_code == 200
    assert answer.content.startswith(b"\xef\xbb\xbf")
    return list(csv.DictReader(io.StringIO(answer.content.decode("utf-8-sig"))))


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
        "/exports/ranking.csv",
        "/exports/ranking.csv?call_id=%00",
        "/exports/ranking.xlsx?call_id=nothing",
    ],
)
def test_no_search_or_export_fails_on_what_a_client_sends(
    browser: FormClient, case: Case, path: str
) -> None:
    sign_in(browser, CAST.province_intake)
    answer = browser.http.get(path)
    assert 400 <= answer.status_code < 500, (path, answer.status_code)


def test_the_ranking_page_links_its_export_which_holds_the_ranking(
    browser: FormClient, case: Case
) -> None:
    sign_in(browser, CAST.province_ranker)
    page = browser.get(f"/review/rankings/{case.call_id}")
    assert page.status == 200
    link = f"/exports/ranking.csv?call_id={case.call_id}"
    assert f'href="{link}"' in page.html
    assert f'href="/exports/ranking.xlsx?call_id={case.call_id}"' in page.html
    answer = browser.http.get(link)
    rows = rows_of(answer)
    assert [(r["推荐排序"], r["申报编号"], r["申报单位"], r["状态"]) for r in rows] == [
        ("1", case.application_id, "昆明理工大学", "recommended")
    ]
    assert quote("择优推荐排序.csv") in answer.headers["content-disposition"]
    book = browser.http.get(f"/exports/ranking.xlsx?call_id={case.call_id}")
    assert book.status_code == 200
    ws = load_workbook(io.BytesIO(book.content)).active
    assert ws is not None
    assert [r[:3] for r in ws.iter_rows(min_row=2, values_only=True)] == [
        (1, case.application_id, "昆明理工大学")
    ]


def test_the_ranking_export_is_the_provincial_reviewers_alone(
    browser: FormClient, case: Case
) -> None:
    link = f"/exports/ranking.csv?call_id={case.call_id}"
    for someone in (KMUST, CAST.qujing, CAST.national):
        sign_in(browser, someone)
        assert browser.get(f"/review/rankings/{case.call_id}").status == 403
        assert browser.http.get(link).status_code == 403


def test_the_grade_list_page_links_its_export_which_holds_the_list(
    browser: FormClient, graded: Case
) -> None:
    sign_in(browser, CAST.national)
    page = browser.get("/grade-lists/2022")
    assert page.status == 200
    link = "/exports/grade-list.csv?year=2022"
    assert f'href="{link}"' in page.html
    assert 'href="/exports/grade-list.xlsx?year=2022"' in page.html
    answer = browser.http.get(link)
    rows = rows_of(answer)
    assert [(r["基地编号"], r["依托单位"], r["建议等次"], r["确定等次"]) for r in rows] == [
        (graded.base_id, "昆明理工大学", "excellent", "excellent")
    ]
    assert quote("2022年度考核等次名单.csv") in answer.headers["content-disposition"]
    # No list for 2023 yet: no link, and the file is not found.
    assert 'href="/exports/grade-list' not in browser.get("/grade-lists/2023").html
    assert browser.http.get("/exports/grade-list.csv?year=2023").status_code == 404
    sign_in(browser, CAST.leading_group, "en")
    book = browser.http.get("/exports/grade-list.xlsx?year=2022")
    assert book.status_code == 200
    ws = load_workbook(io.BytesIO(book.content)).active
    assert ws is not None
    assert ws.cell(1, 7).value == "Final grade"  # the visitor's language
    assert [r[:2] for r in ws.iter_rows(min_row=2, values_only=True)] == [
        (graded.base_id, "昆明理工大学")
    ]


def test_the_grade_list_export_keeps_to_those_who_see_the_list(
    browser: FormClient, graded: Case
) -> None:
    for someone in (KMUST, CAST.province_intake, CAST.general_office):
        sign_in(browser, someone)
        assert browser.get("/grade-lists/2022").status == 403
        assert browser.http.get("/exports/grade-list.csv?year=2022").status_code == 403
