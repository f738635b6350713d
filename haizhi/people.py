"""The people of the Yunnan example: the CAST officials who act on a case, and the units that apply.

Shared by the demo and the end-to-end journeys (`haizhi.journeys`) and by the web console's
development sign-in, which offers them as personas. Data only: nothing here calls a service.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

from shared.auth import Role

from .client import Person
from .credit_code import credit_code as generate_credit_code

YUNNAN, KUNMING, QUJING = "53", "5301", "5303"


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
