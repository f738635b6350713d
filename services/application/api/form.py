"""The Annex 2 form as JSON: every field optional, so a draft saves field by field.

A field left out is left alone; `null` empties it. Types are strict: text is a string, 万元
an exact decimal (a string such as "30.5", or a number), a date `YYYY-MM-DD`, an Art. 6
declaration `true` or `false`.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Annotated

from pydantic import BeforeValidator, Field, StrictBool

from shared.api import Body

from ..domain.form import FieldValue


def _iso_text(value: object) -> object:
    if not isinstance(value, str | date):
        raise ValueError("a date is written YYYY-MM-DD")
    return value


Short = Annotated[str | None, Field(max_length=200)]
Long = Annotated[str | None, Field(max_length=5000)]
Wan = Annotated[Decimal | None, Field(ge=0, max_digits=18, decimal_places=6)]
Day = Annotated[date | None, BeforeValidator(_iso_text)]
Declaration = StrictBool | None


class FormFields(Body):
    """附件2 申报表 / The Annex 2 application form. Every field optional in a request (none is
    changed unless sent; `null` empties one); all but `fax` are needed to submit."""

    base_location: Short = Field(
        None,
        title="基地所在地 / Base location",
        description="Default: unchanged when left out; null empties it.",
    )
    host_unit: Short = Field(
        None,
        title="承担单位 / Host unit",
        description="Default: unchanged when left out; null empties it.",
    )
    address: Short = Field(
        None,
        title="单位地址 / Address",
        description="Default: unchanged when left out; null empties it.",
    )
    telephone: Short = Field(
        None,
        title="电话 / Telephone",
        description="Default: unchanged when left out; null empties it.",
    )
    fax: Short = Field(
        None,
        title="传真 / Fax",
        description="Default: unchanged when left out; null empties it. "
        "Optional: not needed to submit.",
    )
    contact_person: Short = Field(
        None,
        title="常设联系人 / Standing contact person",
        description="Default: unchanged when left out; null empties it.",
    )
    email: Short = Field(
        None,
        title="电子信箱 / Email",
        description="Default: unchanged when left out; null empties it.",
    )
    postcode: Short = Field(
        None,
        title="邮编 / Postcode",
        description="Default: unchanged when left out; null empties it.",
    )
    overview_basic_conditions: Long = Field(
        None,
        title="概述 1. 基础条件 / Overview 1. Basic conditions",
        description="Default: unchanged when left out; null empties it.",
    )
    overview_advantages: Long = Field(
        None,
        title="概述 2. 优势 / Overview 2. Advantages",
        description="Default: unchanged when left out; null empties it.",
    )
    overview_description: Long = Field(
        None,
        title="概述 3. 情况简述 / Overview 3. Brief description",
        description="Default: unchanged when left out; null empties it.",
    )
    overview_expected_goals: Long = Field(
        None,
        title="概述 4. 预期目标 / Overview 4. Expected goals",
        description="Default: unchanged when left out; null empties it.",
    )
    office_space: Short = Field(
        None,
        title="办公场地 / Office space",
        description="Default: unchanged when left out; null empties it.",
    )
    matching_funds_wan: Wan = Field(
        None,
        title="配套资金（万元） / Matching funds (10,000 CNY)",
        description="Default: unchanged when left out; null empties it. "
        'An exact decimal, e.g. "30.5"; to the fen.',
    )
    self_raised_funds_wan: Wan = Field(
        None,
        title="自筹资金（万元） / Self-raised funds (10,000 CNY)",
        description="Default: unchanged when left out; null empties it. "
        'An exact decimal, e.g. "30.5"; to the fen.',
    )
    opinion_text: Long = Field(
        None,
        title="填表单位意见 / Opinion of the filling unit",
        description="Default: unchanged when left out; null empties it.",
    )
    opinion_responsible_person: Short = Field(
        None,
        title="填表单位意见：负责人 / Opinion: responsible person",
        description="Default: unchanged when left out; null empties it.",
    )
    opinion_title: Short = Field(
        None,
        title="职务 / Title of the responsible person",
        description="Default: unchanged when left out; null empties it.",
    )
    opinion_date: Day = Field(
        None,
        title="年 月 日 / Date of the opinion",
        description="Default: unchanged when left out; null empties it. YYYY-MM-DD.",
    )
    declares_organisation: Declaration = Field(
        None,
        title="第六条(一) 组织机构 / Art. 6(1): organisation, rules and staff in place",
        description="Default: unchanged when left out; null empties it. Must be true to submit.",
    )
    declares_overseas_channels: Declaration = Field(
        None,
        title="第六条(二) 海外渠道 / Art. 6(2): overseas channels",
        description="Default: unchanged when left out; null empties it. Must be true to submit.",
    )
    declares_government_support: Declaration = Field(
        None,
        title="第六条(三) 政府支持 / Art. 6(3): local government support",
        description="Default: unchanged when left out; null empties it. Must be true to submit.",
    )

    def changes(self) -> dict[str, FieldValue]:
        """Only the fields the caller sent, `null` included."""
        return {name: getattr(self, name) for name in sorted(self.model_fields_set)}
