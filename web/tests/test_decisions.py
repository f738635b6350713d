"""The leading group's and the general office's pages against the running system, in order.

昆明高新技术产业开发区管理委员会 applies under Yunnan's call of 2022 and is carried up the chain
with the driver to the leading group. Through the console 孙涛 declares no conflict of interest,
reads the dossier (Annex 2, the files and their hashes), is refused a decision typed wrong and
one the review service will not take (both languages), then records the meeting's approval;
周敏 of the general office declares, issues the approval (批复) and the page shows the base and
its certificate. In 2027 the base's renewal is assessed qualified (driver) and 周敏 awards the
plaque again. People of other roles and jurisdictions are refused; bad ids are 404 pages.
The tests run in this order and share the module's one system.
"""

from __future__ import annotations

from typing import Any

import pytest

from haizhi.client import Person
from haizhi.flows import HaiZhi
from haizhi.journeys import Case, beijing
from haizhi.people import CAST, KMUST, KUNMING_HTZ
from shared.auth import Role

from .forms import FormClient, Page
from .stories import (
    MEETING,
    ZH,
    flash_of,
    hand_made,
    in_english,
    recommended,
    renewal_to_assess,
    sign_in,
)

SUNTAO, ZHOUMIN, ZHAOLEI = CAST.leading_group, CAST.general_office, CAST.national
QIANWEI = Person("qianwei", "钱伟", (Role.LEADING_GROUP,), "haizhi-lg", ("CN",))
GUIZHOU_MEMBER = Person("lihua", "李华", (Role.LEADING_GROUP,), "gz-lg", ("52",))
MEMBERS = "孙涛\n钱伟\n郑洁\n冯涛"


@pytest.fixture(scope="module")
def case(hz: HaiZhi) -> Case:
    """The application up the chain with the driver: at the leading group on 10 May 2022."""
    (found,) = recommended(hz, KUNMING_HTZ)
    hz.clock.to(beijing(2022, 5, 10))
    hz.review.waiting_review(CAST.national, found.case_id, "national")
    hz.review.national_forward(CAST.national, found.review_id, "初审通过，提请领导小组审批。")
    hz.review.waiting_review(CAST.leading_group, found.case_id, "leading_group")
    return found


def review_of(hz: HaiZhi, case: Case) -> dict[str, Any]:
    return hz.review.review(CAST.auditor, case.review_id)


def open_case(browser: FormClient, case: Case) -> Page:
    """From the header's "Decisions": the case's own page."""
    home = browser.get("/")
    assert 'href="/decisions"' in home.html
    queue = browser.get("/decisions")
    assert queue.status == 200
    assert f'href="/decisions/{case.review_id}"' in queue.html, queue.text
    return browser.get(f"/decisions/{case.review_id}")


def decision(case: Case) -> str:
    return f"/decisions/{case.review_id}/decision"


def test_the_case_waits_for_the_declaration_before_its_dossier(
    browser: FormClient, case: Case
) -> None:
    sign_in(browser, SUNTAO)
    queue = browser.get("/decisions")
    assert queue.says("待领导小组审批的案件", KUNMING_HTZ.name, "经州（市）科协申报")
    page = open_case(browser, case)
    assert page.status == 200
    assert page.says("利益冲突声明", "海智计划领导小组")
    assert page.has_form(f"/decisions/{case.review_id}/declaration")
    assert not page.has_form(decision(case))
    assert "申报表哈希值" not in page.text  # no content before the declaration


def test_a_conflict_declared_without_its_reason_is_refused(
    browser: FormClient, hz: HaiZhi, case: Case
) -> None:
    sign_in(browser, SUNTAO)
    page = open_case(browser, case)
    refused = browser.submit(
        page, f"/decisions/{case.review_id}/declaration", {"conflict": "yes", "reason": " "}
    )
    assert ZH.gettext("A declared conflict of interest needs its reason.") in flash_of(refused)
    assert refused.has_form(f"/decisions/{case.review_id}/declaration")  # still undeclared
    assert review_of(hz, case)["level"] == "leading_group"


