"""The five lives of issue 7, played through the running services' HTTP APIs only.

One System per backend runs them in this order, each in its own years of the shared clock,
which only moves forward: a base a scenario leaves active has expired before the next
scenario's grade lists, so no scenario's yearly assessment has to cover another's base.

    2022          returned by the province, resubmitted, rejected at the national level
    2022 – 2027   direct route, five graded years, renewed for a new term
    2027 – 2032   via the prefecture, no renewal: the base expires
    2033 – 2035   two unqualified years in a row: revoked
    2035 – 2036   an unqualified year, the rectification accepted: the held instalment paid
"""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pytest

from haizhi.client import CallFailed, eventually
from haizhi.flows import HaiZhi, instalment, stages
from haizhi.journeys import (
    AMOUNT_FEN,
    EXCELLENT,
    QUALIFIED,
    UNQUALIFIED,
    Case,
    apply,
    assess_year,
    beijing,
    designate,
    pay_instalment,
    province_accept,
    recommend,
    rectification_of,
    report_year,
    to_candidate,
)
from haizhi.people import CAST, KMUST, KUNMING_HTZ, QUJING_EDZ, Unit

from .support import as_of, assert_audit_clean, assert_in_order, names, timeline

pytestmark = pytest.mark.slow

YAAS = Unit.of(
    "unit-yaas",
    "云南省农业科学院",
    "provincial_unit",
    "53",
    address="云南省昆明市盘龙区北京路2238号",
    postcode="650205",
    contact=("liumin", "刘敏"),
)
CHIHONG = Unit.of(
    "unit-chihong",
    "云南驰宏锌锗股份有限公司",
    "enterprise",
    "5303",
    address="云南省曲靖市经济技术开发区驰宏大道",
    postcode="655011",
    contact=("chengang", "陈刚"),
)


def call_for(hz: HaiZhi, year: int, deadline_on: date) -> str:
    return hz.application.open_call(
        CAST.province_intake,
        province="53",
        year=year,
        title=f"{year}年度中国科协海智计划工作基地申报",
        deadline_on=deadline_on,
    )


def designated(hz: HaiZhi, unit: Unit, opens_on: date, on: date) -> Case:
    """A call opened `opens_on`, the unit's application up the chain, designated `on`, the
    first instalment paid: the common beginning of every base's life."""
    hz.clock.to(beijing(opens_on.year, opens_on.month, opens_on.day))
    call_id = call_for(hz, opens_on.year, opens_on + timedelta(days=60))
    case = apply(hz, unit, call_id)
    hz.clock.to(beijing(opens_on.year, opens_on.month, opens_on.day) + timedelta(days=9))
    to_candidate(hz, case)
    hz.clock.to(beijing(opens_on.year, opens_on.month, opens_on.day) + timedelta(days=29))
    recommend(hz, call_id, [case])
    hz.clock.to(beijing(on.year, on.month, on.day))
    designate(
        hz,
        case,
        meeting_ref=f"海智计划领导小组{on.year}年第2次会议",
        approval_no=f"科协办函〔{on.year}〕{on.month}号",
    )
    pay_instalment(hz, case, 1)
    return case


def graded(hz: HaiZhi, case: Case, year: int, scores: dict[str, int]) -> str:
    """Report in December, graded by the leading group in mid-January."""
    hz.clock.to(beijing(year, 12, 5))
    report_year(hz, case, year)
    hz.clock.to(beijing(year + 1, 1, 15))
    grades = assess_year(
        hz, year, {case.base_id: scores}, meeting_ref=f"海智计划领导小组{year + 1}年第1次会议"
    )
    return grades[case.base_id]


