"""What the pages read from their addresses and their forms, read one way in every part.

- Ids in a path (`Id`, `Sha256`, `Year`): a value of another shape names no page of the console
  — a 404 page (`web.failures`), never a call to a service.
- A field as typed (`text`, `lines`, `ticked`; `day_of`, `fen_of`, `whole_of` for what a field's
  text means): trimmed, a text area's line ends as `\\n`, full-width digits read as digits;
  `back`, the page the form came from.
- `Typed(visit, form)`: the fields a page cannot go on without. Each reader raises `BadForm`
  with what is wrong and what to do instead, in the visitor's language; the console tells it
  on the page the form came from, and sends nothing. A page words its own refusals (a
  `Refusal`: English msgids); the readers' defaults say it of any date or number.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Container
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Annotated

from fastapi import Path
from starlette.datastructures import FormData

from .i18n import N_
from .visit import BadForm, Visit, local_path

#: The services' ids (ULIDs, `unit-…`), as the services' own routes take them.
ID = r"^[0-9A-Za-z_-]{1,64}$"
SHA256 = r"^[0-9a-f]{64}$"

#: A record's id in the console's path.
Id = Annotated[str, Path(pattern=ID)]
#: A file's SHA-256 in the console's path.
Sha256 = Annotated[str, Path(pattern=SHA256)]
#: A year the services know, in the console's path.
Year = Annotated[int, Path(ge=2000, le=2100)]

_ID, _SHA256 = re.compile(ID), re.compile(SHA256)
_DATE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")
_WHOLE = re.compile(r"^[0-9]{1,12}$")
#: 元 as typed: digits, at most two decimals (thousands separators and a 元 sign are dropped).
_YUAN = re.compile(r"^[0-9]{1,13}(\.[0-9]{1,2})?$")


def is_id(value: object) -> bool:
    """Whether `value` can be a service's id (one read from a service's answer, or a form)."""
    return isinstance(value, str) and bool(_ID.fullmatch(value))


def is_sha256(value: object) -> bool:
    return isinstance(value, str) and bool(_SHA256.fullmatch(value))


# --- a field as typed -------------------------------------------------------------------------


def text(form: FormData, name: str) -> str:
    """A field's text as typed, trimmed, a text area's lines ended by `\\n` (never otherwise
    normalised: Chinese punctuation is kept); "" when the form has no such field."""
    value = form.get(name)
    return value.replace("\r\n", "\n").strip() if isinstance(value, str) else ""


def lines(form: FormData, name: str) -> list[str]:
    """A text area's lines, one entry a line (one reason, one member), blank lines dropped."""
    return [line.strip() for line in text(form, name).splitlines() if line.strip()]


def back(form: FormData | None, default: str) -> str:
    """The page the form came from (its `back` field: a path of this console), else `default`."""
    sent = form.get("back") if form is not None else None
    return local_path(sent if isinstance(sent, str) else None, default)


def ticked(form: FormData, name: str) -> bool:
    """Whether a checkbox (`value="yes"`) was ticked."""
    return text(form, name) == "yes"


def day_of(typed: str) -> date | None:
    """A date typed as YYYY-MM-DD (a date field's value; full-width digits too), else None."""
    typed = unicodedata.normalize("NFKC", typed).strip()
    if not _DATE.fullmatch(typed):
        return None
    try:
        return date.fromisoformat(typed)
    except ValueError:
        return None


def whole_of(typed: str, low: int, high: int) -> int | None:
    """A whole number from `low` to `high` as typed (full-width digits too), else None."""
    typed = unicodedata.normalize("NFKC", typed).strip()
    if not _WHOLE.fullmatch(typed):
        return None
    number = int(typed)
    return number if low <= number <= high else None


