"""The versioned numbers this service applies (policies/<version>.toml, loaded by main.py)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class RenewalPolicy:
    version: str
    window_days: int  # [renewal] window_days, Art. 14: "in the 90 days before expiry"