def test_returned_by_the_province_resubmitted_then_rejected_at_the_national_level(
    hz: HaiZhi, data_dir: Path
) -> None:
    hz.clock.to(beijing(2022, 3, 1))
    call_id = call_for(hz, 2022, date(2022, 4, 30))
    case = apply(hz, YAAS, call_id)
    unit, intake = YAAS.contact, CAST.province_intake
    assert case.route == "direct"

    hz.clock.to(beijing(2022, 3, 10))
    reasons = ["海外合作证明材料不完整，请补充合作协议"]
    hz.review.return_for_revision(intake, case.review_id, "province", reasons)
    returned = hz.application.wait_application(
        unit, case.application_id, lambda a: a["status"] == "returned", "returned"
    )
    assert returned["decision"]["reasons"] == reasons

    hz.clock.to(beijing(2022, 3, 15))
    hz.application.fill_form(
        unit,
        case.application_id,
        {"overview_advantages": "已与泰国、老挝农业科研机构签署合作协议。"},
    )
    assert hz.application.submit(unit, case.application_id) == 2
    reopened = hz.review.waiting_review(intake, case.case_id, "province")
    assert reopened["revision"] == 2

    hz.clock.to(beijing(2022, 3, 20))
    province_accept(hz, case)
    recommend(hz, call_id, [case])
    hz.clock.to(beijing(2022, 5, 20))
    national = CAST.national
    hz.review.waiting_review(national, case.case_id, "national")
    hz.review.reject(national, case.review_id, "national", ["国际合作渠道尚不稳定"])

    rejected = hz.application.wait_application(
        unit, case.application_id, lambda a: a["status"] == "rejected", "rejected"
    )
    assert rejected["decision"]["level"] == "national"
    assert hz.review.review(national, case.review_id)["status"] == "rejected"
    with pytest.raises(CallFailed) as refused:
        hz.application.submit(unit, case.application_id)  # a rejection is final
    assert refused.value.status == 409
    assert_audit_clean(data_dir)  # settled: the stream holds every event
    events = timeline(data_dir, case.case_id)
    assert_in_order(
        events,
        "ApplicationSubmitted",
        "ApplicationReturned",
        "ReturnRecorded",
        "ApplicationResubmitted",
        "ReviewReopened",
        "AcceptedAtProvince",
        "Recommended",
        "ApplicationRejected",
        "RejectionRecorded",
    )
    assert "BaseDesignated" not in names(events)


def test_direct_route_to_designation_five_graded_years_renewed_for_a_new_term(
    hz: HaiZhi, data_dir: Path
) -> None:
    case = designated(hz, KMUST, date(2022, 6, 1), date(2022, 7, 1))
    unit, auditor = KMUST.contact, CAST.auditor
    base = hz.assessment.base(auditor, case.base_id)
    assert (base["term_start"], base["term_end"]) == ("2022-07-01", "2027-06-30")
    plaque = hz.review.check_certificate(case.certificate_no)
    assert plaque["plaque_name"] == "中国科协海智计划工作基地"
    assert plaque["status"] == "valid"

    for year in range(2022, 2027):
        assert graded(hz, case, year, EXCELLENT if year % 2 else QUALIFIED) in {
            "excellent",
            "qualified",
        }
        if year < 2024:
            hz.clock.to(beijing(year + 1, 7, 5))
            pay_instalment(hz, case, year - 2020)
    with pytest.raises(CallFailed) as early:
        hz.application.request_renewal(unit, case.base_id, "申请续期")  # before the window
    assert (early.value.status, early.value.code) == (409, "renewal-window-not-open")

    hz.clock.to(beijing(2027, 4, 10))  # Art. 14: inside the 90 days before expiry
    window = hz.application.wait_base(
        unit, case.base_id, lambda b: b["window_announced"], "the renewal window announced"
    )
    assert window["window_closes_on"] == "2027-06-30"
    renewal_id = hz.application.request_renewal(
        unit, case.base_id, "基地五年考核均为合格以上，申请续期。"
    )
    hz.clock.to(beijing(2027, 4, 15))
    hz.review.wait_renewal(
        CAST.province_intake, renewal_id, lambda r: r["level"] == "province", "at the province"
    )
    hz.review.forward_renewal(CAST.province_intake, renewal_id, "同意续期，转报中国科协。")
    hz.clock.to(beijing(2027, 4, 20))
    hz.review.request_renewal_assessment(CAST.national, renewal_id)
    hz.clock.to(beijing(2027, 4, 25))
    evidence = hz.assessment.wait_renewal_assessment(
        CAST.national, case.base_id, renewal_id, lambda r: True, "opened"
    )
    assert [g["year"] for g in evidence["grades"]] == list(range(2022, 2027))  # the evidence
    assert {g["grade"] for g in evidence["grades"]} <= {"excellent", "qualified"}
    hz.assessment.assess_renewal(
        CAST.national,
        case.base_id,
        renewal_id,
        qualified=True,
        reasons=["五年考核均为合格以上，同意续期。"],
    )
    hz.review.wait_renewal(
        CAST.general_office,
        renewal_id,
        lambda r: r["level"] == "general_office",
        "assessed qualified",
    )
    certificate_no = hz.review.grant_renewal(CAST.general_office, renewal_id)

    def renewed(row: dict[str, object]) -> bool:
        return row["term_end"] == "2032-06-30"

    base = hz.assessment.wait_base(auditor, case.base_id, renewed, "the new term")
    assert (base["term_start"], base["status"]) == ("2027-07-01", "active")
    # The application service learns the new term from two services (review's grant, which
    # settles the request, and assessment's new term), on consumers of their own: whichever
    # lands first shows the new term; the grant makes the base serving again.
    hz.application.wait_base(
        unit,
        case.base_id,
        lambda row: renewed(row) and row["status"] == "serving",
        "the new term, serving",
    )
    assert hz.review.check_certificate(certificate_no)["term_end"] == "2032-06-30"
    plan = hz.funding.wait_plan(auditor, case.base_id, renewed, "the new term")
    assert stages(plan) == ["paid", "paid", "paid"]
    totals = hz.funding.reconciliation(auditor, case.base_id)["total"]
    assert totals["paid"] == {"count": 3, "amount_fen": 3 * AMOUNT_FEN}
    assert_audit_clean(data_dir)  # settled: the stream holds every event
    events = timeline(data_dir, case.case_id)
    assert names(events).count("GradeFinalised") == 5
    assert names(events).count("InstalmentPaid") == 3
    assert_in_order(
        events,
        "BaseDesignated",
        "BaseRegistered",
        "RenewalWindowOpened",
        "RenewalRequested",
        "RenewalAssessmentRequested",
        "RenewalAssessed",
        "RenewalGranted",
        "TermRenewed",
    )


