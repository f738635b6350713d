"""Review's decisions reach the application through the bus: return, resubmission, rejection,
designation; each cycle kept in the history, and the read models rebuilt equal to live."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from shared.envelope import Envelope
from shared.projection import rebuild_and_compare
from shared.schema import inbox
from shared.testkit.bus import foreign_event, publish
from shared.testkit.pages import every_page
from shared.testkit.service import RunningService, eventually

from ..messaging.contracts import registry
from ..messaging.subscribers import CONSUMES
from ..projections import projections
from .support import applicant, event_count, open_call, ready, submitted

TERM = {"term_start": "2022-06-01", "term_end": "2027-05-31"}


async def review_says(
    svc: RunningService, name: str, data: dict[str, Any], *, stream: str, version: int
) -> Envelope:
    event = foreign_event(
        "review", name, data, stream_id=stream, version=version, case_id=data["case_id"]
    )
    await publish(svc.bus, event)
    return event


async def status_becomes(svc: RunningService, application_id: str, status: str) -> dict[str, Any]:
    async def read() -> dict[str, Any] | None:
        answer = await svc.client.get(f"/applications/{application_id}", headers=applicant(svc))
        body: dict[str, Any] = answer.json()
        return body if body["status"] == status else None

    return await eventually(read)


async def processed(svc: RunningService, event: Envelope) -> str:
    async def outcome() -> str | None:
        async with svc.kernel.db.read_engine.connect() as conn:
            query = select(inbox.c.outcome).where(inbox.c.event_id == event.id)
            return (await conn.execute(query)).scalar()

    return await eventually(outcome)


async def test_a_returned_application_is_revised_and_resubmitted_each_cycle_kept(
    bus_service: RunningService,
) -> None:
    svc = bus_service
    application_id = await submitted(svc)
    case_id = (
        await svc.client.get(f"/applications/{application_id}", headers=applicant(svc))
    ).json()["case_id"]
    review = f"review-{case_id}"
    ids = {"application_id": application_id, "case_id": case_id}
    for cycle in (1, 2):
        returned = await review_says(
            svc, "ApplicationReturned",
            {**ids, "review_id": f"R{cycle}", "level": "prefecture", "reasons": ["补充合作证明"]},
            stream=review, version=cycle,
        )  # fmt: skip
        read = await status_becomes(svc, application_id, "returned")
        assert read["decision"]["reasons"] == ["补充合作证明"]
        fixed = await svc.client.patch(
            f"/applications/{application_id}",
            json={"overview_description": f"第{cycle}次修改"},
            headers=applicant(svc),
        )
        assert fixed.status_code == 200, fixed.text
        again = await svc.client.post(
            f"/applications/{application_id}/submit", headers=applicant(svc)
        )
        assert again.json()["revision"] == cycle + 1
    await review_says(
        svc, "BaseDesignated",
        {**ids, "review_id": "R3", "base_id": "BASE1", "programme": "national_base",
         "unit_id": "unit-km-park", "unit_name": "昆明高新区", "province": "53",
         "jurisdiction": "5301", "approval_no": "科协函〔2022〕1号", "certificate_no": "HZ-1",
         "plaque_name": "中国科协海智计划工作基地", "approved_on": "2022-06-01",
         "policy_version": "2022.1", **TERM},
        stream=review, version=3,
    )  # fmt: skip
    read = await status_becomes(svc, application_id, "designated")
    assert read["base_id"] == "BASE1"
    assert read["submitted"]["form"]["overview_description"] == "第2次修改"

    pages = await every_page(
        svc.client, f"/applications/{application_id}/history", applicant(svc), limit=100
    )
    history = [e for page in pages for e in page]
    lifecycle = [e["type"] for e in history if e["type"] not in ("DraftUpdated", "AttachmentAdded")]
    assert lifecycle == [
        "ApplicationDrafted", "ApplicationSubmitted",
        "ReturnRecorded", "ApplicationResubmitted",
        "ReturnRecorded", "ApplicationResubmitted",
        "DesignationRecorded",
    ]  # fmt: skip
    recorded = [e for e in history if e["type"] == "ReturnRecorded"]
    assert [e["data"]["revision"] for e in recorded] == [1, 2]
    assert recorded[0]["actor"] == "system:application"
    assert recorded[1]["causation_id"] == returned.id
    base = await svc.client.get("/bases/BASE1", headers=applicant(svc))
    assert base.json()["term_end"] == "2027-05-31"
    assert await rebuild_and_compare(svc.kernel.db, registry, projections()) == []


async def test_a_rejection_is_final(bus_service: RunningService) -> None:
    svc = bus_service
    application_id = await submitted(svc)
    case_id = (
        await svc.client.get(f"/applications/{application_id}", headers=applicant(svc))
    ).json()["case_id"]
    await review_says(
        svc, "ApplicationRejected",
        {"application_id": application_id, "case_id": case_id, "review_id": "R1",
         "level": "province", "reasons": ["条件不足"]},
        stream=f"review-{case_id}", version=1,
    )  # fmt: skip
    read = await status_becomes(svc, application_id, "rejected")
    assert read["decision"] == {
        "outcome": "rejected", "revision": 1, "review_id": "R1", "level": "province",
        "reasons": ["条件不足"],
    }  # fmt: skip
    refused = await svc.client.post(
        f"/applications/{application_id}/withdraw", json={"reason": "late"}, headers=applicant(svc)
    )
    assert refused.status_code == 409


async def test_a_return_that_crosses_a_withdrawal_is_a_no_op_not_a_dead_letter(
    bus_service: RunningService,
) -> None:
    svc = bus_service
    application_id = await submitted(svc)
    case_id = (
        await svc.client.get(f"/applications/{application_id}", headers=applicant(svc))
    ).json()["case_id"]
    await svc.client.post(
        f"/applications/{application_id}/withdraw", json={"reason": "撤回"}, headers=applicant(svc)
    )
    before = await event_count(svc)
    returned = await review_says(
        svc, "ApplicationReturned",
        {"application_id": application_id, "case_id": case_id, "review_id": "R1",
         "level": "prefecture", "reasons": ["补充"]},
        stream=f"review-{case_id}", version=1,
    )  # fmt: skip
    assert await processed(svc, returned) == "applied"
    assert await event_count(svc) == before


async def test_the_consumers_read_what_the_asyncapi_document_says(
    bus_service: RunningService,
) -> None:
    subscriptions = {c.durable: c.subscription for c in bus_service.kernel.consumers}
    assert set(subscriptions) == {"application-from-review", "application-from-assessment"}
    read = {(s.upstream, name) for s in subscriptions.values() for name in s.handlers}
    assert read == {(upstream, name) for upstream, names in CONSUMES for name in names}
    document = (await bus_service.client.get("/asyncapi.json")).json()
    schemas = document["components"]["schemas"]
    listed = {
        (durable.removeprefix("application-from-"), item["title"])
        for durable in subscriptions
        for item in schemas[f"{durable}:Message:Payload"]["items"]["oneOf"]
    }
    assert listed == read


async def test_a_work_station_designation_closes_the_station_application_without_a_base(
    bus_service: RunningService,
) -> None:
    svc = bus_service
    call_id = await open_call(svc)
    national_id = await ready(svc, call_id)
    asked = await svc.client.post(
        f"/applications/{national_id}/workstation", headers=applicant(svc)
    )
    station_id = asked.json()["linked_application_id"]
    sent = await svc.client.post(f"/applications/{station_id}/submit", headers=applicant(svc))
    assert sent.status_code == 200, sent.text
    case_id = asked.json()["linked_case_id"]
    designated = await review_says(
        svc, "WorkstationDesignated",
        {"application_id": station_id, "case_id": case_id, "review_id": "R-WS",
         "station_id": "STATION1", "programme": "provincial_workstation", "call_id": call_id,
         "call_opened_on": "2022-03-01", "unit_id": "unit-km-park", "unit_name": "昆明高新区",
         "province": "53", "jurisdiction": "5301", "certificate_no": "云海智站-2022-001",
         "approved_on": "2022-06-01", "policy_version": "53-2022.1"},
        stream=f"review-{case_id}", version=1,
    )  # fmt: skip
    read = await status_becomes(svc, station_id, "designated")
    assert (read["station_id"], read["certificate_no"], read["base_id"]) == (
        "STATION1", "云海智站-2022-001", None,
    )  # fmt: skip
    assert await processed(svc, designated) == "applied"
    assert (await svc.client.get("/bases", headers=applicant(svc))).json()["items"] == []
    assert await rebuild_and_compare(svc.kernel.db, registry, projections()) == []
