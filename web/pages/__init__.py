"""The console's pages, one module per part of the work; each has a `router` and its `NAV`."""

from __future__ import annotations

from types import ModuleType

from . import (
    applicant,
    assessment,
    audit,
    decisions,
    documents,
    exports,
    finance,
    home,
    inbox,
    public,
    reviews,
    signin,
)

#: In the order their links appear in the header.
PAGES: tuple[ModuleType, ...] = (
    home,
    signin,
    applicant,
    reviews,
    decisions,
    assessment,
    finance,
    exports,
    documents,
    audit,
    inbox,
    public,
)
