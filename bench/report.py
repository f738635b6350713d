"""The figures' keys and targets (issue 8), and the table printed at the end of a run."""

from __future__ import annotations

from typing import Any

#: key -> (comparison, target); None: recorded, no target.
TARGETS: dict[str, tuple[str, float] | None] = {
    "append_sqlite_ratio": (">=", 0.5),
    "append_postgres_ratio": (">=", 0.5),
    "pg_wal_syncs_per_commit_8w": ("<=", 0.5),
    "vs_eventsourcing_append_sqlite": (">=", 1.0),
    "vs_eventsourcing_append_postgres": (">=", 1.0),
    "vs_eventsourcing_read_sqlite": (">=", 1.0),
    "vs_eventsourcing_read_postgres": (">=", 1.0),
    "relay_ratio": (">=", 0.7),
    "consume_ratio": (">=", 0.5),
    "rebuild_ratio": (">=", 0.5),
    "rebuild_vs_naive": (">=", 20.0),
    "lag_p99_ratio": ("<=", 5.0),
    "http_command_ratio": (">=", 0.5),
    "load_10k_vs_100": ("<=", 3.0),
    "lifecycle_cases_per_min": None,
}
KEYS = list(TARGETS)


def verdict(key: str, value: float | None) -> str:
    target = TARGETS[key]
    if value is None:
        return "—"
    if target is None:
        return "recorded"
    op, threshold = target
    met = value >= threshold if op == ">=" else value <= threshold
    return "met" if met else "MISSED"


def _target(key: str) -> str:
    target = TARGETS[key]
    return (
        "record"
        if target is None
        else f"{target[0].replace('>=', '≥').replace('<=', '≤')} {target[1]:g}"
    )


def render_table(
    values: dict[str, float | None], figures: dict[str, Any], growth: dict[str, Any] | None
) -> str:
    width = max(len(k) for k in KEYS)
    lines = [f"{'figure':<{width}}  {'value':>9}  {'target':>7}  verdict", "-" * (width + 30)]
    for key in KEYS:
        value = values.get(key)
        shown = "null" if value is None else f"{value:.3g}"
        lines.append(f"{key:<{width}}  {shown:>9}  {_target(key):>7}  {verdict(key, value)}")
    if growth:
        lines += ["", "cost against size (events):", *growth.get("lines", [])]
    return "\n".join(lines)
