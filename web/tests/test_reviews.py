"""The reviewers' pages against the running system: what the prefecture, the province and the
nation do through the console, as a person would — following the links and forms the pages
render — and what the services hold afterwards.

The applicants' acts and the steps not under test are set up with the `hz` driver and the
Yunnan journeys; every reviewer's act under test goes through the console.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from haizhi.client import Person, eventually
from haizhi.flows import HaiZhi
from haizhi.journeys import (
    YUNNAN_CALL,
    Case,
    apply,
    beijing,
    designate,
    prefecture_forward,
    province_accept,
)
from haizhi.people import CAST, KMUST, KUNMING_HTZ, KUNMING_UNIVERSITY, QUJING_EDZ, Unit
from shared.auth import Role
from web.errors import explain

from .forms import FormClient, Page
from .stories import ZH, sign_in, yunnan_call, zh


def refusal(status: int, code: str, language: str) -> str:
    """What the console says of a service's refusal, in `language`."""
    gettext = ZH.gettext if language == "zh" else str
    return explain(status, {"code": code}, gettext).message


@dataclass
class Story:
    """What the module's tests share: one call of Yunnan and the applications under it."""

    call_id: str
    htz: Case  # via the Kunming CAST: forwarded and accepted through the console
    kmust: Case  # direct to the province: accepted by the driver, then ranked
    kmu: Case  # via the Kunming CAST: returned for revision by the province
    qjedz: Case  # via the Qujing CAST: rejected by the province


@pytest.fixture(scope="module")
def story(hz: HaiZhi) -> Story:
    call_id = yunnan_call(hz, details=YUNNAN_CALL)
    cases = [
        apply(hz, unit, call_id) for unit in (KUNMING_HTZ, KMUST, KUNMING_UNIVERSITY, QUJING_EDZ)
    ]
    return Story(call_id, *cases)


@pytest.fixture
def browsers(console_url: str) -> Iterator[list[FormClient]]:
    """More browsers, for the people of one test beyond the first."""
    opened: list[FormClient] = []
    yield opened
    for client in opened:
        client.close()


def another(console_url: str, browsers: list[FormClient]) -> FormClient:
    client = FormClient(console_url)
    browsers.append(client)
    return client


def open_from_queue(browser: FormClient, case: Case) -> Page:
    """The review as its reviewer reaches it: the queue's link to it."""
    queue = browser.get("/review/queue")
    assert queue.status == 200
    link = f"/review/cases/{case.review_id}"
    assert f'href="{link}"' in queue.html, queue.text
    assert queue.says(case.unit.name)
    assert queue.says("2022-04-30 24:00")  # the call's deadline, a CST date
    return browser.get(link)


def declare_no_conflict(browser: FormClient, page: Page, case: Case) -> Page:
    return browser.submit(page, f"/review/cases/{case.review_id}/declaration", button="no")


def dossier_of(browser: FormClient, case: Case) -> Page:
    """The review's page with its dossier: after the declaration, if not declared yet."""
    page = browser.get(f"/review/cases/{case.review_id}")
    if page.has_form(f"/review/cases/{case.review_id}/declaration"):
        page = declare_no_conflict(browser, page, case)
    assert "/files/" in page.html, page.text
    return page


# --- the review chain --------------------------------------------------------------------


