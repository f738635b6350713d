"""The applicant unit's pages against the running system, as a person without JavaScript uses
them (and, for autosave, as its script calls the console).

What is not the applicant's act is set up with the `hz` driver (a call, a CAST's verification,
a reviewer's return, the designation); the applicant's own acts go through the console's links
and forms. The services' refusals are checked as the person reads them, in both languages.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from haizhi.flows import HaiZhi
from haizhi.journeys import (
    UNQUALIFIED,
    YUNNAN_CALL,
    apply,
    assess_year,
    beijing,
    designate,
    recommend,
    rectification_of,
    register,
    to_candidate,
)
from haizhi.people import CAST, KMUST, KUNMING_HTZ, KUNMING_UNIVERSITY, QUJING_EDZ, Unit
from web.pages.applicant import UPLOAD_MAX_BYTES

from .forms import FormClient
from .stories import sign_in, yunnan_call, zh

#: A provincial university of Kunming that only this module plays: returned and resubmitted.
YNU = Unit.of(
    "unit-ynu",
    "云南大学",
    "university",
    "5301",
    address="云南省昆明市五华区翠湖北路2号",
    postcode="650091",
    contact=("wanghong", "王红"),
    level="provincial",
)


def pdf(text: str) -> bytes:
    return f"%PDF-1.4\n% {text}\n%%EOF\n".encode()


#: The application service's attachment limit here: lower than the console's own, so that a
#: file between the two is refused by the service (413) and the console tells why.
SERVICE_MAX_BYTES = 256 * 1024


@pytest.fixture(scope="module", autouse=True)
def _service_attachment_limit() -> Iterator[None]:
    """Before the module's system starts (autouse fixtures come first): its services inherit
    this environment."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("HAIZHI_ATTACHMENT_MAX_BYTES", str(SERVICE_MAX_BYTES))
        yield


@pytest.fixture(scope="module")
def call_id(hz: HaiZhi) -> str:
    return yunnan_call(hz, title="2022年中国科协海智计划工作基地申报", details=YUNNAN_CALL)


@pytest.fixture(scope="module")
def htz_draft(hz: HaiZhi, call_id: str) -> str:
    """A draft of the Kunming high-tech zone, its unit registered and verified."""
    register(hz, KUNMING_HTZ)
    return hz.application.draft_application(KUNMING_HTZ.contact, call_id).application_id


@pytest.fixture
def htz(browser: FormClient) -> FormClient:
    sign_in(browser, KUNMING_HTZ)
    return browser


