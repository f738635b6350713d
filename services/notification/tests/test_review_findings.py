"""The review's findings, each shown fixed against the running service: a row that cannot be
rendered, a retry count past any sane wait, a service clock years ahead, a republication, a
reviewer's odd token subject, two first requests at once, a rebuild after a real history."""

from __future__ import annotations

import asyncio
import contextlib
from datetime import timedelta

from sqlalchemy import func, select, update

from shared.clock import advance_clock, set_clock
from shared.mailsink import SmtpSink
from shared.projection import rebuild_and_compare
from shared.store import Metadata, PendingEvent
from shared.testkit.service import RunningService, eventually

from ..domain.events import Channel, Kind, NotificationIssued, Recipient
from ..messaging.contracts import registry
from ..projections import projections
from ..projections.deliveries import DeliveriesProjection
from ..projections.tables import attempts, deliveries, people
from ..usecases.delivery import DeliveryWorker
from ..usecases.digest import digest_stream
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


async def _status(service: RunningService, notice_id: str, status: str) -> dict[str, object]:
    async def probe() -> dict[str, object] | None:
        rows = await deliveries_of(service, notice_id)
        return rows[0] if rows and rows[0]["status"] == status else None

    return await eventually(probe)


# H1 ---------------------------------------------------------------------------------------


async def test_a_fact_of_the_wrong_type_is_left_out_and_mail_goes_on(
    service: RunningService, upstream: Upstream, sink: SmtpSink
) -> None:
    applicant = person(service, "zhang", "applicant", org=UNIT, email="zhang@x.cn")
    await known(service, applicant)
    await upstream.register_unit(CONTACT)
    await upstream.review_opened("case-1")
    paid = await upstream.fund(
        "case-1", "InstalmentPaid", amount_fen=None, payment_ref="P-1", paid_on="2022-04-01"
    )
    later = await upstream.rectification()
    await sink.wait_for(4)
    (mail,) = [m for m in sink.to(CONTACT) if str(m["X-HaiZhi-Notice"]) == paid.id]
    assert "— 元" in mail.get_content()  # the amount it did not carry shows as "—"
    assert {str(m["X-HaiZhi-Notice"]) for m in sink.messages} == {paid.id, later.id}
    items = await inbox_when(service, applicant, 2)  # the inbox page renders too
    assert {i["kind"]: i["link"] for i in items} == {
        "instalment_paid": "/unit/bases/base-case-1",
        "rectification_ordered": "/unit/bases/base-case-1",
    }


async def test_a_row_that_cannot_be_rendered_is_given_up_and_blocks_nothing(
    service: RunningService, upstream: Upstream, sink: SmtpSink
) -> None:
    applicant = person(service, "zhang", "applicant", org=UNIT, email="zhang@x.cn")
    await known(service, applicant)
    sink.stop()
    await upstream.register_unit()
    await upstream.review_opened("case-1")
    broken = await upstream.rectification()
    await tried(service, broken.id, 1)
    async with service.kernel.db.begin() as conn:  # a row as no template can render
        await conn.execute(
            update(deliveries).where(deliveries.c.notice_id == broken.id).values(facts="[1]")
        )
    later = await upstream.assess("case-1", "ReportingOpened", year=2023, due_on="2024-01-31")
    sink.start()
    await advance_clock(service.bus, timedelta(minutes=10))
    (mail,) = await sink.wait_for(1)
    assert str(mail["X-HaiZhi-Notice"]) == later.id
    row = await _status(service, broken.id, "refused")
    assert str(row["last_error"]).startswith("not renderable")
    read = await service.client.get("/inbox", headers=applicant)
    assert read.status_code == 200
    assert {i["subject"] for i in read.json()["items"]} >= {"—"}


async def test_an_address_with_a_line_break_is_nobodys_address(
    service: RunningService, upstream: Upstream, sink: SmtpSink
) -> None:
    sneaky = person(service, "zhang", "applicant", org=UNIT, email="zhang@x.cn\nBcc: all@x.cn")
    honest = person(service, "wang", "applicant", org=UNIT, email="wang@x.cn")
    await known(service, sneaky)
    await known(service, honest)
    await upstream.register_unit("bad@x.cn\r\nBcc: all@x.cn", CONTACT)
    await upstream.review_opened("case-1")
    event = await upstream.rectification()
    await sink.wait_for(2)
    assert sorted(str(m["To"]) for m in sink.messages) == [CONTACT, "wang@x.cn"]
    items = await inbox_when(service, sneaky, 1)  # told in the inbox, mailed nowhere
    assert items[0]["mail"] == "none"
    rows = await deliveries_of(service, event.id)
    assert all("\n" not in str(r["email"]) for r in rows)


# H2 ---------------------------------------------------------------------------------------


