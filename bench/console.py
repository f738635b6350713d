"""The web console: server time per page at 20 concurrent users, against the services' answers.

The whole system runs as processes (`shared.testkit.system.whole_system(console=True)`:
embedded NATS, the four services and the console under uvicorn; SQLite, or PostgreSQL for
`console_pg`), populated through the HTTP APIs with `haizhi.journeys` as the end-to-end
scenarios do: Yunnan units registered and verified; a 2022 call whose applications were
accepted, ranked and sent on (two bases designated, each with its subsidy plan and its first
instalment paid, its 2022 annual report filed, forwarded, scored and graded on a final list;
one case at the national department, one at the leading group, one at the general office);
a 2023 call with one application at the Kunming prefecture CAST, three at the province and
two drafts. Each reviewer has declared no conflict of interest on the case they read, so
its page shows the dossier.

20 simulated users (asyncio, each its own `httpx.AsyncClient`: its own cookie jar and
keep-alive connection) sign in through the development persona picker (`GET /signin`, the
CSRF token read from the page, `POST /signin/persona`) as the people of the Yunnan example,
and loop over the GET pages their role uses, with no pause between pages (a closed loop: 20
pages in flight at any moment), for a fixed time per round.

console_page_p95_ms      p95 of the console's own time per page (`Server-Timing: page;dur=`,
                         taken in the console's middleware, the services' answers included),
                         every page of the measured rounds pooled. Target < 200.
console_page_p50_ms      its p50.
console_overhead_ratio   the baseline (same run, interleaved rounds): the same users making
                         the same SERVICE API calls each page makes, directly to the services
                         at the same concurrency, no console. The calls of each page are
                         recorded once before the rounds, by serving the page from the
                         console's own app in this process (`web.main.create_app`, its
                         `Backend` noting each call's service, path, query, token, answer and
                         when it began and ended); the baseline replays them as the page made
                         them: a call starts once every call that had ended before it began
                         (in the recording) has ended, so the calls a page makes at once
                         (`asyncio.gather`) run at once, and the ones it makes in turn, in
                         turn. A page's time is from its first call's start to its last
                         call's end. The figure is the median over rounds of the console's
                         p95 ÷ the baseline's p95 in the same round.
console_cpu_us_per_page  the console process's CPU (utime + stime from /proc/<pid>/stat)
                         ÷ pages served, median over rounds. `raw` adds the services'
                         processes' CPU per page on both sides (the console's services'
                         share should equal the baseline's) and the bench's own (the
                         clients').

Beside the figures (`raw` and the printed table): per page kind, its service calls, the
console's server and client time, the baseline's time, and each page ALONE (nothing else in
flight, `SOLO_REPEATS` times each side: its time and the CPU per page of the console and of
the services); each service call alone (`CALL_REPEATS` times: its time and its service's CPU
per call); and a PACED trial, console only: the same 20 users pausing `THINK_SECONDS` after
each page, as people reading the pages would (the figures' users never pause: 20 pages in
flight is the load the target names; on a 2-core machine it is CPU-bound: docs/performance.md).
The load average (1 minute) is recorded as each round begins: other engineers' test runs
share the two cores.

SQLite for `console`, as the HTTP and lifecycle groups; `console_pg` (with
`BENCH_DATABASE_URL`) runs the same on PostgreSQL, a schema per service.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import importlib
import os
import re
import statistics
import time
from collections.abc import AsyncIterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import date
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx

from haizhi.client import Person
from haizhi.flows import HaiZhi
from haizhi.journeys import (
    EXCELLENT,
    QUALIFIED,
    YUNNAN_CALL,
    Case,
    apply,
    assess_year,
    beijing,
    designate,
    pay_instalment,
    prefecture_forward,
    recommend,
    register,
    report_year,
    to_candidate,
    today,
)
from haizhi.people import (
    CAST,
    KMUST,
    KUNMING_HTZ,
    KUNMING_UNIVERSITY,
    LEADING_GROUP_MEMBERS,
    QUJING_EDZ,
    Unit,
)
from shared.envelope import new_id
from shared.http import CORRELATION_ID_HEADER
from shared.logging import configure_logging
from shared.nats_server import EmbeddedNats
from shared.system import CONSOLE, System
from shared.testkit.system import whole_system

from .common import Env, Figure, percentile, ratio

USERS = 20
#: Who the 20 users are, in turn: the people of the Yunnan example, one of each role.
PERSONAS: tuple[Person, ...] = (
    KMUST.contact,  # 李明, applicant for 昆明理工大学 (unit-kmust, 5301)
    CAST.kunming,  # 刘洋, prefecture CAST reviewer (5301)
    CAST.province_intake,  # 王芳, provincial CAST reviewer (53)
    CAST.national,  # 赵磊, national department (CN)
    CAST.leading_group,  # 孙涛, leading group secretariat (CN)
    CAST.general_office,  # 周敏, general office (CN)
    CAST.finance_approver,  # 杨丽, finance (53)
    CAST.auditor,  # 吴军, auditor (CN)
)
YEAR = 2022  # the reported, graded year
#: Each page alone (nothing else in flight), this many times through the console and directly.
SOLO_REPEATS = 10
#: Each service call alone, this many times (the CPU clock ticks at 10 ms: 0.25 ms a call).
CALL_REPEATS = 40
#: The paced trial (`raw` only): each user reads a page for this long before the next one.
THINK_SECONDS = 1.0
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
_DURATION = re.compile(r"(?:^|[,\s])page;dur=([0-9.]+)")


# ------------------------------------------------------------------------------ the scene


def _unit(n: int) -> Unit:
    """A Yunnan provincial unit of the benchmark's own (direct to the province)."""
    return Unit.of(
        f"unit-yn-{n:02d}",
        f"云南省海智基准单位{n:02d}",
        "provincial_unit",
        "53",
        address=f"云南省昆明市盘龙区基准路{n}号",
        postcode="650051",
        contact=(f"yn{n:02d}", f"基准{n:02d}"),
    )