def test_a_member_with_a_conflict_is_recused_and_never_reads_the_dossier(
    browser: FormClient, hz: HaiZhi, case: Case
) -> None:
    sign_in(browser, QIANWEI)
    page = open_case(browser, case)
    action = f"/decisions/{case.review_id}/declaration"
    recused = browser.submit(page, action, {"conflict": "yes", "reason": "本人曾任该园区顾问。"})
    assert recused.says(
        ZH.gettext(
            "Your conflict of interest is recorded: you are recused from this case, and a "
            "colleague decides it."
        )
    )
    assert not recused.has_form(decision(case))
    assert "申报表哈希值" not in recused.text
    again = browser.submit(recused, action, {"conflict": "no"})
    told = "You declared a conflict of interest with this application, so you are recused from it."
    assert ZH.gettext(told) in flash_of(again)
    assert not again.has_form(decision(case))
    assert review_of(hz, case)["level"] == "leading_group"


def test_the_member_declares_and_reads_the_dossier(
    browser: FormClient, hz: HaiZhi, case: Case
) -> None:
    sign_in(browser, SUNTAO)
    page = open_case(browser, case)
    read = browser.submit(page, f"/decisions/{case.review_id}/declaration", {"conflict": "no"})
    assert read.says(ZH.gettext("Your declaration of no conflict of interest is recorded."))
    dossier = hz.review.get(f"/reviews/{case.review_id}/dossier", CAST.leading_group)
    assert read.says("申报材料", "申报表哈希值（SHA-256）", dossier["form_hash"])
    for file in dossier["files"]:
        assert file["sha256"] in read.text
    # Annex 2 as the form writes it, with what the unit filled in.
    assert read.says(
        "附件2 申报表", "承担单位", "常设联系人", "赵强", "资金情况（万元） · 配套资金", "30.5"
    )
    assert read.says("填表单位意见", "第六条(一) 组织机构", "已声明")
    # The opinions of the levels before, and the province's rank.
    assert read.says("州（市）科协审核并报送省科协", "材料齐全，同意推荐至省科协。")
    assert read.says("中国科协国际联络部初审通过", "初审通过，提请领导小组审批。")
    form = read.form(decision(case))
    assert form.fields["form_hash"] == dossier["form_hash"]
    assert sorted(form.fields["file_hashes"].split()) == sorted(
        f["sha256"] for f in dossier["files"]
    )
    # A file of the dossier, with the member's own token.
    first = dossier["files"][0]
    answer = browser.http.get(f"/decisions/{case.review_id}/files/{first['sha256']}")
    assert answer.status_code == 200
    assert answer.content.startswith(b"%PDF")
    assert answer.headers["content-disposition"].startswith("attachment;")


GOOD = {"meeting_ref": MEETING, "meeting_date": "2022-05-10", "members_present": MEMBERS}


@pytest.mark.parametrize(
    ("typed", "says"),
    [
        ({"meeting_ref": "  "}, "Enter the meeting's reference (at most 200 characters)."),
        ({"meeting_date": "2022-02-30"}, "The meeting date is not a date."),
        ({"meeting_date": "10/05/2022"}, "The meeting date is not a date."),
        ({"members_present": "\n \n"}, "Name the members present at the meeting, one per line."),
        ({"outcome": "maybe"}, "Choose the meeting's decision."),
        ({"form_hash": "not-a-hash"}, "The form did not say which dossier you read."),
        ({"file_hashes": "abc def"}, "The form did not say which dossier you read."),
    ],
)
def test_a_decision_typed_wrong_is_refused_and_says_what_to_do(
    browser: FormClient, hz: HaiZhi, case: Case, typed: dict[str, str], says: str
) -> None:
    sign_in(browser, SUNTAO)
    page = open_case(browser, case)
    refused = browser.submit(page, decision(case), {**GOOD, **typed})
    assert refused.url.endswith(f"/decisions/{case.review_id}")
    said = flash_of(refused)
    assert ZH.gettext(says) != says, "translated"
    assert ZH.gettext(says) in said
    assert 'class="next"' in said
    assert review_of(hz, case)["level"] == "leading_group"


