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


@dataclass(frozen=True, slots=True)
class WorkstationPolicy:
    """A province's own rules for its work stations (Notice §5(3)): its [workstation] section.

    `version` is the province's policy version (e.g. "53-2022.1"), named on the designation.
    """

    version: str
    certificate_series: str  # e.g. 云海智站: certificates 云海智站-<year>-<seq>
