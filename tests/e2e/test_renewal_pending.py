"""Art. 14 when the decision comes after the term's end: three services tell one story.

Three Yunnan bases designated on 1 July 2022 (terms to 30 June 2027) each file a renewal
request inside the window. On 5 July 2027 no decision has come: every base is still designated
("renewal pending") in assessment, application, review's certificate check and funding. Then
each outcome: a grant continues the term without a gap; a refusal ends the base on the day of
the decision, its unpaid instalments cancelled; a request withdrawn ends the base that day.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import pytest

from haizhi.flows import HaiZhi, stages
from haizhi.journeys import Case, apply, beijing, designate, pay_instalment, recommend, to_candidate
from haizhi.people import CAST, KMUST, KUNMING_HTZ, KUNMING_UNIVERSITY

from .support import assert_audit_clean, assert_in_order, names, timeline

pytestmark = pytest.mark.slow

Row = dict[str, Any]


def designated_bases(hz: HaiZhi) -> tuple[Case, Case, Case]:
    hz.clock.to(beijing(2022, 3, 1))
    call_id = hz.application.open_call(
        CAST.province_intake,
        province="53",
        year=2022,
        title="2022年度中国科协海智计划工作基地申报",
        deadline_on=date(2022, 4, 30),
    )
    cases = [apply(hz, unit, call_id) for unit in (KMUST, KUNMING_HTZ, KUNMING_UNIVERSITY)]
    hz.clock.to(beijing(2022, 3, 10))
    for case in cases:
        to_candidate(hz, case)
    hz.clock.to(beijing(2022, 3, 30))
    recommend(hz, call_id, cases)
    hz.clock.to(beijing(2022, 7, 1))
    for number, case in enumerate(cases, start=1):
        designate(
            hz,
            case,
            meeting_ref="海智计划领导小组2022年第2次会议",
            approval_no=f"科协办函〔2022〕7{number}号",
        )
        pay_instalment(hz, case, 1)
    granted, refused, withdrawn = cases
    return granted, refused, withdrawn


def request_renewal(hz: HaiZhi, case: Case) -> str:
    unit = case.unit.contact
    hz.application.wait_base(
        unit, case.base_id, lambda b: b["window_announced"], "the renewal window announced"
    )
    return hz.application.request_renewal(unit, case.base_id, "申请续期，材料见附件。")


def story(hz: HaiZhi, case: Case) -> tuple[Row, Row, Row, Row | None]:
    """What assessment, application, review (public check) and funding say of the base."""
    auditor = CAST.auditor
    return (
        hz.assessment.base(auditor, case.base_id),
        hz.application.base(case.unit.contact, case.base_id),
        hz.review.check_certificate(case.certificate_no),
        hz.funding.plan(auditor, case.base_id),
    )


def test_a_renewal_pending_past_the_term_is_granted_refused_or_withdrawn_alike_everywhere(
    hz: HaiZhi, data_dir: Path
) -> None:
    granted, refused, withdrawn = designated_bases(hz)
    cases = (granted, refused, withdrawn)

    hz.clock.to(beijing(2027, 4, 10))  # inside the 90 days before 30 June 2027
    renewal_of = {case.base_id: request_renewal(hz, case) for case in cases}
    hz.clock.to(beijing(2027, 4, 15))
    for case in cases:
        renewal_id = renewal_of[case.base_id]
        hz.review.wait_renewal(
            CAST.province_intake, renewal_id, lambda r: r["level"] == "province", "at province"
        )
        hz.review.forward_renewal(CAST.province_intake, renewal_id, "材料齐全，转报中国科协。")

    hz.clock.to(beijing(2027, 7, 5))  # the term ended on 30 June; no decision yet
    hz.settle()
    for case in cases:
        base = hz.assessment.wait_base(
            CAST.auditor,
            case.base_id,
            lambda b: b["renewal_pending_since"] == "2027-07-01",
            "renewal pending past its term",
        )
        assert base["status"] == "active"
        served = hz.application.wait_base(
            case.unit.contact,
            case.base_id,
            lambda b: b["status"] == "renewal_pending_past_term",
            "renewal pending past its term",
        )
        assert served["term_end"] == "2027-06-30"
        assert hz.review.check_certificate(case.certificate_no)["status"] == "valid"
        plan = hz.funding.plan(CAST.auditor, case.base_id)
        assert plan is not None
        assert stages(plan) == ["paid", "due", "due"]

    # A request withdrawn after the term's end ends the base that day.
    hz.application.withdraw_renewal(
        withdrawn.unit.contact, withdrawn.base_id, renewal_of[withdrawn.base_id], "不再续期。"
    )

    hz.clock.to(beijing(2027, 7, 10))
    for case in (granted, refused):
        hz.review.request_renewal_assessment(CAST.national, renewal_of[case.base_id])
    hz.clock.to(beijing(2027, 7, 12))
    for case, qualified in ((granted, True), (refused, False)):
        renewal_id = renewal_of[case.base_id]
        hz.assessment.wait_renewal_assessment(
            CAST.national, case.base_id, renewal_id, lambda r: True, "opened"
        )
        reasons = ["任期内工作成效显著。"] if qualified else ["资源库长期未更新，落地项目无跟踪。"]
        hz.assessment.assess_renewal(
            CAST.national, case.base_id, renewal_id, qualified=qualified, reasons=reasons
        )
    hz.review.wait_renewal(
        CAST.general_office,
        renewal_of[granted.base_id],
        lambda r: r["level"] == "general_office",
        "assessed qualified",
    )
    hz.clock.to(beijing(2027, 7, 15))
    certificate_no = hz.review.grant_renewal(CAST.general_office, renewal_of[granted.base_id])
    hz.settle()

    # Granted: the new term follows the old one without a gap, everywhere.
    base = hz.assessment.wait_base(
        CAST.auditor, granted.base_id, lambda b: b["term_end"] == "2032-06-30", "renewed"
    )
    assert (base["status"], base["term_start"], base["renewal_pending_since"]) == (
        "active",
        "2027-07-01",
        None,
    )
    served = hz.application.wait_base(
        granted.unit.contact, granted.base_id, lambda b: b["status"] == "serving", "serving"
    )
    assert served["term_end"] == "2032-06-30"
    check = hz.review.check_certificate(certificate_no)
    assert (check["status"], check["term_end"]) == ("valid", "2032-06-30")
    plan = hz.funding.plan(CAST.auditor, granted.base_id)
    assert plan is not None
    assert stages(plan) == ["paid", "due", "due"]

    # Refused on 12 July (the day of the unqualified assessment) and withdrawn on 5 July: each
    # base ends on that day, and its unpaid instalments are cancelled.
    for case, ended_on, reason in (
        (refused, "2027-07-12", "renewal_refused"),
        (withdrawn, "2027-07-05", "renewal_withdrawn"),
    ):
        base = hz.assessment.wait_base(
            CAST.auditor, case.base_id, lambda b: b["status"] == "expired", "ended"
        )
        assert (base["ended_on"], base["ended_reason"]) == (ended_on, reason)
        served = hz.application.wait_base(
            case.unit.contact, case.base_id, lambda b: b["status"] == "expired", "ended"
        )
        assert served["ended_on"] == ended_on
        check = hz.review.check_certificate(case.certificate_no)
        assert (check["status"], check["since"]) == ("expired", ended_on)
        plan = hz.funding.wait_plan(
            CAST.auditor,
            case.base_id,
            lambda p: stages(p) == ["paid", "cancelled", "cancelled"],
            "unpaid instalments cancelled",
        )
        assert plan["base_id"] == case.base_id

    assert_audit_clean(data_dir)
    events = timeline(data_dir, granted.case_id)
    assert_in_order(
        events,
        "RenewalRequested",
        "RenewalPendingPastTerm",
        "RenewalAssessed",
        "RenewalGranted",
        "TermRenewed",
    )
    assert "BaseExpired" not in names(events)
    events = timeline(data_dir, refused.case_id)
    assert_in_order(
        events, "RenewalPendingPastTerm", "RenewalAssessed", "RenewalRefused", "BaseExpired"
    )
    assert "RenewalGranted" not in names(events)