def test_the_prefecture_declares_then_reads_the_dossier_and_forwards(
    hz: HaiZhi, story: Story, browser: FormClient
) -> None:
    case = story.htz
    sign_in(browser, CAST.kunming)
    page = open_from_queue(browser, case)
    # Before the declaration: no dossier, no file, no decision.
    assert page.says(zh("Conflict-of-interest declaration"))
    assert "/files/" not in page.html
    assert not page.has_form(f"/review/cases/{case.review_id}/forward")
    assert browser.http.get(f"/review/cases/{case.review_id}/files/{'a' * 64}").status_code == 403

    page = declare_no_conflict(browser, page, case)
    assert page.says(zh("You declared no conflict of interest: the dossier is open to you."))
    # The Annex 2 form under the labels the form writes, and its five files.
    assert page.says(
        "基地所在地",
        "承担单位",
        "常设联系人",
        "电子信箱",
        "资金情况（万元）",
        "配套资金",
        "填表单位意见",
    )
    assert page.says(KUNMING_HTZ.name, "三年内引进海外高层次人才20名，落地合作项目10项。")
    submitted = hz.application.application(CAST.kunming, case.application_id)["submitted"]
    for file in submitted["files"]:
        assert f"/review/cases/{case.review_id}/files/{file['sha256']}" in page.html
    # A PDF previewed on the page, served inline from the application service.
    first = submitted["files"][0]
    preview = browser.get(f"/review/cases/{case.review_id}", preview=first["sha256"])
    assert "<iframe" in preview.html
    served = browser.http.get(f"/review/cases/{case.review_id}/files/{first['sha256']}")
    assert served.status_code == 200
    assert served.headers["content-type"] == "application/pdf"
    assert served.headers["content-disposition"].startswith("inline")
    assert served.headers["x-frame-options"] == "SAMEORIGIN"
    assert served.content.startswith(b"%PDF")

    # Scores at the prefecture's level, then the forward with an opinion.
    page = browser.submit(
        page,
        f"/review/cases/{case.review_id}/scores",
        {"score_organisation": "85", "score_overseas_channels": "78"},
    )
    assert page.says(zh("Your scores are recorded."), "163")
    page = browser.submit(
        page, f"/review/cases/{case.review_id}/forward", {"opinion": "材料齐全，同意推荐至省科协。"}
    )
    assert page.says(zh("The application is forwarded to the provincial CAST."))
    assert hz.review.review(CAST.kunming, case.review_id)["level"] == "province"
    assert not page.has_form(f"/review/cases/{case.review_id}/forward")


def test_acting_twice_is_explained_in_both_languages(story: Story, browser: FormClient) -> None:
    """Three tabs opened before the forward: the others' forwards are refused, and the page
    says why and what to do, in Chinese and then in English."""
    case = story.kmu
    sign_in(browser, CAST.kunming)
    dossier_of(browser, case)
    tabs = [browser.get(f"/review/cases/{case.review_id}") for _ in range(3)]
    action = f"/review/cases/{case.review_id}/forward"
    done = browser.submit(tabs[0], action, {"opinion": "同意推荐。"})
    assert done.says(zh("The application is forwarded to the provincial CAST."))
    told = browser.submit(tabs[1], action, {"opinion": "同意推荐。"})
    assert told.status == 200
    assert told.says(refusal(409, "level-mismatch", "zh"))
    assert told.says(zh("Reload the page to see where the review stands now."))
    browser.submit(browser.get("/"), "/language", button="en")
    told = browser.submit(tabs[2], action, {"opinion": "同意推荐。"})
    assert told.says(refusal(409, "level-mismatch", "en"))
    assert told.says("Reload the page to see where the review stands now.")


