"""The Annex 2 application form (附件2 申报表) and the materials of Art. 7, once for the console.

Each field's name in the application service, its label as the form writes it (the Chinese)
and the English msgid whose Chinese that is, the heading it stands under, and the form's table
row by row (`LAYOUT`); the materials' slots and their names. The applicant fills the form in
this layout; the reviewers, the leading group and the auditor read it by the same labels
(`sections`, `standalone_labels`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from .i18n import N_


@dataclass(frozen=True)
class FormField:
    """One Annex 2 field: its name in the service, its label as the form writes it, and the
    English msgid whose Chinese is that label."""

    name: str
    zh: str
    label: str
    kind: str = "text"  # text | long | wan (万元) | date | declaration (Art. 6)
    group: str | None = None  # the English msgid of the form's heading it stands under
    hint: str | None = None

    @property
    def names(self) -> tuple[str, ...]:
        """The msgids that name the field where it stands alone (a list of what is missing):
        its heading first, unless its own label says enough."""
        if self.group is None or self.kind == "declaration" or self.group == self.label:
            return (self.label,)
        return (self.group, self.label)

    @property
    def max_length(self) -> int:
        return 5000 if self.kind == "long" else 200


BASE_AND_UNIT = N_("The base and the unit")
_OVERVIEW, _FUNDS, _OPINION, _ART6 = (
    N_("Overview"),
    N_("Funds (10,000 CNY)"),
    N_("Opinion of the filling unit"),
    N_("Art. 6 conditions"),
)
#: The Chinese of each heading, shown beside the English in English mode.
GROUPS_ZH = {
    _OVERVIEW: "概述",
    _FUNDS: "资金情况（万元）",
    _OPINION: "填表单位意见",
    _ART6: "申报条件（第六条）",
}

ANNEX2: tuple[FormField, ...] = (
    FormField("base_location", "基地所在地", N_("Base location")),
    FormField("host_unit", "承担单位", N_("Host unit")),
    FormField("address", "单位地址", N_("Unit address")),
    FormField("telephone", "电话", N_("Telephone")),
    FormField("fax", "传真", N_("Fax"), hint=N_("Optional: not needed to submit.")),
    FormField("contact_person", "常设联系人", N_("Standing contact person")),
    FormField("email", "电子信箱", N_("Email")),
    FormField("postcode", "邮编", N_("Postcode")),
    FormField(
        "overview_basic_conditions", "1. 基础条件", N_("1. Basic conditions"), "long", _OVERVIEW
    ),
    FormField("overview_advantages", "2. 优势", N_("2. Advantages"), "long", _OVERVIEW),
    FormField("overview_description", "3. 情况简述", N_("3. Brief description"), "long", _OVERVIEW),
    FormField("overview_expected_goals", "4. 预期目标", N_("4. Expected goals"), "long", _OVERVIEW),
    FormField("office_space", "办公场地", N_("Office space")),
    FormField("matching_funds_wan", "配套资金", N_("Matching funds"), "wan", _FUNDS),
    FormField("self_raised_funds_wan", "自筹资金", N_("Self-raised funds"), "wan", _FUNDS),
    FormField("opinion_text", "填表单位意见", _OPINION, "long", _OPINION),
    FormField("opinion_responsible_person", "负责人签字", N_("Responsible person"), group=_OPINION),
    FormField("opinion_title", "职务", N_("Title"), group=_OPINION),
    FormField("opinion_date", "年 月 日", N_("Date"), "date", _OPINION),
    FormField(
        "declares_organisation",
        "第六条(一) 组织机构",
        N_("Art. 6(1): organisation, rules and staff in place"),
        "declaration",
        _ART6,
        N_(
            "We have the organisation to do the work: work rules, a financial system and a "
            "HaiZhi work plan, full- or part-time staff, office space and working funds."
        ),
    ),
    FormField(
        "declares_overseas_channels",
        "第六条(二) 海外渠道",
        N_("Art. 6(2): overseas channels"),
        "declaration",
        _ART6,
        N_(
            "We have stable channels to overseas S&T organisations and scientists, and a "
            "platform where overseas talent and projects can land."
        ),
    ),
    FormField(
        "declares_government_support",
        "第六条(三) 政府支持",
        N_("Art. 6(3): local government support"),
        "declaration",
        _ART6,
        N_(
            "We have the policy and financial support of the local government or its "
            "departments, and can show a support letter."
        ),
    ),
)
FIELDS = {f.name: f for f in ANNEX2}
#: The Annex 2 table, row by row: a heading, or one or two fields side by side.
LAYOUT: tuple[str | tuple[str, ...], ...] = (
    ("base_location",),
    ("host_unit",),
    ("address",),
    ("telephone", "fax"),
    ("contact_person", "email"),
    ("postcode", "office_space"),
    _OVERVIEW,
    ("overview_basic_conditions",),
    ("overview_advantages",),
    ("overview_description",),
    ("overview_expected_goals",),
    _FUNDS,
    ("matching_funds_wan", "self_raised_funds_wan"),
    ("opinion_text",),
    ("opinion_responsible_person", "opinion_title"),
    ("opinion_date",),
    _ART6,
    ("declares_organisation",),
    ("declares_overseas_channels",),
    ("declares_government_support",),
)
#: Not needed to submit (the service's `OPTIONAL`).
OPTIONAL_FIELDS = frozenset({"fax"})

# --- materials (Art. 7; Annex 2) -------------------------------------------------------------

MATERIALS: dict[str, str] = {
    "support_letter": N_("Support letter of the local Party committee and government"),
    "construction_plan": N_("Base construction plan (feasibility report)"),
    "overseas_cooperation": N_(
        "Overseas S&T organisations and scientists contacted, with proof of cooperation"
    ),
    "policy_measures": N_("Supporting policy measures of the local government"),
    "signed_form": N_("The application form, signed and sealed"),
    "extra": N_("Other material"),
}
SIGNED_FORM = "signed_form"  # required of every submission (Art. 7(2)) whatever the call says


def sections() -> list[tuple[str, list[FormField]]]:
    """The form's fields under their headings, in its order: what a reader of a filled form
    sees (the fields before the first heading under "The base and the unit")."""
    found: list[tuple[str, list[FormField]]] = []
    for f in ANNEX2:
        heading = f.group or BASE_AND_UNIT
        if not found or found[-1][0] != heading:
            found.append((heading, []))
        found[-1][1].append(f)
    return found


def standalone_labels(say: Callable[[str], str], chinese_beside: bool) -> dict[str, str]:
    """Each field's label where it stands alone (a dossier's list, a state as of a time): its
    heading and its own label, in the reader's language; in English with the form's Chinese
    beside, as the form writes it."""
    shown = {}
    for f in ANNEX2:
        label = " · ".join(say(n) for n in f.names)
        shown[f.name] = f"{label} ({f.zh})" if chinese_beside else label
    return shown