def test_the_whole_applicant_path(hz: HaiZhi, call_id: str, browser: FormClient) -> None:
    start = sign_in(browser, KMUST)
    assert start.status == 200
    assert start.says(zh("My unit"), zh("Calls"), zh("My applications"))

    # Register the unit; its CAST returns it, the unit amends it, the CAST verifies it.
    unit = browser.get("/unit")
    assert unit.says(zh("Register the unit"))
    form = browser.get("/unit/edit")
    registration = {
        "name": KMUST.name,
        "credit_code": KMUST.credit_code,
        "category": KMUST.category,
        "level": KMUST.level,
        "jurisdiction": KMUST.jurisdiction,
        "address": "云南省昆明市呈贡区",
        "contact_0_name": KMUST.contact.name,
        "contact_0_phone": KMUST.telephone,
        "contact_0_email": KMUST.email,
    }
    # A mistyped credit code: the service refuses it, the form comes back as it was typed.
    wrong = KMUST.credit_code[:-1] + ("0" if KMUST.credit_code[-1] != "0" else "1")
    again = browser.submit(form, "/unit", {**registration, "credit_code": wrong})
    assert again.status == 422
    assert again.says(zh("This is not a valid unified social credit code."))
    assert again.form("/unit").fields["address"] == "云南省昆明市呈贡区"
    unit = browser.submit(again, "/unit", registration)
    assert unit.url.endswith("/unit")
    assert unit.says(zh("Awaiting verification"))
    assert hz.application.unit(KMUST.contact, KMUST.unit_id)["status"] == "pending"  # type: ignore[index]
    hz.application.post(
        f"/units/{KMUST.unit_id}/return", CAST.province_intake, {"reasons": ["单位地址不完整。"]}
    )
    unit = browser.get("/unit")
    assert unit.says(zh("Returned for amendment"), "单位地址不完整。")
    amended = browser.submit(browser.get("/unit/edit"), "/unit/edit", {"address": KMUST.address})
    assert amended.says(zh("The registration is amended."))
    row = hz.application.unit(KMUST.contact, KMUST.unit_id)
    assert row is not None
    assert row["address"] == KMUST.address
    assert row["status"] == "pending"
    hz.application.verify_unit(CAST.province_intake, KMUST.unit_id)
    assert browser.get("/unit").says(zh("Registration verified"))

    # The open call: its deadline (a CST date, to 24:00), contacts and where the paper goes.
    calls = browser.get("/apply")
    assert calls.says("2022年中国科协海智计划工作基地申报", "2022-04-30 24:00", "毛发强")
    assert calls.says("昆明市护国路26号省科协办公大楼508室", "650021")
    drafted = browser.submit(calls, f"/apply/{call_id}")
    assert drafted.says(
        zh("The application is drafted. Fill in the form and upload the materials.")
    )
    application_id = drafted.url.rstrip("/").split("/")[-2]
    assert drafted.url.endswith(f"/applications/{application_id}/form")

    # Nothing filled in yet: the submit button is disabled, and says why in words.
    overview = browser.get(f"/applications/{application_id}")
    submit = overview.form(f"/applications/{application_id}/submit")
    assert "disabled" in overview.html
    assert overview.says(
        zh("The application cannot be submitted yet:"), zh("Base location"), zh(KMUST_SLOT)
    )
    # Sent anyway (a stale page), the service refuses and the page says what is missing.
    refused = browser.submit(overview, submit.action)
    assert refused.says(
        zh("The application cannot be submitted yet: something required is missing.")
    )
    assert refused.says(zh("Base location"))  # the missing field, by the form's own label

    # Fill in Annex 2 with the plain Save button (万元 as exact decimals, Art. 6 ticked).
    filled = {k: ("yes" if v is True else str(v)) for k, v in KMUST.form().items()}
    saved = browser.submit(drafted, f"/applications/{application_id}/form", filled)
    assert saved.says(zh("The form is saved."))
    assert saved.says("305,000.00 元")  # 30.5 万元, exactly
    working = hz.application.application(KMUST.contact, application_id)["form"]
    assert working["self_raised_funds_wan"] == "30.5"
    assert working["matching_funds_wan"] == "50"
    assert working["declares_government_support"] == "true"
    assert working["host_unit"] == KMUST.name
    assert "fax" not in working

    # Upload the four materials and the signed form page, one form per slot.
    materials = browser.get(f"/applications/{application_id}/materials")
    assert materials.says(zh("Missing"))
    for slot, (name, content) in KMUST.materials().items():
        materials = browser.submit(
            materials,
            f"/applications/{application_id}/materials",
            {"slot": slot},
            files={"file": (name, content, "application/pdf")},
        )
        assert materials.says(zh("The file is uploaded.")), materials.text[:2000]
    assert materials.says(zh("Materials: all uploaded"))
    assert not materials.says(zh("Missing"))
    assert materials.text.count(zh("Uploaded")) >= 5

    # Complete: the button is enabled; submitting makes it submitted.
    overview = browser.get(f"/applications/{application_id}")
    assert overview.says(zh("Every field is filled in and every material is uploaded."))
    done = browser.submit(overview, f"/applications/{application_id}/submit")
    assert done.says(zh("The application is submitted."), zh("Submitted for review"))
    row = hz.application.application(KMUST.contact, application_id)
    assert row["status"] == "submitted"
    assert row["revision"] == 1
    assert done.says(zh("Application drafted"), zh("Material uploaded"))
    listed = browser.get("/applications")
    assert listed.says("2022年中国科协海智计划工作基地申报", zh("Submitted for review"))
    # The call now names the unit's application instead of offering a second draft.
    assert not browser.get("/apply").has_form(f"/apply/{call_id}")


KMUST_SLOT = "Support letter of the local Party committee and government"


def test_autosave_saves_the_fields_sent_and_refuses_without_the_token(
    hz: HaiZhi, htz_draft: str, htz: FormClient
) -> None:
    page = htz.get(f"/applications/{htz_draft}/form")
    action = f"/applications/{htz_draft}/form"
    token = page.form(action).fields["csrf_token"]
    script = {"X-Requested-With": "XMLHttpRequest", "Accept": "application/json"}

    answer = htz.http.post(
        action, data={"csrf_token": token, "telephone": "0871-68888888"}, headers=script
    )
    assert answer.status_code == 200, answer.text
    said = answer.json()
    assert said["saved"] is True
    assert said["fields"] == ["telephone"]
    assert said["message"] == zh("Saved at %(time)s") % {"time": said["time"]}
    form = hz.application.application(KUNMING_HTZ.contact, htz_draft)["form"]
    assert form == {"telephone": "0871-68888888"}  # that field only

    # A checkbox as the script sends it, and a malformed amount: told in JSON, nothing lost.
    answer = htz.http.post(
        action,
        data={"csrf_token": token, "declares_organisation": "true", "matching_funds_wan": "12.3.4"},
        headers=script,
    )
    assert answer.status_code == 422
    assert answer.json()["saved"] is False
    assert zh("Matching funds") in answer.json()["message"]
    form = hz.application.application(KUNMING_HTZ.contact, htz_draft)["form"]
    assert form["declares_organisation"] == "true"
    assert "matching_funds_wan" not in form

    # Without the CSRF token (another site's page): refused, nothing saved.
    refused = htz.http.post(action, data={"telephone": "110"}, headers=script)
    assert refused.status_code == 403
    form = hz.application.application(KUNMING_HTZ.contact, htz_draft)["form"]
    assert form["telephone"] == "0871-68888888"