def test_the_province_accepts_returns_and_rejects(
    hz: HaiZhi, story: Story, browser: FormClient, console_url: str, browsers: list[FormClient]
) -> None:
    # The prefecture CASTs forwarded their units' applications (the driver, where not yet).
    for forwarded in (story.htz, story.kmu, story.qjedz):
        if hz.review.review(CAST.province_intake, forwarded.review_id)["level"] == "prefecture":
            prefecture_forward(hz, forwarded)
    sign_in(browser, CAST.province_intake)

    # Accept, after recording the receipt of the paper file (收件记录).
    case = story.htz
    page = open_from_queue(browser, case)
    assert "/files/" not in page.html
    page = declare_no_conflict(browser, page, case)
    page = browser.submit(
        page,
        f"/review/cases/{case.review_id}/receipt",
        {"received_on": "2022-01-01", "recipient": "王芳", "paper_copies": "3"},
    )
    assert page.says(zh("The receipt of the paper file is recorded."))
    receipt = hz.application.application(CAST.province_intake, case.application_id)["receipt"]
    assert receipt["received_on"] == "2022-01-01"
    assert receipt["paper_copies"] == 3
    page = browser.submit(
        page, f"/review/cases/{case.review_id}/accept", {"opinion": "形式审查通过。"}
    )
    assert page.says(zh("The application passed provincial intake."))
    assert (
        hz.review.review(CAST.province_intake, case.review_id)["level"] == "province_recommendation"
    )

    # Return for revision, one reason per line: the unit sees them.
    case = story.kmu
    page = dossier_of(browser, case)
    assert page.has_form(f"/review/cases/{case.review_id}/return-to-prefecture")
    reasons = "支持函未加盖地方政府公章。\n\n基地建设方案缺少经费预算。\n"
    page = browser.submit(page, f"/review/cases/{case.review_id}/return", {"reasons": reasons})
    assert page.says(zh("The application is returned to the unit for revision, with your reasons."))
    returned = hz.application.wait_application(
        case.unit.contact, case.application_id, lambda a: a["status"] == "returned", "returned"
    )
    assert returned["decision"]["reasons"] == [
        "支持函未加盖地方政府公章。",
        "基地建设方案缺少经费预算。",
    ]
    page = browser.get(f"/review/cases/{case.review_id}")
    assert page.says("支持函未加盖地方政府公章。")

    # Reject (final), in English this time.
    english = another(console_url, browsers)
    sign_in(english, CAST.province_intake, "en")
    case = story.qjedz
    page = declare_no_conflict(english, english.get(f"/review/cases/{case.review_id}"), case)
    assert page.says("Rejection is final")
    empty = english.submit(page, f"/review/cases/{case.review_id}/reject", {"reasons": "  \n "})
    assert empty.says("This decision needs its reasons.")
    page = english.submit(
        empty, f"/review/cases/{case.review_id}/reject", {"reasons": "不属于申报对象范围。"}
    )
    assert page.says("The application is rejected; the unit will see your reasons.")
    hz.application.wait_application(
        case.unit.contact, case.application_id, lambda a: a["status"] == "rejected", "rejected"
    )
    assert hz.review.review(CAST.province_intake, case.review_id)["status"] == "rejected"


def test_the_province_ranks_two_candidates(hz: HaiZhi, story: Story, browser: FormClient) -> None:
    province_accept(hz, story.kmust)
    if hz.review.review(CAST.province_intake, story.htz.review_id)["level"] == "province":
        province_accept(hz, story.htz)  # when run alone
    path = f"/calls/{story.call_id}/ranking"

    def both() -> bool:
        found = hz.review.find(path, CAST.province_ranker)
        ids = {c["application_id"] for c in (found or {}).get("candidates", [])}
        return {story.htz.application_id, story.kmust.application_id} <= ids

    eventually(both, "two candidates in the ranking")
    sign_in(browser, CAST.province_ranker)
    rankings = browser.get("/review/rankings")
    assert f'href="/review/rankings/{story.call_id}"' in rankings.html
    page = browser.get(f"/review/rankings/{story.call_id}")
    assert page.says(KMUST.name, KUNMING_HTZ.name)
    action = f"/review/rankings/{story.call_id}"
    # Without the declaration, or with a candidate neither ranked nor given reasons: refused.
    page = browser.submit(page, action, {f"rank_{story.kmust.application_id}": "1"})
    assert page.says(zh("Declare first that you have no conflict of interest."))
    page = browser.submit(
        page, action, {f"rank_{story.kmust.application_id}": "1", "no_conflict": "yes"}
    )
    assert page.says(
        zh("Each candidate is either given an order number or not recommended with reasons.")
    )
    page = browser.submit(
        page,
        action,
        {
            f"rank_{story.kmust.application_id}": "1",
            f"reasons_{story.htz.application_id}": "海外合作渠道尚需拓展。",
            "no_conflict": "yes",
        },
    )
    assert page.says(
        zh(
            "The ranked recommendation list is submitted to the CAST international liaison "
            "department; it is final."
        )
    )
    ranking = hz.review.get(path, CAST.province_ranker)
    assert ranking["status"] == "submitted"
    assert [c["application_id"] for c in ranking["recommended"]] == [story.kmust.application_id]
    others = [c for c in ranking["candidates"] if c["status"] == "not_recommended"]
    assert others[0]["reasons"] == ["海外合作渠道尚需拓展。"]
    assert page.says("海外合作渠道尚需拓展。")
    assert not page.has_form(action)


