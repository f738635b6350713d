"""The people of a Yunnan call and the steps of a case that take several of them.

A `Case` records what the services have told about one application as it moves on: its ids,
its route, its review, its base. The journeys here never move the clock: whoever plays a
story (the demo, the end-to-end tests) sets the date of each act.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, timezone

from .client import CallFailed, Person
from .flows import Designation, Draft, HaiZhi, Row, instalment
from .people import (
    CAST,
    LEADING_GROUP_MEMBERS,
    Officials,
    Unit,
    verifier,
)

BEIJING = timezone(timedelta(hours=8))
AMOUNT_FEN = 20_000_000  # policy 2022.1: 200,000 CNY a year (Notice §4)


def beijing(year: int, month: int, day: int, hour: int = 10) -> datetime:
    """An instant given as Beijing wall-clock time, in UTC."""
    return datetime.combine(date(year, month, day), time(hour), BEIJING).astimezone(UTC)


def today(hz: HaiZhi) -> date:
    """The date in China Standard Time by the shared clock."""
    return hz.clock.now().astimezone(BEIJING).date()


#: What a Yunnan call tells applicants besides its dates (Notice §5(2)): whom to ask, and
#: where the paper copies go.
YUNNAN_CALL = {
    "contacts": [{"name": "毛发强", "phone": "0871-63103381", "email": "ynskxgjb@126.com"}],
    "submission_address": {
        "address": "昆明市护国路26号省科协办公大楼508室",
        "postcode": "650021",
        "recipient": "云南省科协国际部 毛发强",
    },
}


@dataclass
class Case:
    """One application's life as the services have told it so far."""

    unit: Unit
    call_id: str
    application_id: str = ""
    case_id: str = ""
    route: str = ""
    review_id: str = ""
    base_id: str = ""
    certificate_no: str = ""


def register(hz: HaiZhi, unit: Unit, cast: Officials = CAST) -> str:
    """The unit registers and its CAST verifies it, once per system; its registration's id.

    A registration the system already holds (a second run on the same data) is found by
    the id the refusal names, or under the unit's own id, and verified if still pending.
    """
    if unit.unit_id in hz.units:
        return hz.units[unit.unit_id]
    try:
        row = hz.application.register_unit(unit.contact, unit.registration())
    except CallFailed as refused:
        named = refused.problem.get("unit_id") if isinstance(refused.problem, Mapping) else None
        existing = hz.application.unit(unit.contact, str(named or unit.unit_id))
        if refused.status != 409 or existing is None:
            raise
        row = existing
    unit_id = str(row["unit_id"])
    if row.get("status") != "verified":
        hz.application.verify_unit(verifier(unit, cast), unit_id)
    hz.units[unit.unit_id] = unit_id
    return unit_id


def apply(hz: HaiZhi, unit: Unit, call_id: str, cast: Officials = CAST) -> Case:
    """The unit (registered and verified first, if need be) drafts, fills in Annex 2 with
    its opinion, uploads the materials and the signed form page, and submits."""
    register(hz, unit, cast)
    applicant = unit.contact
    draft: Draft = hz.application.draft_application(applicant, call_id)
    hz.application.fill_form(applicant, draft.application_id, unit.form())
    hz.application.upload_materials(applicant, draft.application_id, unit.materials())
    hz.application.submit(applicant, draft.application_id)
    row = hz.application.application(applicant, draft.application_id)
    case = Case(unit, call_id, draft.application_id, draft.case_id, route=row["route"])
    case.review_id = hz.review.waiting_review(
        first_reviewer(case, cast), case.case_id, first_level(case)
    )["review_id"]
    return case


def first_level(case: Case) -> str:
    return "prefecture" if case.route == "via_prefecture" else "province"


def first_reviewer(case: Case, cast: Officials = CAST) -> Person:
    """Who receives the submission: the unit's prefecture CAST on its route, else the province."""
    if case.route == "via_prefecture":
        return cast.prefecture(case.unit.jurisdiction)
    return cast.province_intake


def prefecture_forward(hz: HaiZhi, case: Case, cast: Officials = CAST) -> None:
    """The unit's prefecture CAST reviews and forwards it to the province."""
    prefecture = cast.prefecture(case.unit.jurisdiction)
    hz.review.waiting_review(prefecture, case.case_id, "prefecture")
    hz.review.prefecture_forward(prefecture, case.review_id, "材料齐全，同意推荐至省科协。")


def province_accept(hz: HaiZhi, case: Case, cast: Officials = CAST) -> None:
    """The province records the paper file's receipt and accepts it at intake."""
    intake = cast.province_intake
    hz.review.waiting_review(intake, case.case_id, "province")
    hz.application.record_receipt(
        intake, case.application_id, received_on=today(hz), paper_copies=5
    )
    hz.review.province_accept(intake, case.review_id, "形式审查通过。")


def to_candidate(hz: HaiZhi, case: Case, cast: Officials = CAST) -> None:
    """First review: the prefecture (on its route) forwards, the province accepts at intake."""
    if case.route == "via_prefecture":
        prefecture_forward(hz, case, cast)
    province_accept(hz, case, cast)


def recommend(hz: HaiZhi, call_id: str, cases: list[Case], cast: Officials = CAST) -> None:
    """The province's ranked list of the call, best first."""
    hz.review.rank(cast.province_ranker, call_id, [c.application_id for c in cases])


