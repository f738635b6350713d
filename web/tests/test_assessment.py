"""The assessment pages against the running system: two Yunnan bases' years, told in order.

昆明理工大学 (direct to the province) and 曲靖经济技术开发区管理委员会 (via the Qujing CAST) are
designated on 10 May 2022 with the driver. In December both file their 2022 reports; the
Qujing CAST's 陈静 forwards hers through the console (the national department could not score
it before: refused in both languages). In January 2023 赵磊 scores both through the console,
proposes 昆明理工大学 a grade other than the suggestion (refused without a reason), proposes
the list; 孙涛 approves it, amending that grade back with a reason: the final grades show.
Qujing's unqualified year orders rectification: its first report is rejected with reasons,
the second accepted. Its 2023 is unqualified too (driver): the leading group confirms the
revocation through the console. In 2027 昆明理工大学 asks for renewal; 赵磊 assesses it.
People of other roles and jurisdictions are refused; bad ids and years are 404 pages.
The tests run in this order and share the module's one system.
"""

from __future__ import annotations

from typing import Any

import pytest

from haizhi.flows import HaiZhi
from haizhi.journeys import (
    EXCELLENT,
    QUALIFIED,
    UNQUALIFIED,
    Case,
    annual_report,
    assess_year,
    beijing,
    rectification_of,
    report_year,
)
from haizhi.people import CAST, KMUST, QUJING_EDZ

from .forms import FormClient, read_page
from .stories import ZH, designated, flash_of, hand_made, renewal_to_assess, sign_in

ZHAOLEI, SUNTAO, WUJUN = CAST.national, CAST.leading_group, CAST.auditor
CHENJING, LIUYANG = CAST.qujing, CAST.kunming


@pytest.fixture(scope="module")
def cases(hz: HaiZhi) -> dict[str, Case]:
    """Both bases designated on 10 May 2022, their 2022 reporting open in December."""
    found = designated(hz, KMUST, QUJING_EDZ, on=beijing(2022, 5, 10), first_approval=1)
    return {case.unit.unit_id: case for case in found}


@pytest.fixture(scope="module")
def kmust(cases: dict[str, Case]) -> Case:
    return cases[KMUST.unit_id]


@pytest.fixture(scope="module")
def qujing(cases: dict[str, Case]) -> Case:
    return cases[QUJING_EDZ.unit_id]


def year_of(hz: HaiZhi, case: Case, year: int) -> dict[str, Any]:
    found = hz.assessment.year(CAST.auditor, case.base_id, year)
    assert found is not None
    return found


def year_path(case: Case, year: int) -> str:
    return f"/assessment/bases/{case.base_id}/years/{year}"


def test_the_campaign_shows_each_base_and_its_report(
    browser: FormClient, hz: HaiZhi, kmust: Case, qujing: Case
) -> None:
    hz.clock.to(beijing(2022, 12, 5))
    report_year(hz, kmust, 2022)  # filed, and forwarded by the province
    unit = QUJING_EDZ.contact
    hz.assessment.wait_year(
        unit, qujing.base_id, 2022, lambda y: y["report_status"] == "open", "open"
    )
    hz.assessment.file_annual_report(unit, qujing.base_id, 2022, annual_report(QUJING_EDZ, 2022))
    sign_in(browser, ZHAOLEI)
    home = browser.get("/")
    assert 'href="/assessment"' in home.html
    assert 'href="/grade-lists"' in home.html
    page = browser.get("/assessment")
    assert page.status == 200
    assert page.says(
        "2022年度报送与考核", "基地：2个", "已提交、待地方科协报送：1个", "已报送：1个"
    )
    assert page.says(
        KMUST.name, "已报送中国科协国际联络部", QUJING_EDZ.name, "已提交：待地方科协报送"
    )
    assert f'href="{year_path(kmust, 2022)}"' in page.html