# --- fairness and reach ------------------------------------------------------------------


#: A second reviewer of the national department, who knows the applicant unit.
QIAN = Person("qianjun", "钱军", (Role.NATIONAL_REVIEWER,), "cast-ild", ("CN",))


def test_a_declared_conflict_recuses_the_reviewer(story: Story, browser: FormClient) -> None:
    case = story.kmust
    sign_in(browser, QIAN)
    page = browser.get(f"/review/cases/{case.review_id}")
    action = f"/review/cases/{case.review_id}/declaration"
    empty = browser.submit(page, action, button="yes")
    assert empty.says(zh("A declared conflict of interest needs its reason."))
    page = browser.submit(empty, action, {"reason": "本人曾在该校任职。"}, button="yes")
    assert page.says(
        zh(
            "You declared a conflict of interest and are recused from this review: another "
            "reviewer will take it. You will not see its dossier."
        )
    )
    assert "/files/" not in page.html
    # The recused reviewer cannot take it back.
    page = browser.submit(page, action, button="no")
    assert page.says(refusal(403, "reviewer-recused", "zh"))
    assert "/files/" not in page.html


def test_other_roles_and_jurisdictions_are_refused(
    story: Story, browser: FormClient, console_url: str, browsers: list[FormClient]
) -> None:
    # The Qujing CAST does not see a Kunming unit's review, nor its registration.
    sign_in(browser, CAST.qujing)
    page = browser.get(f"/review/cases/{story.htz.review_id}")
    assert page.status == 404
    page = browser.get("/review/queue")
    assert not page.says(KUNMING_HTZ.name)
    # An applicant has no reviewer's pages.
    unit = another(console_url, browsers)
    sign_in(unit, KUNMING_HTZ.contact)
    for path in ("/review/queue", f"/review/cases/{story.htz.review_id}", "/review/units"):
        assert unit.get(path).status == 403
    # A prefecture reviewer neither opens calls nor ranks.
    kunming = another(console_url, browsers)
    sign_in(kunming, CAST.kunming)
    assert kunming.get("/review/calls/new").status == 403
    assert kunming.get(f"/review/rankings/{story.call_id}").status == 403


