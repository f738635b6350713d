"""The versioned funding numbers: the `[funding]` table of `policies/<version>.toml`.

Notice §4: 200,000 CNY a year for 3 consecutive years; the rest are the decisions the text leaves
open (docs: DOMAIN.md). `main.py` reads the file; the domain only receives the parsed values.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import TypeVar

_T = TypeVar("_T")


class FirstDue(StrEnum):
    """When the first instalment falls due; the later ones follow on each anniversary."""

    APPROVAL = "approval"


@dataclass(frozen=True, slots=True)
class FundingPolicy:
    version: str
    instalments: int
    amount_fen: int  # per instalment; integer fen, never float
    first_due: FirstDue
    hold_during_rectification: bool
    cancel_unpaid_on_exit: bool
    new_plan_on_renewal: bool

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
    def from_document(cls, document: Mapping[str, object]) -> FundingPolicy:
        """Build from a parsed policy document (top-level `version` and the `[funding]` table)."""
        version = document.get("version")
        table = document.get("funding")
        if not isinstance(version, str) or not isinstance(table, Mapping):
            raise ValueError("policy document needs a string `version` and a [funding] table")
        return cls(
            version=version,
            instalments=_typed(table, "instalments", int),
            amount_fen=_typed(table, "amount_fen", int),
            first_due=FirstDue(_typed(table, "first_due", str)),
            hold_during_rectification=_typed(table, "hold_during_rectification", bool),
            cancel_unpaid_on_exit=_typed(table, "cancel_unpaid_on_exit", bool),
            new_plan_on_renewal=_typed(table, "new_plan_on_renewal", bool),
        )


def _typed(table: Mapping[str, object], key: str, kind: type[_T]) -> _T:
    value = table.get(key)
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise ValueError(f"[funding] {key} must be {kind.__name__}, got {value!r}")
    return value
