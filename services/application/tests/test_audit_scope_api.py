"""The auditor's routes: case ids checked before a NATS subject is built; jurisdictions scope."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from shared.testkit.service import RunningService

from .support import reviewer, submitted


def auditor(svc: RunningService, *jurisdictions: str) -> dict[str, str]:
    return svc.auth("auditor", user=f"audit-{'-'.join(jurisdictions)}", jurisdictions=jurisdictions)


async def submitted_case(svc: RunningService) -> str:
    """A case of prefecture 5301 (Kunming), its events on the stream."""
    application_id = await submitted(svc)
    read = await svc.client.get(
        f"/applications/{application_id}", headers=reviewer(svc, "prefecture_reviewer", "5301")
    )
    assert read.status_code == 200, read.text
    await svc.kernel.relay.drain_once()
    return str(read.json()["case_id"])


async def test_an_auditor_reads_the_timeline_of_a_case_in_their_jurisdiction_only(
    service: RunningService,
) -> None:
    case_id = await submitted_case(service)
    path = f"/audit/cases/{case_id}/timeline"

    for allowed in (("5301",), ("53",), ("CN",), ("52", "5301")):
        read = await service.client.get(path, headers=auditor(service, *allowed))
        assert read.status_code == 200, (allowed, read.text)
        assert read.json()["events"], allowed
    for outside in (("5302",), ("52",), ()):
        refused = await service.client.get(path, headers=auditor(service, *outside))
        assert refused.status_code == 403, (outside, refused.text)
        assert refused.json()["code"] == "outside-jurisdiction"


async def test_an_auditor_reads_a_case_as_of_a_time_in_their_jurisdiction_only(
    service: RunningService,
) -> None:
    case_id = await submitted_case(service)
    path, time = f"/audit/cases/{case_id}/as-of", {"time": "2100-01-01T00:00:00+08:00"}

    inside = await service.client.get(path, params=time, headers=auditor(service, "5301"))
    outside = await service.client.get(path, params=time, headers=auditor(service, "5302"))

    assert inside.status_code == 200, inside.text
    assert inside.json()["streams"]
    assert outside.status_code == 403, outside.text


@pytest.mark.parametrize("route", ["/audit/verify", "/audit/rebuild", "/audit/dead-letters"])
async def test_service_wide_reports_need_a_nationwide_auditor(
    service: RunningService, route: str
) -> None:
    refused = await service.client.get(route, headers=auditor(service, "53"))
    allowed = await service.client.get(route, headers=auditor(service, "CN"))

    assert refused.status_code == 403, refused.text
    assert allowed.status_code == 200, allowed.text


@pytest.mark.parametrize("case_id", ["%3E", "%2A", "a.b", "a%20b", "a%01b", "a%3E.%3E", "x" * 129])
@pytest.mark.parametrize("view", ["timeline", "as-of?time=2100-01-01T00:00:00%2B08:00"])
async def test_a_case_id_that_is_not_one_subject_token_is_a_422_never_a_500(
    service: RunningService, case_id: str, view: str
) -> None:
    response = await service.client.get(
        f"/audit/cases/{case_id}/{view}", headers=auditor(service, "CN")
    )

    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"


async def test_an_unknown_case_has_an_empty_timeline_for_any_auditor(
    service: RunningService,
) -> None:
    read = await service.client.get(
        "/audit/cases/01J0ABCDEFGHJKMNPQRSTVWXYZ/timeline", headers=auditor(service, "5302")
    )

    assert read.status_code == 200
    assert read.json()["events"] == []


async def test_a_timeline_marks_what_did_not_verify_and_is_not_scoped_by_it(
    service: RunningService,
) -> None:
    """The stream may hold what no producer wrote: a forged event naming another prefecture,
    bytes that are no envelope, one of a type without a subject, one timed without an
    offset. The timeline answers (never a 500), marks each event's signature, leaves out what
    it cannot place, and only verified events decide whose jurisdiction the case is in."""
    case_id = await submitted_case(service)
    subject = f"haizhi.application.{case_id}.ApplicationSubmitted"
    path = f"/audit/cases/{case_id}/timeline"
    nationwide = auditor(service, "CN")
    real = (await service.client.get(path, headers=nationwide)).json()["events"]
    last = (await service.kernel.store.read_case(case_id))[-1]
    forged = replace(
        last,
        id="01J0FORGED0000000000000000",
        actor="mallory",
        data={**last.data, "jurisdiction": "5302", "prefecture": "5302"},
        sigkeyid=None,
        signature=None,
    ).sealed()  # a valid hash, no signature
    attributes = json.loads(forged.to_json())
    for body in (
        forged.to_json(),
        b"[]",
        json.dumps({**attributes, "time": "2030-01-01T00:00:00"}).encode(),  # no offset
        json.dumps({**attributes, "type": "haizhi.application.X"}).encode(),  # no subject
    ):
        await service.bus.publish(subject, body)

    read = await service.client.get(path, headers=nationwide)

    assert read.status_code == 200, read.text
    events = read.json()["events"]
    assert [e["signature"] for e in events] == ["verified"] * len(real) + ["unsigned"]
    assert events[-1]["actor"] == "mallory"
    refused = await service.client.get(path, headers=auditor(service, "5302"))
    assert refused.status_code == 403, refused.text
    allowed = await service.client.get(path, headers=auditor(service, "5301"))
    assert allowed.status_code == 200, allowed.text
