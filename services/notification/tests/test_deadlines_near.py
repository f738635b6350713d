"""Deadlines near: a base's open deadline is reminded 14 and 3 days before (CST dates, the
service's clock), once per (deadline, lead, recipient) however often and wherever the tick runs,
and never once the unit has done what it asked (or the base is gone)."""

from __future__ import annotations

import asyncio
import functools
from datetime import UTC, date, datetime
from types import SimpleNamespace
from typing import Any

import pytest
from sqlalchemy import select

from shared.clock import set_clock
from shared.mailsink import SmtpSink
from shared.testkit.service import RunningService, eventually
from shared.usecase import retry_on_conflict

from ..domain.deadlines import deadline_id, due_lead, reminder_id
from ..domain.events import Obligation
from ..projections.tables import deadlines, deliveries
from ..usecases.reminders import Reminders
from .conftest import UNIT, Upstream, deliveries_of, inbox_when, known, person

CONTACT = "office@km-hitech.example.cn"
ZHANG = "zhang@km-hitech.example.cn"
DEADLINE = "2022-06-30"  # the rectification's, ordered on 1 April (the tests' morning)


def cst_morning(day: str) -> datetime:
    """10:00 in Beijing on `day`."""
    return datetime.fromisoformat(f"{day}T02:00:00").replace(tzinfo=UTC)


def rectification_of(case_id: str, rectification_id: str = "r1") -> str:
    return deadline_id(Obligation.RECTIFICATION_REPORT, f"base-{case_id}", rectification_id)


async def order(upstream: Upstream, case_id: str, rectification_id: str = "r1") -> None:
    await upstream.assess(
        case_id,
        "RectificationOrdered",
        rectification_id=rectification_id,
        year=2021,
        ordered_on="2022-04-01",
        deadline=DEADLINE,
        policy_version="2022.1",
    )


async def row_of(service: RunningService, deadline: str, status: str) -> dict[str, Any]:
    """The deadline's row once it has `status` (the consumer has read what sets it)."""

    async def probe() -> dict[str, Any] | None:
        async with service.kernel.db.read_engine.connect() as conn:
            found = await conn.execute(select(deadlines).where(deadlines.c.deadline_id == deadline))
            row = found.first()
        return dict(row._mapping) if row is not None and row.status == status else None

    return await eventually(probe)


async def told(service: RunningService, notice_id: str, count: int) -> list[dict[str, Any]]:
    async def probe() -> list[dict[str, Any]] | None:
        rows = await deliveries_of(service, notice_id)
        return rows if len(rows) >= count else None

    return await eventually(probe)


async def settled(service: RunningService, sink: SmtpSink, mails: int) -> None:
    """Until every delivery row is sent; then exactly `mails` mails reached the sink."""

    async def probe() -> bool:
        async with service.kernel.db.read_engine.connect() as conn:
            rows = (await conn.execute(select(deliveries.c.status))).all()
        return all(r.status == "sent" for r in rows)

    await sink.wait_for(mails)
    await eventually(probe)
    assert len(sink.messages) == mails


async def tick(service: RunningService, day: str) -> None:
    """A tick of the service's own scheduler, as another replica's or a restarted one's would
    be, besides the one the clock's move wakes."""
    await service.app.state.usecases.tick(cst_morning(day))


@pytest.mark.parametrize(
    ("today", "lead"),
    [
        ("2022-06-15", None),  # 15 days before: no lead day yet
        ("2022-06-16", 14),
        ("2022-06-26", 14),
        ("2022-06-27", 3),
        ("2022-06-30", 3),  # the day itself
        ("2022-07-01", None),  # passed
    ],
)
def test_the_nearest_lead_day_come_is_due(today: str, lead: int | None) -> None:
    due, known = date(2022, 6, 30), date(2022, 4, 1)
    assert due_lead(due, known, date.fromisoformat(today)) == lead


def test_a_lead_day_before_the_deadline_was_known_is_not_reminded() -> None:
    due = date(2022, 6, 30)
    assert due_lead(due, date(2022, 6, 20), date(2022, 6, 21)) is None
    assert due_lead(due, date(2022, 6, 20), date(2022, 6, 27)) == 3
    assert due_lead(due, date(2022, 6, 16), date(2022, 6, 16)) is None  # its own day


