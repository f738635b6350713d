"""Finance over HTTP: approvals and payments, the feed, the reconciliation, who may see what."""

from __future__ import annotations

import asyncio
import csv
import io
from collections import defaultdict
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import text

from shared.store import Metadata, PendingEvent
from shared.testkit.service import RunningService, eventually
from shared.usecase import CommandContext

from ..messaging.contracts import CONSUMES, EXAMPLES, registry
from ..usecases.queries import FEED_MAX_PAGE
from .conftest import FEN, Upstream, auditor, cashier, finance, plan_when, stages

PAYMENT = {"payment_ref": "YN-PAY-1", "paid_on": "2022-06-15", "amount_fen": FEN}


async def designated(service: RunningService, upstream: Upstream, base_id: str, **kw: Any) -> None:
    await upstream.designate(base_id, **kw)
    await plan_when(service, base_id, lambda p: stages(p)[:1] == ["due"])


async def approve(service: RunningService, instalment_id: str) -> None:
    approved = await service.client.post(
        f"/instalments/{instalment_id}/approval", headers=finance(service)
    )
    assert approved.status_code == 200, approved.text


async def pay(service: RunningService, instalment_id: str, **payment: Any) -> dict[str, Any]:
    paid = await service.client.post(
        f"/instalments/{instalment_id}/payment", json=PAYMENT | payment, headers=cashier(service)
    )
    assert paid.status_code == 200, paid.text
    body: dict[str, Any] = paid.json()
    return body


async def test_finance_approves_and_another_finance_officer_confirms_the_payment(
    service: RunningService, upstream: Upstream
) -> None:
    await designated(service, upstream, "base-km")

    await approve(service, "base-km-1")
    paid = await pay(service, "base-km-1")

    assert (paid["stage"], paid["events"]) == ("paid", ["InstalmentPaid"])
    plan = await plan_when(service, "base-km", bool)
    first = plan["instalments"][0]
    assert (first["prepared_by"], first["confirmed_by"]) == ("approver-wang", "cashier-li")
    assert (first["payment_ref"], first["paid_on"]) == ("YN-PAY-1", "2022-06-15")


async def test_whoever_approved_cannot_confirm_the_payment(
    service: RunningService, upstream: Upstream
) -> None:
    await designated(service, upstream, "base-km")
    await approve(service, "base-km-1")
    before = len(await service.kernel.store.read_all())

    refused = await service.client.post(
        "/instalments/base-km-1/payment", json=PAYMENT, headers=finance(service)
    )

    assert refused.status_code == 403
    assert refused.headers["content-type"] == "application/problem+json"
    assert refused.json()["type"].endswith("separation-of-duties")
    assert len(await service.kernel.store.read_all()) == before


async def test_a_repeated_confirmation_pays_once(
    service: RunningService, upstream: Upstream
) -> None:
    await designated(service, upstream, "base-km")
    await approve(service, "base-km-1")

    first = await pay(service, "base-km-1")
    again = await pay(service, "base-km-1")

    assert again == first | {"events": []}
    paid = [e for e in await service.kernel.store.read_all() if e.name == "InstalmentPaid"]
    assert len(paid) == 1
    other_ref = await service.client.post(
        "/instalments/base-km-1/payment",
        json=PAYMENT | {"payment_ref": "YN-PAY-2"},
        headers=cashier(service),
    )
    assert other_ref.status_code == 409


async def test_a_returned_payment_makes_the_instalment_due_again(
    service: RunningService, upstream: Upstream
) -> None:
    await designated(service, upstream, "base-km")
    await approve(service, "base-km-1")
    await pay(service, "base-km-1")

    bounced = await service.client.post(
        "/instalments/base-km-1/return",
        json={"payment_ref": "YN-PAY-1", "reason": "account closed"},
        headers=cashier(service),
    )

    assert (bounced.status_code, bounced.json()["stage"]) == (200, "due")
    plan = await plan_when(service, "base-km", bool)
    assert (plan["instalments"][0]["returned"], plan["instalments"][0]["payment_ref"]) == (
        1,
        "YN-PAY-1",
    )