def test_a_returned_application_shows_the_reasons_and_is_resubmitted(
    hz: HaiZhi, call_id: str, browser: FormClient
) -> None:
    case = apply(hz, YNU, call_id)
    reasons = ["海外合作证明缺少合作协议原件扫描件。", "预期目标请量化。"]
    hz.review.return_for_revision(CAST.province_intake, case.review_id, "province", reasons)
    hz.application.wait_application(
        YNU.contact, case.application_id, lambda a: a["status"] == "returned", "returned"
    )
    sign_in(browser, YNU)
    path = f"/applications/{case.application_id}"
    page = browser.get(path)
    assert page.says(zh("Returned for revision"), *reasons)
    assert page.says(zh("Resubmit the application"))

    # Revise a field with the plain Save, replace the overseas cooperation proof, resubmit.
    form = browser.get(f"{path}/form")
    saved = browser.submit(
        form, f"{path}/form", {"overview_expected_goals": "三年内引进海外高层次人才30名。"}
    )
    assert saved.says(zh("The form is saved."))
    materials = browser.get(f"{path}/materials")
    row = hz.application.application(YNU.contact, case.application_id)
    proof = next(a for a in row["attachments"] if a["slot"] == "overseas_cooperation")
    replaced = browser.submit(
        materials,
        f"{path}/materials/{proof['attachment_id']}",
        files={"file": ("合作协议.pdf", pdf("合作协议 原件扫描"), "application/pdf")},
    )
    assert replaced.says(zh("The file is replaced."), "合作协议.pdf")
    done = browser.submit(browser.get(path), f"{path}/submit")
    assert done.says(zh("The application is resubmitted."), zh("Resubmitted"))
    row = hz.application.application(YNU.contact, case.application_id)
    assert row["status"] == "submitted"
    assert row["revision"] == 2
    assert row["form"]["overview_expected_goals"] == "三年内引进海外高层次人才30名。"

    # Withdrawn with a reason, it says so and offers nothing more.
    withdrawn = browser.submit(done, f"{path}/withdraw", {"reason": "单位决定明年再申报。"})
    assert withdrawn.says(zh("The application is withdrawn."), "单位决定明年再申报。")
    assert not withdrawn.has_form(f"{path}/submit")
    assert hz.application.application(YNU.contact, case.application_id)["status"] == "withdrawn"


def test_another_unit_and_other_roles_are_refused(
    hz: HaiZhi, htz_draft: str, browser: FormClient
) -> None:
    sign_in(browser, QUJING_EDZ)
    for page in ("", "/form", "/materials"):
        seen = browser.get(f"/applications/{htz_draft}{page}")
        assert seen.status == 404
        assert not seen.says("0871-68888888")
    token = browser.get("/unit/edit").form("/unit").fields["csrf_token"]
    sent = browser.http.post(
        f"/applications/{htz_draft}/form",
        data={"csrf_token": token, "telephone": "0874-0000000", "back": "/applications"},
    )
    assert sent.status_code == 200
    assert zh("My applications") in sent.text
    form = hz.application.application(KUNMING_HTZ.contact, htz_draft)["form"]
    assert form.get("telephone") != "0874-0000000"

    sign_in(browser, CAST.kunming)
    refused = browser.get(f"/applications/{htz_draft}")
    assert refused.status == 403
    assert refused.says(zh("You do not have permission to do this."))
    assert browser.get("/unit").status == 403


