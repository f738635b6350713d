"""The Annex 2 application form (申报表): its fields, their kinds, and what a submission needs.

Values travel in events as text (`FormEntry`), so that no event holds a dict or a union a
deserialiser could read two ways; `decode` restores the typed value. Money is 万元 as an exact
`Decimal`, kept to the fen and written in one canonical way so that equal forms hash equal.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, fields, replace
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any, TypeAlias

from .events import FormEntry

FieldValue: TypeAlias = str | Decimal | date | bool | None


class Kind(StrEnum):
    TEXT = "text"
    WAN = "wan"  # 万元
    DATE = "date"
    DECLARATION = "declaration"  # Art. 6: must be true to submit


@dataclass(frozen=True, slots=True)
class ApplicationForm:
    base_location: str | None = None  # 基地所在地
    host_unit: str | None = None  # 承担单位
    address: str | None = None  # 单位地址
    telephone: str | None = None  # 电话
    fax: str | None = None  # 传真
    contact_person: str | None = None  # 常设联系人
    email: str | None = None  # 电子信箱
    postcode: str | None = None  # 邮编
    overview_basic_conditions: str | None = None  # 概述 1. 基础条件
    overview_advantages: str | None = None  # 2. 优势
    overview_description: str | None = None  # 3. 情况简述
    overview_expected_goals: str | None = None  # 4. 预期目标
    office_space: str | None = None  # 办公场地
    matching_funds_wan: Decimal | None = None  # 配套资金（万元）
    self_raised_funds_wan: Decimal | None = None  # 自筹资金（万元）
    opinion_text: str | None = None  # 填表单位意见 (the filling unit's opinion)
    opinion_responsible_person: str | None = None  # 填表单位意见：负责人
    opinion_title: str | None = None  # 职务
    opinion_date: date | None = None  # 年 月 日
    declares_organisation: bool | None = None  # Art. 6(1)
    declares_overseas_channels: bool | None = None  # Art. 6(2)
    declares_government_support: bool | None = None  # Art. 6(3)


_SPECIAL = {
    "matching_funds_wan": Kind.WAN,
    "self_raised_funds_wan": Kind.WAN,
    "opinion_date": Kind.DATE,
    "declares_organisation": Kind.DECLARATION,
    "declares_overseas_channels": Kind.DECLARATION,
    "declares_government_support": Kind.DECLARATION,
}
KINDS: Mapping[str, Kind] = {
    f.name: _SPECIAL.get(f.name, Kind.TEXT) for f in fields(ApplicationForm)
}
# Few units still keep a fax line; the form asks for one but an empty box is no obstacle.
OPTIONAL: frozenset[str] = frozenset({"fax"})
_FEN_PLACES = 6  # 1 fen = 0.000001 万元


def unknown(changes: Mapping[str, FieldValue]) -> list[str]:
    return sorted(set(changes) - set(KINDS))


def clean(changes: Mapping[str, FieldValue]) -> tuple[dict[str, FieldValue], list[str]]:
    """The values in canonical form, and the names of those of the wrong kind or range."""
    cleaned: dict[str, FieldValue] = {}
    invalid: list[str] = []
    for name in KINDS:
        if name in changes:
            try:
                cleaned[name] = _clean(KINDS[name], changes[name])
            except ValueError:
                invalid.append(name)
    return cleaned, invalid


def changed(form: ApplicationForm, cleaned: Mapping[str, FieldValue]) -> tuple[FormEntry, ...]:
    """The entries that differ from the form, in form order."""
    return tuple(
        FormEntry(name, encode(KINDS[name], value))
        for name, value in cleaned.items()
        if getattr(form, name) != value
    )


def apply(form: ApplicationForm, entries: Iterable[FormEntry]) -> ApplicationForm:
    values: dict[str, Any] = {e.field: decode(KINDS[e.field], e.value) for e in entries}
    return replace(form, **values)


def missing(form: ApplicationForm) -> list[str]:
    """Fields a submission still needs; an Art. 6 declaration counts only when made (true)."""
    return [
        name
        for name, kind in KINDS.items()
        if name not in OPTIONAL
        and (
            getattr(form, name) is not True
            if kind is Kind.DECLARATION
            else getattr(form, name) is None
        )
    ]


def entries(form: ApplicationForm) -> tuple[FormEntry, ...]:
    return tuple(FormEntry(name, encode(kind, getattr(form, name))) for name, kind in KINDS.items())


def digest(form: ApplicationForm) -> str:
    """SHA-256 of the form as canonical JSON: what reviewers see is what was submitted."""
    canonical = json.dumps(
        {e.field: e.value for e in entries(form)},
        sort_keys=True,
        ensure_ascii=False,
        separators=(",", ":"),
    )
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def encode(kind: Kind, value: FieldValue) -> str | None:
    if value is None:
        return None
    if kind is Kind.DECLARATION:
        return "true" if value else "false"
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def decode(kind: Kind, text: str | None) -> FieldValue:
    if text is None:
        return None
    match kind:
        case Kind.TEXT:
            return text
        case Kind.WAN:
            return Decimal(text)
        case Kind.DATE:
            return date.fromisoformat(text)
        case Kind.DECLARATION:
            return text == "true"


def _clean(kind: Kind, value: FieldValue) -> FieldValue:
    if value is None:
        return None
    match kind:
        case Kind.TEXT if isinstance(value, str):
            return value if value.strip() else None
        case Kind.WAN if isinstance(value, Decimal) and value.is_finite() and value >= 0:
            return _canonical_wan(value)
        case Kind.DATE if isinstance(value, date) and not isinstance(value, datetime):
            return value
        case Kind.DECLARATION if isinstance(value, bool):
            return value
    raise ValueError(f"not a {kind} value: {value!r}")


def _canonical_wan(value: Decimal) -> Decimal:
    text = format(value, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
        if "." in text and len(text.partition(".")[2]) > _FEN_PLACES:
            raise ValueError("finer than a fen")
    return Decimal(text.removeprefix("-"))  # only -0 can carry a sign here