async def test_a_rectification_deadline_is_reminded_once_per_lead_and_recipient(
    service: RunningService, upstream: Upstream, sink: SmtpSink
) -> None:
    applicant = person(service, "zhang", "applicant", org=UNIT, email=ZHANG)
    await known(service, applicant)
    await upstream.register_unit(CONTACT)
    await upstream.review_opened("case-1")
    await order(upstream, "case-1")
    await sink.wait_for(2)  # the order itself, to the person and the contact
    await row_of(service, rectification_of("case-1"), "open")

    await set_clock(service.bus, cst_morning("2022-06-15"))
    await tick(service, "2022-06-15")
    assert await deliveries_of(service, reminder_id(rectification_of("case-1"), 14)) == []

    await set_clock(service.bus, cst_morning("2022-06-16"))  # 14 days before: the tick
    early = reminder_id(rectification_of("case-1"), 14)
    rows = await told(service, early, 2)
    assert sorted(r["recipient"] for r in rows) == [f"contact:{CONTACT}", "user:zhang"]
    # Ticks again, two at once (two replicas), and one of a fresh service's (after a restart):
    usecases = service.app.state.usecases
    again = await asyncio.gather(
        usecases.reminders.remind_due(cst_morning("2022-06-16")),
        usecases.reminders.remind_due(cst_morning("2022-06-16")),
        Reminders(usecases.executor).remind_due(cst_morning("2022-06-20")),
    )
    assert list(again) == [0, 0, 0]
    assert len(await deliveries_of(service, early)) == 2

    # 3 days before: three replicas' ticks at once, each deciding the reminder on the base's
    # stream (past the table's shortcut): one tells it, the others find it told.
    late = reminder_id(rectification_of("case-1"), 3)
    row = SimpleNamespace(**await row_of(service, rectification_of("case-1"), "open"))
    racing = [Reminders(usecases.executor) for _ in range(3)]
    won = await asyncio.gather(
        *(retry_on_conflict(functools.partial(r.remind, row, date(2022, 6, 27))) for r in racing)
    )
    assert sorted(won) == [False, False, True]
    assert len(await deliveries_of(service, late)) == 2
    for day in ("2022-06-27", "2022-06-30", "2022-07-01"):
        await set_clock(service.bus, cst_morning(day))
        await tick(service, day)
    await settled(service, sink, 6)
    assert len(await deliveries_of(service, early)) == 2
    assert len(await deliveries_of(service, late)) == 2
    by_notice: dict[str, int] = {}
    for mail in sink.messages:
        notice = str(mail["X-HaiZhi-Notice"])
        by_notice[notice] = by_notice.get(notice, 0) + 1
    assert by_notice[early] == by_notice[late] == 2

    first = next(m for m in sink.to(CONTACT) if str(m["X-HaiZhi-Notice"]) == early).get_content()
    assert "整改报告须在 2022-06-30 前提交，距截止还有 14 天" in first
    assert "http://127.0.0.1:8000/unit/bases/base-case-1" in first
    items = await inbox_when(service, applicant, 3)
    assert [i["kind"] for i in items] == [
        "rectification_reminder",
        "rectification_reminder",
        "rectification_ordered",
    ]
    assert items[0]["subject"] == "【海智计划】整改报告截止提醒：还有 3 天"
    assert items[0]["link"] == "/unit/bases/base-case-1"
    assert (await row_of(service, rectification_of("case-1"), "open"))["reminded"] == "3 14"


async def test_what_has_fallen_due_is_counted_until_it_is_done(
    service: RunningService, upstream: Upstream, sink: SmtpSink
) -> None:
    """What the tick would tell, and the mails still to send, are counted (`/metrics`:
    `scheduled_due_events`), so a wait for the bus to settle (`haizhi.settle`) waits for them
    too — the fault tests' backup was once taken with mails unsent, that went out after it."""
    await upstream.register_unit(CONTACT)
    await upstream.review_opened("case-1")
    usecases = service.app.state.usecases
    await order(upstream, "case-1")
    await row_of(service, rectification_of("case-1"), "open")
    await settled(service, sink, 1)  # the order's own mail, to the contact
    fourteen_before = cst_morning("2022-06-16")
    assert await usecases.due(cst_morning("2022-06-15")) == 0
    assert await usecases.due(fourteen_before) == 1  # due there; the clock is not there yet

    await set_clock(service.bus, fourteen_before)
    await told(service, reminder_id(rectification_of("case-1"), 14), 1)
    await settled(service, sink, 2)
    assert await usecases.due(fourteen_before) == 0
    scraped = (await service.client.get("/metrics")).text
    assert "\nscheduled_due_events 0.0\n" in scraped


async def test_a_lead_day_the_clock_jumped_over_is_not_told_late(
    service: RunningService, upstream: Upstream, sink: SmtpSink
) -> None:
    await upstream.register_unit(CONTACT)
    await upstream.review_opened("case-1")
    await order(upstream, "case-1")
    await sink.wait_for(1)
    await row_of(service, rectification_of("case-1"), "open")
    await set_clock(service.bus, cst_morning("2022-06-28"))  # past both lead days
    (row,) = await told(service, reminder_id(rectification_of("case-1"), 3), 1)
    assert row["facts"].count('"days_left": "2"') == 1
    await tick(service, "2022-06-29")
    await settled(service, sink, 2)  # the order, the 3-day reminder
    await set_clock(service.bus, cst_morning("2022-06-20"))  # moved back: 14 is not told now
    await tick(service, "2022-06-20")
    assert await deliveries_of(service, reminder_id(rectification_of("case-1"), 14)) == []
    assert len(sink.messages) == 2


