"""The people of a Yunnan call and the steps of a case that take several of them.

A `Case` records what the services have told about one application as it moves on: its ids,
its route, its review, its base. The journeys here never move the clock: whoever plays a
story (the demo, the end-to-end tests) sets the date of each act.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, fields
from datetime import UTC, date, datetime, time, timedelta, timezone
from typing import Any

from shared.auth import Role

from .client import CallFailed, Person
from .credit_code import credit_code as generate_credit_code
from .flows import Designation, Draft, HaiZhi, Row, instalment

BEIJING = timezone(timedelta(hours=8))
YUNNAN, KUNMING, QUJING = "53", "5301", "5303"
AMOUNT_FEN = 20_000_000  # policy 2022.1: 200,000 CNY a year (Notice §4)


def beijing(year: int, month: int, day: int, hour: int = 10) -> datetime:
    """An instant given as Beijing wall-clock time, in UTC."""
    return datetime.combine(date(year, month, day), time(hour), BEIJING).astimezone(UTC)


def today(hz: HaiZhi) -> date:
    """The date in China Standard Time by the shared clock."""
    return hz.clock.now().astimezone(BEIJING).date()


def _official(user_id: str, name: str, role: Role, org: str, code: str) -> Person:
    return Person(user_id, name, (role,), org, (code,))


@dataclass(frozen=True)
class Officials:
    """Everyone who acts on a case but the applicant unit."""

    province_intake: Person
    province_ranker: Person
    kunming: Person
    qujing: Person
    national: Person
    leading_group: Person
    general_office: Person
    finance_approver: Person
    finance_payer: Person
    auditor: Person

    def prefecture(self, jurisdiction: str) -> Person:
        return self.qujing if jurisdiction.startswith(QUJING) else self.kunming

    def everyone(self) -> list[Person]:
        return [getattr(self, f.name) for f in fields(self)]


CAST = Officials(
    province_intake=_official("wangfang", "王芳", Role.PROVINCE_REVIEWER, "cast-yn", YUNNAN),
    province_ranker=_official("zhangwei", "张伟", Role.PROVINCE_REVIEWER, "cast-yn", YUNNAN),
    kunming=_official("liuyang", "刘洋", Role.PREFECTURE_REVIEWER, "cast-km", KUNMING),
    qujing=_official("chenjing", "陈静", Role.PREFECTURE_REVIEWER, "cast-qj", QUJING),
    national=_official("zhaolei", "赵磊", Role.NATIONAL_REVIEWER, "cast-ild", "CN"),
    leading_group=_official("suntao", "孙涛", Role.LEADING_GROUP, "haizhi-lg", "CN"),
    general_office=_official("zhoumin", "周敏", Role.GENERAL_OFFICE, "cast-go", "CN"),
    finance_approver=_official("yangli", "杨丽", Role.FINANCE, "yast-finance", YUNNAN),
    finance_payer=_official("huangqiang", "黄强", Role.FINANCE, "yast-finance", YUNNAN),
    auditor=_official("wujun", "吴军", Role.AUDITOR, "cast-audit", "CN"),
)

LEADING_GROUP_MEMBERS = ("孙涛", "钱伟", "郑洁", "冯涛")


#: A unit's administrative level when its registration does not say (the scenarios' units):
#: provincial-level and central units go direct to the province, the rest via their prefecture.
LEVEL_OF_CATEGORY = {
    "provincial_unit": "provincial",
    "university": "provincial",
    "central_unit": "central",
    "national_society": "central",
}


@dataclass(frozen=True)
class Unit:
    """An applicant unit as it registers (统一社会信用代码 and all), and the person who files."""

    unit_id: str
    name: str
    category: str
    jurisdiction: str
    address: str
    postcode: str
    contact: Person
    level: str
    credit_code: str
    telephone: str = "0871-65031234"

    @classmethod
    def of(
        cls,
        unit_id: str,
        name: str,
        category: str,
        jurisdiction: str,
        *,
        address: str,
        postcode: str,
        contact: tuple[str, str],
        level: str | None = None,
        credit_code: str | None = None,
    ) -> Unit:
        """`level` defaults by category (`LEVEL_OF_CATEGORY`, else `prefecture`); the credit
        code is a valid one derived from `unit_id` unless given."""
        user_id, person = contact
        applicant = Person(user_id, person, (Role.APPLICANT,), unit_id, (jurisdiction,))
        level = level or LEVEL_OF_CATEGORY.get(category, "prefecture")
        kind = ("9", "1") if category == "enterprise" else ("1", "1" if category == "park" else "2")
        code = credit_code or generate_credit_code(unit_id, jurisdiction, *kind)
        return cls(unit_id, name, category, jurisdiction, address, postcode, applicant, level, code)

    @property
    def route(self) -> str:
        """The route its verified registration gives it (Notice §3)."""
        return "via_prefecture" if self.level == "prefecture" else "direct"

    @property
    def email(self) -> str:
        return f"{self.contact.user_id}@{self.unit_id}.cn"

    def registration(self) -> dict[str, Any]:
        """`POST /units`: the unit as its CAST will verify it."""
        return {
            "name": self.name,
            "credit_code": self.credit_code,
            "category": self.category,
            "level": self.level,
            "jurisdiction": self.jurisdiction,
            "contacts": [{"name": self.contact.name, "phone": self.telephone, "email": self.email}],
            "address": self.address,
        }

    def form(self) -> dict[str, Any]:
        """Annex 2, filled in as this unit would."""
        return {
            "base_location": self.address.split("市")[0] + "市",
            "host_unit": self.name,
            "address": self.address,
            "telephone": self.telephone,
            "contact_person": self.contact.name,
            "email": self.email,
            "postcode": self.postcode,
            "overview_basic_conditions": f"{self.name}设有海智工作办公室，配备专兼职人员6名。",
            "overview_advantages": "与东南亚、南亚多国科技组织保持长期合作。",
            "overview_description": "依托重点实验室和产业园区引进海外人才和项目。",
            "overview_expected_goals": "三年内引进海外高层次人才20名，落地合作项目10项。",
            "office_space": "办公场地300平方米",
            "matching_funds_wan": "50",
            "self_raised_funds_wan": "30.5",
            "opinion_text": f"同意推荐{self.name}申报中国科协海智计划工作基地，所填内容真实。",
            "opinion_responsible_person": "杨志强",
            "opinion_title": "主任",
            "opinion_date": "2022-03-15",
            "declares_organisation": True,
            "declares_overseas_channels": True,
            "declares_government_support": True,
        }

    def materials(self, revision: int = 1) -> dict[str, tuple[str, bytes]]:
        """Art. 7's four materials and the signed-and-sealed form page (签字盖章, Art. 7(2)),
        as small PDF files."""
        titles = {
            "support_letter": "支持函",
            "construction_plan": "基地建设方案",
            "overseas_cooperation": "海外合作证明",
            "policy_measures": "地方政府支持政策",
            "signed_form": "申报表签字盖章页",
        }
        return {
            slot: (f"{slot}.pdf", f"%PDF-1.4\n% {self.name} {title} v{revision}\n%%EOF\n".encode())
            for slot, title in titles.items()
        }


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


# The units of Yunnan that the demo and the end-to-end scenarios play.
KMUST = Unit.of(
    "unit-kmust",
    "昆明理工大学",
    "university",
    "5301",
    address="云南省昆明市呈贡区景明南路727号",
    postcode="650500",
    contact=("liming", "李明"),
    level="provincial",  # a provincial university: direct to the province
)
QUJING_EDZ = Unit.of(
    "unit-qjedz",
    "曲靖经济技术开发区管理委员会",
    "park",
    "5303",
    address="云南省曲靖市麒麟区经开区西城街道",
    postcode="655000",
    contact=("zhangli", "张丽"),
    level="prefecture",  # via the Qujing CAST
)
KUNMING_HTZ = Unit.of(
    "unit-kmhtz",
    "昆明高新技术产业开发区管理委员会",
    "park",
    "5301",
    address="云南省昆明市五华区海源中路1520号",
    postcode="650106",
    contact=("zhaoqiang", "赵强"),
    level="prefecture",  # via the Kunming CAST
)
KUNMING_UNIVERSITY = Unit.of(
    "unit-kmu",
    "昆明学院",
    "university",
    "5301",
    address="云南省昆明市经济技术开发区浦新路2号",
    postcode="650214",
    contact=("hefang", "何芳"),
    level="prefecture",  # city-owned: via the Kunming CAST like any prefecture-owned unit
)


def verifier(unit: Unit, cast: Officials = CAST) -> Person:
    """Who verifies a registration: the prefecture CAST for a prefecture-level unit (a
    city-owned university like 昆明学院 too), the province for provincial-level and central
    units."""
    if unit.level == "prefecture":
        return cast.prefecture(unit.jurisdiction)
    return cast.province_intake


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