def test_a_report_not_forwarded_cannot_be_scored_in_either_language(
    browser: FormClient, hz: HaiZhi, qujing: Case
) -> None:
    sign_in(browser, ZHAOLEI)
    page = browser.get(year_path(qujing, 2022))
    assert page.says("2022年引进海外专家8名", "海外科技社团", "12")  # the report itself
    reason = (
        "The report waits for the base's local CAST to forward it (Art. 10): it cannot be "
        "scored before."
    )
    assert page.says(ZH.gettext(reason))
    assert not page.has_form(f"{year_path(qujing, 2022)}/score")
    # Sent all the same (a page kept open): the assessment service refuses it.
    scores = {k: str(v) for k, v in QUALIFIED.items()}
    fields = hand_made(page, year_path(qujing, 2022), **scores)
    refused = read_page(browser.http.post(f"{year_path(qujing, 2022)}/score", data=fields))
    told = (
        "The base's local CAST has not forwarded its annual report yet, so it cannot be scored "
        "(Art. 10)."
    )
    assert ZH.gettext(told) != told
    assert refused.says(ZH.gettext(told))
    english = browser.submit(page, "/language", button="en")
    fields = hand_made(english, year_path(qujing, 2022), **scores)
    again = read_page(browser.http.post(f"{year_path(qujing, 2022)}/score", data=fields))
    assert again.says(told, "Ask the base's local CAST (the prefecture or provincial CAST)")
    browser.submit(again, "/language", button="zh")
    assert year_of(hz, qujing, 2022)["scores"] is None


def test_the_prefecture_cast_forwards_the_report(
    browser: FormClient, hz: HaiZhi, qujing: Case
) -> None:
    # Kunming's CAST does not reach a Qujing base.
    sign_in(browser, LIUYANG)
    assert browser.get(year_path(qujing, 2022)).status == 404
    sign_in(browser, CHENJING)
    home = browser.get("/")
    assert 'href="/assessment"' in home.html
    listed = browser.get("/assessment")
    assert listed.says(QUJING_EDZ.name)
    assert KMUST.name not in listed.text  # Kunming's base is not in Qujing's reach
    page = browser.get(year_path(qujing, 2022))
    assert not page.has_form(f"{year_path(qujing, 2022)}/score")  # not the CAST's act
    done = browser.submit(page, f"{year_path(qujing, 2022)}/forwarding")
    assert done.says(ZH.gettext("The annual report is forwarded to the national department."))
    row = year_of(hz, qujing, 2022)
    assert (row["report_status"], row["forwarded_via"]) == ("forwarded", "5303")


WRONG_SCORE = "The score of “%(criterion)s” is not a whole number from 0 to 100."


@pytest.mark.parametrize(
    ("criterion", "typed", "name"),
    [
        ("annual_plan", "abc", "Annual plan"),
        ("overseas_channels", "101", "Overseas channels"),
        ("resource_library", "-5", "HaiZhi resource library"),
        ("local_activities", "7.5", "Local talent activities"),
        ("project_follow_up", "", "Follow-up of landed projects"),
    ],
)
def test_scores_typed_wrong_are_refused(
    browser: FormClient, hz: HaiZhi, kmust: Case, criterion: str, typed: str, name: str
) -> None:
    sign_in(browser, ZHAOLEI)
    page = browser.get(year_path(kmust, 2022))
    scores = {k: str(v) for k, v in EXCELLENT.items()}
    refused = browser.submit(page, f"{year_path(kmust, 2022)}/score", {**scores, criterion: typed})
    said = flash_of(refused)
    assert ZH.gettext(WRONG_SCORE) % {"criterion": ZH.gettext(name)} in said
    assert 'class="next"' in said
    assert year_of(hz, kmust, 2022)["scores"] is None


