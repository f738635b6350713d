"""Whole cases through all four services: submission → designation → three payments.

`lifecycle_cases_per_min` (target ≥ 120). The whole system runs as processes
(`shared.system.System`, SQLite, one embedded NATS), and `haizhi.journeys` drives each case
through the HTTP APIs only, exactly as the end-to-end scenarios do: the call, the
application with its four materials, the review chain, the ranking, the leading group, the
approval and plaque, then the first instalment at approval and one on each of the next two
anniversaries (the shared clock moved forward). Cases move through each stage together, as
a province's applications would: each case's people act at the same time (a thread per
case), the ranking waits for all of them. One case is played first, untimed, as every
figure has its warm-up round. The figure is cases completed per minute of wall time, clock
moves included; `raw.one_case_at_a_time_cases_per_min` plays the same number of cases one
after the other, as the first two passes measured it.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from datetime import date, timedelta
from typing import Any

from haizhi.flows import HaiZhi
from haizhi.journeys import Case, apply, beijing, designate, pay_instalment, recommend, to_candidate
from haizhi.people import CAST, Unit
from shared.nats_server import free_port
from shared.system import System

from .common import Env, Figure

START = date(2022, 3, 1)
#: The timed cases' call, after the warm-up case's three payments (START's year + 2).
WARM_START = date(2025, 3, 1)
#: The same number of cases again, one after the other (their call three years later).
IN_TURN_START = date(2028, 3, 1)


def _units(count: int, first: int = 0) -> list[Unit]:
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
        for n in range(first, first + count)
    ]


def _play(
    hz: HaiZhi, count: int, start: date, first_unit: int = 0, *, together: bool = True
) -> tuple[float, dict[str, float]]:
    """Drive `count` cases, from a call opened on `start`, to their third payment; (seconds
    in all, seconds per stage). `together`: each case's people act at the same time, each
    stage's steps of the cases run at once (threads); else one case after the other."""
    stages: dict[str, float] = {}
    began = mark = time.perf_counter()

    def lap(name: str) -> None:
        nonlocal mark
        now = time.perf_counter()
        stages[name] = round(now - mark, 2)
        mark = now

    hz.clock.to(beijing(start.year, start.month, start.day))
    call_id = hz.application.open_call(
        CAST.province_intake,
        province="53",
        year=start.year,
        title=f"{start.year}年度中国科协海智计划工作基地申报（基准）",
        deadline_on=start + timedelta(days=60),
    )
    with ThreadPoolExecutor(max_workers=count if together else 1) as people:

        def each(step: Callable[[Any], Any], items: Iterable[Any]) -> list[Any]:
            return list(people.map(step, items))

        cases: list[Case] = each(lambda unit: apply(hz, unit, call_id), _units(count, first_unit))
        lap("apply_and_submit")
        each(lambda case: to_candidate(hz, case), cases)
        recommend(hz, call_id, cases)
        lap("province")
        hz.clock.to(beijing(start.year, 7, 1))
        approval_no = f"基准〔{start.year}〕1号"
        each(
            lambda case: designate(hz, case, meeting_ref="基准会议", approval_no=approval_no),
            cases,
        )
        lap("national_and_designation")
        for number in (1, 2, 3):
            if number > 1:
                hz.clock.to(beijing(start.year + number - 1, 7, 2))
            each(lambda case: pay_instalment(hz, case, number), cases)  # noqa: B023
            lap(f"instalment_{number}")
    return time.perf_counter() - began, stages


async def cases_per_minute(env: Env) -> Figure:
    count = 8 if env.sizes.rounds <= 4 else 16
    folder = env.path("lifecycle")

    def run() -> tuple[float, dict[str, float], float, float, float]:
        started = time.perf_counter()
        with System(folder, preferred_nats_port=free_port(), preferred_ports={}) as system:
            boot = time.perf_counter() - started
            hz = HaiZhi.connect(system.urls, system.operator_url)
            try:
                hz.clock.freeze(beijing(START.year, 1, 1))
                # One case first, untimed, as every figure has its warm-up round: each
                # route's first request pays FastAPI's building of its route state, each
                # projection's first write its statement's compilation, a few modules their
                # import (about a fifth of the requests' time in a cold four-case run).
                cold, _ = _play(hz, 1, START, first_unit=2 * count)
                seconds, stages = _play(hz, count, WARM_START)
                # As the first two passes measured it: one case after the other, each
                # stage's waits for the other services added up.
                in_turn, _ = _play(hz, count, IN_TURN_START, first_unit=count, together=False)
            finally:
                hz.close()
        return seconds, stages, boot, cold, in_turn

    seconds, stages, boot, cold, in_turn = await asyncio.to_thread(run)
    return round(count / (seconds / 60), 2), {
        "cases": count,
        "seconds": round(seconds, 2),
        "seconds_per_stage": stages,
        "system_start_seconds": round(boot, 2),
        "warm_up_case_seconds": round(cold, 2),
        "one_case_at_a_time_cases_per_min": round(count / (in_turn / 60), 2),
        "database": "sqlite",
        "note": "four services as processes on one 2-core machine, HTTP only, clock moves "
        "included; the system's start-up and one warm-up case before the timed ones are not "
        "counted; the cases' steps of each stage at the same time",
    }
