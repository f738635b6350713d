"""The funding numbers: a province's own subsidy policy (Notice §4 is Yunnan's promise).

A province's versions live in `policies/provinces/<code>-<version>.toml`; its `[subsidy]` table
funds national work bases, its `[workstation_subsidy]` table (same shape) provincial work
stations. A province with no version in force on the day that picks it, or whose version has
no table for the programme, funds nothing: the plan is not made and the event says why.
The day that picks the version is the day the base's call opened (`policy_day`), not the day
it was approved. `usecases` reads the files; the domain only receives the parsed values.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from typing import TypeVar

_T = TypeVar("_T")


class Programme(StrEnum):
    NATIONAL_BASE = "national_base"  # 海智计划工作基地 (Notice §4: the provincial subsidy)
    PROVINCIAL_WORKSTATION = "provincial_workstation"  # 省科协海智计划工作站 (Notice §5(3))

    @property
    def policy_section(self) -> str:
        """The table of the province's policy that funds this programme."""
        return _SECTIONS[self]


_SECTIONS = {
    Programme.NATIONAL_BASE: "subsidy",
    Programme.PROVINCIAL_WORKSTATION: "workstation_subsidy",
}


def policy_section(programme: str) -> str | None:
    """The policy table for a programme named on an upstream event; None for an unknown one."""
    try:
        return Programme(programme).policy_section
    except ValueError:
        return None


def policy_day(call_opened_on: date | None, approved_on: date) -> date:
    """The day whose provincial policy applies: the call's opening day (the rules the unit
    applied under); the approval day only for a designation that carries no call date."""
    return approved_on if call_opened_on is None else call_opened_on


class FirstDue(StrEnum):
    """When the first instalment falls due; the later ones follow on each anniversary."""

    APPROVAL = "approval"


@dataclass(frozen=True, slots=True)
class FundingPolicy:
    """One province's subsidy table, of one version (e.g. `53-2022.1` `[subsidy]`)."""

    version: str
    instalments: int
    amount_fen: int  # per instalment; integer fen, never float
    first_due: FirstDue
    hold_during_rectification: bool
    cancel_unpaid_on_exit: bool
    new_plan_on_renewal: bool
    priority_project_approval: bool = False  # Notice §4: 优先立项, national bases only

    def __post_init__(self) -> None:
        if not self.version.strip():
            raise ValueError("funding policy: version is blank")
        for name in ("instalments", "amount_fen"):
            value = getattr(self, name)
            # bool is an int subclass and a float would break exact money: refuse both.
            if type(value) is not int or value < 1:
                raise ValueError(f"funding policy {self.version}: {name} must be a positive int")

    @property
    def total_fen(self) -> int:
        return self.instalments * self.amount_fen

    @classmethod
    def from_section(
        cls, version: str, table: Mapping[str, object], section: str = "subsidy"
    ) -> FundingPolicy:
        """Build from one table (`[subsidy]` or `[workstation_subsidy]`) of a policy version."""
        if not isinstance(version, str) or not isinstance(table, Mapping):
            raise ValueError(f"a funding policy needs a string version and a [{section}] table")
        priority = table.get("priority_project_approval", False)
        if not isinstance(priority, bool):
            raise ValueError(f"[{section}] priority_project_approval must be bool")
        return cls(
            version=version,
            instalments=_typed(table, section, "instalments", int),
            amount_fen=_typed(table, section, "amount_fen", int),
            first_due=FirstDue(_typed(table, section, "first_due", str)),
            hold_during_rectification=_typed(table, section, "hold_during_rectification", bool),
            cancel_unpaid_on_exit=_typed(table, section, "cancel_unpaid_on_exit", bool),
            new_plan_on_renewal=_typed(table, section, "new_plan_on_renewal", bool),
            priority_project_approval=priority,
        )


@dataclass(frozen=True, slots=True)
class NoSubsidy:
    """The province funds nothing for the programme on the day that picks its policy.

    `version` is the province's version then in force, which has no table for the programme;
    None when the province has no version in force at all.
    """

    version: str | None = None


def _typed(table: Mapping[str, object], section: str, key: str, kind: type[_T]) -> _T:
    value = table.get(key)
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise ValueError(f"[{section}] {key} must be {kind.__name__}, got {value!r}")
    return value