def test_the_department_scores_both_years(
    browser: FormClient, hz: HaiZhi, kmust: Case, qujing: Case
) -> None:
    hz.clock.to(beijing(2023, 1, 15))
    sign_in(browser, ZHAOLEI)
    for case, scores, grade in ((kmust, EXCELLENT, "优秀"), (qujing, UNQUALIFIED, "不合格")):
        page = browser.get(year_path(case, 2022))
        assert page.says(
            "第十一条(一)：按基地实施方案制定年度引才引智工作计划，完成年度计划规定的任务"
        )
        done = browser.submit(
            page, f"{year_path(case, 2022)}/score", {k: str(v) for k, v in scores.items()}
        )
        assert done.says(
            ZH.gettext("The scores are recorded, and the suggested grade is proposed for the year.")
        )
        assert done.says("建议等级", grade)
        assert year_of(hz, case, 2022)["scores"] == dict(scores)
    assert year_of(hz, kmust, 2022)["suggested_grade"] == "excellent"
    assert year_of(hz, qujing, 2022)["suggested_grade"] == "unqualified"


def test_a_grade_other_than_the_suggestion_needs_its_reason(
    browser: FormClient, hz: HaiZhi, kmust: Case
) -> None:
    sign_in(browser, ZHAOLEI)
    page = browser.get(year_path(kmust, 2022))
    action = f"{year_path(kmust, 2022)}/grade-proposal"
    refused = browser.submit(page, action, {"grade": "qualified", "reason": ""})
    told = "A grade other than the one the scores suggest needs a written reason."
    assert ZH.gettext(told) != told
    assert ZH.gettext(told) in flash_of(refused)
    english = browser.submit(refused, "/language", button="en")
    again = browser.submit(english, action, {"grade": "qualified", "reason": ""})
    assert told in flash_of(again)
    assert "Write the reason for the grade you propose, then save again." in flash_of(again)
    chinese = browser.submit(again, "/language", button="zh")
    done = browser.submit(chinese, action, {"grade": "qualified", "reason": "资源库更新不及时。"})
    assert done.says(
        ZH.gettext(
            "The grade is proposed. If the year's list was already proposed, propose the list "
            "again."
        )
    )
    row = year_of(hz, kmust, 2022)
    assert (row["proposed_grade"], row["proposal_reason"]) == ("qualified", "资源库更新不及时。")


def test_the_department_proposes_the_list(
    browser: FormClient, hz: HaiZhi, kmust: Case, qujing: Case
) -> None:
    sign_in(browser, ZHAOLEI)
    index = browser.get("/grade-lists")
    assert 'href="/grade-lists/2022"' in index.html
    wrong = browser.get("/grade-lists", year="二〇二二")
    assert wrong.status == 200
    page = browser.get("/grade-lists", year="2022")
    assert page.url.endswith("/grade-lists/2022")
    assert page.says("2022年度考核等级名单尚未提出。", KMUST.name, QUJING_EDZ.name)
    done = browser.submit(page, "/grade-lists/2022/proposal")
    assert done.says(
        ZH.gettext("The grade list is proposed to the leading group for its approval.")
    )
    assert done.says("已提出：待领导小组批准", "资源库更新不及时。")
    listed = hz.assessment.get("/grade-lists/2022", CAST.auditor)
    assert listed["status"] == "proposed"
    assert {e["base_id"]: e["grade"] for e in listed["entries"]} == {
        kmust.base_id: "qualified",
        qujing.base_id: "unqualified",
    }
    assert not done.has_form("/grade-lists/2022/approval")  # the leading group's act