@dataclass
class Scene:
    """What the pages show: the ids the users' paths name."""

    call_2022: str
    call_2023: str
    kmust: Case  # a designated base: plan, first instalment paid, 2022 reported and graded
    second_base: Case
    at_national: Case
    at_leading_group: Case
    at_general_office: Case
    at_prefecture: Case  # 2023, at the Kunming CAST (刘洋)
    at_province: Case  # 2023, forwarded by the Kunming CAST to the province (王芳)
    plan_id: str
    drafts: list[str] = field(default_factory=list)


def _send_on(hz: HaiZhi, case: Case, to: str) -> None:
    """From the national department to the leading group (`to="leading_group"`) or on to
    the general office (`"general_office"`), as `haizhi.journeys.designate` does."""
    hz.review.waiting_review(CAST.national, case.case_id, "national")
    hz.review.national_forward(CAST.national, case.review_id, "初审通过，提请领导小组审批。")
    hz.review.waiting_review(CAST.leading_group, case.case_id, "leading_group")
    if to == "leading_group":
        return
    hz.review.leading_group_approve(
        CAST.leading_group,
        case.review_id,
        meeting_ref="海智计划领导小组2022年第2次会议",
        meeting_date=today(hz),
        members_present=LEADING_GROUP_MEMBERS,
    )
    hz.review.waiting_review(CAST.general_office, case.case_id, "general_office")


def populate(hz: HaiZhi) -> Scene:
    """The Yunnan example through 2022 into March 2023 (see the module's docstring)."""
    hz.clock.freeze(beijing(2022, 1, 1, 9))
    hz.clock.to(beijing(2022, 3, 1))
    call_2022 = hz.application.open_call(
        CAST.province_intake,
        province="53",
        year=2022,
        title="2022年度中国科协海智计划工作基地申报",
        deadline_on=date(2022, 4, 30),
        details=YUNNAN_CALL,
    )
    with ThreadPoolExecutor(max_workers=6) as people:
        applied = list(
            people.map(lambda unit: apply(hz, unit, call_2022), [KMUST, *map(_unit, range(4))])
        )
        hz.clock.to(beijing(2022, 3, 10))
        list(people.map(lambda case: to_candidate(hz, case), applied))
        hz.clock.to(beijing(2022, 3, 30))
        recommend(hz, call_2022, applied)
        hz.clock.to(beijing(2022, 5, 10))
        kmust, second, national, leading, office = applied
        for n, case in enumerate((kmust, second), start=1):  # in turn: HZJD-2022-0001 first
            designate(
                hz,
                case,
                meeting_ref="海智计划领导小组2022年第2次会议",
                approval_no=f"科协办函〔2022〕{n}号",
            )
        hz.review.waiting_review(CAST.national, national.case_id, "national")
        list(
            people.map(
                lambda pair: _send_on(hz, *pair),
                [(leading, "leading_group"), (office, "general_office")],
            )
        )
        list(people.map(lambda case: pay_instalment(hz, case, 1), (kmust, second)))
        hz.clock.to(beijing(2022, 12, 5))
        list(people.map(lambda case: report_year(hz, case, YEAR), (kmust, second)))
        hz.clock.to(beijing(2023, 1, 10))
        assess_year(
            hz,
            YEAR,
            {kmust.base_id: EXCELLENT, second.base_id: QUALIFIED},
            meeting_ref="海智计划领导小组2023年第1次会议",
        )
        hz.clock.to(beijing(2023, 3, 1))
        call_2023 = hz.application.open_call(
            CAST.province_intake,
            province="53",
            year=2023,
            title="2023年度中国科协海智计划工作基地申报",
            deadline_on=date(2023, 4, 30),
            details=YUNNAN_CALL,
        )
        waiting = list(
            people.map(
                lambda unit: apply(hz, unit, call_2023),
                [KUNMING_HTZ, KUNMING_UNIVERSITY, _unit(4), _unit(5)],
            )
        )
        at_prefecture, at_province = waiting[0], waiting[1]
        prefecture_forward(hz, at_province)
        hz.review.waiting_review(CAST.province_intake, at_province.case_id, "province")
    drafts = []
    for unit in (QUJING_EDZ, _unit(6)):
        register(hz, unit)
        draft = hz.application.draft_application(unit.contact, call_2023)
        form = {k: v for k, v in unit.form().items() if not k.startswith("opinion")}
        hz.application.fill_form(unit.contact, draft.application_id, form)
        drafts.append(draft.application_id)
    # Each reviewer has declared no conflict on the case they read: its page has the dossier.
    for person, case in (
        (CAST.kunming, at_prefecture),
        (CAST.province_intake, at_province),
        (CAST.national, national),
        (CAST.leading_group, leading),
        (CAST.general_office, office),
    ):
        hz.review.declare(person, case.review_id)
    plan = hz.funding.plan(CAST.finance_approver, kmust.base_id)
    assert plan is not None
    hz.settle()
    return Scene(
        call_2022,
        call_2023,
        kmust,
        second,
        national,
        leading,
        office,
        at_prefecture,
        at_province,
        str(plan["plan_id"]),
        drafts,
    )


@dataclass(frozen=True)
class Page:
    """A GET page: `kind` is its route as the page module declares it, `path` this one."""

    kind: str
    path: str


def _page(kind: str, **values: str | int) -> Page:
    return Page(kind, kind.format(**{k: quote(str(v), safe="") for k, v in values.items()}))