async def test_no_reminder_once_the_report_is_filed_or_the_base_is_gone(
    service: RunningService, upstream: Upstream, sink: SmtpSink
) -> None:
    """case-1 files its report and has it accepted, case-3's base is revoked: neither is
    reminded. case-2's report is rejected: it must come again, and is reminded."""
    await upstream.register_unit(CONTACT)
    for case in ("case-1", "case-2", "case-3"):
        await upstream.review_opened(case)
        await order(upstream, case)
    for case in ("case-1", "case-2"):
        await upstream.assess(
            case,
            "RectificationReportFiled",
            rectification_id="r1",
            year=2021,
            filed_on="2022-05-01",
            late=False,
        )
    accepted = {"rectification_id": "r1", "year": 2021, "accepted_on": "2022-05-10"}
    await upstream.assess("case-1", "RectificationAccepted", **accepted)
    await upstream.assess(
        "case-2",
        "RectificationRejected",
        rectification_id="r1",
        year=2021,
        rejected_on="2022-05-10",
        reasons=["整改报告不全"],
    )
    await upstream.assess(
        "case-3", "BaseRevoked", revoked_on="2022-05-01", years=[2020, 2021], meeting_ref="m"
    )
    await row_of(service, rectification_of("case-1"), "met")
    await row_of(service, rectification_of("case-2"), "open")
    await row_of(service, rectification_of("case-3"), "ended")

    await set_clock(service.bus, cst_morning("2022-06-16"))
    await told(service, reminder_id(rectification_of("case-2"), 14), 1)
    await tick(service, "2022-06-16")
    await set_clock(service.bus, cst_morning("2022-06-27"))
    await told(service, reminder_id(rectification_of("case-2"), 3), 1)
    await tick(service, "2022-06-27")
    for case in ("case-1", "case-3"):
        for lead in (14, 3):
            assert await deliveries_of(service, reminder_id(rectification_of(case), lead)) == []
    await settled(service, sink, 5)  # three orders, case-2's two reminders


async def test_the_renewal_window_is_reminded_until_a_request_is_made(
    service: RunningService, upstream: Upstream, sink: SmtpSink
) -> None:
    await upstream.register_unit(CONTACT)
    for case in ("case-1", "case-2"):
        await upstream.review_opened(case)
    # case-2's unit requests a renewal (read by the consumer of the application service's
    # events, in no order with the assessment's window): no reminder for it.
    await upstream.send(
        "application",
        "RenewalRequested",
        {
            "renewal_id": "renewal-2",
            "case_id": "case-2",
            "base_id": "base-case-2",
            "unit_id": UNIT,
            "unit_name": "昆明",
            "province": "53",
            "jurisdiction": "5301",
            "term_end": "2022-06-14",
            "statement": "申请续期",
            "policy_version": "2022.1",
        },
        "base-case-2-renewal",
    )
    for case in ("case-1", "case-2"):
        await upstream.assess(
            case,
            "RenewalWindowOpened",
            opens_on="2022-03-17",
            closes_on="2022-06-14",
            term_end="2022-06-14",
            policy_version="2022.1",
        )
    await sink.wait_for(2)  # each window's opening
    window = {
        case: deadline_id(Obligation.RENEWAL_REQUEST, f"base-{case}", "2022-06-14")
        for case in ("case-1", "case-2")
    }
    await row_of(service, window["case-1"], "open")
    await row_of(service, window["case-2"], "met")

    await set_clock(service.bus, cst_morning("2022-05-31"))
    (row,) = await told(service, reminder_id(window["case-1"], 14), 1)
    assert row["kind"] == "renewal_reminder"
    await tick(service, "2022-05-31")
    assert await deliveries_of(service, reminder_id(window["case-2"], 14)) == []
    await settled(service, sink, 3)  # the two windows' openings, case-1's reminder
    (mail,) = [m for m in sink.messages if str(m["X-HaiZhi-Notice"]) == row["notice_id"]]
    assert "续期申请期至 2022-06-14 截止，距截止还有 14 天" in mail.get_content()


async def test_the_annual_report_reminders_are_the_assessments_own(
    service: RunningService, upstream: Upstream, sink: SmtpSink
) -> None:
    """The assessment reminds of the annual report at the days its policy names, and never
    once it is filed: each `ReportReminded` is told to the unit, as any notice."""
    applicant = person(service, "zhang", "applicant", org=UNIT, email=ZHANG)
    await known(service, applicant)
    await upstream.register_unit()
    await upstream.review_opened("case-1")
    await upstream.assess(
        "case-1",
        "ReportReminded",
        year=2022,
        days_before=14,
        due_on="2022-12-31",
        policy_version="2022.1",
    )
    (item,) = await inbox_when(service, applicant, 1)
    assert item["kind"] == "report_reminder"
    assert item["subject"] == "【海智计划】2022 年度报告截止提醒：还有 14 天"
    assert item["link"] == "/unit/bases/base-case-1/years/2022/report"
    (mail,) = await sink.wait_for(1)
    assert "截止日期为 2022-12-31" in mail.get_content()