async def test_the_feed_resumed_from_a_cursor_returns_exactly_the_later_events(
    service: RunningService, upstream: Upstream
) -> None:
    await designated(service, upstream, "base-km")
    start = await service.client.get("/feed", headers=finance(service))
    cursor = start.json()["next_cursor"]
    await approve(service, "base-km-1")
    await pay(service, "base-km-1")

    resumed = await service.client.get(f"/feed?after={cursor}", headers=finance(service))

    stored = await service.kernel.store.read_all()
    designation = 6  # the plan, 3 scheduled, the priority approval, the first due
    assert [i["event"]["type"] for i in start.json()["items"]] == [
        e.type for e in stored[:designation]
    ]
    later = resumed.json()["items"]
    assert [i["event"]["id"] for i in later] == [e.id for e in stored[designation:]]
    assert [i["event"] for i in later] == [e.attributes() for e in stored[designation:]]
    assert [i["event"]["type"] for i in later] == [
        "haizhi.funding.InstalmentApproved.v1",
        "haizhi.funding.InstalmentPaid.v1",
    ]
    assert resumed.json()["next_cursor"] == stored[-1].position
    at_the_end = await service.client.get(
        f"/feed?after={stored[-1].position}", headers=auditor(service)
    )
    assert at_the_end.json() == {"items": [], "next_cursor": stored[-1].position}


async def test_the_feed_pages_by_limit_in_order(
    service: RunningService, upstream: Upstream
) -> None:
    await designated(service, upstream, "base-km")
    pages, cursor = [], 0
    while True:
        page = (
            await service.client.get(f"/feed?after={cursor}&limit=2", headers=finance(service))
        ).json()
        if not page["items"]:
            break
        pages.append([i["position"] for i in page["items"]])
        cursor = page["next_cursor"]

    positions = [e.position for e in await service.kernel.store.read_all()]
    assert pages == [positions[0:2], positions[2:4], positions[4:6]]
    # a limit above the cap is served (capped), not refused
    huge = await service.client.get("/feed?limit=100000", headers=finance(service))
    assert [i["position"] for i in huge.json()["items"]] == positions


async def test_a_feed_page_holds_at_most_feed_max_page_events_whatever_the_limit(
    service: RunningService,
) -> None:
    store = service.kernel.store
    pending = [PendingEvent("FeedFiller", {"n": n}) for n in range(FEED_MAX_PAGE + 3)]
    meta = Metadata(case_id="case-feed", actor="test", correlation_id="feed-cap")
    async with service.kernel.db.engine.begin() as conn:
        await store.append(conn, "filler-1", 0, pending, meta, datetime.now(UTC))
    positions = [e.position for e in await store.read_all(limit=10_000)]

    first = (await service.client.get("/feed?limit=100000", headers=finance(service))).json()
    rest = (
        await service.client.get(
            f"/feed?after={first['next_cursor']}&limit={FEED_MAX_PAGE}", headers=finance(service)
        )
    ).json()

    assert len(first["items"]) == FEED_MAX_PAGE
    read = [i["position"] for i in first["items"] + rest["items"]]
    assert read == positions
    docs = (await service.client.get("/openapi.json")).json()["paths"]["/feed"]["get"]
    assert f"served as {FEED_MAX_PAGE}" in docs["description"]


@pytest.mark.postgresql_only  # SQLite runs one writer at a time: positions are in commit order
async def test_the_feed_never_skips_an_event_that_commits_after_a_later_one(
    service: RunningService, upstream: Upstream
) -> None:
    await designated(service, upstream, "base-km")
    await designated(service, upstream, "base-dl", unit_id="unit-dali")
    cursor = (await service.client.get("/feed", headers=finance(service))).json()["next_cursor"]
    usecases = service.app.state.usecases
    slow = CommandContext(actor="approver-slow", correlation_id="slow")

    async with service.kernel.db.engine.begin() as conn:  # takes the lower position, commits last
        at = await usecases.plans.locate(conn, "base-km-1")
        await usecases.plans.approve(conn, slow, at)
        await approve(service, "base-dl-1")  # a higher position, committed first
        reading = asyncio.create_task(
            service.client.get(f"/feed?after={cursor}", headers=finance(service))
        )
        await eventually(lambda: feed_waits_for_the_lock(service))
        assert not reading.done()

    later = (await reading).json()["items"]
    assert [i["event"]["data"]["instalment_id"] for i in later] == ["base-km-1", "base-dl-1"]


async def feed_waits_for_the_lock(service: RunningService) -> bool:
    async with service.kernel.db.read_engine.connect() as conn:
        waiting = await conn.execute(
            text(
                "SELECT count(*) FROM pg_locks WHERE NOT granted AND relation = 'events'::regclass"
            )
        )
        return bool(waiting.scalar())


