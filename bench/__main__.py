"""`python -m bench [--full] [--only GROUP ...]`: run, print the table, write results.json."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import shutil
import sys
import tempfile
import time
import traceback
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from shared.db import open_database
from shared.logging import configure_logging

from . import append, console, features, growth, http, lifecycle, load, messaging, peer, rebuild
from .common import Env, Figure, Sizes, machine, postgres_url
from .report import KEYS, render_table

HERE = Path(__file__).resolve().parent

Group = Callable[[Env], Awaitable[dict[str, Figure]]]


async def _append(env: Env) -> dict[str, Figure]:
    appended, cpu = await append.sqlite_ratio(env)
    return {"append_sqlite_ratio": appended, "append_sqlite_cpu_ratio": cpu}


async def _append_pg(env: Env) -> dict[str, Figure]:
    appended, syncs = await append.postgres_ratio(env)
    return {"append_postgres_ratio": appended, "pg_wal_syncs_per_commit_8w": syncs}


async def _peer(env: Env) -> dict[str, Figure]:
    appended, read = await peer.sqlite_figures(env)
    return {"vs_eventsourcing_append_sqlite": appended, "vs_eventsourcing_read_sqlite": read}


async def _peer_pg(env: Env) -> dict[str, Figure]:
    appended, read = await peer.postgres_figures(env)
    return {"vs_eventsourcing_append_postgres": appended, "vs_eventsourcing_read_postgres": read}


async def _relay(env: Env) -> dict[str, Figure]:
    return {"relay_ratio": await messaging.relay_ratio(env)}


async def _consume(env: Env) -> dict[str, Figure]:
    return {"consume_ratio": await messaging.consume_ratio(env)}


async def _lag(env: Env) -> dict[str, Figure]:
    return {"lag_p99_ratio": await messaging.lag_p99_ratio(env)}


async def _rebuild(env: Env) -> dict[str, Figure]:
    replayed, naive = await rebuild.figures(env)
    return {"rebuild_ratio": replayed, "rebuild_vs_naive": naive}


async def _http(env: Env) -> dict[str, Figure]:
    return {"http_command_ratio": await http.command_ratio(env)}


async def _load(env: Env) -> dict[str, Figure]:
    return {"load_10k_vs_100": await load.load_ratio(env)}


async def _lifecycle(env: Env) -> dict[str, Figure]:
    return {"lifecycle_cases_per_min": await lifecycle.cases_per_minute(env)}


async def _console(env: Env) -> dict[str, Figure]:
    return await console.figures(env)


async def _console_pg(env: Env) -> dict[str, Figure]:
    found = await console.postgres_figures(env)
    return {
        "console_page_p95_ms_postgres": found["console_page_p95_ms"],
        "console_overhead_ratio_postgres": found["console_overhead_ratio"],
        "console_cpu_us_per_page_postgres": found["console_cpu_us_per_page"],
    }


async def _features(env: Env) -> dict[str, Figure]:
    return await features.figures(env)


async def _features_pg(env: Env) -> dict[str, Figure]:
    return await features.postgres_figures(env)


GROUP_KEYS: dict[str, tuple[str, ...]] = {
    "append": ("append_sqlite_ratio", "append_sqlite_cpu_ratio"),
    "append_pg": ("append_postgres_ratio", "pg_wal_syncs_per_commit_8w"),
    "peer": ("vs_eventsourcing_append_sqlite", "vs_eventsourcing_read_sqlite"),
    "peer_pg": ("vs_eventsourcing_append_postgres", "vs_eventsourcing_read_postgres"),
    "relay": ("relay_ratio",),
    "consume": ("consume_ratio",),
    "lag": ("lag_p99_ratio",),
    "rebuild": ("rebuild_ratio", "rebuild_vs_naive"),
    "http": ("http_command_ratio",),
    "load": ("load_10k_vs_100",),
    "lifecycle": ("lifecycle_cases_per_min",),
    "console": (
        "console_page_p95_ms",
        "console_page_p50_ms",
        "console_overhead_ratio",
        "console_cpu_us_per_page",
    ),
    "console_pg": (
        "console_page_p95_ms_postgres",
        "console_overhead_ratio_postgres",
        "console_cpu_us_per_page_postgres",
    ),
    "features": (
        "pdf_certificate_ms",
        "pdf_certificate_time_ratio",
        "pdf_annex2_ms",
        "pdf_annex2_time_ratio",
        "pdf_same_bytes_twice",
        "search_p95_ms_sqlite",
        "search_time_ratio_sqlite",
        "export_csv_rows_per_s",
        "export_csv_time_ratio",
        "export_xlsx_rows_per_s",
        "export_xlsx_time_ratio",
    ),
    "features_pg": ("search_p95_ms_postgres", "search_time_ratio_postgres"),
}


#: name -> (runs only with PostgreSQL, group)
GROUPS: dict[str, tuple[bool, Group]] = {
    "append": (False, _append),
    "append_pg": (True, _append_pg),
    "peer": (False, _peer),
    "peer_pg": (True, _peer_pg),
    "relay": (False, _relay),
    "consume": (False, _consume),
    "lag": (False, _lag),
    "rebuild": (False, _rebuild),
    "http": (False, _http),
    "load": (False, _load),
    "lifecycle": (False, _lifecycle),
    "console": (False, _console),
    "console_pg": (True, _console_pg),
    "features": (False, _features),
    "features_pg": (True, _features_pg),
}


async def _pg_version(url: str | None) -> str | None:
    if url is None:
        return None
    db = open_database(url)
    try:
        async with db.engine.connect() as conn:
            version = (await conn.exec_driver_sql("SHOW server_version")).scalar()
        return str(version)
    finally:
        await db.dispose()


async def run(args: argparse.Namespace) -> int:
    sizes = Sizes.full() if args.full else Sizes()
    pg_url = postgres_url()
    workdir = Path(tempfile.mkdtemp(prefix="haizhi-bench-"))
    env = Env(workdir, sizes, pg_url)
    chosen = args.only or [*GROUPS, "growth"]
    values: dict[str, float | None] = dict.fromkeys(KEYS)
    figures: dict[str, Any] = {}
    errors: dict[str, str] = {}
    seconds: dict[str, float] = {}
    started = time.perf_counter()
    try:
        for name in chosen:
            if name == "growth":
                continue
            needs_pg, group = GROUPS[name]
            if needs_pg and pg_url is None:
                continue
            print(f"· {name} …", flush=True)
            env.close()  # each figure starts with an empty JetStream
            began = time.perf_counter()
            try:
                for key, (value, raw) in (await group(env)).items():
                    values[key], figures[key] = value, raw
            except Exception:
                errors[name] = traceback.format_exc()
                print(errors[name], file=sys.stderr, flush=True)
            seconds[name] = round(time.perf_counter() - began, 1)
        growth_table: dict[str, Any] | None = None
        if "growth" in chosen:
            print("· growth …", flush=True)
            began = time.perf_counter()
            try:
                growth_table = await growth.table(env)
            except Exception:
                errors["growth"] = traceback.format_exc()
                print(errors["growth"], file=sys.stderr, flush=True)
            seconds["growth"] = round(time.perf_counter() - began, 1)
    finally:
        env.close()
        shutil.rmtree(workdir, ignore_errors=True)
    for name, (needs_pg, _) in GROUPS.items():
        for key in GROUP_KEYS[name]:
            if key in figures:
                continue
            if name in errors:
                figures[key] = {"note": "failed: see raw.errors"}
            elif needs_pg and pg_url is None:
                figures[key] = {
                    "note": "not run: PostgreSQL figures need BENCH_DATABASE_URL or "
                    "TEST_DATABASE_URL"
                }
            else:
                figures[key] = {"note": "not run (--only)"}
    results: dict[str, Any] = dict(values)
    results["raw"] = {
        "mode": "full" if args.full else "default",
        "machine": machine(await _pg_version(pg_url)),
        "sizes": sizes.__dict__,
        "figures": figures,
        "growth": growth_table,
        "seconds": {**seconds, "total": round(time.perf_counter() - started, 1)},
        "errors": errors,
    }
    out = args.out or (HERE / ("results.json" if not args.only else "results.partial.json"))
    await asyncio.to_thread(
        Path(out).write_text, json.dumps(results, indent=2, ensure_ascii=False) + "\n"
    )
    print(render_table(values, figures, growth_table))
    print(f"\nwritten to {out} in {results['raw']['seconds']['total']} s")
    return 1 if errors else 0


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--full", action="store_true", help="larger sizes, for the docs")
    parser.add_argument(
        "--only",
        nargs="+",
        choices=[*GROUPS, "growth"],
        help="run only these groups",
    )
    parser.add_argument("--out", type=Path, help="where to write the results (JSON)")
    args = parser.parse_args()
    # The services log every request and command; a benchmark wants only warnings.
    configure_logging(json=False, level="WARNING")
    logging.getLogger("nats").setLevel(logging.ERROR)
    return asyncio.run(run(args))


if __name__ == "__main__":
    sys.exit(main())
