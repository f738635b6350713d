"""The auditor's pages against the running system: 吴军 (nationwide) reads one case.

昆明理工大学's application of 2022 is designated on 1 July 2022 (set up with the driver). The
auditor finds the case among the applications, reads its timeline across the services with
each event's hash and signature, verifies the four services' records, and sees the case as of
a moment before the designation. A provincial auditor, a finance officer and malformed ids
are refused or told, never a 500.
"""

from __future__ import annotations

from typing import Any

import pytest

from haizhi.client import Person
from haizhi.flows import HaiZhi
from haizhi.journeys import Case, beijing
from haizhi.people import CAST
from shared.auth import Role

from .forms import FormClient, Page
from .stories import ZH, designated, sign_in

#: An auditor of Guizhou: the nation's records are beyond her reach.
GUIZHOU_AUDITOR = Person("zhouqing", "周青", (Role.AUDITOR,), None, ("52",))


@pytest.fixture(scope="module")
def case(hz: HaiZhi) -> Case:
    """昆明理工大学's application of 2022, designated on 1 July."""
    (found,) = designated(hz)
    hz.settle()  # every event published: the stream tells the whole case
    return found


def get_form(browser: FormClient, page: Page, action: str, fields: dict[str, str]) -> Page:
    """Send a GET form of `page` as a browser does: its fields in the query."""
    form = next(f for f in page.forms if f.action == action and set(fields) <= f.names)
    assert form.method == "get"
    return browser.get(action, **{**form.fields, **fields})


def timeline_page(browser: FormClient, case: Case) -> Page:
    """From the start page: the header's "Audit", then the case from the list."""
    home = browser.get("/")
    assert 'href="/audit"' in home.html
    found = browser.get("/audit")
    assert found.status == 200
    assert found.says("昆明理工大学", "已批复为基地", case.case_id)
    link = f'href="/audit/cases/{case.case_id}"'
    assert link in found.html
    return browser.get(f"/audit/cases/{case.case_id}")


def test_the_timeline_shows_every_services_events_with_hashes(
    browser: FormClient, hz: HaiZhi, case: Case
) -> None:
    sign_in(browser, CAST.auditor)
    events: list[dict[str, Any]] = hz.audit.timeline(CAST.auditor, case.case_id)
    page = timeline_page(browser, case)
    assert page.status == 200
    assert page.says(f"案件 {case.case_id} 的时间线", "时间（北京时间）", "哈希值", "签名")
    for event in events:
        assert event["hash"] in page.html, event["event"]
        assert event["hash"][:12] in page.text
    for name in ("ApplicationSubmitted", "BaseDesignated", "SubsidyPlanCreated", "BaseRegistered"):
        assert name in page.text
    services = {
        "申报（申报服务）",
        "审核（审核服务）",
        "年度考核（考核服务）",
        "补助资金（资金服务）",
    }
    assert page.says(*services)
    assert page.text.count("✓ " + ZH.gettext("Signature verified")) == len(events)
    assert page.says("2022-03-01 10:00 CST", "2022-07-01 10:00 CST", "liming", "zhoumin")


def test_the_case_is_found_by_its_id_too(browser: FormClient, case: Case) -> None:
    sign_in(browser, CAST.auditor)
    find = browser.get("/audit")
    opened = get_form(browser, find, "/audit", {"case_id": f"  {case.case_id} "})
    assert opened.status == 200
    assert opened.url.endswith(f"/audit/cases/{case.case_id}")
    bad = get_form(browser, find, "/audit", {"case_id": "haizhi.*.>"})
    assert bad.status == 422
    told = "A case id is letters, digits, - and _ only (at most 128). Copy it from a record, "
    assert bad.says(ZH.gettext(told + "or choose the case from the list below."))
    designated_only = get_form(browser, find, "/audit", {"status": "designated"})
    assert designated_only.says("昆明理工大学")
    drafts = get_form(browser, find, "/audit", {"status": "draft"})
    assert drafts.says(ZH.gettext("No application matches."))


def test_verify_shows_every_service_intact(browser: FormClient, hz: HaiZhi) -> None:
    sign_in(browser, CAST.auditor)
    found = browser.get("/audit")
    assert 'href="/audit/verify"' in found.html
    answers = hz.audit.verify(CAST.auditor)
    assert all(answer["ok"] for answer in answers.values())
    page = browser.get("/audit/verify")
    assert page.status == 200
    assert len(answers) == 5  # the four and the notifier, as the system runs them
    assert page.text.count("✓ 完整") == 5
    assert "发现问题" not in page.text
    for name in (
        "申报（申报服务）",
        "审核（审核服务）",
        "年度考核（考核服务）",
        "补助资金（资金服务）",
        "通知（通知服务）",
    ):
        assert name in page.text
    for answer in answers.values():
        assert ZH.gettext("Signed: %(count)s") % {"count": answer["signatures"]["signed"]} in (
            page.text
        )