def test_the_leading_group_approves_the_list_amending_a_grade(
    browser: FormClient, hz: HaiZhi, kmust: Case, qujing: Case
) -> None:
    sign_in(browser, SUNTAO)
    home = browser.get("/")
    assert 'href="/grade-lists"' in home.html
    page = browser.get("/grade-lists/2022")
    action = "/grade-lists/2022/approval"
    meeting = {"meeting_ref": "海智计划领导小组2023年第1次会议", "meeting_date": "2023-01-15"}
    amend = f"grade-{kmust.base_id}"
    why = f"reason-{kmust.base_id}"
    missing = browser.submit(page, action, {**meeting, amend: "excellent", why: ""})
    assert ZH.gettext("The amended grade of %(unit)s needs its reason.") % {"unit": KMUST.name} in (
        flash_of(missing)
    )
    bad_date = browser.submit(missing, action, {**meeting, "meeting_date": "2023-13-01"})
    assert ZH.gettext("The meeting date is not a date.") in flash_of(bad_date)
    assert hz.assessment.get("/grade-lists/2022", CAST.auditor)["status"] == "proposed"
    done = browser.submit(
        bad_date, action, {**meeting, amend: "excellent", why: "年度引才成效突出，维持优秀。"}
    )
    assert done.says(
        ZH.gettext(
            "The grade list is approved: the grades are final. Unqualified bases are ordered to "
            "rectify."
        )
    )
    assert done.says("已批准：等级确定", "海智计划领导小组2023年第1次会议", "2023-01-15")
    assert done.says("领导小组调整：", "年度引才成效突出，维持优秀。")
    assert done.says("★ 优秀", "✗ 不合格")  # each grade with a sign, not by colour alone
    assert year_of(hz, kmust, 2022)["final_grade"] == "excellent"
    assert year_of(hz, qujing, 2022)["final_grade"] == "unqualified"
    assert not done.has_form(action)


def test_a_rectification_report_is_rejected_then_accepted(
    browser: FormClient, hz: HaiZhi, qujing: Case
) -> None:
    rectification_id = rectification_of(hz, qujing, 2022)
    unit = QUJING_EDZ.contact
    sign_in(browser, ZHAOLEI)
    waiting = browser.get(year_path(qujing, 2022))
    assert waiting.says(
        "已责令整改：待单位提交整改报告",
        ZH.gettext("The unit has not filed its rectification report yet."),
    )
    base = f"/assessment/bases/{qujing.base_id}/rectifications/{rectification_id}"
    assert not waiting.has_form(f"{base}/acceptance")
    hz.clock.to(beijing(2023, 3, 1))
    hz.assessment.file_rectification(unit, qujing.base_id, rectification_id, "已建立海智资源库。")
    page = browser.get(year_path(qujing, 2022))
    assert page.says("已提交整改报告：待国际联络部验收")
    empty = browser.submit(page, f"{base}/rejection", {"reasons": "\n"})
    assert ZH.gettext("Give the reasons for rejecting the rectification report, one per line.") in (
        flash_of(empty)
    )
    rejected = browser.submit(empty, f"{base}/rejection", {"reasons": "落地项目跟踪材料不全。"})
    assert rejected.says(
        ZH.gettext(
            "The rectification report is rejected; the unit is told your reasons and reports again."
        )
    )
    row = year_of(hz, qujing, 2022)
    assert (row["rectification_status"], row["rectification_rejections"]) == ("ordered", 1)
    # Accepting with no report waiting is refused by the service.
    fields = hand_made(rejected, year_path(qujing, 2022))
    refused = read_page(browser.http.post(f"{base}/acceptance", data=fields))
    assert refused.says(ZH.gettext("No rectification report is waiting for a decision."))
    hz.assessment.file_rectification(unit, qujing.base_id, rectification_id, "已补齐跟踪材料。")
    page = browser.get(year_path(qujing, 2022))
    accepted = browser.submit(page, f"{base}/acceptance")
    assert accepted.says(
        ZH.gettext(
            "The rectification is accepted. The subsidy held for it is released by the funding "
            "service shortly."
        )
    )
    assert accepted.says("整改已验收通过", "不合格")  # the grade stays
    row = year_of(hz, qujing, 2022)
    assert (row["rectification_status"], row["final_grade"]) == ("accepted", "unqualified")