def test_the_review_service_refusals_are_told_in_both_languages(
    browser: FormClient, hz: HaiZhi, case: Case
) -> None:
    sign_in(browser, SUNTAO)
    page = open_case(browser, case)
    # A meeting not yet held (the shared clock says 10 May 2022).
    ahead = browser.submit(page, decision(case), {**GOOD, "meeting_date": "2030-01-01"})
    said = flash_of(ahead)
    meeting = (
        "The leading group's decision needs its meeting reference and the members present, and "
        "the meeting cannot be in the future."
    )
    assert ZH.gettext(meeting) != meeting
    assert ZH.gettext(meeting) in said
    # Not approving without reasons.
    refused = browser.submit(ahead, decision(case), {**GOOD, "outcome": "reject"})
    assert ZH.gettext("This decision needs its reasons.") in flash_of(refused)
    # Another dossier than the one under review (a page kept open from an earlier revision),
    # told in English, then in Chinese.
    english = in_english(browser, refused)
    stale = browser.submit(english, decision(case), {**GOOD, "form_hash": "0" * 64})
    said = flash_of(stale)
    told = "The decision was based on a version of the application other than the one submitted."
    assert told in said
    assert "Reload the application, read the submitted version and record the decision again." in (
        said
    )
    chinese = browser.submit(stale, "/language", button="zh")
    again = browser.submit(chinese, decision(case), {**GOOD, "form_hash": "0" * 64})
    assert ZH.gettext(told) != told
    assert ZH.gettext(told) in flash_of(again)
    assert review_of(hz, case)["level"] == "leading_group"


def test_other_roles_and_jurisdictions_are_refused(
    browser: FormClient, hz: HaiZhi, case: Case
) -> None:
    sign_in(browser, ZHAOLEI)
    for path in ("/decisions", f"/decisions/{case.review_id}", "/approvals"):
        page = browser.get(path)
        assert page.status == 403, path
        assert page.says(ZH.gettext("You do not have permission to do this."))
    sign_in(browser, KMUST)
    assert browser.get("/decisions").status == 403
    # A decision sent all the same (by hand, with this browser's own CSRF token): refused.
    home = browser.get("/")
    fields = hand_made(home, "/", **GOOD, outcome="approve")
    refused = browser.http.post(decision(case), data=fields)
    assert ZH.gettext("You do not have permission to do this.") in refused.text
    # A member of another province's reach does not see the case at all.
    sign_in(browser, GUIZHOU_MEMBER)
    outside = browser.get(f"/decisions/{case.review_id}")
    assert outside.status == 404
    assert "昆明高新技术产业开发区管理委员会" not in outside.text
    assert review_of(hz, case)["level"] == "leading_group"


@pytest.mark.parametrize(
    "path",
    [
        "/decisions/no-such-review",
        "/decisions/%2e%2e%2fqueue",
        "/decisions/" + "x" * 300,
        "/decisions/no-such-review/files/" + "a" * 64,
        "/decisions/no-such-review/files/not-a-hash",
        "/approvals/no-such-review",
        "/approvals/..%3B",
        "/renewal-grants/no-such-renewal",
        "/renewal-grants/" + "%00",
    ],
)
def test_bad_ids_are_404_pages(browser: FormClient, case: Case, path: str) -> None:
    sign_in(browser, ZHOUMIN if "/decisions" not in path else SUNTAO)
    page = browser.get(path)
    assert page.status == 404, (path, page.status)
    assert "Traceback" not in page.text


def test_commands_on_unknown_cases_are_told_not_crashed(browser: FormClient, case: Case) -> None:
    sign_in(browser, SUNTAO)
    home = browser.get("/")
    fields = hand_made(home, "/decisions")
    for action, extra in (
        ("/decisions/no-such-review/declaration", {"conflict": "no"}),
        (
            "/decisions/no-such-review/decision",
            {**GOOD, "outcome": "approve", "form_hash": "a" * 64, "file_hashes": ""},
        ),
        ("/decisions/%2e%2e/decision", GOOD),
    ):
        answer = browser.http.post(action, data={**fields, **extra})
        assert answer.status_code in (200, 404), action
        assert answer.status_code == 404 or "flash error" in answer.text, action