def test_the_case_as_of_a_time_before_the_designation(
    browser: FormClient, hz: HaiZhi, case: Case
) -> None:
    sign_in(browser, CAST.auditor)
    timeline = browser.get(f"/audit/cases/{case.case_id}")
    action = f"/audit/cases/{case.case_id}/as-of"
    before = get_form(browser, timeline, action, {"at": "2022-06-30T10:00"})
    assert before.status == 200
    assert before.says("截至 2022-06-30 10:00 CST")
    earlier = hz.audit.as_of(CAST.auditor, case.case_id, beijing(2022, 6, 30))
    for service in ("application", "review"):
        for stream_id, stream in earlier[service]["streams"].items():
            assert stream_id in before.text
            assert stream["state_kind"] in before.text
    assert not earlier["funding"]["streams"]
    assert (
        before.text.count(ZH.gettext("No record of this case in this service at that time.")) == 2
    )
    assert "BaseDesignated" not in before.text
    assert "SubsidyPlanCreated" not in before.text
    assert "基地所在地" in before.text  # the dossier's Annex 2 fields, by the form's labels
    # The same case as of the day of the approval, a date alone: the end of that day.
    after = get_form(browser, before, action, {"at": "2022-07-01"})
    assert after.says("截至 2022-07-02 00:00 CST", "BaseDesignated", "SubsidyPlanCreated")
    later = hz.audit.as_of(CAST.auditor, case.case_id, beijing(2022, 7, 2, 0))
    for stream in later["funding"]["streams"].values():
        assert stream["state_kind"] in after.text


@pytest.mark.parametrize("typed", ["yesterday", "2022-13-01T10:00", "2022-06-30T25:00", "x" * 300])
def test_a_time_typed_wrong_is_told(browser: FormClient, case: Case, typed: str) -> None:
    sign_in(browser, CAST.auditor)
    page = browser.get(f"/audit/cases/{case.case_id}/as-of", at=typed)
    assert page.status == 422
    assert page.says(ZH.gettext("This is not a date and time: write it as YYYY-MM-DD HH:MM."))


def test_a_provincial_auditor_is_refused_what_spans_the_nation(
    browser: FormClient, case: Case
) -> None:
    sign_in(browser, GUIZHOU_AUDITOR)
    verify = browser.get("/audit/verify")
    assert verify.status == 200
    assert verify.text.count("✗ 未能核验") == 5  # every service, the notifier too
    assert verify.says(ZH.gettext("This lies outside the area you are responsible for."))
    timeline = browser.get(f"/audit/cases/{case.case_id}")
    assert timeline.status == 403
    assert timeline.says(ZH.gettext("This lies outside the area you are responsible for."))


def test_people_of_other_roles_are_refused_the_audit_pages(browser: FormClient, case: Case) -> None:
    sign_in(browser, CAST.finance_approver)
    for path in ("/audit", "/audit/verify", f"/audit/cases/{case.case_id}"):
        page = browser.get(path)
        assert page.status == 403, path
        assert page.says(ZH.gettext("You do not have permission to do this."))
    assert 'href="/audit"' not in browser.get("/").html


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("/audit/cases/not.a.case", 404),
        ("/audit/cases/%2A", 404),
        ("/audit/cases/" + "c" * 200, 404),
        ("/audit/cases/not.a.case/as-of?at=2022-07-01", 404),
        ("/audit/cases/NO-SUCH-CASE?cursor=garbage", 422),
        ("/audit?cursor=%00", 422),
        ("/audit?status=nonsense", 200),
    ],
)
def test_no_audit_page_fails_on_what_a_client_sends(
    browser: FormClient, case: Case, path: str, status: int
) -> None:
    sign_in(browser, CAST.auditor)
    assert browser.get(path).status == status


def test_an_unknown_case_has_an_empty_timeline(browser: FormClient) -> None:
    sign_in(browser, CAST.auditor)
    page = browser.get("/audit/cases/NO-SUCH-CASE")
    assert page.status == 200
    assert page.says(ZH.gettext(
        "No event of this case is in the stream: check the case id, or, for a case begun only "
        "now, reload in a moment."
    ))  # fmt: skip