def test_the_leading_group_confirms_the_revocation_after_two_unqualified_years(
    browser: FormClient, hz: HaiZhi, kmust: Case, qujing: Case
) -> None:
    hz.clock.to(beijing(2023, 12, 5))
    report_year(hz, kmust, 2023)
    report_year(hz, qujing, 2023)
    hz.clock.to(beijing(2024, 1, 15))
    assess_year(
        hz,
        2023,
        {kmust.base_id: QUALIFIED, qujing.base_id: UNQUALIFIED},
        meeting_ref="海智计划领导小组2024年第1次会议",
    )
    hz.assessment.wait_base(
        CAST.auditor, qujing.base_id, lambda b: bool(b["revocation_proposed_for"]), "proposed"
    )
    sign_in(browser, ZHAOLEI)
    base_page = browser.get(f"/assessment/bases/{qujing.base_id}")
    assert base_page.says("建议撤销（第十三条）", "2022, 2023")
    assert not base_page.has_form(f"/assessment/bases/{qujing.base_id}/revocation")
    sign_in(browser, SUNTAO)
    queue = browser.get("/decisions")
    assert queue.says("待确认的撤销建议", QUJING_EDZ.name)
    link = f'href="/assessment/bases/{qujing.base_id}#revocation"'
    assert link in queue.html
    page = browser.get(f"/assessment/bases/{qujing.base_id}")
    action = f"/assessment/bases/{qujing.base_id}/revocation"
    empty = browser.submit(page, action, {"meeting_ref": " "})
    assert ZH.gettext("Enter the meeting's reference (at most 100 characters).") in flash_of(empty)
    done = browser.submit(empty, action, {"meeting_ref": "海智计划领导小组2024年第2次会议"})
    assert done.says(
        ZH.gettext(
            "The revocation is confirmed: the base's designation is revoked. Its unpaid subsidy "
            "instalments are cancelled by the funding service shortly."
        )
    )
    assert done.says("已撤销基地资格", "已撤销（第十三条）")
    assert not done.has_form(action)
    assert hz.assessment.base(CAST.auditor, qujing.base_id)["status"] == "revoked"
    # The revoked base is listed under its own filter.
    sign_in(browser, ZHAOLEI)
    revoked = browser.get("/assessment", status="revoked")
    assert revoked.says(QUJING_EDZ.name)


def test_the_department_assesses_a_renewal(browser: FormClient, hz: HaiZhi, kmust: Case) -> None:
    # The term ends on 2027-05-09: the renewal is asked for inside its last 90 days.
    renewal_id = renewal_to_assess(hz, kmust, "基地五年运行良好，申请续期。")
    sign_in(browser, ZHAOLEI)
    campaign = browser.get("/assessment")
    assert campaign.says("待国际联络部考核的续期申请：1件")
    listed = browser.get("/renewal-assessments")
    path = f"/renewal-assessments/{kmust.base_id}/{renewal_id}"
    assert f'href="{path}"' in listed.html
    page = browser.get(path)
    assert page.says("考核依据：本期各年度考核等级", "2022", "优秀", "2023", "合格")
    unanswered = browser.submit(page, path, {"reasons": "理由"})
    assert ZH.gettext("Choose whether the base is qualified for renewal.") in flash_of(unanswered)
    reasonless = browser.submit(unanswered, path, {"qualified": "yes", "reasons": " "})
    assert ZH.gettext("Give the assessment's reasons, one per line.") in flash_of(reasonless)
    done = browser.submit(
        reasonless, path, {"qualified": "yes", "reasons": "任期内考核均为合格以上。\n同意续期。"}
    )
    assert done.says(
        ZH.gettext(
            "The renewal assessment is recorded: qualified. The general office awards the "
            "plaque again once the review service has it (being processed)."
        )
    )
    assert done.says("续期考核合格", "任期内考核均为合格以上。; 同意续期。")
    assert not done.has_form(path)
    found = hz.assessment.get(
        f"/bases/{kmust.base_id}/renewal-assessments/{renewal_id}", CAST.auditor
    )
    assert (found["qualified"], found["reasons"]) == (
        True,
        ["任期内考核均为合格以上。", "同意续期。"],
    )
    # Across the bus: the review service moves the request on to the general office.
    hz.review.wait_renewal(
        CAST.general_office, renewal_id, lambda r: r["level"] == "general_office", "qualified"
    )


