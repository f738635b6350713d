"""The public certificate check against the running system, by someone who never signs in.

昆明理工大学 is designated on 1 July 2022 (set up with the driver) and holds certificate
HZJD-2022-0001. Its number typed into the form, or the address its QR code points to, shows
the certificate valid with the unit, term and plaque; an unknown or malformed number is a
clear 404 page, never a 500; and nothing on the way asks anyone to sign in.
"""

from __future__ import annotations

from urllib.parse import quote

import pytest

from haizhi.flows import HaiZhi
from haizhi.journeys import Case

from .forms import FormClient, Page
from .stories import designated, zh


@pytest.fixture(scope="module")
def case(hz: HaiZhi) -> Case:
    """昆明理工大学's application of 2022, designated on 1 July."""
    (found,) = designated(hz)
    return found


def check(browser: FormClient, number: str) -> Page:
    """The check form, filled in and sent as a browser sends a GET form."""
    page = browser.get("/certificates")
    assert page.status == 200
    form = page.form("/certificates")
    assert form.method == "get"
    assert "number" in form.names
    return browser.get("/certificates", **{**form.fields, "number": number})


def never_signed_in(browser: FormClient, page: Page) -> None:
    assert "/signin" not in page.url
    assert "退出登录" not in page.text
    assert "Sign out" not in page.text
    assert browser.http.get("/", follow_redirects=False).headers["location"].startswith("/signin")


def test_the_number_typed_shows_the_certificate_valid(
    browser: FormClient, hz: HaiZhi, case: Case
) -> None:
    assert case.certificate_no == "HZJD-2022-0001"
    page = check(browser, f" {case.certificate_no} ")
    assert page.status == 200
    assert page.url.endswith(f"/certificates/{case.certificate_no}")
    assert page.says("证书 HZJD-2022-0001", "✓ 该证书有效。", "昆明理工大学")
    assert page.says("2022-07-01 至 2027-06-30", "中国科协海智计划工作基地")
    service = hz.review.check_certificate(case.certificate_no)
    assert service["designation_hash"] in page.text
    never_signed_in(browser, page)


def test_the_qr_codes_address_in_english(browser: FormClient, case: Case) -> None:
    page = browser.get(f"/certificates/{case.certificate_no}")
    english = browser.submit(page, "/language", button="en")
    assert english.status == 200
    assert english.url.endswith(f"/certificates/{case.certificate_no}")
    assert english.says("This certificate is valid.", "2022-07-01 to 2027-06-30", "Valid")
    assert english.says("CAST HaiZhi Plan work base (national)", "中国科协海智计划工作基地")
    never_signed_in(browser, english)


def test_a_bogus_number_is_no_such_certificate(browser: FormClient, case: Case) -> None:
    page = check(browser, "HZJD-2099-9999")
    assert page.status == 404
    assert page.says("查无此证书", "没有编号为“HZJD-2099-9999”的证书。")
    assert page.has_form("/certificates")  # and the form to try again
    never_signed_in(browser, page)


@pytest.mark.parametrize(
    "path",
    [
        "/certificates/" + quote("云海智站-2099-001"),
        "/certificates/" + "9" * 61,
        "/certificates/" + "9" * 5000,
        "/certificates/a%2Fb",
        "/certificates/a/b/c",
        "/certificates/%00",
        "/certificates/%20",
        "/certificates/..%2F..%2Fqueue",
        "/certificates/%E2%80%AE%3Cscript%3E",
    ],
)
def test_a_malformed_number_is_the_same_404_never_a_500(
    browser: FormClient, case: Case, path: str
) -> None:
    page = browser.get(path)
    assert page.status == 404, page.text
    assert page.says(zh("No such certificate"))
    assert "<script>" not in page.html


def test_an_empty_form_asks_for_the_number(browser: FormClient) -> None:
    page = check(browser, "   ")
    assert page.status == 200
    assert page.says(zh("Type the certificate number first."))
    never_signed_in(browser, page)