async def test_retries_past_any_wait_stay_bounded_and_then_give_up(
    service: RunningService, upstream: Upstream, sink: SmtpSink
) -> None:
    applicant = person(service, "zhang", "applicant", org=UNIT, email="zhang@x.cn")
    await known(service, applicant)
    worker: DeliveryWorker = service.app.state.usecases.delivery
    assert worker.retry_wait(47) == worker.retry_wait(10_000) == timedelta(minutes=10)
    sink.stop()
    await upstream.register_unit()
    await upstream.review_opened("case-1")
    event = await upstream.rectification()
    await tried(service, event.id, 1)

    async def tries_set(count: int) -> None:
        async with service.kernel.db.begin() as conn:
            await conn.execute(update(attempts).values(attempts=count))

    await tries_set(46)  # the next failure is the 47th: 2 s · 2**46 overflowed a timedelta
    await advance_clock(service.bus, timedelta(minutes=10))
    await tried(service, event.id, 47)
    await tries_set(99)  # the next failure is the 100th: given up
    await advance_clock(service.bus, timedelta(minutes=10))
    row = await _status(service, event.id, "refused")
    assert str(row["last_error"]).startswith("gave up after 100 attempts")
    (item,) = await inbox_when(service, applicant, 1)
    assert item["mail"] == "failed"
    stored = str((await tried(service, event.id, 99))["last_error"])
    assert "zhang@x.cn" not in stored
    assert "zhang@x.cn" not in str(row["last_error"])


# H3 ---------------------------------------------------------------------------------------


async def test_mail_is_sent_after_the_clock_moves_years_ahead(
    service: RunningService, upstream: Upstream, sink: SmtpSink
) -> None:
    later = MORNING + timedelta(days=3650)
    await set_clock(service.bus, later)
    upstream.time = later
    await upstream.register_unit(CONTACT)
    await upstream.review_opened("case-1")
    await upstream.rectification()
    (mail,) = await sink.wait_for(1)
    assert str(mail["To"]) == CONTACT


# M3 is in test_delivery.py (the republication now passes JetStream's de-duplication).

# M5 ---------------------------------------------------------------------------------------


async def test_a_digest_per_reviewer_whatever_their_subject(
    service: RunningService, upstream: Upstream, sink: SmtpSink
) -> None:
    odd = ["li.wei", "*> odd sub", "x" * 150]
    daily = {"email_enabled": True, "language": "zh", "opt_out": [], "digest": "daily"}
    reviewers = []
    for n, sub in enumerate(odd):
        headers = person(
            service, sub, "prefecture_reviewer", jurisdictions=("5301",), email=f"r{n}@x.cn"
        )
        answer = await service.client.put("/preferences", json=daily, headers=headers)
        assert answer.status_code == 200
        reviewers.append(headers)
    await upstream.review_opened("case-1")
    for headers in reviewers:  # queued for each before the next day's tick
        assert [i["mail"] for i in await inbox_when(service, headers, 1)] == ["digest"]
    await set_clock(service.bus, MORNING + timedelta(days=1))
    mails = await sink.wait_for(len(odd))
    assert sorted(str(m["To"]) for m in mails) == [f"r{n}@x.cn" for n in range(len(odd))]
    day = (MORNING + timedelta(days=1)).date()
    assert all(len(digest_stream(sub, day)) == len("digest--") + 32 + 10 for sub in odd)


# M6 ---------------------------------------------------------------------------------------


async def test_a_persons_first_requests_at_once_all_succeed(service: RunningService) -> None:
    newcomer = person(service, "new", "applicant", org=UNIT, email="new@x.cn")
    answers = await asyncio.gather(
        *(service.client.get("/preferences", headers=newcomer) for _ in range(8))
    )
    assert [a.status_code for a in answers] == [200] * 8
    async with service.kernel.db.read_engine.connect() as conn:
        count = (await conn.execute(select(func.count()).select_from(people))).scalar()
    assert count == 1


# M2 ---------------------------------------------------------------------------------------


async def test_the_projection_rebuilds_the_same_after_a_real_history(
    service: RunningService, upstream: Upstream, sink: SmtpSink
) -> None:
    applicant = person(service, "zhang", "applicant", org=UNIT, email="zhang@x.cn")
    reviewer = person(
        service, "li", "prefecture_reviewer", jurisdictions=("5301",), email="li@x.cn"
    )
    await known(service, applicant)
    daily = {"email_enabled": True, "language": "en", "opt_out": [], "digest": "daily"}
    assert (
        await service.client.put("/preferences", json=daily, headers=reviewer)
    ).status_code == 200
    sink.refuse_address("gone@x.cn")
    await upstream.register_unit(CONTACT, "gone@x.cn")
    await upstream.review_opened("case-1")
    await upstream.rectification()
    await upstream.fund("case-1", "InstalmentPaid", payment_ref="P-1", paid_on="2022-04-01")
    items = await inbox_when(service, applicant, 2)
    read = await service.client.post(
        f"/inbox/{items[0]['notification_id']}/read", headers=applicant
    )
    assert read.status_code == 200, read.text
    await set_clock(service.bus, MORNING + timedelta(days=1))  # the digest
    # 2 notices × 2 (contact, applicant) + the digest; gone@ refused (a loaded CI machine
    # took longer than the default 20 s once)
    await sink.wait_for(5, within=60)

    async def settled() -> bool:
        async with service.kernel.db.read_engine.connect() as conn:
            rows = (await conn.execute(select(deliveries.c.status))).all()
        return not any(r.status == "pending" for r in rows)

    await eventually(settled, within=60)
    assert await rebuild_and_compare(service.kernel.db, registry, projections()) == []


