"""Whole cases through all four services: submission → designation → three payments.

Recorded, no target. The whole system runs as processes (`shared.system.System`, SQLite, one
embedded NATS), and `haizhi.journeys` drives each case through the HTTP APIs only, exactly as
the end-to-end scenarios do: the call, the application with its four materials, the review
chain, the ranking, the leading group, the approval and plaque, then the first instalment at
approval and one on each of the next two anniversaries (the shared clock moved forward).
Cases move through each stage together, as a province's applications would. The figure is
cases completed per minute of wall time, clock moves included.
"""

from __future__ import annotations

import asyncio
import time
from datetime import date, timedelta

from haizhi.flows import HaiZhi
from haizhi.journeys import (
    CAST,
    Case,
    Unit,
    apply,
    beijing,
    designate,
    pay_instalment,
    recommend,
    to_candidate,
)
from shared.nats_server import free_port
from shared.system import System

from .common import Env, Figure

START = date(2022, 3, 1)


def _units(count: int) -> list[Unit]:
    return [
        Unit.of(
            f"unit-bench-{n:03d}",
            f"云南省海智测试单位{n:03d}",
            "provincial_unit",
            "53",
            address=f"云南省昆明市五华区测试路{n}号",
            postcode="650000",
            contact=(f"bench{n:03d}", f"测试{n:03d}"),
        )
        for n in range(count)
    ]


def _play(hz: HaiZhi, count: int) -> tuple[float, dict[str, float]]:
    """Drive `count` cases to their third payment; (seconds in all, seconds per stage)."""
    stages: dict[str, float] = {}
    began = mark = time.perf_counter()

    def lap(name: str) -> None:
        nonlocal mark
        now = time.perf_counter()
        stages[name] = round(now - mark, 2)
        mark = now

    hz.clock.to(beijing(START.year, START.month, START.day))
    call_id = hz.application.open_call(
        CAST.province_intake,
        province="53",
        year=START.year,
        title=f"{START.year}年度中国科协海智计划工作基地申报（基准）",
        deadline_on=START + timedelta(days=60),
    )
    cases: list[Case] = [apply(hz, unit, call_id) for unit in _units(count)]
    lap("apply_and_submit")
    for case in cases:
        to_candidate(hz, case)
    recommend(hz, call_id, cases)
    lap("province")
    hz.clock.to(beijing(START.year, 7, 1))
    for case in cases:
        designate(hz, case, meeting_ref="基准会议", approval_no=f"基准〔{START.year}〕1号")
    lap("national_and_designation")
    for number in (1, 2, 3):
        if number > 1:
            hz.clock.to(beijing(START.year + number - 1, 7, 2))
        for case in cases:
            pay_instalment(hz, case, number)
        lap(f"instalment_{number}")
    return time.perf_counter() - began, stages


async def cases_per_minute(env: Env) -> Figure:
    count = 4 if env.sizes.rounds <= 4 else 12
    folder = env.path("lifecycle")

    def run() -> tuple[float, dict[str, float], float]:
        started = time.perf_counter()
        with System(folder, preferred_nats_port=free_port(), preferred_ports={}) as system:
            boot = time.perf_counter() - started
            hz = HaiZhi.connect(system.urls, system.operator_url)
            try:
                hz.clock.freeze(beijing(START.year, 1, 1))
                seconds, stages = _play(hz, count)
            finally:
                hz.close()
        return seconds, stages, boot

    seconds, stages, boot = await asyncio.to_thread(run)
    return round(count / (seconds / 60), 2), {
        "cases": count,
        "seconds": round(seconds, 2),
        "seconds_per_stage": stages,
        "system_start_seconds": round(boot, 2),
        "database": "sqlite",
        "note": "four services as processes on one 2-core machine, HTTP only, clock moves "
        "included; the system's start-up is not counted",
    }