def test_the_leading_group_approves_through_the_console(
    browser: FormClient, hz: HaiZhi, case: Case
) -> None:
    sign_in(browser, SUNTAO)
    page = open_case(browser, case)
    done = browser.submit(page, decision(case), {**GOOD, "outcome": "approve"})
    assert done.says(
        ZH.gettext(
            "The leading group's approval is recorded. The general office now issues the "
            "approval and the plaque."
        )
    )
    assert done.says("审核中 · 中国科协办公厅")
    assert not done.has_form(decision(case))
    found = review_of(hz, case)
    assert (found["status"], found["level"]) == ("in_review", "general_office")
    history = hz.review.get(f"/cases/{case.case_id}/history", CAST.auditor, limit=100)
    decided = [e for e in history["events"] if e["type"] == "LeadingGroupDecided"]
    assert decided
    assert decided[-1]["data"]["meeting_ref"] == MEETING
    assert decided[-1]["data"]["members_present"] == MEMBERS.split("\n")
    queue = browser.get("/decisions")
    assert f'href="/decisions/{case.review_id}"' not in queue.html


def test_the_general_office_issues_the_approval_and_the_plaque(
    browser: FormClient, hz: HaiZhi, case: Case
) -> None:
    sign_in(browser, ZHOUMIN)
    home = browser.get("/")
    assert 'href="/approvals"' in home.html
    listed = browser.get("/approvals")
    assert listed.says("待下达批复的工作基地", "昆明高新技术产业开发区管理委员会")
    page = browser.get(f"/approvals/{case.review_id}")
    assert page.has_form(f"/approvals/{case.review_id}/declaration")
    assert not page.has_form(f"/approvals/{case.review_id}/approval")
    declared = browser.submit(page, f"/approvals/{case.review_id}/declaration", {"conflict": "no"})
    assert declared.says("领导小组的决定", MEETING, "钱伟")
    empty = browser.submit(declared, f"/approvals/{case.review_id}/approval", {"approval_no": ""})
    assert ZH.gettext("Enter the approval's document number (at most 100 characters).") in (
        flash_of(empty)
    )
    issued = browser.submit(
        empty, f"/approvals/{case.review_id}/approval", {"approval_no": "科协办函〔2022〕15号"}
    )
    assert issued.says(
        ZH.gettext("The approval is issued and the plaque awarded: the base is designated.")
    )
    found = review_of(hz, case)
    assert found["status"] == "designated"
    case.base_id, case.certificate_no = found["base_id"], found["certificate_no"]
    assert issued.says("基地编号", found["base_id"], "证书编号", found["certificate_no"])
    assert issued.says("处理中")  # the other services learn of it a moment later
    assert found["certificate_no"].startswith("HZJD-2022-")
    hz.assessment.wait_base(CAST.auditor, case.base_id, lambda b: b["status"] == "active", "base")
    plaque = hz.review.check_certificate(found["certificate_no"])
    assert plaque["plaque_name"] == "中国科协海智计划工作基地"


def test_the_general_office_awards_the_plaque_again_after_a_qualified_renewal(
    browser: FormClient, hz: HaiZhi, case: Case
) -> None:
    # The term ends on 2027-05-09: the renewal is asked for inside its last 90 days.
    renewal_id = renewal_to_assess(hz, case, "基地运行良好，申请续期。")
    hz.assessment.assess_renewal(
        CAST.national, case.base_id, renewal_id, qualified=True, reasons=["同意续期。"]
    )
    hz.review.wait_renewal(
        CAST.general_office, renewal_id, lambda r: r["level"] == "general_office", "qualified"
    )
    sign_in(browser, ZHOUMIN)
    listed = browser.get("/approvals")
    assert listed.says("待重新授牌的续期申请", "昆明高新技术产业开发区管理委员会")
    assert f'href="/renewal-grants/{renewal_id}"' in listed.html
    page = browser.get(f"/renewal-grants/{renewal_id}")
    assert page.says("续期考核合格", "同意续期。", "基地运行良好，申请续期。")
    action = f"/renewal-grants/{renewal_id}/grant"
    undeclared = browser.submit(page, action)
    assert ZH.gettext("Declare first that you have no conflict of interest.") in (
        flash_of(undeclared)
    )
    assert hz.review.get(f"/renewals/{renewal_id}", CAST.auditor)["status"] == "in_review"
    granted = browser.submit(undeclared, action, {"no_conflict": "yes"})
    assert granted.says(
        ZH.gettext("The renewal is granted: the plaque is awarded again for a new term.")
    )
    found = hz.review.get(f"/renewals/{renewal_id}", CAST.auditor)
    assert found["status"] == "granted"
    assert granted.says("已续期：重新授牌", found["certificate_no"], "2027-05-10", "2032-05-09")
    assert not granted.has_form(action)