def designate(
    hz: HaiZhi, case: Case, *, meeting_ref: str, approval_no: str, cast: Officials = CAST
) -> Designation:
    """National preliminary review, the leading group, the approval and plaque; then waits
    until assessment has the base and funding its subsidy plan."""
    national = cast.national
    hz.review.waiting_review(national, case.case_id, "national")
    hz.review.national_forward(national, case.review_id, "初审通过，提请领导小组审批。")
    member = cast.leading_group
    hz.review.waiting_review(member, case.case_id, "leading_group")
    hz.review.leading_group_approve(
        member,
        case.review_id,
        meeting_ref=meeting_ref,
        meeting_date=today(hz),
        members_present=LEADING_GROUP_MEMBERS,
    )
    office = cast.general_office
    hz.review.waiting_review(office, case.case_id, "general_office")
    designation = hz.review.issue_approval(office, case.review_id, approval_no)
    case.base_id, case.certificate_no = designation.base_id, designation.certificate_no
    hz.assessment.wait_base(
        cast.auditor, case.base_id, lambda b: b["status"] == "active", "registered"
    )
    hz.funding.wait_plan(cast.auditor, case.base_id, lambda p: True, "a subsidy plan")
    hz.application.wait_base(case.unit.contact, case.base_id, lambda b: True, "the base recorded")
    return designation


def pay_instalment(hz: HaiZhi, case: Case, number: int, cast: Officials = CAST) -> Row:
    """Once instalment `number` is due, one finance officer approves it and another pays."""

    def due(plan: Row) -> bool:
        return bool(instalment(plan, number)["stage"] == "due")

    plan = hz.funding.wait_plan(
        cast.finance_approver, case.base_id, due, f"instalment {number} due"
    )
    owed = instalment(plan, number)
    hz.funding.approve_instalment(cast.finance_approver, owed["instalment_id"])
    on = today(hz)
    hz.funding.confirm_payment(
        cast.finance_payer,
        owed["instalment_id"],
        payment_ref=f"YN-{on:%Y%m%d}-{number:03d}",
        paid_on=on,
        amount_fen=owed["amount_fen"],
    )
    return owed


def annual_report(unit: Unit, year: int) -> Row:
    """Art. 10: the year's work summary and next year's plan."""
    digest = hashlib.sha256(f"{unit.unit_id}-{year}".encode()).hexdigest()
    return {
        "summary": {
            "talent_introduced": f"{year}年引进海外专家8名，其中高层次人才3名。",
            "projects_landed": "落地海外合作项目4项，新材料与生物医药各2项。",
            "academic_exchanges": "举办中国—南亚东南亚科技交流会2场。",
            "technical_innovation": "联合攻关关键技术3项，申请发明专利5件。",
            "difficulties": "海外专家来滇签证办理周期较长。",
        },
        "next_year_plan": f"{year + 1}年计划引进海外人才10名，新建海外联络站1个。",
        "resource_library": {
            "overseas_societies": 12,
            "haizhi_projects": 9,
            "overseas_talents": 46,
            "last_updated_on": f"{year}-12-01",
        },
        "attachments": [
            {
                "name": f"{year}年度工作总结.pdf",
                "media_type": "application/pdf",
                "size": 204_800,
                "sha256": digest,
            },
        ],
    }


def report_year(hz: HaiZhi, case: Case, year: int, cast: Officials = CAST) -> None:
    """Once reporting for `year` is open, the unit files and its local CAST forwards."""
    unit = case.unit.contact
    hz.assessment.wait_year(
        unit, case.base_id, year, lambda y: y["report_status"] == "open", "reporting open"
    )
    hz.assessment.file_annual_report(unit, case.base_id, year, annual_report(case.unit, year))
    local = cast.prefecture(case.unit.jurisdiction) if case.route == "via_prefecture" else None
    hz.assessment.forward_report(local or cast.province_intake, case.base_id, year)


EXCELLENT = {
    "annual_plan": 95,
    "local_activities": 92,
    "resource_library": 90,
    "project_follow_up": 93,
    "overseas_channels": 94,
}
QUALIFIED = {
    "annual_plan": 75,
    "local_activities": 70,
    "resource_library": 72,
    "project_follow_up": 68,
    "overseas_channels": 74,
}
UNQUALIFIED = {
    "annual_plan": 45,
    "local_activities": 50,
    "resource_library": 40,
    "project_follow_up": 52,
    "overseas_channels": 48,
}


def assess_year(
    hz: HaiZhi,
    year: int,
    scores: Mapping[str, Mapping[str, int]],
    *,
    meeting_ref: str,
    cast: Officials = CAST,
) -> dict[str, str]:
    """Art. 11–12: the department scores every base due (those in `scores` as given, any
    other on its record), proposes the year's list, and the leading group approves it."""
    department = cast.national
    for base in hz.assessment.bases(department, status="active"):
        row = hz.assessment.year(department, base["base_id"], year)
        if base["base_id"] in scores:
            hz.assessment.score(department, base["base_id"], year, scores[base["base_id"]])
        elif row is not None and row["report_status"] != "not_open" and not row["proposed_grade"]:
            hz.assessment.score(department, base["base_id"], year, QUALIFIED)
    hz.assessment.propose_grades(department, year)
    return hz.assessment.approve_grades(
        cast.leading_group, year, meeting_ref=meeting_ref, meeting_date=today(hz)
    )


def rectification_of(hz: HaiZhi, case: Case, year: int, cast: Officials = CAST) -> str:
    """The id of the rectification ordered for `year`'s unqualified grade, once funding has
    learned of it too (the subsidy is withheld while it is open)."""
    unit = case.unit.contact
    row = hz.assessment.wait_year(
        unit, case.base_id, year, lambda y: bool(y["rectification_id"]), "rectification ordered"
    )
    hz.funding.wait_plan(unit, case.base_id, lambda p: p["open_holds"] > 0, "subsidy on hold")
    return str(row["rectification_id"])