def test_bad_ids_and_malformed_values_are_never_a_500(story: Story, browser: FormClient) -> None:
    sign_in(browser, CAST.province_intake)
    for path in (
        "/review/cases/NO-SUCH-REVIEW",
        "/review/cases/a%20b%3Fc",
        "/review/cases/abc%0A",
        f"/review/cases/{story.htz.review_id}/files/not-a-hash",
        f"/review/cases/{story.htz.review_id}/files/{'0' * 64}",
        "/review/units/no-such-unit",
        "/review/calls/NO-SUCH-CALL",
        "/review/rankings/NO-SUCH-CALL",
        "/review/renewals/NO-SUCH-RENEWAL",
    ):
        page = browser.get(path)
        assert page.status == 404, (path, page.status)
        assert page.says(zh("Back to the start page"))
    page = browser.get("/review/applications/NO-SUCH-APPLICATION")
    assert page.status == 404
    assert page.says(zh("No review yet"))
    for query in (
        {"reviews_cursor": "garbage"},
        {"order": "newest", "reviews_from": "-3"},
        {"order": "newest", "renewals_from": "²"},
        {"order": "sideways", "rankings_from": "9" * 40},
    ):
        assert browser.get("/review/queue", **query).status == 200
    assert browser.get("/review/units", status="nonsense", cursor="../..").status == 200
    # Malformed numbers and dates in a form: told on the page, nothing sent.
    page = dossier_of(browser, story.kmust)
    page = browser.submit(
        page,
        f"/review/cases/{story.kmust.review_id}/receipt",
        {"received_on": "30/04/2022", "recipient": "王芳", "paper_copies": "5"},
    )
    assert page.status == 200
    assert page.says(zh("A date is written as year-month-day, for example 2022-04-30."))
    new_call = browser.get("/review/calls/new")
    page = browser.submit(
        new_call,
        "/review/calls",
        {"year": "二〇二二", "title": "x", "deadline_on": "2022-04-30"},
    )
    assert page.status == 200
    assert page.says(zh("Correct the number and send the form again."))


# --- registrations and calls ---------------------------------------------------------------

KUNMING_BIO = Unit.of(
    "unit-kmbio",
    "昆明生物医药产业园管理委员会",
    "park",
    "5301",
    address="云南省昆明市官渡区生物医药产业园1号",
    postcode="650200",
    contact=("sunyu", "孙宇"),
)
KUNMING_SOFT = Unit.of(
    "unit-kmsoft",
    "昆明软件园管理委员会",
    "park",
    "5301",
    address="云南省昆明市五华区软件园2号",
    postcode="650100",
    contact=("zhoujie", "周杰"),
)


def registration(hz: HaiZhi, unit: Unit, unit_id: str) -> dict[str, Any]:
    found = hz.application.unit(unit.contact, unit_id)
    assert found is not None
    return found


def test_the_prefecture_verifies_one_registration_and_returns_another(
    hz: HaiZhi, browser: FormClient
) -> None:
    bio = hz.application.register_unit(KUNMING_BIO.contact, KUNMING_BIO.registration())
    soft = hz.application.register_unit(KUNMING_SOFT.contact, KUNMING_SOFT.registration())
    sign_in(browser, CAST.kunming)
    listing = browser.get("/review/units")
    assert listing.says(KUNMING_BIO.name, KUNMING_SOFT.name, KUNMING_BIO.credit_code)

    page = browser.get(f"/review/units/{bio['unit_id']}")
    page = browser.submit(page, f"/review/units/{bio['unit_id']}/verify", {"opinion": "材料属实。"})
    assert page.says(zh("The registration is verified: the unit may now apply."))
    assert registration(hz, KUNMING_BIO, bio["unit_id"])["status"] == "verified"

    page = browser.get(f"/review/units/{soft['unit_id']}")
    stale = browser.get(f"/review/units/{soft['unit_id']}")
    page = browser.submit(
        page,
        f"/review/units/{soft['unit_id']}/return",
        {"reasons": "统一社会信用代码与营业执照不符。\n单位地址不完整。"},
    )
    assert page.says(zh("The registration is returned to the unit with your reasons."))
    returned = registration(hz, KUNMING_SOFT, soft["unit_id"])
    assert returned["status"] == "returned"
    assert returned["reasons"] == ["统一社会信用代码与营业执照不符。", "单位地址不完整。"]
    # Verifying it from a tab opened before the return: refused, and said so.
    told = browser.submit(stale, f"/review/units/{soft['unit_id']}/verify")
    assert told.says(refusal(409, "unit-not-pending", "zh"))
    assert registration(hz, KUNMING_SOFT, soft["unit_id"])["status"] == "returned"
    listing = browser.get("/review/units")
    assert not listing.says(KUNMING_BIO.name)