def test_upload_refusals_are_explained_in_both_languages(htz_draft: str, htz: FormClient) -> None:
    path = f"/applications/{htz_draft}/materials"
    page = htz.get(path)
    # A slot the application does not have: the service's refusal, told with what to do.
    told = htz.submit(
        page, path, {"slot": "bogus"}, files={"file": ("a.pdf", pdf("a"), "application/pdf")}
    )
    assert told.status == 200
    assert told.url.endswith(path)
    assert told.says(
        zh("The material chosen for this file is not one of the application's materials."),
        zh("Choose from the list the material the file belongs to, and upload it again."),
    )
    # A file over the limit: refused by the console before it goes on.
    big = b"%PDF-1.4\n" + b"0" * UPLOAD_MAX_BYTES
    told = htz.submit(
        page, path, {"slot": "support_letter"}, files={"file": ("big.pdf", big, "application/pdf")}
    )
    assert told.status == 200
    assert told.says(zh("The file is larger than an attachment may be."))
    # Under the console's limit but over the service's: the service's 413, explained.
    told = htz.submit(
        page,
        path,
        {"slot": "support_letter"},
        files={"file": ("scan.pdf", b"%PDF-1.4\n" + b"0" * SERVICE_MAX_BYTES, "application/pdf")},
    )
    assert told.status == 200
    assert told.says(zh("The file is larger than an attachment may be."))
    # Not a file the service accepts: its own refusal.
    told = htz.submit(
        page,
        path,
        {"slot": "support_letter"},
        files={"file": ("x.pdf", b"MZ\x00", "application/pdf")},
    )
    assert told.status == 200
    assert told.says(zh("What to do:"))

    # The same refusal in English, after the header's language switch.
    english = htz.submit(told, "/language", button="en")
    assert english.says("Materials")
    assert not english.says(zh("Materials"))
    told = htz.submit(
        english, path, {"slot": "bogus"}, files={"file": ("a.pdf", pdf("a"), "application/pdf")}
    )
    assert told.says(
        "The material chosen for this file is not one of the application's materials.",
        "What to do:",
        "Choose from the list the material the file belongs to, and upload it again.",
    )
    # The Annex 2 form in English keeps each label as the form writes it, English beside.
    form = htz.get(f"/applications/{htz_draft}/form")
    assert form.says("基地所在地", "Base location", "配套资金", "Matching funds", "Save")
    htz.submit(form, "/language", button="zh")
    assert htz.get(path).says(zh("Materials"))


def test_nothing_a_client_sends_breaks_a_page(htz_draft: str, htz: FormClient) -> None:
    for path in (
        "/applications/not-an-id!",
        "/applications/01ZZZZZZZZZZZZZZZZZZZZZZZZ",
        "/applications/01ZZZZZZZZZZZZZZZZZZZZZZZZ/form",
        f"/applications/{htz_draft}/files/abc",
        f"/applications/{htz_draft}/files/{'0' * 64}",
        "/unit/bases/01ZZZZZZZZZZZZZZZZZZZZZZZZ",
        "/unit/bases/01ZZZZZZZZZZZZZZZZZZZZZZZZ?certificate_no=HZJD%2F1",
        "/unit/bases/x/years/1999/report",
    ):
        assert htz.get(path).status in (404, 422), path
    page = htz.get(f"/applications/{htz_draft}/form")
    action = f"/applications/{htz_draft}/form"
    told = htz.submit(page, action, {"matching_funds_wan": "五十", "opinion_date": "2022-13-45"})
    assert told.status == 200
    assert told.says(zh("Matching funds"), zh("Date"))
    token = page.form(action).fields["csrf_token"]
    for target, data in (
        (f"/applications/{htz_draft}/materials", {"csrf_token": token}),
        (f"/applications/{htz_draft}/withdraw", {"csrf_token": token}),
        (
            f"/applications/{htz_draft}/materials/01ZZZZZZZZZZZZZZZZZZZZZZZZ/remove",
            {"csrf_token": token},
        ),
        ("/unit", {"csrf_token": token, "jurisdiction": "Kunming"}),
        ("/apply/01ZZZZZZZZZZZZZZZZZZZZZZZZ", {"csrf_token": token}),
    ):
        answer = htz.http.post(target, data=data)
        assert answer.status_code in (200, 403, 404, 422), (target, answer.status_code)
    mangled = htz.http.post(
        f"/applications/{htz_draft}/materials",
        content=b"--x\r\nnot a part",
        headers={"Content-Type": "multipart/form-data; boundary=x"},
    )
    assert mangled.status_code < 500


