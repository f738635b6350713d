"""The figures' keys and targets (issues 8 and 14, the console's and issue 17's features), and
the table printed at the end of a run."""

from __future__ import annotations

from typing import Any

#: key -> (comparison, target); None: recorded, no target.
TARGETS: dict[str, tuple[str, float] | None] = {
    "append_sqlite_ratio": (">=", 0.5),
    "append_sqlite_cpu_ratio": ("<=", 3.0),
    "append_postgres_ratio": (">=", 0.5),
    "pg_wal_syncs_per_commit_8w": ("<=", 0.5),
    "vs_eventsourcing_append_sqlite": (">=", 1.25),
    "vs_eventsourcing_append_postgres": (">=", 1.25),
    "vs_eventsourcing_read_sqlite": (">=", 1.25),
    "vs_eventsourcing_read_postgres": (">=", 1.25),
    "relay_ratio": (">=", 0.8),
    "consume_ratio": (">=", 0.5),
    "rebuild_ratio": (">=", 0.5),
    "rebuild_vs_naive": (">=", 20.0),
    "lag_p99_ratio": ("<=", 5.0),
    "http_command_ratio": (">=", 0.5),
    "load_10k_vs_100": ("<=", 3.0),
    "lifecycle_cases_per_min": (">=", 120.0),
    # The web console: server time per page at 20 concurrent users (bench/console.py).
    "console_page_p95_ms": ("<", 200.0),
    "console_page_p50_ms": None,
    "console_overhead_ratio": None,
    "console_cpu_us_per_page": None,
    "console_page_p95_ms_postgres": ("<", 200.0),
    "console_overhead_ratio_postgres": None,
    "console_cpu_us_per_page_postgres": None,
    # Issue 17's features (bench/features.py), each against a same-run baseline; recorded, no
    # targets. A `_time_ratio` is our time per operation ÷ the baseline's (above 1: slower).
    "pdf_certificate_ms": None,  # ms per plaque certificate (the review service's compose)
    "pdf_certificate_time_ratio": None,  # ÷ plain fpdf2: the same texts, the same font
    "pdf_annex2_ms": None,  # ms per Annex 2 form (the application service's compose)
    "pdf_annex2_time_ratio": None,  # ÷ plain fpdf2: the same texts, the same font
    "pdf_same_bytes_twice": (">=", 1.0),  # 1: every generation in the run gave the same bytes
    "search_p95_ms_sqlite": None,  # p95 of a query of the mix, search-terms read model
    "search_time_ratio_sqlite": None,  # ÷ a LIKE '%…%' scan of the same texts, same database
    "search_p95_ms_postgres": None,
    "search_time_ratio_postgres": None,
    "export_csv_rows_per_s": None,  # shared.exports.render_csv of 20,000 rows (the cap)
    "export_csv_time_ratio": None,  # ÷ the csv module writing the same values
    "export_xlsx_rows_per_s": None,  # render_xlsx of the same rows
    "export_xlsx_time_ratio": None,  # ÷ openpyxl (write-only) writing the same values, no formats
}
KEYS = list(TARGETS)


def verdict(key: str, value: float | None) -> str:
    target = TARGETS[key]
    if value is None:
        return "—"
    if target is None:
        return "recorded"
    op, threshold = target
    met = {
        ">=": value >= threshold,
        "<=": value <= threshold,
        ">": value > threshold,
        "<": value < threshold,
    }[op]
    return "met" if met else "MISSED"


def _target(key: str) -> str:
    target = TARGETS[key]
    return (
        "record"
        if target is None
        else f"{target[0].replace('>=', '≥').replace('<=', '≤')} {target[1]:g}"
    )


def cpu_columns(figure: Any) -> tuple[str, str]:
    """(ours, baseline) CPU µs per operation of a figure, as printed."""
    cpu = figure.get("cpu_us_per_op") if isinstance(figure, dict) else None
    if not isinstance(cpu, dict):
        return "", ""

    def shown(value: Any) -> str:
        return "" if value is None else f"{value:,.0f}"

    return shown(cpu.get("ours")), shown(cpu.get("baseline"))


def render_table(
    values: dict[str, float | None], figures: dict[str, Any], growth: dict[str, Any] | None
) -> str:
    width = max(len(k) for k in KEYS)
    header = (
        f"{'figure':<{width}}  {'value':>9}  {'target':>7}  {'verdict':<8}"
        f"  {'ours µs':>9}  {'base µs':>9}"
    )
    lines = [header, "-" * len(header), "(µs: CPU per operation, every thread of the process)"]
    for key in KEYS:
        value = values.get(key)
        shown = "null" if value is None else f"{value:.3g}"
        ours, base = cpu_columns(figures.get(key))
        lines.append(
            f"{key:<{width}}  {shown:>9}  {_target(key):>7}  {verdict(key, value):<8}"
            f"  {ours:>9}  {base:>9}"
        )
    for key in KEYS:  # a figure's own table (the console's pages), after the figures
        figure = figures.get(key)
        if isinstance(figure, dict) and figure.get("table"):
            lines += ["", f"{key}:", *figure["table"]]
    if growth:
        lines += ["", "cost against size (events):", *growth.get("lines", [])]
    return "\n".join(lines)