def role_pages(scene: Scene) -> dict[str, list[Page]]:
    """Each persona's GET pages (`web/pages/*.py`, their NAV and the pages they link to)."""
    kmust, base, year = scene.kmust, scene.kmust.base_id, YEAR
    certificate = _page("/certificates/{number}", number=kmust.certificate_no)
    return {
        "liming": [
            _page("/"),
            _page("/unit"),
            _page("/apply"),
            _page("/applications"),
            _page("/applications/{application_id}", application_id=kmust.application_id),
            _page("/applications/{application_id}/form", application_id=kmust.application_id),
            _page("/applications/{application_id}/materials", application_id=kmust.application_id),
            _page("/unit/bases"),
            _page("/unit/bases/{base_id}", base_id=base),
            _page("/unit/bases/{base_id}/years/{year}/report", base_id=base, year=year),
            certificate,
        ],
        "liuyang": [
            _page("/"),
            _page("/review/queue"),
            _page("/review/units"),
            _page("/review/cases/{review_id}", review_id=scene.at_prefecture.review_id),
            _page("/assessment"),
            certificate,
        ],
        "wangfang": [
            _page("/"),
            _page("/review/queue"),
            _page("/review/units"),
            _page("/review/calls"),
            _page("/review/calls/{call_id}", call_id=scene.call_2023),
            _page("/review/rankings"),
            _page("/review/rankings/{call_id}", call_id=scene.call_2022),
            _page("/review/cases/{review_id}", review_id=scene.at_province.review_id),
            _page("/assessment"),
            certificate,
        ],
        "zhaolei": [
            _page("/"),
            _page("/review/queue"),
            _page("/review/cases/{review_id}", review_id=scene.at_national.review_id),
            _page("/assessment"),
            _page("/assessment/bases/{base_id}", base_id=base),
            _page("/assessment/bases/{base_id}/years/{year}", base_id=base, year=year),
            _page("/grade-lists"),
            _page("/grade-lists/{year}", year=year),
            _page("/renewal-assessments"),
            certificate,
        ],
        "suntao": [
            _page("/"),
            _page("/decisions"),
            _page("/decisions/{review_id}", review_id=scene.at_leading_group.review_id),
            _page("/assessment"),
            _page("/grade-lists/{year}", year=year),
            certificate,
        ],
        "zhoumin": [
            _page("/"),
            _page("/approvals"),
            _page("/approvals/{review_id}", review_id=scene.at_general_office.review_id),
            _page("/renewal-assessments"),
            certificate,
        ],
        "yangli": [
            _page("/"),
            _page("/finance/plans"),
            _page("/finance/plans/{plan_id}", plan_id=scene.plan_id),
            _page("/finance/reconciliation"),
            certificate,
        ],
        "wujun": [
            _page("/"),
            _page("/audit"),
            _page("/audit/cases/{case_id}", case_id=kmust.case_id),
            _page("/finance/plans"),
            _page("/finance/plans/{plan_id}", plan_id=scene.plan_id),
            _page("/assessment"),
            _page("/grade-lists/{year}", year=year),
            certificate,
        ],
    }


# ------------------------------------------------------------------------ signing in


async def sign_in(client: httpx.AsyncClient, person: Person) -> None:
    """The persona picker, as a browser without JavaScript uses it."""
    page = await client.get("/signin")
    found = _CSRF.search(page.text)
    if page.status_code != 200 or found is None:
        raise RuntimeError(f"GET /signin: {page.status_code}, no CSRF token")
    answer = await client.post(
        "/signin/persona",
        data={
            "csrf_token": found.group(1),
            "user_id": person.user_id,
            "name": person.name,
            "role": person.roles[0].value,
            "org": person.org or "",
            "jurisdiction": person.jurisdictions[0],
            "next": "/",
        },
    )
    if answer.status_code != 303:
        raise RuntimeError(f"POST /signin/persona as {person.user_id}: {answer.status_code}")


# --------------------------------------------------- the services' calls of each page


@dataclass(frozen=True)
class Call:
    """One call a page made to a service, and the calls it waited for (by index)."""

    service: str
    path: str
    params: tuple[tuple[str, str], ...]
    token: str | None
    status: int
    after: tuple[int, ...]


@dataclass(frozen=True)
class _Sent:
    service: str
    method: str
    path: str
    params: tuple[tuple[str, str], ...]
    token: str | None
    status: int
    began: float
    ended: float


def _calls(sent: Sequence[_Sent]) -> tuple[Call, ...]:
    ordered = sorted(sent, key=lambda s: s.began)
    for s in ordered:
        if s.method != "GET":
            raise RuntimeError(f"a GET page sent {s.method} {s.service}{s.path}")
    return tuple(
        Call(
            s.service,
            s.path,
            s.params,
            s.token,
            s.status,
            tuple(j for j in range(i) if ordered[j].ended <= s.began),
        )
        for i, s in enumerate(ordered)
    )


async def record_calls(
    system: System, pages: Mapping[str, Sequence[Page]]
) -> dict[tuple[str, str], tuple[Call, ...]]:
    """Each persona's pages served once by the console's own app in this process, its
    `Backend` noting every call to the services: (user, path) → the calls, in order."""
    # The console is the system under test, imported only when this figure runs, and by name:
    # `mypy bench` does not follow into web/ (checked on its own), which others are editing.
    web: dict[str, Any] = {
        name: importlib.import_module(f"web.{name}") for name in ("backend", "main", "settings")
    }
    refused = web["backend"].ServiceProblem
    noted: list[_Sent] = []

    class Noting(web["backend"].Backend):  # type: ignore[misc]  # web/ is not type-checked here
        async def _send(
            self,
            service: str,
            method: str,
            path: str,
            token: str | None,
            *,
            key: str | None = None,
            **send: Any,
        ) -> httpx.Response:
            began, status = time.perf_counter(), 0
            try:
                response: httpx.Response = await super()._send(
                    service, method, path, token, key=key, **send
                )
                status = response.status_code
                return response
            except refused as problem:
                status = problem.status
                raise
            finally:
                params = tuple((k, str(v)) for k, v in (send.get("params") or {}).items())
                noted.append(
                    _Sent(service, method, path, params, token, status, began, time.perf_counter())
                )

    settings = web["settings"].WebSettings(
        environment="development",
        application_url=system.urls["application"],
        review_url=system.urls["review"],
        assessment_url=system.urls["assessment"],
        funding_url=system.urls["funding"],
    )
    app = web["main"].create_app(settings)
    configure_logging(json=False, level="WARNING")  # create_app configured it for a server
    backend = Noting(settings)
    app.state.backend = backend  # what the lifespan would make, and close
    recorded: dict[tuple[str, str], tuple[Call, ...]] = {}
    try:
        for person in PERSONAS:
            async with httpx.AsyncClient(
                transport=httpx.ASGITransport(app=app), base_url="http://console"
            ) as browser:
                await sign_in(browser, person)
                for page in pages.get(person.user_id, []):
                    noted.clear()
                    await browser.get(page.path)
                    recorded[person.user_id, page.path] = _calls(noted)
    finally:
        await backend.close()
    return recorded


