"""Exactly once per event and recipient; retried while the server refuses or is down; a
permanently refused address recorded; the templates in both languages; the daily digest."""

from __future__ import annotations

from datetime import timedelta

from shared.clock import advance_clock, set_clock
from shared.mailsink import SmtpSink
from shared.testkit.bus import publish
from shared.testkit.service import RunningService, eventually

from .conftest import (
    MORNING,
    UNIT,
    Upstream,
    deliveries_of,
    inbox_when,
    known,
    person,
    tried,
)

CONTACT = "office@km-hitech.example.cn"


async def test_a_redelivered_event_is_told_once(
    service: RunningService, upstream: Upstream, sink: SmtpSink
) -> None:
    await upstream.register_unit(CONTACT)
    await upstream.review_opened("case-1")
    event = await upstream.rectification()
    await sink.wait_for(1)
    # the same event again, past JetStream's de-duplication (a republication)
    await publish(service.bus, event, msg_id=f"{event.id}-again")
    later = await upstream.assess("case-1", "ReportingOpened", year=2023, due_on="2024-01-31")
    await sink.wait_for(2)
    assert len(await deliveries_of(service, event.id)) == 1
    assert len(await deliveries_of(service, later.id)) == 1
    assert sorted(sink.message_ids.values()) == [1, 1]


async def test_a_refusing_server_is_retried_until_it_takes_the_mail(
    service: RunningService, upstream: Upstream, sink: SmtpSink
) -> None:
    sink.refuse_next(2)
    await upstream.register_unit(CONTACT)
    await upstream.review_opened("case-1")
    event = await upstream.rectification()
    for tries in (1, 2):  # each retry waits on the service's clock, which the test moves
        await tried(service, event.id, tries)
        await advance_clock(service.bus, timedelta(minutes=10))
    await sink.wait_for(1)

    async def recorded() -> dict[str, object] | None:
        rows = await deliveries_of(service, event.id)
        return rows[0] if rows and rows[0]["status"] == "sent" else None

    row = await eventually(recorded)
    assert row["attempts"] == 3


async def test_a_server_that_is_down_loses_nothing(
    service: RunningService, upstream: Upstream, sink: SmtpSink
) -> None:
    sink.stop()
    await upstream.register_unit(CONTACT)
    await upstream.review_opened("case-1")
    event = await upstream.rectification()

    await tried(service, event.id, 1)
    await advance_clock(service.bus, timedelta(minutes=10))
    await tried(service, event.id, 2)
    assert (await deliveries_of(service, event.id))[0]["status"] == "pending"
    sink.start()
    await advance_clock(service.bus, timedelta(minutes=10))
    (mail,) = await sink.wait_for(1)
    assert str(mail["X-HaiZhi-Notice"]) == event.id


async def test_an_address_refused_for_good_is_recorded_and_visible(
    service: RunningService, upstream: Upstream, sink: SmtpSink
) -> None:
    applicant = person(service, "zhang", "applicant", org=UNIT, email="gone@x.cn")
    await known(service, applicant)
    sink.refuse_address("gone@x.cn")
    await upstream.register_unit()
    await upstream.review_opened("case-1")
    await upstream.rectification()

    async def refused() -> list[dict[str, object]] | None:
        items = await inbox_when(service, applicant, 1)
        return items if items[0]["mail"] == "refused" else None

    await eventually(refused)
    assert sink.messages == []


async def test_each_person_reads_in_their_language(
    service: RunningService, upstream: Upstream, sink: SmtpSink
) -> None:
    zh = person(service, "zhang", "applicant", org=UNIT, email="zh@x.cn")
    en = person(service, "smith", "applicant", org=UNIT, email="en@x.cn")
    await known(service, zh)
    prefs = {"email_enabled": True, "language": "en", "opt_out": [], "digest": "off"}
    assert (await service.client.put("/preferences", json=prefs, headers=en)).status_code == 200
    await upstream.register_unit()
    await upstream.review_opened("case-1")
    await upstream.rectification()
    await sink.wait_for(2)
    (chinese,) = sink.to("zh@x.cn")
    (english,) = sink.to("en@x.cn")
    assert str(chinese["Subject"]) == "【海智计划】限期整改通知"
    assert "请在截止日期前提交整改报告" in chinese.get_content()
    assert str(english["Subject"]) == "[HaiZhi] Rectification ordered"
    assert "File the rectification report before the deadline" in english.get_content()
    assert "case case-1" in english.get_content()


async def test_preferences_are_honoured(
    service: RunningService, upstream: Upstream, sink: SmtpSink
) -> None:
    quiet = person(service, "quiet", "applicant", org=UNIT, email="quiet@x.cn")
    choosy = person(service, "choosy", "applicant", org=UNIT, email="choosy@x.cn")
    off = {"email_enabled": False, "language": "zh", "opt_out": [], "digest": "off"}
    assert (await service.client.put("/preferences", json=off, headers=quiet)).status_code == 200
    no_reports = {"email_enabled": True, "language": "zh", "opt_out": ["report_due"]}
    assert (
        await service.client.put("/preferences", json=no_reports, headers=choosy)
    ).status_code == 200
    await upstream.register_unit()
    await upstream.review_opened("case-1")
    await upstream.assess("case-1", "ReportingOpened", year=2023, due_on="2024-01-31")
    await upstream.rectification()

    quiet_items = await inbox_when(service, quiet, 2)
    assert {i["mail"] for i in quiet_items} == {"inbox"}  # e-mail off: the inbox only
    choosy_items = await inbox_when(service, choosy, 1)
    assert [i["kind"] for i in choosy_items] == ["rectification_ordered"]
    await sink.wait_for(1)
    assert [str(m["To"]) for m in sink.messages] == ["choosy@x.cn"]


async def test_a_reviewer_on_the_digest_gets_one_mail_a_day(
    service: RunningService, upstream: Upstream, sink: SmtpSink
) -> None:
    reviewer = person(
        service, "li", "prefecture_reviewer", jurisdictions=("5301",), email="li@x.cn"
    )
    digest = {"email_enabled": True, "language": "zh", "opt_out": [], "digest": "daily"}
    assert (
        await service.client.put("/preferences", json=digest, headers=reviewer)
    ).status_code == 200
    for n in range(3):
        await upstream.review_opened(f"case-{n}")
    items = await inbox_when(service, reviewer, 3)
    assert {i["mail"] for i in items} == {"digest"}
    assert sink.messages == []

    await set_clock(service.bus, MORNING + timedelta(days=1))  # the next CST day: the tick
    (mail,) = await sink.wait_for(1)
    assert "每日摘要 2022-04-02：3 项待办" in str(mail["Subject"])
    body = mail.get_content()
    assert all(f"case-{n}" in body for n in range(3))
    items = await inbox_when(service, reviewer, 4)
    assert sorted(i["mail"] for i in items) == ["digested", "digested", "digested", "pending"] or (
        sorted(i["mail"] for i in items) == ["digested", "digested", "digested", "sent"]
    )