def sum_of_events(events: list[dict[str, Any]]) -> dict[str, dict[str, int]]:
    """An independent count over the feed: each instalment stands where its last event put it."""
    stock_after = {
        "InstalmentScheduled": "scheduled",
        "InstalmentDue": "due",
        "InstalmentReleased": "due",
        "InstalmentReturned": "due",
        "InstalmentApproved": "approved",
        "InstalmentHeld": "held",
        "InstalmentPaid": "paid",
        "InstalmentCancelled": "cancelled",
    }
    where: dict[str, tuple[str, int]] = {}
    totals: defaultdict[str, dict[str, int]] = defaultdict(lambda: {"count": 0, "amount_fen": 0})
    for event in events:
        name, data = event["type"].split(".")[2], event["data"]
        if name in stock_after:
            where[data["instalment_id"]] = (stock_after[name], data["amount_fen"])
        if name in ("InstalmentScheduled", "InstalmentReturned"):
            flow = "planned" if name == "InstalmentScheduled" else "returned"
            totals[flow]["count"] += 1
            totals[flow]["amount_fen"] += data["amount_fen"]
    for stock, fen in where.values():
        totals[stock]["count"] += 1
        totals[stock]["amount_fen"] += fen
    return dict(totals)


async def test_reconciliation_totals_equal_the_sum_of_the_events_in_json_and_csv(
    service: RunningService, upstream: Upstream
) -> None:
    await designated(service, upstream, "base-km")
    await designated(service, upstream, "base-dl", unit_id="unit-dali")
    await designated(service, upstream, "base-qj", unit_id="unit-qujing")
    await approve(service, "base-km-1")
    await pay(service, "base-km-1")
    await service.client.post(
        "/instalments/base-km-1/return",
        json={"payment_ref": "YN-PAY-1", "reason": "account closed"},
        headers=cashier(service),
    )
    await approve(service, "base-km-1")
    await pay(service, "base-km-1", payment_ref="YN-PAY-1-BIS")
    await approve(service, "base-dl-1")
    order = {"rectification_id": "rect-1", "year": 2022, "deadline": "2022-12-31"}
    await upstream.assess("base-dl", "RectificationOrdered", **order, policy_version="2022.1")
    await upstream.assess("base-qj", "BaseRevoked", revoked_on="2022-06-15", years=[])
    await plan_when(service, "base-dl", lambda p: stages(p)[0] == "held")
    await plan_when(service, "base-qj", lambda p: p["status"] == "closed")

    figures = (await service.client.get("/reconciliation", headers=finance(service))).json()
    feed = (await service.client.get("/feed?limit=500", headers=finance(service))).json()

    expected = sum_of_events([i["event"] for i in feed["items"]])
    total = {name: tally for name, tally in figures["total"].items() if tally["count"]}
    assert total == expected
    assert total["planned"] == {"count": 9, "amount_fen": 9 * FEN}
    assert (total["paid"], total["returned"]) == ({"count": 1, "amount_fen": FEN},) * 2
    assert [b["base_id"] for b in figures["bases"]] == ["base-dl", "base-km", "base-qj"]
    km = figures["bases"][1]
    assert [y["year"] for y in km["years"]] == [2022, 2023, 2024]
    assert km["years"][0]["figures"]["paid"] == {"count": 1, "amount_fen": FEN}

    exported = await service.client.get("/reconciliation.csv", headers=auditor(service))
    assert exported.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(exported.text)))
    assert len(rows) == 3 * 3 + 3 + 1  # a row per base and year, per base, and the total
    (total_row,) = [r for r in rows if r["scope"] == "total"]
    for name, tally in figures["total"].items():
        assert int(total_row[f"{name}_count"]) == tally["count"]
        assert int(total_row[f"{name}_fen"]) == tally["amount_fen"]
    base_rows = [r for r in rows if r["scope"] == "base"]
    assert sum(int(r["paid_fen"]) for r in base_rows) == int(total_row["paid_fen"])


@pytest.mark.parametrize(
    ("roles", "status"),
    [
        ((), 401),
        (("applicant",), 403),
        (("province_reviewer",), 403),
        (("auditor",), 403),  # of Yunnan: the feed spans every province
        (("auditor", "CN"), 200),
    ],
)
async def test_only_finance_and_nationwide_auditors_read_the_feed(
    service: RunningService, roles: tuple[str, ...], status: int
) -> None:
    role, codes = roles[:1], roles[1:] or ("53",)
    headers = service.auth(*role, org="unit-kunming", jurisdictions=codes) if roles else {}
    read = await service.client.get("/feed", headers=headers)
    assert read.status_code == status
    if status != 200:
        assert read.headers["content-type"] == "application/problem+json"