async def replay(
    client: httpx.AsyncClient, urls: Mapping[str, str], calls: Sequence[Call]
) -> tuple[float, int]:
    """A page's calls made directly, as the page made them; (seconds, answers that differ
    from the recorded ones)."""
    differ = 0

    async def one(call: Call) -> None:
        nonlocal differ
        headers = {CORRELATION_ID_HEADER: new_id()}
        if call.token:
            headers["Authorization"] = f"Bearer {call.token}"
        response = await client.get(
            f"{urls[call.service]}{call.path}", params=call.params, headers=headers
        )
        if response.status_code != call.status:
            differ += 1

    began = time.perf_counter()
    if all(call.after == tuple(range(i)) for i, call in enumerate(calls)):
        for call in calls:  # one after the other
            await one(call)
    else:
        finished = [asyncio.Event() for _ in calls]

        async def when_due(i: int, call: Call) -> None:
            for j in call.after:
                await finished[j].wait()
            await one(call)
            finished[i].set()

        await asyncio.gather(*(when_due(i, call) for i, call in enumerate(calls)))
    return time.perf_counter() - began, differ


# ---------------------------------------------------------------------- CPU of processes


def cpu_seconds(pid: int) -> float:
    """utime + stime of a process (every thread), from /proc; psutil if there is no /proc."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except OSError:
        psutil: Any = importlib.import_module("psutil")  # not a dependency: only without /proc
        times = psutil.Process(pid).cpu_times()
        return float(times.user + times.system)


def machine_busy_seconds() -> float:
    """CPU seconds every core of the machine has been busy (user, nice, system, irq, softirq
    in /proc/stat), or NaN without /proc."""
    try:
        with open("/proc/stat", encoding="ascii") as stat:
            fields = stat.readline().split()
    except OSError:
        return float("nan")
    user, nice, system, _idle, _iowait, irq, softirq = (int(v) for v in fields[1:8])
    return (user + nice + system + irq + softirq) / os.sysconf("SC_CLK_TCK")


def postgres_seconds() -> dict[str, float]:
    """CPU seconds of every PostgreSQL server process on this machine, by pid (the server the
    services use when on PostgreSQL; other engineers' tests may use it too)."""
    found: dict[str, float] = {}
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        with contextlib.suppress(OSError):
            if (proc / "comm").read_text(encoding="ascii").strip() == "postgres":
                found[f"pg:{proc.name}"] = cpu_seconds(int(proc.name))
    return found


def _cpu(system: System) -> dict[str, float]:
    """CPU seconds so far: the console's process, the services' processes, the embedded NATS,
    this process (the users), the whole machine, and (on PostgreSQL) each server process."""
    services = [p.pid for name, p in system.processes.items() if name != CONSOLE]
    nats = system.nats.process if isinstance(system.nats, EmbeddedNats) else None
    return {
        "console": cpu_seconds(system.processes[CONSOLE].pid),
        "services": sum(cpu_seconds(pid) for pid in services),
        "nats": cpu_seconds(nats.pid) if nats is not None else 0.0,
        "bench": time.process_time(),
        "machine": machine_busy_seconds(),
        **(postgres_seconds() if system.databases else {}),
    }


def _spent(before: Mapping[str, float], after: Mapping[str, float]) -> dict[str, float]:
    """CPU seconds spent between two readings of `_cpu`; `postgres`: the server's processes
    present at the end (one started meanwhile counts whole, one that ended is lost)."""
    spent = {k: after[k] - before[k] for k in after if not k.startswith("pg:")}
    spent["postgres"] = sum(v - before.get(k, 0.0) for k, v in after.items() if k.startswith("pg:"))
    return spent


# ------------------------------------------------------------------------------ the rounds


@dataclass(frozen=True)
class Sample:
    kind: str
    ms: float  # console: the Server-Timing; direct: the calls' time
    client_ms: float  # as the user saw it
    ok: bool


@dataclass
class Trial:
    samples: list[Sample]
    seconds: float
    cpu: dict[str, float]  # seconds, by process kind
    load: float  # the 1-minute load average as the round began

    @property
    def pages(self) -> int:
        return len(self.samples)

    def p(self, q: float) -> float:
        return percentile([s.ms for s in self.samples], q)

    def cpu_us_per_page(self, which: str, idle: Mapping[str, float] | None = None) -> float:
        """CPU µs per page of `which`; less its idle rate × the round's time when `idle`
        (CPU seconds per second) is given: the services' relays and consumers poll NATS
        whether or not pages are served, about 20 ms a second each."""
        spent = self.cpu[which] - (idle or {}).get(which, 0.0) * self.seconds
        return spent / max(1, self.pages) * 1e6

    @property
    def others_cores(self) -> float:
        """Cores the machine's other processes kept busy on average meanwhile (other
        engineers' test runs): the machine's busy time less this system's and the users' (and
        the PostgreSQL server's, which others' tests may share)."""
        ours = sum(self.cpu[k] for k in ("console", "services", "nats", "bench", "postgres"))
        return max(0.0, self.cpu["machine"] - ours) / self.seconds


def server_ms(response: httpx.Response) -> float:
    found = _DURATION.search(response.headers.get("server-timing", ""))
    if found is None:
        raise RuntimeError(f"no Server-Timing on {response.request.url}")
    return float(found.group(1))


@dataclass
class User:
    person: Person
    pages: list[Page]
    offset: int
    browser: httpx.AsyncClient  # the console, its cookies
    direct: httpx.AsyncClient  # the services


async def _one(
    user: User,
    page: Page,
    direct: bool,
    urls: Mapping[str, str],
    recorded: Mapping[tuple[str, str], tuple[Call, ...]],
) -> tuple[Sample, int]:
    """One page as `user` sees it through the console, or its calls made directly; and the
    direct answers that differed from the recorded ones."""
    began = time.perf_counter()
    if direct:
        took, wrong = await replay(user.direct, urls, recorded[user.person.user_id, page.path])
        ended = time.perf_counter()
        return Sample(page.kind, took * 1000, (ended - began) * 1000, not wrong), wrong
    response = await user.browser.get(page.path)
    ended = time.perf_counter()
    ok = response.status_code == 200
    return Sample(page.kind, server_ms(response), (ended - began) * 1000, ok), 0


async def _run_trial(
    system: System,
    users: Sequence[User],
    seconds: float,
    recorded: Mapping[tuple[str, str], tuple[Call, ...]],
    direct: bool,
    think: float = 0.0,
) -> tuple[Trial, int]:
    """Every user loops over their pages until `seconds` have passed (a page begun before
    then is finished and counted), pausing `think` seconds after each page (none: a closed
    loop, as many pages in flight as users). Returns the trial and the direct answers that
    differed from the recorded ones."""
    samples: list[list[Sample]] = [[] for _ in users]
    differ = 0

    async def loop(index: int, user: User) -> None:
        nonlocal differ
        if think:  # the users' pauses spread over the interval, not all at once
            await asyncio.sleep(think * index / len(users))
        while time.perf_counter() < deadline:
            page = user.pages[user.offset % len(user.pages)]
            user.offset += 1
            sample, wrong = await _one(user, page, direct, system.urls, recorded)
            samples[index].append(sample)
            differ += wrong
            if think:
                await asyncio.sleep(think)

    gc.collect()
    load = os.getloadavg()[0]
    before = _cpu(system)
    began = time.perf_counter()
    deadline = began + seconds
    await asyncio.gather(*(loop(i, user) for i, user in enumerate(users)))
    wall = time.perf_counter() - began
    after = _cpu(system)
    cpu = _spent(before, after)
    return Trial([s for each in samples for s in each], wall, cpu, load), differ


async def idle_rates(system: System, seconds: float = 5.0) -> dict[str, float]:
    """CPU seconds per second each kind of process spends with no page served."""
    before, began = _cpu(system), time.perf_counter()
    await asyncio.sleep(seconds)
    after, took = _cpu(system), time.perf_counter() - began
    return {k: (after[k] - before[k]) / took for k in ("console", "services", "nats")}


async def _solo(
    system: System,
    users: Sequence[User],
    recorded: Mapping[tuple[str, str], tuple[Call, ...]],
    idle: Mapping[str, float],
    repeats: int = SOLO_REPEATS,
) -> dict[str, dict[str, float]]:
    """Each page alone, nothing else in flight: `repeats` times through the console, then its
    calls `repeats` times directly; per kind the median times and the CPU per page of the
    console's and the services' processes (what a page costs without queueing)."""
    found: dict[str, dict[str, list[float]]] = {}
    for user in users[: len(PERSONAS)]:  # one user of each persona
        for page in user.pages:
            row = found.setdefault(
                page.kind, {"server": [], "direct": [], "cpu": [], "svc": [], "svc_direct": []}
            )
            for direct in (False, True):
                before, began = _cpu(system), time.perf_counter()
                for _ in range(repeats):
                    sample, _ = await _one(user, page, direct, system.urls, recorded)
                    row["direct" if direct else "server"].append(sample.ms)
                after, took = _cpu(system), time.perf_counter() - began

                def spent(kind: str) -> float:
                    used = after[kind] - before[kind] - idle[kind] * took  # noqa: B023
                    return used / repeats * 1e6

                if direct:
                    row["svc_direct"].append(spent("services"))
                else:
                    row["cpu"].append(spent("console"))
                    row["svc"].append(spent("services"))
    return {
        kind: {
            "server_ms": round(statistics.median(row["server"]), 1),
            "direct_calls_ms": round(statistics.median(row["direct"]), 1),
            "console_cpu_us": round(statistics.mean(row["cpu"])),
            "services_cpu_us": round(statistics.mean(row["svc"])),
            "services_cpu_us_direct": round(statistics.mean(row["svc_direct"])),
        }
        for kind, row in found.items()
    }


_ID_SEGMENT = re.compile(r"/(?=[^/]*[0-9])[0-9A-Za-z]{20,}(?=/|$)")


def endpoint(call: Call) -> str:
    """A call's service and route, its ids (ULIDs and the like) written as `{id}`."""
    return f"{call.service} GET {_ID_SEGMENT.sub('/{id}', call.path)}"


async def _endpoints(
    system: System,
    users: Sequence[User],
    recorded: Mapping[tuple[str, str], tuple[Call, ...]],
    repeats: int = CALL_REPEATS,
) -> dict[str, dict[str, float]]:
    """Each service call the pages make (one of each route), alone, `repeats` times: its
    median time and the CPU per call of the service's process."""
    first: dict[str, Call] = {}
    for calls in recorded.values():
        for call in calls:
            first.setdefault(endpoint(call), call)
    client = users[0].direct
    found: dict[str, dict[str, float]] = {}
    for name, call in sorted(first.items()):
        pid = system.processes[call.service].pid
        took: list[float] = []
        before = cpu_seconds(pid)
        for _ in range(repeats):
            seconds, _ = await replay(client, system.urls, [replace(call, after=())])
            took.append(seconds * 1000)
        found[name] = {
            "ms": round(statistics.median(took), 1),
            "service_cpu_us": round((cpu_seconds(pid) - before) / repeats * 1e6),
        }
    return found


@contextlib.asynccontextmanager
async def _clients(system: System, pages: Mapping[str, list[Page]]) -> AsyncIterator[list[User]]:
    assert system.console_url is not None
    users: list[User] = []
    async with contextlib.AsyncExitStack() as stack:
        for i in range(USERS):
            person = PERSONAS[i % len(PERSONAS)]
            browser = await stack.enter_async_context(
                httpx.AsyncClient(base_url=system.console_url, timeout=60)
            )
            direct = await stack.enter_async_context(httpx.AsyncClient(timeout=60))
            users.append(User(person, pages[person.user_id], i // len(PERSONAS), browser, direct))
        await asyncio.gather(*(sign_in(u.browser, u.person) for u in users))
        yield users


async def _check_pages(
    system: System, pages: Mapping[str, list[Page]]
) -> tuple[dict[str, list[Page]], list[str]]:
    """Each persona's pages once through the running console: those that do not answer 200
    (not there yet, or not this role's) are left out, with a note."""
    assert system.console_url is not None
    kept: dict[str, list[Page]] = {}
    notes: list[str] = []
    for person in PERSONAS:
        async with httpx.AsyncClient(base_url=system.console_url, timeout=60) as browser:
            await sign_in(browser, person)
            kept[person.user_id] = []
            for page in pages[person.user_id]:
                status = (await browser.get(page.path)).status_code
                if status == 200:
                    kept[person.user_id].append(page)
                else:
                    notes.append(f"{person.user_id} {page.kind}: {status} at start-up, left out")
    return kept, notes


# ------------------------------------------------------------------------------ figures


def _spread(values: Sequence[float]) -> dict[str, float]:
    values = list(values)
    return {
        "p50": round(percentile(values, 0.50), 1),
        "p95": round(percentile(values, 0.95), 1),
        "p99": round(percentile(values, 0.99), 1),
    }


def _by_kind(m: Measured, calls: Mapping[str, int]) -> tuple[dict[str, dict[str, Any]], list[str]]:
    """Per page kind: how many, its service calls, server and client time (console), the
    calls' time (direct), and each alone (solo); the table's lines, slowest p95 first."""
    kinds: dict[str, dict[str, list[float]]] = {}
    for trials, side in ((m.console, "console"), (m.direct, "direct")):
        for trial in trials:
            for s in trial.samples:
                row = kinds.setdefault(s.kind, {"server": [], "client": [], "direct": []})
                if side == "console":
                    row["server"].append(s.ms)
                    row["client"].append(s.client_ms)
                else:
                    row["direct"].append(s.ms)
    table: dict[str, dict[str, Any]] = {
        kind: {
            "pages": len(row["server"]),
            "service_calls": calls.get(kind, 0),
            "server_ms": _spread(row["server"]),
            "client_ms": _spread(row["client"]),
            "direct_calls_ms": _spread(row["direct"]) if row["direct"] else None,
            "alone": m.solo.get(kind),
        }
        for kind, row in kinds.items()
        if row["server"]
    }
    width = max([len("page (GET)"), *map(len, table)])
    lines = [
        f"{'':<{width}}  {'':>5}  {'':>5}  {'20 users: console (ms)':^34}"
        f"  {'direct (ms)':^16}  {'alone: p50 ms, CPU µs/page':^36}",
        f"{'page (GET)':<{width}}  {'pages':>5}  {'calls':>5}  {'srv p50':>7}  {'srv p95':>7}"
        f"  {'srv p99':>7}  {'cli p95':>7}  {'API p50':>7}  {'API p95':>7}"
        f"  {'srv':>7}  {'API':>7}  {'console':>8}  {'services':>8}",
    ]
    nan = float("nan")
    for kind, shown in sorted(table.items(), key=lambda kv: -float(kv[1]["server_ms"]["p95"])):
        server = shown["server_ms"]
        api = shown["direct_calls_ms"] or {"p50": nan, "p95": nan}
        alone = shown["alone"] or dict.fromkeys(
            ("server_ms", "direct_calls_ms", "console_cpu_us", "services_cpu_us"), nan
        )
        lines.append(
            f"{kind:<{width}}  {shown['pages']:>5}  {shown['service_calls']:>5}"
            f"  {server['p50']:>7.1f}  {server['p95']:>7.1f}  {server['p99']:>7.1f}"
            f"  {shown['client_ms']['p95']:>7.1f}  {api['p50']:>7.1f}  {api['p95']:>7.1f}"
            f"  {alone['server_ms']:>7.1f}  {alone['direct_calls_ms']:>7.1f}"
            f"  {alone['console_cpu_us']:>8,.0f}  {alone['services_cpu_us']:>8,.0f}"
        )
    return table, lines


def _median(values: Sequence[float], digits: int = 1) -> float | None:
    return round(statistics.median(values), digits) if values else None


@dataclass
class Measured:
    console: list[Trial]
    direct: list[Trial]
    paced: Trial
    solo: dict[str, dict[str, float]]
    endpoints: dict[str, dict[str, float]]
    idle: dict[str, float]
    pages: dict[str, list[Page]]
    recorded: dict[tuple[str, str], tuple[Call, ...]]
    notes: list[str]
    differ: int


def _figures(m: Measured, extra: dict[str, Any]) -> dict[str, Figure]:
    console, direct = m.console, m.direct
    pooled = [s.ms for t in console for s in t.samples]
    pooled_client = [s.client_ms for t in console for s in t.samples]
    pooled_direct = [s.ms for t in direct for s in t.samples]
    failed = sum(1 for t in (*console, m.paced) for s in t.samples if not s.ok)
    p95, p50 = round(percentile(pooled, 0.95), 1), round(percentile(pooled, 0.50), 1)
    direct_p95 = round(percentile(pooled_direct, 0.95), 1)
    ratios = [ratio(c.p(0.95), d.p(0.95)) for c, d in zip(console, direct, strict=True)]
    overhead = _median([r for r in ratios if r is not None], 3)
    console_cpu = [t.cpu_us_per_page("console", m.idle) for t in console]
    services_cpu = [t.cpu_us_per_page("services", m.idle) for t in console]
    services_direct_cpu = [t.cpu_us_per_page("services", m.idle) for t in direct]
    both_cpu = [c + s for c, s in zip(console_cpu, services_cpu, strict=True)]
    per_s = _median([t.pages / t.seconds for t in console])
    direct_per_s = _median([t.pages / t.seconds for t in direct])
    kind_of = {page.path: page.kind for listed in m.pages.values() for page in listed}
    calls: dict[str, int] = {}
    for (_, path), made in m.recorded.items():
        calls[kind_of[path]] = max(calls.get(kind_of[path], 0), len(made))
    table, lines = _by_kind(m, calls)
    loads = [t.load for t in (*console, *direct)]
    others = [t.others_cores for t in (*console, *direct)]
    paced: dict[str, Any] = {
        "think_seconds": THINK_SECONDS,
        "pages": m.paced.pages,
        "pages_per_s": round(m.paced.pages / m.paced.seconds, 1),
        "server_ms": _spread([s.ms for s in m.paced.samples]),
        "client_ms": _spread([s.client_ms for s in m.paced.samples]),
        "console_cpu_us_per_page": round(m.paced.cpu_us_per_page("console", m.idle)),
        "services_cpu_us_per_page": round(m.paced.cpu_us_per_page("services", m.idle)),
        "load_average_1min": round(m.paced.load, 2),
        "others_cores": round(m.paced.others_cores, 2),
    }
    rounds: dict[str, list[float]] = {
        "console_p95_ms": [round(t.p(0.95), 1) for t in console],
        "console_p50_ms": [round(t.p(0.50), 1) for t in console],
        "direct_p95_ms": [round(t.p(0.95), 1) for t in direct],
        "console_pages_per_s": [round(t.pages / t.seconds, 1) for t in console],
        "direct_pages_per_s": [round(t.pages / t.seconds, 1) for t in direct],
        "console_cpu_us_per_page": [round(v) for v in console_cpu],
        "services_cpu_us_per_page": [round(v) for v in services_cpu],
        "services_cpu_us_per_page_direct": [round(v) for v in services_direct_cpu],
        "bench_cpu_us_per_page": [round(t.cpu_us_per_page("bench")) for t in console],
        "bench_cpu_us_per_page_direct": [round(t.cpu_us_per_page("bench")) for t in direct],
        "postgres_cpu_us_per_page": [round(t.cpu_us_per_page("postgres")) for t in console],
        "postgres_cpu_us_per_page_direct": [round(t.cpu_us_per_page("postgres")) for t in direct],
        "others_cores_console": [round(t.others_cores, 2) for t in console],
        "others_cores_direct": [round(t.others_cores, 2) for t in direct],
        "load_average_1min_console": [round(t.load, 2) for t in console],
        "load_average_1min_direct": [round(t.load, 2) for t in direct],
    }
    lines = [
        f"20 users, no pause: console server time p50/p95/p99 {p50:.1f}/{p95:.1f}/"
        f"{percentile(pooled, 0.99):.1f} ms (client p95 {percentile(pooled_client, 0.95):.1f}),"
        f" {per_s} pages/s; direct calls p95 {direct_p95:.1f} ms, {direct_per_s} pages/s",
        f"CPU µs per page: console {_median(console_cpu, 0):.0f}, services "
        f"{_median(services_cpu, 0):.0f} (direct: {_median(services_direct_cpu, 0):.0f}), "
        f"the users (this process) "
        f"{_median([t.cpu_us_per_page('bench') for t in console], 0):.0f}"
        + (
            f", the PostgreSQL server {_median(rounds['postgres_cpu_us_per_page'], 0):.0f}"
            f" (direct: {_median(rounds['postgres_cpu_us_per_page_direct'], 0):.0f})"
            if any(rounds["postgres_cpu_us_per_page"])
            else ""
        )
        + "; "
        f"load average (1 min) {min(loads):.2f}–{max(loads):.2f} as the rounds began, other "
        f"processes busy {min(others):.2f}–{max(others):.2f} cores of {os.cpu_count()}",
        f"20 users pausing {THINK_SECONDS:g} s after each page: p50/p95/p99 "
        f"{paced['server_ms']['p50']}/{paced['server_ms']['p95']}/{paced['server_ms']['p99']} ms"
        f" at {paced['pages_per_s']} pages/s, console CPU {paced['console_cpu_us_per_page']} "
        f"µs/page",
        "",
        *lines,
        "",
        "each service call alone: median ms, the service's CPU µs per call (most CPU first)",
        *(
            f"  {name:<{width}}  {row['ms']:>6.1f}  {row['service_cpu_us']:>7,.0f}"
            for width in [max(map(len, m.endpoints), default=10)]
            for name, row in sorted(m.endpoints.items(), key=lambda kv: -kv[1]["service_cpu_us"])
        ),
        *(f"note: {note}" for note in m.notes),
    ]
    cpu_both = {
        "ours": _median(both_cpu, 0),
        "baseline": _median(services_direct_cpu, 0),
        "ours_trial": "console (the console's process and the services' processes)",
        "baseline_trial": "direct (the services' processes)",
        "ratio": _median([a / b for a, b in zip(both_cpu, services_direct_cpu, strict=True)], 3),
    }
    return {
        "console_page_p95_ms": (
            p95,
            {
                "server_ms": _spread(pooled),
                "client_ms": _spread(pooled_client),
                "direct_calls_ms": _spread(pooled_direct),
                "pages_per_s": per_s,
                "direct_pages_per_s": direct_per_s,
                "pages": len(pooled),
                "non_200_pages": failed,
                "direct_answers_differing": m.differ,
                "per_round": rounds,
                "by_page": table,
                "service_calls_alone": m.endpoints,
                "paced": paced,
                "cpu_us_per_op": cpu_both,
                "users": USERS,
                "personas": {u: [page.kind for page in listed] for u, listed in m.pages.items()},
                "rounds": len(console),
                "seconds_per_round": round(statistics.median(t.seconds for t in console), 1),
                "table": lines,
                "notes": m.notes,
                **extra,
            },
        ),
        "console_page_p50_ms": (p50, {"server_ms": _spread(pooled), "see": "console_page_p95_ms"}),
        "console_overhead_ratio": (
            overhead,
            {
                "per_round": ratios,
                "pooled": ratio(p95, direct_p95),
                "console_p95_ms": rounds["console_p95_ms"],
                "direct_p95_ms": rounds["direct_p95_ms"],
                "cpu_us_per_op": cpu_both,
                "baseline": "the same users' same service calls per page, made directly at the "
                "same concurrency as each page makes them (recorded from the console's own "
                "Backend); a page's time from its first call's start to its last call's end",
            },
        ),
        "console_cpu_us_per_page": (
            _median(console_cpu, 0),
            {
                "per_round": rounds["console_cpu_us_per_page"],
                "cpu_us_per_op": {
                    "ours": _median(console_cpu, 0),
                    "baseline": _median(services_direct_cpu, 0),
                    "ours_trial": "console: the console's process alone",
                    "baseline_trial": "direct: the services' processes (for scale)",
                    "ratio": None,
                },
                "services_cpu_us_per_page": _median(services_cpu, 0),
                "services_cpu_us_per_page_direct": _median(services_direct_cpu, 0),
                "bench_cpu_us_per_page": _median(rounds["bench_cpu_us_per_page"], 0),
                "paced_console_cpu_us_per_page": paced["console_cpu_us_per_page"],
                "source": "/proc/<pid>/stat utime + stime ÷ SC_CLK_TCK, around each round, "
                "less each process's idle rate × the round's time",
                "idle_cpu_ms_per_s": {k: round(v * 1000, 1) for k, v in m.idle.items()},
            },
        ),
    }


# ------------------------------------------------------------------------------ the run


async def _measure(system: System, scene: Scene, seconds: float, rounds: int) -> Measured:
    pages, notes = await _check_pages(system, role_pages(scene))
    recorded = await record_calls(system, pages)
    console: list[Trial] = []
    direct: list[Trial] = []
    differ = 0

    def told(name: str, trial: Trial) -> None:
        print(
            f"  {name}: {trial.pages} pages, p95 {trial.p(0.95):.1f} ms, "
            f"{trial.pages / trial.seconds:.1f}/s, load average {trial.load:.2f}, others busy "
            f"{trial.others_cores:.2f} cores",
            flush=True,
        )

    idle = await idle_rates(system)
    async with _clients(system, pages) as users:
        for index in range(1 + rounds):  # one warm-up round, dropped
            for is_direct in (False, True) if index % 2 == 0 else (True, False):
                trial, wrong = await _run_trial(system, users, seconds, recorded, is_direct)
                if index:
                    (direct if is_direct else console).append(trial)
                    differ += wrong
                side = "direct " if is_direct else "console"
                told(f"{f'round {index}' if index else 'warm-up'} {side}", trial)
        paced, _ = await _run_trial(
            system, users, max(15.0, 2 * seconds), recorded, False, think=THINK_SECONDS
        )
        told(f"paced ({THINK_SECONDS:g} s pauses)", paced)
        solo = await _solo(system, users, recorded, idle)
        endpoints = await _endpoints(system, users, recorded)
    return Measured(console, direct, paced, solo, endpoints, idle, pages, recorded, notes, differ)


def _with_system(folder: Path, database_url: str | None, env: Env) -> dict[str, Figure]:
    load_before = os.getloadavg()
    print(f"  load average before the system starts: {load_before}", flush=True)
    started = time.perf_counter()
    with whole_system(folder, database_url, console=True) as system:
        boot = time.perf_counter() - started
        hz = HaiZhi.connect(system.urls, system.operator_url)
        try:
            began = time.perf_counter()
            scene = populate(hz)
            populated = time.perf_counter() - began
        finally:
            hz.close()
        measured = asyncio.run(_measure(system, scene, env.sizes.console_seconds, env.sizes.rounds))
    return _figures(
        measured,
        {
            "database": "postgresql" if database_url else "sqlite",
            "system_start_seconds": round(boot, 1),
            "populate_seconds": round(populated, 1),
            "load_average_before": [round(v, 2) for v in load_before],
            "load_average_at_end": [round(v, 2) for v in os.getloadavg()],
            "processes": "the four services and the console, one uvicorn process each, and "
            "the embedded NATS; the users in the bench's process; all on one machine",
        },
    )


async def figures(env: Env) -> dict[str, Figure]:
    """SQLite (the services' stores as `haizhi up` makes them)."""
    return await asyncio.to_thread(_with_system, env.path("console"), None, env)


async def postgres_figures(env: Env) -> dict[str, Figure]:
    """PostgreSQL (a schema per service, dropped afterwards)."""
    assert env.pg_url is not None
    return await asyncio.to_thread(_with_system, env.path("console-pg"), env.pg_url, env)
