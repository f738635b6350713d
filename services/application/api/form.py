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
    base_location: Short = None
    host_unit: Short = None
    address: Short = None
    telephone: Short = None
    fax: Short = None
    contact_person: Short = None
    email: Short = None
    postcode: Short = None
    overview_basic_conditions: Long = None
    overview_advantages: Long = None
    overview_description: Long = None
    overview_expected_goals: Long = None
    office_space: Short = None
    matching_funds_wan: Wan = None
    self_raised_funds_wan: Wan = None
    opinion_responsible_person: Short = None
    opinion_title: Short = None
    opinion_date: Day = None
    declares_organisation: Declaration = None
    declares_overseas_channels: Declaration = None
    declares_government_support: Declaration = None

    def changes(self) -> dict[str, FieldValue]:
        """Only the fields the caller sent, `null` included."""
        return {name: getattr(self, name) for name in sorted(self.model_fields_set)}