async def test_a_unit_sees_its_own_bases_plan_and_figures_only(
    service: RunningService, upstream: Upstream
) -> None:
    await designated(service, upstream, "base-km")
    await designated(service, upstream, "base-dl", unit_id="unit-dali")
    kunming = service.auth("applicant", user="zhang", org="unit-kunming")

    own = await service.client.get("/plans?base_id=base-km", headers=kunming)
    assert [p["plan_id"] for p in own.json()["items"]] == ["base-km"]
    assert (await service.client.get("/plans/base-km", headers=kunming)).status_code == 200
    listed = await service.client.get("/plans", headers=kunming)
    assert [p["base_id"] for p in listed.json()["items"]] == ["base-km"]
    for path in ("/plans?base_id=base-dl", "/plans/base-dl", "/reconciliation?base_id=base-dl"):
        hidden = await service.client.get(path, headers=kunming)
        assert (hidden.status_code, hidden.json()["status"]) == (404, 404), path
    figures = await service.client.get("/reconciliation", headers=kunming)
    assert [b["base_id"] for b in figures.json()["bases"]] == ["base-km"]
    every = await service.client.get("/plans", headers=finance(service))
    assert [p["base_id"] for p in every.json()["items"]] == ["base-dl", "base-km"]
    reviewer = service.auth("province_reviewer", jurisdictions=["53"])
    assert (await service.client.get("/plans", headers=reviewer)).status_code == 403


async def test_only_finance_of_the_funding_province_acts_on_an_instalment(
    service: RunningService, upstream: Upstream
) -> None:
    await designated(service, upstream, "base-km")
    before = len(await service.kernel.store.read_all())

    for headers in (
        finance(service, province="52"),
        service.auth("auditor", jurisdictions=["53"]),
        service.auth("applicant", org="unit-kunming"),
    ):
        refused = await service.client.post("/instalments/base-km-1/approval", headers=headers)
        assert refused.status_code == 403

    assert len(await service.kernel.store.read_all()) == before


@pytest.mark.parametrize(
    ("payment", "status"),
    [
        (PAYMENT | {"amount_fen": 20_000_000.0}, 422),
        (PAYMENT | {"amount_fen": "20000000"}, 422),
        (PAYMENT | {"amount_fen": -FEN}, 422),
        (PAYMENT | {"amount_fen": FEN - 1}, 422),
        (PAYMENT | {"paid_on": "yesterday"}, 422),
        (PAYMENT | {"paid_on": "2022-06-16"}, 422),  # after today in Beijing
        (PAYMENT | {"payment_ref": " "}, 422),
        (PAYMENT | {"bank": "ICBC"}, 422),
        ({k: v for k, v in PAYMENT.items() if k != "paid_on"}, 422),
    ],
)
async def test_bad_input_is_a_problem_and_appends_nothing(
    service: RunningService, upstream: Upstream, payment: dict[str, Any], status: int
) -> None:
    await designated(service, upstream, "base-km")
    await approve(service, "base-km-1")
    before = len(await service.kernel.store.read_all())

    refused = await service.client.post(
        "/instalments/base-km-1/payment", json=payment, headers=cashier(service)
    )

    assert refused.status_code == status
    assert refused.headers["content-type"] == "application/problem+json"
    assert refused.json()["status"] == status
    assert len(await service.kernel.store.read_all()) == before


async def test_unknown_instalments_and_unreadable_bodies_are_problems(
    service: RunningService,
) -> None:
    unknown = await service.client.post("/instalments/nowhere-1/approval", headers=finance(service))
    assert (unknown.status_code, unknown.json()["type"]) == (
        404,
        "https://haizhi.example/problems/instalment-not-found",
    )
    malformed = await service.client.post(
        "/instalments/nowhere-1/payment",
        content=b"{not json",
        headers={**cashier(service), "Content-Type": "application/json"},
    )
    assert malformed.status_code == 400
    assert (await service.client.get("/feed?after=-1", headers=finance(service))).status_code == 422
    assert await service.kernel.store.read_all() == []


async def test_asyncapi_has_an_example_of_every_event_and_lists_what_it_consumes(
    service: RunningService,
) -> None:
    document = (await service.client.get("/asyncapi.json")).json()

    schemas = document["components"]["schemas"]
    published = {n for n in document["operations"] if n.startswith("publish")}
    assert published == {f"publish{name}" for name in registry.names}
    assert sorted(type(e).__name__ for e in EXAMPLES) == registry.names
    for name in registry.names:
        (example,) = schemas[f"publish{name}:Message:Payload"]["examples"]
        assert registry.decode(example["type"], example["data"]), name
    for upstream, names in CONSUMES:
        payload = schemas[f"funding-from-{upstream}:Message:Payload"]
        assert {item["title"] for item in payload["items"]["oneOf"]} == set(names)
        assert document["operations"][f"funding-from-{upstream}"]["action"] == "receive"
