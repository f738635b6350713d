"""Applications over HTTP: draft, save field by field, submit, withdraw, receipt, work station."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

import pytest
from nats.aio.client import Client as NatsClient
from sqlalchemy import text

from shared.clock import set_clock
from shared.decider import Decider
from shared.envelope import new_id
from shared.projection import rebuild_and_compare
from shared.testkit.pages import assert_limits_refused, every_page
from shared.testkit.service import RunningService, eventually
from shared.usecase import CommandContext

from ..domain.commands import DraftApplication
from ..domain.events import ApplicationDrafted, Category, Programme
from ..messaging.contracts import registry
from ..projections import projections
from ..usecases.applications import APPLICATION
from .support import (
    FORM,
    OTHER_UNIT,
    PDF,
    SLOTS,
    UNIT,
    applicant,
    draft,
    draft_body,
    event_count,
    officer,
    open_call,
    ready,
    register_unit,
    reviewer,
    submitted,
    upload,
)


async def test_a_unit_drafts_fills_attaches_and_submits_and_reviewers_see_the_submission(
    service: RunningService,
) -> None:
    application_id = await ready(service)
    sent = await service.client.post(
        f"/applications/{application_id}/submit", headers={**applicant(service), "If-Match": '"7"'}
    )
    assert sent.status_code == 200, sent.text
    assert sent.json()["revision"] == 1

    mine = await service.client.get(f"/applications/{application_id}", headers=applicant(service))
    assert mine.json()["status"] == "submitted"
    assert mine.json()["route"] == "via_prefecture"  # a park goes through its prefecture
    assert mine.json()["form"]["self_raised_funds_wan"] == "30.5"
    seen = await service.client.get(
        f"/applications/{application_id}", headers=reviewer(service, "prefecture_reviewer", "5301")
    )
    assert seen.status_code == 200
    assert seen.json()["form"] is None  # the working copy is the unit's own
    assert seen.json()["submitted"]["form"]["host_unit"] == FORM["host_unit"]
    assert sorted(f["slot"] for f in seen.json()["submitted"]["files"]) == sorted(SLOTS)

    events = await service.kernel.store.read_all()
    submission = events[-1]
    assert submission.name == "ApplicationSubmitted"
    assert submission.caseid == mine.json()["case_id"]
    assert {"route", "form_hash", "files", "linked_case_id"} <= set(submission.data)


async def test_the_draft_saves_field_by_field_and_loses_nothing(service: RunningService) -> None:
    application_id = await draft(service, await open_call(service))
    url, headers = f"/applications/{application_id}", applicant(service)
    first = await service.client.patch(url, json={"host_unit": "园区管委会"}, headers=headers)
    assert first.headers["ETag"] == '"2"'
    await service.client.patch(
        url, json={"matching_funds_wan": 12.5}, headers={**headers, "If-Match": '"2"'}
    )
    await service.client.patch(url, json={"declares_organisation": True}, headers=headers)
    emptied = await service.client.patch(url, json={"host_unit": None}, headers=headers)
    assert emptied.status_code == 200
    form = (await service.client.get(url, headers=headers)).json()["form"]
    assert form["host_unit"] is None
    assert form["matching_funds_wan"] == "12.5"
    assert form["declares_organisation"] == "true"
    unchanged = await service.client.patch(
        url, json={"matching_funds_wan": "12.50"}, headers=headers
    )
    assert unchanged.json()["version"] == 5  # the same amount: nothing appended


async def test_a_stale_if_match_is_a_conflict_and_appends_nothing(service: RunningService) -> None:
    application_id = await draft(service, await open_call(service))
    before = await event_count(service)
    stale = await service.client.patch(
        f"/applications/{application_id}",
        json={"host_unit": "x"},
        headers={**applicant(service), "If-Match": '"7"'},
    )
    assert stale.status_code == 409
    assert await event_count(service) == before


async def test_submitting_an_incomplete_draft_lists_every_missing_field_and_material(
    service: RunningService,
) -> None:
    application_id = await draft(service, await open_call(service))
    await service.client.patch(
        f"/applications/{application_id}", json={"host_unit": "园区"}, headers=applicant(service)
    )
    before = await event_count(service)
    refused = await service.client.post(
        f"/applications/{application_id}/submit", headers=applicant(service)
    )
    assert refused.status_code == 422
    problem = refused.json()
    assert problem["type"].endswith("/submission-incomplete")
    assert "host_unit" not in problem["missing_fields"]
    assert "declares_government_support" in problem["missing_fields"]
    assert "fax" not in problem["missing_fields"]
    assert problem["missing_materials"] == list(SLOTS)
    assert await event_count(service) == before


async def test_no_submission_once_the_deadline_has_passed(
    service: RunningService, nats_client: NatsClient
) -> None:
    application_id = await ready(service)
    await set_clock(nats_client.jetstream(), datetime(2022, 4, 30, 16, 0, 1, tzinfo=UTC))
    before = await event_count(service)
    refused = await service.client.post(
        f"/applications/{application_id}/submit", headers=applicant(service)
    )
    assert refused.status_code == 409
    assert refused.json()["type"].endswith("/call-closed")
    assert [e.name for e in await service.kernel.store.read_all()][before:] in ([], ["CallClosed"])


async def test_no_draft_under_a_closed_call_or_another_provinces_call(
    service: RunningService, nats_client: NatsClient
) -> None:
    await register_unit(service)
    guizhou_call = {"province": "52", "year": 2022, "title": "贵州", "deadline_on": "2022-04-30"}
    guizhou = await service.client.post("/calls", json=guizhou_call, headers=officer(service, "52"))
    elsewhere = await service.client.post(
        "/applications", json=draft_body(guizhou.json()["call_id"]), headers=applicant(service)
    )
    assert elsewhere.status_code == 422
    assert elsewhere.json()["type"].endswith("/outside-call-province")
    unknown = await service.client.post(
        "/applications", json=draft_body("01HZNOSUCHCALL000000000000"), headers=applicant(service)
    )
    assert unknown.status_code == 404
    call_id = await open_call(service)
    await set_clock(nats_client.jetstream(), datetime(2022, 5, 1, tzinfo=UTC))
    late = await service.client.post(
        "/applications", json=draft_body(call_id), headers=applicant(service)
    )
    assert late.status_code == 409
    assert "Application" not in " ".join(e.name for e in await service.kernel.store.read_all())


@pytest.mark.parametrize(
    "field",
    [
        {"unit_name": "省级单位"},
        {"category": "provincial_unit"},
        {"jurisdiction": "53"},
        {"level": "provincial"},
        {"route": "direct"},
    ],
    ids=lambda f: next(iter(f)),
)
async def test_who_applies_comes_from_the_registration_never_the_body(
    service: RunningService, field: dict[str, str]
) -> None:
    call_id = await open_call(service)
    await register_unit(service)
    before = await event_count(service)
    refused = await service.client.post(
        "/applications", json=draft_body(call_id, **field), headers=applicant(service)
    )
    assert refused.status_code == 422, refused.text
    assert refused.json()["type"].endswith("/set-by-registration")
    assert refused.json()["fields"] == list(field)
    assert "registration" in refused.json()["detail"]
    assert await event_count(service) == before


BAD_PATCHES = [
    (b"{not json", 400),
    (b'["host_unit"]', 422),  # not an object
    (b'{"host_unit": 12}', 422),
    (b'{"matching_funds_wan": "fifty"}', 422),
    (b'{"matching_funds_wan": "-1"}', 422),
    (b'{"matching_funds_wan": "0.0000001"}', 422),  # finer than a fen
    (b'{"declares_organisation": "yes"}', 422),
    (b'{"opinion_date": 1648771200}', 422),
    (b'{"opinion_date": "April"}', 422),
    (b'{"favourite_colour": "red"}', 422),
]


async def test_bad_draft_input_is_a_problem_and_appends_nothing(service: RunningService) -> None:
    application_id = await draft(service, await open_call(service))
    before = await event_count(service)
    for body, status in BAD_PATCHES:
        refused = await service.client.patch(
            f"/applications/{application_id}",
            content=body,
            headers={**applicant(service), "Content-Type": "application/json"},
        )
        assert refused.status_code == status, (body, refused.text)
        assert refused.headers["content-type"] == "application/problem+json"
    assert await event_count(service) == before


async def test_bad_draft_creation_is_a_problem_and_appends_nothing(service: RunningService) -> None:
    call_id = await open_call(service)
    await register_unit(service)
    before = await event_count(service)
    changes: list[dict[str, Any]] = [
        {"call_id": 7},
        {"form": {"host_unit": ["a"]}},
        {"extra": 1},
    ]
    for change in changes:
        body = {**draft_body(call_id), **change}
        refused = await service.client.post("/applications", json=body, headers=applicant(service))
        assert refused.status_code == 422, change
    assert await event_count(service) == before


async def test_a_submitted_application_is_frozen_until_returned(service: RunningService) -> None:
    application_id = await submitted(service)
    before = await event_count(service)
    refused = await service.client.patch(
        f"/applications/{application_id}", json={"host_unit": "x"}, headers=applicant(service)
    )
    assert refused.status_code == 409
    assert refused.json()["type"].endswith("/application-frozen")
    again = await service.client.post(
        f"/applications/{application_id}/submit", headers=applicant(service)
    )
    assert again.status_code == 200  # a repeated submission is a no-op
    assert await event_count(service) == before


async def test_withdrawal_closes_the_application(service: RunningService) -> None:
    application_id = await submitted(service)
    url = f"/applications/{application_id}"
    withdrawn = await service.client.post(
        f"{url}/withdraw", json={"reason": "暂不申报"}, headers=applicant(service)
    )
    assert withdrawn.status_code == 200
    read = await service.client.get(url, headers=applicant(service))
    assert read.json()["status"] == "withdrawn"
    refused = await service.client.post(f"{url}/submit", headers=applicant(service))
    assert refused.status_code == 409
    no_reason = await service.client.post(f"{url}/withdraw", json={}, headers=applicant(service))
    assert no_reason.status_code == 422


async def test_another_unit_reaches_nothing_of_an_application(service: RunningService) -> None:
    application_id = await submitted(service)
    before = await event_count(service)
    stranger = applicant(service, OTHER_UNIT, "5303")
    url = f"/applications/{application_id}"
    for method, path, body in [
        ("GET", url, None),
        ("GET", f"{url}/history", None),
        ("PATCH", url, {"host_unit": "mine now"}),
        ("POST", f"{url}/withdraw", {"reason": "hostile"}),
        ("POST", f"{url}/submit", None),
    ]:
        answer = await service.client.request(method, path, json=body, headers=stranger)
        assert answer.status_code == 404, (method, path)
        assert FORM["host_unit"] not in answer.text
        assert "case_id" not in answer.text
    listed = await service.client.get("/applications", headers=stranger)
    assert listed.json()["items"] == []
    assert await event_count(service) == before


async def test_a_reviewer_reaches_only_submitted_applications_in_their_jurisdiction(
    service: RunningService,
) -> None:
    call_id = await open_call(service)
    application_id = await submitted(service, call_id)
    draft_only = await draft(service, call_id, "unit-km-2")
    kunming = reviewer(service, "prefecture_reviewer", "5301")
    qujing = reviewer(service, "prefecture_reviewer", "5303")
    listed = await service.client.get("/applications", headers=kunming)
    assert [a["application_id"] for a in listed.json()["items"]] == [application_id]
    assert (
        await service.client.get(f"/applications/{draft_only}", headers=kunming)
    ).status_code == 404
    assert (
        await service.client.get(f"/applications/{application_id}", headers=qujing)
    ).status_code == 404
    assert (await service.client.get("/applications", headers=qujing)).json()["items"] == []
    nobody = service.auth("finance", jurisdictions=["53"])
    assert (await service.client.get("/applications", headers=nobody)).status_code == 403


async def test_a_reviewer_filters_and_pages_the_list(service: RunningService) -> None:
    call_id = await open_call(service)
    ids = sorted([await submitted(service, call_id, f"unit-km-{n}") for n in range(3)])
    province = reviewer(service, "province_reviewer", "53")
    first = await service.client.get(
        "/applications?limit=2&route=via_prefecture&status=submitted&category=park"
        f"&call_id={call_id}",
        headers=province,
    )
    assert [a["application_id"] for a in first.json()["items"]] == ids[:2]
    cursor = first.json()["next_cursor"]
    rest = await service.client.get(f"/applications?limit=2&cursor={cursor}", headers=province)
    assert [a["application_id"] for a in rest.json()["items"]] == ids[2:]
    assert rest.json()["next_cursor"] is None
    none = await service.client.get("/applications?route=direct", headers=province)
    assert none.json()["items"] == []
    too_big = await service.client.get("/applications?limit=1000", headers=province)
    assert too_big.status_code == 422


async def test_the_receiving_office_records_the_receipt(service: RunningService) -> None:
    application_id = await submitted(service)
    url = f"/applications/{application_id}/receipt"
    receipt = {"received_on": "2022-04-25", "recipient": "州科协 王五", "paper_copies": 5}
    wrong_prefecture = await service.client.post(
        url, json=receipt, headers=reviewer(service, "prefecture_reviewer", "5303")
    )
    assert wrong_prefecture.status_code == 404
    not_an_office = await service.client.post(
        url, json=receipt, headers=reviewer(service, "national_reviewer", "CN")
    )
    assert not_an_office.status_code == 403
    by_applicant = await service.client.post(url, json=receipt, headers=applicant(service))
    assert by_applicant.status_code == 403
    recorded = await service.client.post(
        url, json=receipt, headers=reviewer(service, "prefecture_reviewer", "5301")
    )
    assert recorded.status_code == 200, recorded.text
    read = await service.client.get(f"/applications/{application_id}", headers=applicant(service))
    assert read.json()["receipt"]["paper_copies"] == 5
    assert read.json()["receipt"]["recorded_by"] == "prefecture_reviewer-5301"


async def test_no_receipt_for_a_draft(service: RunningService) -> None:
    call_id = await open_call(service)
    await submitted(service, call_id)
    application_id = await draft(service, call_id, "unit-km-2")
    receipt = {"received_on": "2022-04-25", "recipient": "王五", "paper_copies": 3}
    refused = await service.client.post(
        f"/applications/{application_id}/receipt",
        json=receipt,
        headers=reviewer(service, "province_reviewer", "53"),
    )
    assert refused.status_code == 404  # a draft is not yet the office's to see


async def test_the_work_station_application_is_drafted_linked_in_the_same_transaction(
    service: RunningService,
) -> None:
    application_id = await ready(service)
    asked = await service.client.post(
        f"/applications/{application_id}/workstation", headers=applicant(service)
    )
    assert asked.status_code == 201, asked.text
    linked_id = asked.json()["linked_application_id"]
    national = await service.client.get(
        f"/applications/{application_id}", headers=applicant(service)
    )
    linked = await service.client.get(f"/applications/{linked_id}", headers=applicant(service))
    assert linked.json()["programme"] == "provincial_workstation"
    assert linked.json()["linked_case_id"] == national.json()["case_id"]
    assert national.json()["linked_case_id"] == linked.json()["case_id"]
    assert linked.json()["form"] == national.json()["form"]
    assert sorted(a["sha256"] for a in linked.json()["attachments"]) == sorted(
        a["sha256"] for a in national.json()["attachments"]
    )
    events = await service.kernel.store.read_all()
    requested = next(e for e in events if e.name == "WorkstationApplicationRequested")
    linked_drafted = [e for e in events if e.subject == f"application-{linked_id}"]
    assert linked_drafted[0].position == (requested.position or 0) + 1  # one transaction
    sent = await service.client.post(
        f"/applications/{linked_id}/submit", headers=applicant(service)
    )
    assert sent.status_code == 200, sent.text
    assert await rebuild_and_compare(service.kernel.db, registry, projections()) == []


async def test_the_work_station_can_be_asked_for_with_the_draft(service: RunningService) -> None:
    call_id = await open_call(service)
    await register_unit(service)
    drafted = await service.client.post(
        "/applications", json=draft_body(call_id, also_workstation=True), headers=applicant(service)
    )
    assert drafted.status_code == 201, drafted.text
    assert drafted.json()["linked_application_id"]
    mine = await service.client.get("/applications?programme=provincial_workstation",
                                    headers=applicant(service))  # fmt: skip
    assert [a["application_id"] for a in mine.json()["items"]] == [
        drafted.json()["linked_application_id"]
    ]


async def test_no_work_station_when_the_call_does_not_offer_it(service: RunningService) -> None:
    application_id = await draft(service, await open_call(service, allows_workstation=False))
    before = await event_count(service)
    refused = await service.client.post(
        f"/applications/{application_id}/workstation", headers=applicant(service)
    )
    assert refused.status_code == 409
    assert refused.json()["type"].endswith("/workstation-not-offered")
    assert await event_count(service) == before


async def test_history_lists_every_event_with_time_actor_and_data(service: RunningService) -> None:
    application_id = await submitted(service)
    history = await service.client.get(
        f"/applications/{application_id}/history",
        headers=reviewer(service, "province_reviewer", "53"),
    )
    assert history.json()["next_cursor"] is None
    entries = history.json()["items"]
    assert [e["type"] for e in entries] == [
        "ApplicationDrafted", "DraftUpdated", *["AttachmentAdded"] * 5, "ApplicationSubmitted",
    ]  # fmt: skip
    assert [e["version"] for e in entries] == list(range(1, 9))
    assert {e["actor"] for e in entries} == {"clerk-of-unit-km-park"}
    assert entries[0]["time"].startswith("2022-03-01T02:00")
    assert entries[-1]["data"]["revision"] == 1


async def test_the_history_comes_whole_in_pages_of_limit_in_event_order(
    service: RunningService,
) -> None:
    application_id = await submitted(service)  # 8 events
    path = f"/applications/{application_id}/history"
    headers = reviewer(service, "province_reviewer", "53")

    pages = await every_page(service.client, path, headers, limit=3)

    assert [len(page) for page in pages] == [3, 3, 2]
    assert [e["version"] for page in pages for e in page] == list(range(1, 9))
    await assert_limits_refused(service.client, path, headers)


# --- one active application per unit, call and programme --------------------------------------


async def test_a_second_application_by_the_same_unit_under_the_call_is_refused(
    service: RunningService,
) -> None:
    call_id = await open_call(service)
    first = await draft(service, call_id)
    before = await event_count(service)
    second = await service.client.post(
        "/applications", json=draft_body(call_id), headers=applicant(service)
    )
    assert second.status_code == 409
    assert second.json()["type"].endswith("/application-already-active")
    assert second.json()["application_id"] == first
    assert first in second.json()["detail"]
    assert await event_count(service) == before
    withdrawn = await service.client.post(
        f"/applications/{first}/withdraw", json={"reason": "重新填报"}, headers=applicant(service)
    )
    assert withdrawn.status_code == 200
    again = await service.client.post(
        "/applications", json=draft_body(call_id), headers=applicant(service)
    )
    assert again.status_code == 201, again.text  # a withdrawn one no longer counts
    assert await rebuild_and_compare(service.kernel.db, registry, projections()) == []


async def test_of_concurrent_drafts_by_one_unit_exactly_one_wins(service: RunningService) -> None:
    call_id = await open_call(service)
    await register_unit(service)
    answers = await asyncio.gather(
        *(
            service.client.post(
                "/applications",
                json=draft_body(call_id),
                headers={**applicant(service), "Idempotency-Key": f"draft-{n}"},
            )
            for n in range(4)
        )
    )
    statuses = sorted(a.status_code for a in answers)
    assert statuses == [201, 409, 409, 409], [a.text for a in answers]
    winner = next(a.json()["application_id"] for a in answers if a.status_code == 201)
    assert {a.json()["application_id"] for a in answers if a.status_code == 409} == {winner}
    listed = await service.client.get("/applications", headers=applicant(service))
    assert [a["application_id"] for a in listed.json()["items"]] == [winner]
    drafted = [e for e in await service.kernel.store.read_all() if e.name == "ApplicationDrafted"]
    assert len(drafted) == 1


# --- a draft from before the registry -----------------------------------------------------------


async def stored_before_the_registry(svc: RunningService, call_id: str) -> str:
    """An ApplicationDrafted as stored before the registry: a declared category, no level and
    no credit code (appended as it was, the way the log holds it)."""
    application_id, case_id = new_id(), new_id()
    legacy = ApplicationDrafted(
        application_id, case_id, call_id, Programme.NATIONAL_BASE, UNIT, "昆明学院",
        Category.UNIVERSITY, "53", "5301", None,
    )  # fmt: skip
    as_stored: Decider[ApplicationDrafted, None, ApplicationDrafted] = Decider(
        decide=lambda event, _: [event], evolve=lambda _, __: None, initial_state=lambda: None
    )
    ctx = CommandContext("clerk-of-unit-km-park", new_id())
    stream = f"application-{application_id}"
    await svc.kernel.executor.execute(as_stored, stream, legacy, ctx=ctx, case_id=case_id)
    return application_id


async def test_a_draft_from_before_the_registry_submits_only_as_the_verified_unit(
    service: RunningService,
) -> None:
    application_id = await stored_before_the_registry(service, await open_call(service))
    headers = applicant(service)
    saved = await service.client.patch(
        f"/applications/{application_id}", json=FORM, headers=headers
    )
    assert saved.status_code == 200, saved.text
    for n, slot in enumerate(SLOTS):
        added = await upload(service, application_id, slot, PDF + bytes([n]), headers=headers)
        assert added.status_code == 201, added.text
    url = f"/applications/{application_id}/submit"
    before = await event_count(service)

    unregistered = await service.client.post(url, headers=headers)
    assert unregistered.status_code == 409
    assert unregistered.json()["type"].endswith("/unit-not-registered")
    assert "POST /units" in unregistered.json()["detail"]
    await register_unit(service, verify=False)  # a park its prefecture owns
    pending = await service.client.post(url, headers=headers)
    assert pending.status_code == 409
    assert pending.json()["type"].endswith("/unit-not-verified")
    assert await event_count(service) == before + 1  # only the registration

    unit = await register_unit(service)
    sent = await service.client.post(url, headers=headers)
    assert sent.status_code == 200, sent.text
    submission = (await service.kernel.store.read_all())[-1]
    assert submission.name == "ApplicationSubmitted"
    assert {k: submission.data[k] for k in ("unit_name", "category", "level", "credit_code")} == {
        "unit_name": unit["name"], "category": "park", "level": "prefecture",
        "credit_code": unit["credit_code"],
    }  # fmt: skip
    assert submission.data["route"] == "via_prefecture"  # not its declared university's direct
    read = await service.client.get(f"/applications/{application_id}", headers=headers)
    assert (read.json()["category"], read.json()["route"]) == ("park", "via_prefecture")
    assert await rebuild_and_compare(service.kernel.db, registry, projections()) == []


async def test_a_concurrent_twin_of_the_linked_station_application_is_a_409_naming_it(
    service: RunningService,
) -> None:
    """The national draft goes through, the linked station's twin loses on the unique index
    (PostgreSQL: it read before the twin committed): a 409 naming the twin, never a 500."""
    call_id = await open_call(service)
    first = await draft(service, call_id)
    headers = applicant(service)
    withdrawn = await service.client.post(
        f"/applications/{first}/withdraw", json={"reason": "重新填报"}, headers=headers
    )
    assert withdrawn.status_code == 200, withdrawn.text
    first_case = (await service.client.get(f"/applications/{first}", headers=headers)).json()
    usecases, kernel = service.app.state.usecases, service.kernel
    twin, twin_case = new_id(), new_id()
    async with kernel.db.engine.begin() as conn:  # the twin, not yet committed
        station = DraftApplication(
            application_id=twin, case_id=twin_case,
            call=await usecases.calls.snapshot(call_id, conn),
            programme=Programme.PROVINCIAL_WORKSTATION,
            unit=await usecases.units.snapshot(UNIT, conn), at=kernel.clock.now(),
            by="clerk-of-unit-km-park", by_org=UNIT, linked_case_id=first_case["case_id"],
        )  # fmt: skip
        ctx = CommandContext("clerk-of-unit-km-park", new_id())
        await kernel.executor.run(APPLICATION, station, ctx=ctx, case_id=twin_case, conn=conn)
        answer = asyncio.create_task(
            service.client.post(
                "/applications", json=draft_body(call_id, also_workstation=True), headers=headers
            )
        )
        if not kernel.db.is_sqlite:  # SQLite queues the whole write transaction instead
            await eventually(lambda: blocked_on_a_lock(kernel.db))
    refused = await answer
    assert refused.status_code == 409, refused.text
    assert refused.json()["type"].endswith("/application-already-active")
    assert refused.json()["application_id"] == twin
    assert twin in refused.json()["detail"]
    listed = await service.client.get("/applications?status=draft", headers=headers)
    assert [a["application_id"] for a in listed.json()["items"]] == [twin]


async def blocked_on_a_lock(db: Any) -> bool:
    """A PostgreSQL session of this database waits on a lock (the twin's index entry)."""
    query = text(
        "SELECT count(*) FROM pg_stat_activity "
        "WHERE datname = current_database() AND wait_event_type = 'Lock'"
    )
    async with db.read_engine.connect() as conn:
        return bool((await conn.execute(query)).scalar())
