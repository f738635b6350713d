"""The documents pages against the running system: 昆明理工大学's base, designated on 1 July
2022, and its papers.

The general office issues the approval (批复) and the plaque certificate from the review's page
of documents and downloads them; issuing again changes nothing; the unit prints its Annex 2
form; the auditor checks the downloaded certificate (found), a changed copy and a pasted hash
(not found), and a file that is no PDF (refused, in both languages); a reviewer of another
province reaches none of it. The tests run in this order and share the one system of the module.
"""

from __future__ import annotations

import hashlib
import re

import pytest

from haizhi.client import Person
from haizhi.flows import HaiZhi
from haizhi.journeys import Case
from haizhi.people import CAST, KMUST
from shared.auth import Role
from shared.testkit import pdf

from .forms import FormClient, Page
from .stories import designated, flash_of, in_english, sign_in, zh

GUIZHOU = Person("yangfan", "杨帆", (Role.PROVINCE_REVIEWER,), "cast-gz", ("52",))


@pytest.fixture(scope="module")
def case(hz: HaiZhi) -> Case:
    (found,) = designated(hz)
    return found


def review_documents(browser: FormClient, case: Case) -> Page:
    """From the approval's page, its link to the review's documents."""
    approval = browser.get(f"/approvals/{case.review_id}")
    assert approval.status == 200, approval.text
    link = f"/documents/reviews/{case.review_id}"
    assert f'href="{link}"' in approval.html
    return browser.get(link)


def test_the_general_office_issues_the_approval_and_the_certificate(
    browser: FormClient, case: Case
) -> None:
    sign_in(browser, CAST.general_office)
    page = review_documents(browser, case)
    assert page.says(zh("No document has been issued yet."))
    for kind in ("approval", "certificate"):
        done = browser.submit(page, f"/documents/reviews/{case.review_id}/{kind}")
        assert done.status == 200, done.text
        assert zh("The document is issued, and its SHA-256 recorded in the event stream.") in (
            flash_of(done)
        )
        page = done
    assert page.says(zh("Approval (批复)"), zh("Plaque certificate"), "zhoumin")
    again = browser.submit(page, f"/documents/reviews/{case.review_id}/certificate")
    assert zh("Nothing has changed since this document was issued: it is the same document.") in (
        flash_of(again)
    )


def test_the_downloaded_certificate_is_the_one_the_stream_records(
    browser: FormClient, hz: HaiZhi, case: Case
) -> None:
    sign_in(browser, CAST.general_office)
    listed = hz.review.get(f"/reviews/{case.review_id}/documents", CAST.auditor)["items"]
    certificate = next(d for d in listed if d["kind"] == "certificate")
    path = f"/documents/reviews/{case.review_id}/certificate/{certificate['document_id']}.pdf"
    assert f'href="{path}"' in browser.get(f"/documents/reviews/{case.review_id}").html
    served = browser.http.get(path)
    assert served.status_code == 200
    assert served.headers["content-type"] == "application/pdf"
    assert hashlib.sha256(served.content).hexdigest() == certificate["sha256"]
    text = pdf.text(served.content)
    assert case.certificate_no in text
    assert "昆明理工大学" in text
    assert "中国科协海智计划工作基地" in text


def test_the_unit_prints_its_annex2_form(browser: FormClient, case: Case) -> None:
    sign_in(browser, KMUST)
    overview = browser.get(f"/applications/{case.application_id}")
    link = f"/documents/applications/{case.application_id}"
    assert f'href="{link}"' in overview.html
    page = browser.get(link)
    done = browser.submit(page, f"{link}/form")
    assert done.status == 200, done.text
    download = next(
        href for href in _links(done.html) if href.startswith(f"{link}/") and href.endswith(".pdf")
    )
    content = browser.http.get(download).content
    text = pdf.text(content)
    assert "中国科协海智计划工作基地申报表" in text
    assert "基地所在地" in text


def test_the_auditor_checks_a_pdf_and_a_hash(browser: FormClient, hz: HaiZhi, case: Case) -> None:
    listed = hz.review.get(f"/reviews/{case.review_id}/documents", CAST.auditor)["items"]
    certificate = next(d for d in listed if d["kind"] == "certificate")
    sign_in(browser, CAST.general_office)
    path = f"/documents/reviews/{case.review_id}/certificate/{certificate['document_id']}.pdf"
    content = browser.http.get(path).content

    sign_in(browser, CAST.auditor)
    home = browser.get("/")
    assert 'href="/documents/check"' in home.html
    page = browser.get("/documents/check")
    upload = {"file": ("证书.pdf", content, "application/pdf")}
    found = browser.submit(page, "/documents/check", files=upload)
    assert found.status == 200, found.text
    assert found.says(
        zh("This is a document issued by this system, exactly as recorded."),
        certificate["sha256"],
        zh("Plaque certificate"),
        case.case_id,
    )
    changed = {"file": ("证书.pdf", content.replace(b"/Title", b"/Titlf", 1), "application/pdf")}
    not_found = browser.submit(page, "/documents/check", files=changed)
    nowhere = zh(
        "No document you may see was issued with this SHA-256: the file is not one this system"
        " issued, or it was changed."
    )
    assert not_found.says(nowhere)
    pasted = browser.submit(page, "/documents/check", {"sha256": certificate["sha256"].upper()})
    assert pasted.says(zh("This is a document issued by this system, exactly as recorded."))

    not_pdf = {"file": ("证书.pdf", b"GIF89a not a pdf", "application/pdf")}
    refused = browser.submit(page, "/documents/check", files=not_pdf)
    assert zh("The file is not a PDF.") in flash_of(refused)
    english = in_english(browser, refused)
    again = browser.submit(english, "/documents/check", files=not_pdf)
    assert "The file is not a PDF." in flash_of(again)
    blank = browser.submit(english, "/documents/check", {"sha256": "abc"})
    assert "paste a SHA-256" in flash_of(blank)


def test_a_reviewer_of_another_province_reaches_none_of_it(browser: FormClient, case: Case) -> None:
    sign_in(browser, GUIZHOU)
    assert browser.get(f"/documents/reviews/{case.review_id}").status == 404
    assert browser.get(f"/documents/applications/{case.application_id}").status == 404
    page = browser.get("/documents/check")
    assert page.status == 200
    assert browser.get("/documents/unknown/x").status == 404


def _links(html: str) -> list[str]:
    return re.findall(r'href="([^"]+)"', html)