def test_without_renewal_the_base_expires_and_a_late_request_is_refused(
    hz: HaiZhi, data_dir: Path
) -> None:
    case = designated(hz, KUNMING_HTZ, date(2027, 5, 1), date(2027, 6, 15))
    unit, auditor = KUNMING_HTZ.contact, CAST.auditor
    assert case.route == "via_prefecture"
    hz.clock.to(beijing(2028, 6, 20))
    pay_instalment(hz, case, 2)

    hz.clock.to(beijing(2032, 4, 1))  # the window opens; the unit lets it pass
    window = hz.application.wait_base(
        unit, case.base_id, lambda b: b["window_announced"], "the renewal window announced"
    )
    assert window["window_closes_on"] == "2032-06-14"
    hz.clock.to(beijing(2032, 6, 16))  # the term ended on 2032-06-14
    base = hz.assessment.wait_base(
        auditor, case.base_id, lambda b: b["status"] == "expired", "expired"
    )
    assert base["ended_on"] == "2032-06-15"
    hz.application.wait_base(unit, case.base_id, lambda b: b["ended_on"] is not None, "ended")
    with pytest.raises(CallFailed) as late:
        hz.application.request_renewal(unit, case.base_id, "申请续期")
    assert late.value.status == 409
    assert late.value.code in {"renewal-window-closed", "base-no-longer-designated"}
    plan = hz.funding.wait_plan(
        auditor, case.base_id, lambda p: p["status"] != "active", "closed on expiry"
    )
    assert stages(plan) == ["paid", "paid", "cancelled"]
    assert hz.review.check_certificate(case.certificate_no)["status"] == "expired"
    assert_audit_clean(data_dir)  # settled: the stream holds every event
    events = timeline(data_dir, case.case_id)
    assert_in_order(
        events, "BaseDesignated", "RenewalWindowOpened", "BaseExpired", "InstalmentCancelled"
    )
    assert "RenewalRequested" not in names(events)