def fen_of(typed: str) -> int | None:
    """An amount in 元 as typed ("200000", "200,000.00", "¥200000", "200000元") as integer fen,
    exactly (`Decimal`, never a float); None when it is not such an amount or not above zero."""
    amount = unicodedata.normalize("NFKC", typed).strip()
    amount = amount.replace(",", "").replace(" ", "").removeprefix("¥").removesuffix("元")
    if not _YUAN.fullmatch(amount):
        return None
    fen = Decimal(amount) * 100
    return int(fen) if fen > 0 else None


# --- the fields a page cannot go on without ---------------------------------------------------


@dataclass(frozen=True)
class Refusal:
    """What a person is told of a field the console cannot read: what is wrong, and what to do
    instead (English msgids, `%(name)s` filled in when told)."""

    message: str
    next_step: str


#: Of any date.
A_DATE = Refusal(
    N_("A date is written as year-month-day, for example 2022-04-30."),
    N_("Correct the date and send the form again."),
)
#: Of any whole number (`what` names it; `low` and `high` are its bounds).
A_WHOLE_NUMBER = Refusal(
    N_("%(what)s must be a whole number from %(low)s to %(high)s."),
    N_("Correct the number and send the form again."),
)


class Typed:
    """The fields of `form` as the page needs them: each reader returns what it read, or raises
    `BadForm` with its refusal in the visitor's language."""

    def __init__(self, visit: Visit, form: FormData) -> None:
        self.visit, self.form = visit, form

    def refused(self, field: str, refusal: Refusal, **values: object) -> BadForm:
        """The refusal of `field`, to raise: told on the page the form came from."""
        return BadForm(
            field, self.visit.say(refusal.message, **values), self.visit.say(refusal.next_step)
        )

    def text(self, name: str, refusal: Refusal | None = None, *, most: int = 2000) -> str:
        """The field's text; with a `refusal`, one that must be there, at most `most` long."""
        found = text(self.form, name)
        if refusal is not None and not 1 <= len(found) <= most:
            raise self.refused(name, refusal)
        return found

    def lines(
        self,
        name: str,
        refusal: Refusal | None = None,
        *,
        most: int | None = None,
        longest: int | None = None,
    ) -> list[str]:
        """A text area's lines; with a `refusal`, at least one, at most `most` of them, none
        longer than `longest`."""
        found = lines(self.form, name)
        if refusal is not None and (
            not found
            or (most is not None and len(found) > most)
            or (longest is not None and any(len(line) > longest for line in found))
        ):
            raise self.refused(name, refusal)
        return found

    def day(self, name: str, refusal: Refusal = A_DATE) -> date:
        """A date (YYYY-MM-DD, as a date field sends it), China Standard Time's day."""
        found = day_of(text(self.form, name))
        if found is None:
            raise self.refused(name, refusal)
        return found

    def whole(
        self,
        name: str,
        low: int,
        high: int,
        refusal: Refusal = A_WHOLE_NUMBER,
        *,
        required: bool = False,
        **values: object,
    ) -> int | None:
        """A whole number from `low` to `high`, or None when the field is left empty (unless
        `required`); the refusal is told with `low`, `high` and `values` (`what`: its name)."""
        typed = text(self.form, name)
        if not typed and not required:
            return None
        found = whole_of(typed, low, high)
        if found is None:
            raise self.refused(name, refusal, low=low, high=high, **values)
        return found

    def fen(self, name: str, refusal: Refusal) -> int:
        """An amount typed in 元, as integer fen (exactly); above zero."""
        found = fen_of(text(self.form, name))
        if found is None:
            raise self.refused(name, refusal)
        return found

    def choice(self, name: str, choices: Container[str], refusal: Refusal) -> str:
        """One of `choices` (a radio group's or a select's values)."""
        found = text(self.form, name)
        if found not in choices:
            raise self.refused(name, refusal)
        return found

    def ticked(self, name: str, refusal: Refusal) -> None:
        """A checkbox that must be ticked (a declaration the act needs)."""
        if not ticked(self.form, name):
            raise self.refused(name, refusal)