def test_the_province_opens_a_call(hz: HaiZhi, browser: FormClient) -> None:
    sign_in(browser, CAST.province_intake, "en")
    page = browser.get("/review/calls")
    assert 'href="/review/calls/new"' in page.html
    page = browser.get("/review/calls/new")
    page = browser.submit(
        page,
        "/review/calls",
        {
            "year": "2023",
            "title": "2023年度中国科协海智计划工作基地申报",
            "deadline_on": "2023-04-30",
            "paper_copies": "5",
            "allows_workstation": "yes",
            "additional_materials": "单位简介\n",
            "contact_name_1": "毛发强",
            "contact_phone_1": "0871-63103381",
            "contact_email_1": "ynskxgjb@126.com",
            "submission_address": "昆明市护国路26号省科协办公大楼508室",
            "submission_postcode": "650021",
            "submission_recipient": "云南省科协国际部 毛发强",
        },
    )
    assert page.says("The call for applications is open: units of the province may apply.")
    assert page.says("2023-04-30 24:00", "毛发强", "单位简介")
    calls = hz.application.get("/calls", CAST.province_intake, province="53")["items"]
    opened = next(c for c in calls if c["title"] == "2023年度中国科协海智计划工作基地申报")
    assert opened["paper_copies"] == 5
    assert opened["allows_workstation"] is True
    assert opened["submission_address"]["postcode"] == "650021"
    assert page.url.endswith(f"/review/calls/{opened['call_id']}")


# --- renewal requests (Art. 14) -----------------------------------------------------------


def test_a_renewal_is_passed_on_by_the_province_and_assessed_at_the_nation(
    hz: HaiZhi, story: Story, browser: FormClient, console_url: str, browsers: list[FormClient]
) -> None:
    """The recommended base is designated (the driver), its unit asks for renewal in the last
    90 days of its term; the province passes the request on and the nation asks for the
    renewal assessment, through the console. Last in the module: it moves the clock on."""
    case = story.kmust
    review = hz.review.review(CAST.national, case.review_id)
    assert review["level"] == "national", "ranked by test_the_province_ranks_two_candidates"
    base_id = designate(
        hz, case, meeting_ref="海智计划领导小组2022年第1次会议", approval_no="科协办函〔2022〕15号"
    ).base_id
    hz.settle()
    hz.clock.to(beijing(2026, 11, 2))
    hz.settle()
    renewal_id = hz.application.request_renewal(
        KMUST.contact, base_id, "本基地五年来引进海外专家40名，申请续期。"
    )

    sign_in(browser, CAST.province_intake)

    def listed() -> Page | None:
        queue = browser.get("/review/queue")
        return queue if f'href="/review/renewals/{renewal_id}"' in queue.html else None

    queue = eventually(listed, "the renewal request in the province's queue")
    assert queue.says(KMUST.name, "2026-12-31")
    page = browser.get(f"/review/renewals/{renewal_id}")
    assert page.says("本基地五年来引进海外专家40名，申请续期。")
    action = f"/review/renewals/{renewal_id}/forward"
    page = browser.submit(page, action, {"opinion": "材料齐全，同意转报。"})
    assert page.says(zh("Declare first that you have no conflict of interest."))
    page = browser.submit(page, action, {"opinion": "材料齐全，同意转报。", "no_conflict": "yes"})
    assert page.says(
        zh("The renewal request is passed on to the CAST international liaison department.")
    )
    assert hz.review.get(f"/renewals/{renewal_id}", CAST.national)["level"] == "national"

    nation = another(console_url, browsers)
    sign_in(nation, CAST.national, "en")
    page = nation.get(f"/review/renewals/{renewal_id}")
    page = nation.submit(
        page, f"/review/renewals/{renewal_id}/assessment-request", {"no_conflict": "yes"}
    )
    assert page.says(
        "The renewal assessment is asked for: it appears among the renewal assessments."
    )
    renewal = hz.review.get(f"/renewals/{renewal_id}", CAST.national)
    assert renewal["status"] == "awaiting_assessment"