def test_unqualified_two_years_in_a_row_revoke_and_cancel_the_unpaid_instalments(
    hz: HaiZhi, data_dir: Path
) -> None:
    case = designated(hz, QUJING_EDZ, date(2033, 3, 1), date(2033, 5, 10))
    auditor = CAST.auditor
    assert case.route == "via_prefecture"
    assert graded(hz, case, 2033, UNQUALIFIED) == "unqualified"
    rectification_of(hz, case, 2033)  # ordered; the unit never reports on it
    hz.clock.to(beijing(2034, 5, 12))
    held = hz.funding.wait_plan(
        auditor, case.base_id, lambda p: instalment(p, 2)["stage"] == "held", "held"
    )
    assert stages(held) == ["paid", "held", "scheduled"]
    assert graded(hz, case, 2034, UNQUALIFIED) == "unqualified"

    base = hz.assessment.wait_base(
        auditor, case.base_id, lambda b: bool(b["revocation_proposed_for"]), "proposed"
    )
    assert base["revocation_proposed_for"] == "2033,2034"
    hz.clock.to(beijing(2035, 1, 20))
    hz.assessment.confirm_revocation(
        CAST.leading_group, case.base_id, "海智计划领导小组2035年第1次会议"
    )

    hz.assessment.wait_base(auditor, case.base_id, lambda b: b["status"] == "revoked", "revoked")
    # GET /plans reads a plan's row, then its instalments: on PostgreSQL the instalments may
    # be newer than the row, never older. So wait on the row, then look at the instalments.
    plan = hz.funding.wait_plan(
        auditor, case.base_id, lambda p: p["exit_reason"] == "revoked", "the exit recorded"
    )
    assert stages(plan) == ["paid", "cancelled", "cancelled"]

    def checked() -> dict[str, object] | None:
        found = hz.review.check_certificate(case.certificate_no)
        return found if found["status"] == "revoked" else None

    assert eventually(checked, "the certificate check shows revoked")["since"] == "2035-01-20"
    hz.application.wait_base(
        QUJING_EDZ.contact, case.base_id, lambda b: b["ended_on"] is not None, "ended"
    )
    assert_audit_clean(data_dir)  # settled: the stream holds every event
    events = timeline(data_dir, case.case_id)
    assert_in_order(
        events,
        "ForwardedToProvince",
        "BaseDesignated",
        "GradeFinalised",
        "RectificationOrdered",
        "InstalmentHeld",
        "GradeFinalised",
        "RevocationProposed",
        "BaseRevoked",
        "InstalmentCancelled",
    )
    stream = f"base-{case.base_id}"
    before = as_of(data_dir, case.case_id, "2035-01-19T10:00:00+08:00")["assessment"]
    after = as_of(data_dir, case.case_id, "2035-01-21T10:00:00+08:00")["assessment"]
    assert "RevocationProposed" in before["streams"][stream]["events"]
    assert "BaseRevoked" not in before["streams"][stream]["events"]
    assert after["streams"][stream]["last_event"] == "BaseRevoked"


def test_an_accepted_rectification_releases_the_held_instalment(hz: HaiZhi, data_dir: Path) -> None:
    case = designated(hz, CHIHONG, date(2035, 3, 1), date(2035, 5, 10))
    unit, auditor = CHIHONG.contact, CAST.auditor
    assert graded(hz, case, 2035, UNQUALIFIED) == "unqualified"
    rectification_id = rectification_of(hz, case, 2035)

    hz.clock.to(beijing(2036, 4, 1))  # before the deadline of 2036-04-14
    hz.assessment.file_rectification(
        unit, case.base_id, rectification_id, "已健全海智资源库，逐项落实落地项目跟踪服务。"
    )
    hz.clock.to(beijing(2036, 5, 11))  # the anniversary: the second instalment falls due, held
    held = hz.funding.wait_plan(
        auditor, case.base_id, lambda p: instalment(p, 2)["stage"] == "held", "held"
    )
    assert instalment(held, 2)["held_for"] == rectification_id

    hz.clock.to(beijing(2036, 5, 20))
    hz.assessment.accept_rectification(CAST.national, case.base_id, rectification_id)
    paid = pay_instalment(hz, case, 2)
    assert paid["stage"] == "due"
    plan = hz.funding.wait_plan(
        auditor, case.base_id, lambda p: instalment(p, 2)["stage"] == "paid", "paid"
    )
    assert stages(plan) == ["paid", "paid", "scheduled"]
    year = hz.assessment.year(auditor, case.base_id, 2035)
    assert year is not None
    assert (year["final_grade"], year["rectification_status"]) == ("unqualified", "accepted")
    assert_audit_clean(data_dir)  # settled: the stream holds every event
    events = timeline(data_dir, case.case_id)
    assert_in_order(
        events,
        "RectificationOrdered",
        "HoldOpened",
        "RectificationReportFiled",
        "InstalmentHeld",
        "RectificationAccepted",
        "HoldReleased",
        "InstalmentReleased",
        "InstalmentApproved",
        "InstalmentPaid",
    )