def test_other_roles_are_refused_the_department_s_acts(
    browser: FormClient, hz: HaiZhi, kmust: Case
) -> None:
    sign_in(browser, KMUST)
    for path in (
        "/assessment",
        year_path(kmust, 2022),
        "/grade-lists/2022",
        "/renewal-assessments",
    ):
        page = browser.get(path)
        assert page.status == 403, path
        assert page.says(ZH.gettext("You do not have permission to do this."))
    # The auditor reads, and has no form to act with.
    sign_in(browser, WUJUN)
    page = browser.get(year_path(kmust, 2022))
    assert page.status == 200
    assert not page.has_form(f"{year_path(kmust, 2022)}/score")
    # A score sent by the leading group is refused by the console, and changes nothing.
    sign_in(browser, SUNTAO)
    home = browser.get("/")
    scores = {k: str(v) for k, v in QUALIFIED.items()}
    fields = hand_made(home, "/", **scores)
    refused = read_page(browser.http.post(f"{year_path(kmust, 2023)}/score", data=fields))
    assert refused.says(ZH.gettext("You do not have permission to do this."))
    assert year_of(hz, kmust, 2023)["final_grade"] == "qualified"


@pytest.mark.parametrize(
    "path",
    [
        "/assessment/bases/no-such-base",
        "/assessment/bases/%2e%2e%2fbases",
        "/assessment/bases/" + "x" * 300,
        "/assessment/bases/no-such-base/years/2022",
        "/grade-lists/twenty",
        "/grade-lists/1999",
        "/grade-lists/99999",
        "/renewal-assessments/no-such-base/no-such-renewal",
        "/renewal-assessments/a%3Bb/c",
    ],
)
def test_bad_ids_and_years_are_404_pages(browser: FormClient, kmust: Case, path: str) -> None:
    sign_in(browser, ZHAOLEI)
    page = browser.get(path)
    assert page.status == 404, (path, page.status)


@pytest.mark.parametrize(
    "query",
    [{"year": "abc"}, {"year": "1"}, {"status": "everything"}, {"year": "2022", "status": "%00"}],
)
def test_odd_filters_are_ignored_not_failed(
    browser: FormClient, kmust: Case, query: dict[str, str]
) -> None:
    sign_in(browser, ZHAOLEI)
    assert browser.get("/assessment", **query).status == 200
    assert browser.get("/renewal-assessments", status=query.get("status", "x")).status == 200


def test_a_year_a_base_never_had_is_a_404_page(browser: FormClient, kmust: Case) -> None:
    sign_in(browser, ZHAOLEI)
    assert browser.get(year_path(kmust, 2040)).status == 404


def test_commands_with_bad_ids_are_told_not_crashed(browser: FormClient, kmust: Case) -> None:
    sign_in(browser, ZHAOLEI)
    home = browser.get("/")
    fields = hand_made(home, "/assessment", reasons="x", grade="qualified")
    for action in (
        "/assessment/bases/no-such-base/years/2022/forwarding",
        "/assessment/bases/no-such-base/years/2022/grade-proposal",
        f"/assessment/bases/{kmust.base_id}/rectifications/no-such/acceptance",
        f"/assessment/bases/{kmust.base_id}/rectifications/no-such/rejection",
        "/grade-lists/2040/proposal",
        f"/renewal-assessments/{kmust.base_id}/no-such",
    ):
        answer = browser.http.post(action, data={**fields, "qualified": "no"})
        assert answer.status_code in (200, 403, 404), action
        assert "flash error" in answer.text or answer.status_code != 200, action
