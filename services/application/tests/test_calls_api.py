"""The calls API against the real service: real NATS, real database, the shared clock."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from nats.aio.client import Client as NatsClient

from shared.clock import set_clock
from shared.envelope import Envelope
from shared.projection import rebuild_and_compare
from shared.testkit.service import RunningService, eventually

from ..messaging.contracts import registry
from ..projections import projections

YUNNAN_OFFICER = ("province_reviewer",)
CALL = {"province": "53", "year": 2022, "title": "2022年海智基地申报", "deadline_on": "2022-04-30"}


def officer(svc: RunningService, province: str = "53") -> dict[str, str]:
    return svc.auth(*YUNNAN_OFFICER, user="mao", jurisdictions=[province])


async def test_a_provincial_officer_opens_a_call_and_everyone_can_read_it(
    service: RunningService,
) -> None:
    opened = await service.client.post("/calls", json=CALL, headers=officer(service))
    assert opened.status_code == 201, opened.text
    assert opened.headers["ETag"] == '"1"'
    call_id = opened.json()["call_id"]
    read = await service.client.get(f"/calls/{call_id}", headers=service.auth("applicant"))
    assert read.json()["status"] == "open"
    assert read.json()["deadline"] == "2022-04-30T16:00:00.000000Z"  # 24:00 in Beijing
    listed = await service.client.get("/calls?province=53", headers=service.auth("applicant"))
    assert [c["call_id"] for c in listed.json()["items"]] == [call_id]


async def test_an_officer_of_another_province_cannot_open_a_call_here(
    service: RunningService,
) -> None:
    refused = await service.client.post("/calls", json=CALL, headers=officer(service, "52"))
    assert refused.status_code == 403
    assert refused.headers["content-type"] == "application/problem+json"
    assert await service.kernel.store.read_all() == []


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({**CALL, "province": "Yunnan"}, 422),
        ({**CALL, "deadline_on": "soon"}, 422),
        ({**CALL, "surprise": 1}, 422),
        ({k: v for k, v in CALL.items() if k != "title"}, 422),
    ],
)
async def test_bad_input_is_a_problem_and_appends_nothing(
    service: RunningService, body: dict[str, object], status: int
) -> None:
    refused = await service.client.post("/calls", json=body, headers=officer(service))
    assert refused.status_code == status
    assert refused.json()["status"] == status
    assert await service.kernel.store.read_all() == []


async def test_malformed_json_is_a_400_problem(service: RunningService) -> None:
    refused = await service.client.post(
        "/calls",
        content=b"{not json",
        headers={**officer(service), "Content-Type": "application/json"},
    )
    assert refused.status_code == 400
    assert await service.kernel.store.read_all() == []


async def test_a_retried_command_with_the_same_idempotency_key_appends_once(
    service: RunningService,
) -> None:
    headers = {**officer(service), "Idempotency-Key": "open-2022-call"}
    first = await service.client.post("/calls", json=CALL, headers=headers)
    again = await service.client.post("/calls", json=CALL, headers=headers)
    assert again.status_code == 201
    assert again.json() == first.json()
    assert again.headers["Idempotency-Replayed"] == "true"
    assert len(await service.kernel.store.read_all()) == 1
    other = await service.client.post("/calls", json={**CALL, "year": 2023}, headers=headers)
    assert other.status_code == 422


async def test_the_deadline_closes_the_call_when_the_shared_clock_passes_it(
    service: RunningService, nats_client: NatsClient
) -> None:
    opened = await service.client.post("/calls", json=CALL, headers=officer(service))
    call_id = opened.json()["call_id"]
    await set_clock(nats_client.jetstream(), datetime(2022, 4, 30, 16, 0, 1, tzinfo=UTC))

    async def closed() -> bool:
        read = await service.client.get(f"/calls/{call_id}", headers=service.auth("applicant"))
        return bool(read.json()["status"] == "closed")

    await eventually(closed)
    events = await service.kernel.store.read_all()
    assert [e.name for e in events] == ["CallOpened", "CallClosed"]
    assert events[1].actor == "system:scheduler"


async def test_events_reach_the_haizhi_stream_and_the_read_model_rebuilds_equal(
    service: RunningService,
) -> None:
    opened = await service.client.post("/calls", json=CALL, headers=officer(service))
    call_id = opened.json()["call_id"]
    js = service.bus

    async def published() -> Envelope | None:
        try:
            message = await js.get_last_msg("HAIZHI", f"haizhi.application.{call_id}.CallOpened")
        except Exception:
            return None
        return Envelope.from_json(message.data or b"")

    event = await eventually(published)
    assert event.data["title"] == CALL["title"]
    assert await rebuild_and_compare(service.kernel.db, registry, projections()) == []


async def test_an_auditor_verifies_the_service_and_reads_a_case_as_of_a_time(
    service: RunningService,
) -> None:
    opened = await service.client.post("/calls", json=CALL, headers=officer(service))
    call_id = opened.json()["call_id"]
    auditor = service.auth("auditor", user="audit-1", jurisdictions=["CN"])
    await service.kernel.relay.drain_once()
    verified = await service.client.get("/audit/verify", headers=auditor)
    assert verified.json()["ok"] is True, verified.json()
    rebuilt = await service.client.get("/audit/rebuild", headers=auditor)
    assert rebuilt.json() == {"service": "application", "ok": True, "differences": []}
    as_of = await service.client.get(
        f"/audit/cases/{call_id}/as-of",
        params={"time": "2030-01-01T00:00:00+08:00"},
        headers=auditor,
    )
    call_then = as_of.json()["streams"][f"call-{call_id}"]
    assert call_then["events"] == ["CallOpened"]
    assert call_then["state_kind"] == "Accepting"
    assert call_then["state"]["opened"]["title"] == CALL["title"]
    timeline = await service.client.get(f"/audit/cases/{call_id}/timeline", headers=auditor)
    assert [e["event"] for e in timeline.json()["events"]] == ["CallOpened"]
    refused = await service.client.get("/audit/verify", headers=officer(service))
    assert refused.status_code == 403


ADDRESS = {
    "address": "昆明市护国路26号省科协办公大楼508室",
    "postcode": "650021",
    "recipient": "云南省科协 毛发强",
}
NOTICE: dict[str, object] = {
    **CALL,
    "required_slots": [
        "support_letter", "construction_plan", "overseas_cooperation", "policy_measures",
        "signed_form",
    ],
    "additional_materials": ["营业执照副本"],
    "contacts": [
        {"name": "毛发强", "phone": "0871-63103381 / 13629451779", "email": "ynskxgjb@126.com"}
    ],
    "submission_address": ADDRESS,
}  # fmt: skip


async def test_the_call_shows_its_materials_contacts_and_where_the_paper_goes(
    service: RunningService,
) -> None:
    opened = await service.client.post("/calls", json=NOTICE, headers=officer(service))
    assert opened.status_code == 201, opened.text
    read = await service.client.get(
        f"/calls/{opened.json()['call_id']}", headers=service.auth("applicant")
    )
    call = read.json()
    assert call["opened_on"] == "2022-03-01"
    assert call["required_slots"] == NOTICE["required_slots"]
    assert call["additional_materials"] == ["营业执照副本"]
    assert call["contacts"] == NOTICE["contacts"]
    assert call["submission_address"] == NOTICE["submission_address"]
    assert await rebuild_and_compare(service.kernel.db, registry, projections()) == []


async def test_a_call_never_asks_for_fewer_than_the_four_art_7_materials(
    service: RunningService,
) -> None:
    fewer = {**CALL, "required_slots": ["support_letter", "construction_plan"]}
    refused = await service.client.post("/calls", json=fewer, headers=officer(service))
    assert refused.status_code == 422
    assert refused.json()["type"].endswith("/invalid-call")
    assert "overseas_cooperation, policy_measures" in refused.json()["detail"]
    address = {**ADDRESS, "postcode": "6500"}
    bad_postcode = {**NOTICE, "submission_address": address}
    assert (
        await service.client.post("/calls", json=bad_postcode, headers=officer(service))
    ).status_code == 422
    assert await service.kernel.store.read_all() == []
