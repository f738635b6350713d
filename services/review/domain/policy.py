"""The versioned numbers the review service applies (policies/<version>.toml, loaded by main.py).

A command that applies policy carries it; the event of that decision names its version.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class DesignationPolicy:
    version: str
    term_years: int  # Art. 14: valid 5 years from approval
    plaque_name: str  # Art. 8: 中国科协海智计划工作基地