async def test_notices_committed_out_of_log_order_rebuild_in_their_inbox_places(
    service: RunningService,
) -> None:
    """Two notices issued in concurrent transactions (on PostgreSQL a transaction draws its
    log position when it writes, and may commit after one that drew a later position): each
    delivery keeps the inbox place its event's position gives it, so the rebuild the auditor
    runs finds the table as it is live. Before, the place was the order rows were written in,
    and the audit of a busy day reported every such pair as missing and extra."""
    db, store = service.kernel.db, service.kernel.store
    reader = Recipient("user:zhang", "zhang", None, "zh", Channel.INBOX)
    issued = [
        NotificationIssued(
            f"notice-{n}",
            f"case-{n}",
            Kind.REVIEW_QUEUED,
            "review.ReviewOpened",
            None,
            None,
            "5301",
            (),
            (reader,),
        )
        for n in (1, 2)
    ]
    envelopes = []
    for event in issued:  # positions drawn in this order ...
        async with db.engine.begin() as conn:
            pending = [PendingEvent(registry.type_of(event), registry.encode(event))]
            meta = Metadata(event.case_id, "notification", event.notice_id)
            (envelope,) = await store.append(
                conn, f"notice-{event.case_id}", 0, pending, meta, MORNING
            )
            envelopes.append(envelope)
    live = DeliveriesProjection()
    for envelope, event in reversed(list(zip(envelopes, issued, strict=True))):
        async with db.engine.begin() as conn:  # ... their rows written in the other
            await live.apply(conn, envelope, event)

    reviewer = person(service, "zhang", "prefecture_reviewer", jurisdictions=("5301",))
    newest_first = await inbox_when(service, reviewer, 2)
    assert [item["case_id"] for item in newest_first] == ["case-2", "case-1"]
    assert await rebuild_and_compare(db, registry, projections()) == []


# Low: the inbox speaks the reader's language now ------------------------------------------


async def test_the_inbox_shows_old_notices_in_the_readers_current_language(
    service: RunningService, upstream: Upstream
) -> None:
    applicant = person(service, "zhang", "applicant", org=UNIT, email="zhang@x.cn")
    await known(service, applicant)
    await upstream.register_unit()
    await upstream.review_opened("case-1")
    await upstream.rectification()
    (item,) = await inbox_when(service, applicant, 1)
    assert item["subject"] == "【海智计划】限期整改通知"
    english = {"email_enabled": True, "language": "en", "opt_out": [], "digest": "off"}
    put = await service.client.put("/preferences", json=english, headers=applicant)
    assert put.status_code == 200
    (item,) = await inbox_when(service, applicant, 1)
    assert (item["subject"], item["language"]) == ("[HaiZhi] Rectification ordered", "en")


# M1: two workers on one database ----------------------------------------------------------


async def test_two_workers_on_one_database_send_each_mail_once(
    service: RunningService, upstream: Upstream, sink: SmtpSink
) -> None:
    """A second worker that does not hold the lease (a replica that lost it unawares) sends
    beside the service's own: each row's claim lets only one of them send it."""
    contacts = [f"c{n}@x.cn" for n in range(4)]
    sink.delay = 0.05  # sends overlap: both workers see the same pending rows
    usecases = service.app.state.usecases
    rival = DeliveryWorker(usecases.executor, usecases.settings)
    done = asyncio.Event()

    async def compete() -> None:
        while not done.is_set():
            if not await rival.deliver_due(None):
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(done.wait(), 0.05)

    racing = asyncio.create_task(compete())
    try:
        await upstream.register_unit(*contacts)
        for n in range(3):
            await upstream.review_opened(f"case-{n}")
            await upstream.rectification(f"case-{n}")
        await sink.wait_for(12, distinct=True, within=60)

        async def all_sent() -> bool:
            async with service.kernel.db.read_engine.connect() as conn:
                rows = (await conn.execute(select(deliveries.c.status))).all()
            return len(rows) == 12 and all(r.status == "sent" for r in rows)

        await eventually(all_sent, within=60)
    finally:
        done.set()
        await racing
    assert sink.transactions == 12  # no mail sent twice
    assert sorted(sink.message_ids.values()) == [1] * 12
