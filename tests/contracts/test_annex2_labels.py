"""The Annex 2 form is written twice — in the application service, which prints it for the
signed and sealed paper copies, and in the console, which lays it out to be filled in — and the
two must agree on every label, heading and row (web and the services share no code)."""

from __future__ import annotations

from services.application.domain import annex2 as printed
from services.application.domain.form import KINDS
from web import annex2 as console


def test_the_printed_form_and_the_console_share_every_label() -> None:
    assert {f.name: f.zh for f in console.ANNEX2} == printed.LABELS
    assert set(printed.LABELS) == set(KINDS)  # every field of the service's form, no other


def test_the_printed_form_and_the_console_lay_the_table_out_alike() -> None:
    def rows(layout: tuple[str | tuple[str, ...], ...], heading: dict[str, str]) -> list[object]:
        return [heading.get(row, row) if isinstance(row, str) else row for row in layout]

    # A console row that is a heading is the English msgid: its Chinese is in GROUPS_ZH.
    assert rows(printed.LAYOUT, {}) == rows(console.LAYOUT, console.GROUPS_ZH)