def test_the_designated_base(hz: HaiZhi, call_id: str, browser: FormClient) -> None:
    case = apply(hz, KUNMING_UNIVERSITY, call_id)
    to_candidate(hz, case)
    recommend(hz, call_id, [case])
    designate(hz, case, meeting_ref="LG-2022-01", approval_no="科协函〔2022〕1号")
    sign_in(browser, KUNMING_UNIVERSITY)

    bases = browser.get("/unit/bases")
    assert bases.says(KUNMING_UNIVERSITY.name, zh("Designated, within its term"))
    page = browser.get(f"/unit/bases/{case.base_id}")
    assert page.says("中国科协海智计划工作基地", "2022-01-01", "2026-12-31")
    assert page.says("200,000.00 元", "600,000.00 元", zh("Due for payment"))
    assert page.says(
        zh("The renewal window is not open: it opens on %(day)s.") % {"day": "2026-10-03"}
    )
    # The certificate check is a GET form (its number in the query), as the browser sends it.
    assert page.form(f"/unit/bases/{case.base_id}#certificate").method == "get"
    checked = browser.get(f"/unit/bases/{case.base_id}", certificate_no=case.certificate_no)
    assert checked.says(case.certificate_no, zh("This is your base's certificate."), zh("Valid"))

    # The year's reporting opens on 1 December: the unit files its annual report.
    hz.settle()
    hz.clock.to(beijing(2022, 12, 1, 9))
    hz.assessment.wait_year(
        KUNMING_UNIVERSITY.contact,
        case.base_id,
        2022,
        lambda y: y["report_status"] == "open",
        "open",
    )
    page = browser.get(f"/unit/bases/{case.base_id}")
    report = f"/unit/bases/{case.base_id}/years/2022/report"
    assert page.says(zh("File the annual report for %(year)s") % {"year": 2022})
    form = browser.get(report)
    filed = browser.submit(
        form,
        report,
        {
            "talent_introduced": "引进海外专家8名。",
            "projects_landed": "落地合作项目4项。",
            "academic_exchanges": "举办交流会2场。",
            "technical_innovation": "联合攻关关键技术3项。",
            "difficulties": "签证办理周期较长。",
            "next_year_plan": "2023年计划引进海外人才10名。",
            "overseas_societies": "12",
            "haizhi_projects": "9",
            "overseas_talents": "46",
            "last_updated_on": "2022-11-30",
        },
    )
    assert filed.says(
        zh("The annual report is filed. Your local CAST forwards it to the national department.")
    )
    year = hz.assessment.year(KUNMING_UNIVERSITY.contact, case.base_id, 2022)
    assert year is not None
    assert year["report_status"] == "filed"

    # Graded unqualified for 2022, the base is ordered to rectify; the unit files its report.
    hz.assessment.forward_report(CAST.kunming, case.base_id, 2022)
    hz.settle()
    hz.clock.to(beijing(2023, 1, 10, 9))
    assess_year(hz, 2022, {case.base_id: UNQUALIFIED}, meeting_ref="LG-2023-01")
    rectification_id = rectification_of(hz, case, 2022)
    page = browser.get(f"/unit/bases/{case.base_id}")
    assert page.says(zh("Unqualified"), zh("Rectification ordered"))
    assert page.says(
        zh(
            "Payments are withheld while a rectification order is open; they are released when "
            "the rectification is accepted."
        )
    )
    reported = browser.submit(
        page,
        f"/unit/bases/{case.base_id}/rectifications/{rectification_id}/report",
        {"summary": "已完善年度计划和海智资源库，专人负责项目跟踪服务。"},
    )
    assert reported.says(zh("Rectification report filed"))
    year = hz.assessment.year(KUNMING_UNIVERSITY.contact, case.base_id, 2022)
    assert year is not None
    assert year["rectification_status"] == "reported"

    # In the renewal window (90 days before the term ends) the unit asks for renewal, and
    # withdraws the request.
    hz.settle()
    hz.clock.to(beijing(2026, 10, 5, 9))
    hz.application.wait_base(
        KUNMING_UNIVERSITY.contact, case.base_id, lambda b: b["window_announced"], "window open"
    )
    page = browser.get(f"/unit/bases/{case.base_id}")
    filed = browser.submit(
        page, f"/unit/bases/{case.base_id}/renewal", {"statement": "申请续期，五年工作总结见附件。"}
    )
    assert filed.says(zh("Being reviewed"), "申请续期，五年工作总结见附件。")
    base = hz.application.base(KUNMING_UNIVERSITY.contact, case.base_id)
    renewal_id = base["pending_renewal_id"]
    assert renewal_id
    withdrawn = browser.submit(
        filed,
        f"/unit/bases/{case.base_id}/renewal/{renewal_id}/withdraw",
        {"reason": "单位调整发展方向。"},
    )
    assert withdrawn.says(zh("The renewal request is withdrawn."))
    requests = hz.application.base(KUNMING_UNIVERSITY.contact, case.base_id)["renewal_requests"]
    assert [r["status"] for r in requests] == ["withdrawn"]
