"""Renewal requests (Art. 14): only the base's own unit, only inside the window, one at a time;
the window, the new term and the base's end learned from review and assessment."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from nats.aio.client import Client as NatsClient

from shared.clock import set_clock
from shared.projection import rebuild_and_compare
from shared.testkit.bus import foreign_event, publish
from shared.testkit.pages import assert_limits_refused, every_page
from shared.testkit.service import RunningService, eventually

from ..messaging.contracts import registry
from ..projections import projections
from .support import (
    OTHER_UNIT,
    UNIT,
    applicant,
    draft_body,
    event_count,
    open_call,
    ready,
    reviewer,
    submitted,
)
from .test_reactions import processed

BASE = "01HZBASE0000000000000000KM"
STATEMENT = {"statement": "基地运行良好，申请续期。"}


async def designated_base(svc: RunningService) -> str:
    application_id = await submitted(svc)
    read = await svc.client.get(f"/applications/{application_id}", headers=applicant(svc))
    case_id = str(read.json()["case_id"])
    data = {
        "application_id": application_id, "case_id": case_id, "review_id": "R1", "base_id": BASE,
        "programme": "national_base", "unit_id": UNIT, "unit_name": "昆明高新区",
        "province": "53", "jurisdiction": "5301", "approval_no": "1", "certificate_no": "HZ-1",
        "plaque_name": "中国科协海智计划工作基地", "approved_on": "2022-06-01",
        "term_start": "2022-06-01", "term_end": "2027-05-31", "policy_version": "2022.1",
    }  # fmt: skip
    await publish(
        svc.bus,
        foreign_event(
            "review", "BaseDesignated", data, stream_id="review-1", version=1, case_id=case_id
        ),
    )
    await base_becomes(svc, lambda b: b["status"] == "serving")
    return case_id


async def base_becomes(svc: RunningService, test: Any) -> dict[str, Any]:
    async def read() -> dict[str, Any] | None:
        answer = await svc.client.get(f"/bases/{BASE}", headers=applicant(svc))
        body: dict[str, Any] = answer.json()
        return body if answer.status_code == 200 and test(body) else None

    return await eventually(read)


async def assessment_says(
    svc: RunningService, name: str, data: dict[str, Any], case_id: str, version: int
) -> None:
    event = foreign_event(
        "assessment", name, {"base_id": BASE, "case_id": case_id, **data},
        stream_id=f"base-{BASE}", version=version, case_id=case_id,
    )  # fmt: skip
    await publish(svc.bus, event)


async def test_a_renewal_request_is_filed_only_inside_the_window_one_at_a_time(
    bus_service: RunningService, nats_client: NatsClient
) -> None:
    svc, js = bus_service, nats_client.jetstream()
    case_id = await designated_base(svc)
    url = f"/bases/{BASE}/renewal-requests"
    early = await svc.client.post(url, json=STATEMENT, headers=applicant(svc))
    assert early.status_code == 409
    assert early.json()["type"].endswith("/renewal-window-not-open")
    assert early.json()["opens_on"] == "2027-03-03"  # the last 90 days of the term
    listed = await svc.client.get("/bases", headers=reviewer(svc, "province_reviewer", "53"))
    assert listed.json()["items"][0]["window_opens_on"] == "2027-03-03"

    await set_clock(js, datetime(2027, 4, 1, 2, 0, tzinfo=UTC))
    stranger = await svc.client.post(url, json=STATEMENT, headers=applicant(svc, OTHER_UNIT))
    assert stranger.status_code == 404
    empty = await svc.client.post(url, json={"statement": ""}, headers=applicant(svc))
    assert empty.status_code == 422
    filed = await svc.client.post(url, json=STATEMENT, headers=applicant(svc))
    assert filed.status_code == 201, filed.text
    renewal_id = filed.json()["renewal_id"]
    second = await svc.client.post(url, json=STATEMENT, headers=applicant(svc))
    assert second.status_code == 409
    assert second.json()["renewal_id"] == renewal_id
    withdrawn = await svc.client.post(
        f"{url}/{renewal_id}/withdraw", json={"reason": "补充材料"}, headers=applicant(svc)
    )
    assert withdrawn.status_code == 200
    again = await svc.client.post(url, json=STATEMENT, headers=applicant(svc))
    assert again.status_code == 201
    requested = (await svc.kernel.store.read_all())[-1]
    assert requested.name == "RenewalRequested"
    assert requested.caseid == case_id
    assert requested.data["term_end"] == "2027-05-31"
    assert requested.policyversion == "2022.1"

    await publish(svc.bus, foreign_event(
        "review", "RenewalGranted",
        {"renewal_id": again.json()["renewal_id"], "case_id": case_id, "base_id": BASE,
         "certificate_no": "HZ-2", "term_start": "2027-06-01", "term_end": "2032-05-31",
         "policy_version": "2022.1"},
        stream_id="review-1", version=2, case_id=case_id,
    ))  # fmt: skip
    renewed = await base_becomes(svc, lambda b: b["term_end"] == "2032-05-31")
    assert renewed["status"] == "serving"
    assert [r["status"] for r in renewed["renewal_requests"]] == ["withdrawn", "granted"]
    assert await rebuild_and_compare(svc.kernel.db, registry, projections()) == []


async def test_the_window_announced_by_assessment_and_its_close_and_the_bases_end(
    bus_service: RunningService, nats_client: NatsClient
) -> None:
    svc, js = bus_service, nats_client.jetstream()
    case_id = await designated_base(svc)
    window = {"opens_on": "2027-03-01", "closes_on": "2027-05-31", "term_end": "2027-05-31"}
    await assessment_says(
        svc, "RenewalWindowOpened", {**window, "policy_version": "2022.1"}, case_id, 1
    )
    announced = await base_becomes(svc, lambda b: b["window_announced"])
    assert announced["window_opens_on"] == "2027-03-01"

    await set_clock(js, datetime(2027, 6, 2, 2, 0, tzinfo=UTC))
    late = await svc.client.post(
        f"/bases/{BASE}/renewal-requests", json=STATEMENT, headers=applicant(svc)
    )
    assert late.status_code == 409
    assert late.json()["type"].endswith("/renewal-window-closed")
    assert late.json()["closed_on"] == "2027-05-31"

    await assessment_says(
        svc, "BaseExpired", {"expired_on": "2027-06-01", "policy_version": "2022.1"}, case_id, 2
    )
    ended = await base_becomes(svc, lambda b: b["status"] == "expired")
    assert ended["ended_on"] == "2027-06-01"
    over = await svc.client.post(
        f"/bases/{BASE}/renewal-requests", json=STATEMENT, headers=applicant(svc)
    )
    assert over.json()["type"].endswith("/base-no-longer-designated")
    outside = await svc.client.get(
        f"/bases/{BASE}", headers=reviewer(svc, "prefecture_reviewer", "5303")
    )
    assert outside.status_code == 404
    assert await rebuild_and_compare(svc.kernel.db, registry, projections()) == []


async def test_a_new_term_and_a_revocation_reach_the_base(bus_service: RunningService) -> None:
    svc = bus_service
    case_id = await designated_base(svc)
    await assessment_says(
        svc, "TermRenewed", {"term_start": "2027-06-01", "term_end": "2032-05-31"}, case_id, 1
    )
    await base_becomes(svc, lambda b: b["term_end"] == "2032-05-31")
    await assessment_says(
        svc,
        "BaseRevoked",
        {"revoked_on": "2028-03-01", "years": [2026, 2027], "policy_version": "2022.1"},
        case_id,
        2,
    )
    revoked = await base_becomes(svc, lambda b: b["status"] == "revoked")
    assert revoked["ended_on"] == "2028-03-01"


async def renewal_filed(svc: RunningService, js: Any) -> str:
    await set_clock(js, datetime(2027, 4, 1, 2, 0, tzinfo=UTC))
    filed = await svc.client.post(
        f"/bases/{BASE}/renewal-requests", json=STATEMENT, headers=applicant(svc)
    )
    assert filed.status_code == 201, filed.text
    return str(filed.json()["renewal_id"])


async def review_says(
    svc: RunningService, name: str, data: dict[str, Any], case_id: str, version: int
) -> Any:
    event = foreign_event(
        "review", name, {"base_id": BASE, "case_id": case_id, **data},
        stream_id="review-1", version=version, case_id=case_id,
    )  # fmt: skip
    await publish(svc.bus, event)
    return event


async def test_a_returned_renewal_request_is_completed_and_resubmitted(
    bus_service: RunningService, nats_client: NatsClient
) -> None:
    svc = bus_service
    case_id = await designated_base(svc)
    renewal_id = await renewal_filed(svc, nats_client.jetstream())
    url = f"/bases/{BASE}/renewal-requests/{renewal_id}/resubmit"
    early = await svc.client.post(url, json={"statement": "补充"}, headers=applicant(svc))
    assert early.status_code == 409  # nothing was returned yet
    assert early.json()["type"].endswith("/renewal-not-returned")
    await review_says(
        svc, "RenewalReturned", {"renewal_id": renewal_id, "reasons": ["请补充工作总结"]},
        case_id, 2,
    )  # fmt: skip
    returned = await base_becomes(svc, lambda b: b["renewal_requests"][0]["status"] == "returned")
    assert returned["renewal_requests"][0]["reasons"] == ["请补充工作总结"]
    completed = {"statement": "基地运行良好，申请续期。附五年工作总结。"}
    resubmitted = await svc.client.post(url, json=completed, headers=applicant(svc))
    assert resubmitted.status_code == 200, resubmitted.text
    read = await base_becomes(svc, lambda b: b["renewal_requests"][0]["status"] == "pending")
    assert read["renewal_requests"][0]["statement"] == completed["statement"]
    published = (await svc.kernel.store.read_all())[-1]
    assert published.name == "RenewalRequestResubmitted"
    assert published.data == {
        "renewal_id": renewal_id, "case_id": case_id, "base_id": BASE, **completed,
    }  # fmt: skip
    stranger = await svc.client.post(url, json=completed, headers=applicant(svc, OTHER_UNIT))
    assert stranger.status_code == 404
    assert await rebuild_and_compare(svc.kernel.db, registry, projections()) == []


async def test_a_request_pending_past_the_term_keeps_the_base_and_a_late_grant_continues_it(
    bus_service: RunningService, nats_client: NatsClient
) -> None:
    svc, js = bus_service, nats_client.jetstream()
    case_id = await designated_base(svc)
    renewal_id = await renewal_filed(svc, js)
    await set_clock(js, datetime(2027, 6, 1, 2, 0, tzinfo=UTC))
    await assessment_says(
        svc, "RenewalPendingPastTerm", {"renewal_id": renewal_id, "term_end": "2027-05-31"},
        case_id, 1,
    )  # fmt: skip
    pending = await base_becomes(svc, lambda b: b["status"] == "renewal_pending_past_term")
    assert pending["pending_renewal_id"] == renewal_id
    granted = await review_says(
        svc, "RenewalGranted",
        {"renewal_id": renewal_id, "certificate_no": "HZ-2", "term_start": "2027-06-01",
         "term_end": "2032-05-31", "policy_version": "2022.1"},
        case_id, 2,
    )  # fmt: skip
    renewed = await base_becomes(svc, lambda b: b["term_end"] == "2032-05-31")
    assert (renewed["status"], renewed["term_start"]) == ("serving", "2027-06-01")
    assert await processed(svc, granted) == "applied"


async def test_a_grant_after_assessment_recorded_the_terms_end_is_applied_not_dead_lettered(
    bus_service: RunningService, nats_client: NatsClient
) -> None:
    svc, js = bus_service, nats_client.jetstream()
    case_id = await designated_base(svc)
    renewal_id = await renewal_filed(svc, js)
    await assessment_says(
        svc, "BaseExpired",
        {"expired_on": "2027-06-01", "reason": "term_ended", "policy_version": "2022.1"},
        case_id, 1,
    )  # fmt: skip
    await base_becomes(svc, lambda b: b["status"] == "expired")
    granted = await review_says(
        svc, "RenewalGranted",
        {"renewal_id": renewal_id, "certificate_no": "HZ-2", "term_start": "2027-06-01",
         "term_end": "2032-05-31", "policy_version": "2022.1"},
        case_id, 2,
    )  # fmt: skip
    renewed = await base_becomes(svc, lambda b: b["status"] == "serving")
    assert (renewed["term_start"], renewed["term_end"], renewed["ended_on"]) == (
        "2027-06-01", "2032-05-31", None,
    )  # fmt: skip
    assert await processed(svc, granted) == "applied"
    assert await rebuild_and_compare(svc.kernel.db, registry, projections()) == []


async def test_a_refused_renewal_ends_the_base(
    bus_service: RunningService, nats_client: NatsClient
) -> None:
    svc, js = bus_service, nats_client.jetstream()
    case_id = await designated_base(svc)
    renewal_id = await renewal_filed(svc, js)
    await review_says(
        svc, "RenewalRefused",
        {"renewal_id": renewal_id, "reasons": ["续期评估不合格"], "refused_on": "2027-06-10"},
        case_id, 2,
    )  # fmt: skip
    await base_becomes(svc, lambda b: b["renewal_requests"][0]["status"] == "refused")
    await assessment_says(
        svc, "BaseExpired",
        {"expired_on": "2027-06-10", "reason": "renewal_refused", "policy_version": "2022.1"},
        case_id, 1,
    )  # fmt: skip
    ended = await base_becomes(svc, lambda b: b["status"] == "expired")
    assert (ended["ended_on"], ended["end_reason"]) == ("2027-06-10", "renewal_refused")


async def test_a_unit_holding_an_active_base_is_told_to_renew_not_apply_again(
    bus_service: RunningService,
) -> None:
    svc = bus_service
    await designated_base(svc)
    call_id = await open_call(svc)
    refused = await svc.client.post(
        "/applications", json=draft_body(call_id), headers=applicant(svc)
    )
    assert refused.status_code == 409
    assert refused.json()["type"].endswith("/active-base-held")
    assert refused.json()["base_id"] == BASE


async def test_a_draft_under_another_call_is_not_submitted_once_the_unit_holds_a_base(
    bus_service: RunningService,
) -> None:
    """Drafted under a second call while the first application was under review: once the
    first is designated, the second cannot go forward (one unit, one base)."""
    svc = bus_service
    second = await ready(svc, await open_call(svc, title="2022年海智基地第二批申报"))
    await designated_base(svc)
    before = await event_count(svc)
    refused = await svc.client.post(f"/applications/{second}/submit", headers=applicant(svc))
    assert refused.status_code == 409
    assert refused.json()["type"].endswith("/active-base-held")
    assert refused.json()["base_id"] == BASE
    assert BASE in refused.json()["detail"]
    assert await event_count(svc) == before


async def test_a_base_s_renewal_requests_come_whole_in_pages_by_id(
    bus_service: RunningService, nats_client: NatsClient
) -> None:
    svc, js = bus_service, nats_client.jetstream()
    await designated_base(svc)
    await set_clock(js, datetime(2027, 4, 1, 2, 0, tzinfo=UTC))
    url = f"/bases/{BASE}/renewal-requests"
    filed = []
    for _ in range(3):  # filed and withdrawn, filed again
        request = await svc.client.post(url, json=STATEMENT, headers=applicant(svc))
        assert request.status_code == 201, request.text
        filed.append(request.json()["renewal_id"])
        withdrawn = await svc.client.post(
            f"{url}/{filed[-1]}/withdraw", json={"reason": "补充材料"}, headers=applicant(svc)
        )
        assert withdrawn.status_code == 200, withdrawn.text

    pages = await every_page(
        svc.client, f"/bases/{BASE}", applicant(svc), items="renewal_requests", limit=2
    )

    in_order = sorted(filed)  # ids are time-sortable (ULIDs): the oldest first
    assert [[r["renewal_id"] for r in page] for page in pages] == [in_order[:2], in_order[2:]]
    await assert_limits_refused(svc.client, f"/bases/{BASE}", applicant(svc), cursor=None)


async def test_the_bases_come_whole_in_pages_by_id(bus_service: RunningService) -> None:
    svc = bus_service
    call_id = await open_call(svc)
    base_ids = [f"01HZBASE000000000000000{n}KM" for n in range(3)]
    for n, base_id in enumerate(base_ids):
        unit = f"unit-km-{n}"
        application_id = await submitted(svc, call_id, unit)
        read = await svc.client.get(f"/applications/{application_id}", headers=applicant(svc, unit))
        case_id = str(read.json()["case_id"])
        data = {
            "application_id": application_id, "case_id": case_id, "review_id": f"R{n}",
            "base_id": base_id, "programme": "national_base", "unit_id": unit,
            "unit_name": f"单位{n}", "province": "53", "jurisdiction": "5301",
            "approval_no": "1", "certificate_no": f"HZ-{n}",
            "plaque_name": "中国科协海智计划工作基地", "approved_on": "2022-06-01",
            "term_start": "2022-06-01", "term_end": "2027-05-31", "policy_version": "2022.1",
        }  # fmt: skip
        await publish(svc.bus, foreign_event(
            "review", "BaseDesignated", data, stream_id=f"review-{n}", version=1, case_id=case_id
        ))  # fmt: skip
    province = reviewer(svc, "province_reviewer", "53")

    async def all_three() -> list[list[dict[str, Any]]] | None:
        pages = await every_page(svc.client, "/bases", province, limit=2)
        return pages if sum(map(len, pages)) == 3 else None

    pages = await eventually(all_three)

    assert [[b["base_id"] for b in page] for page in pages] == [base_ids[:2], base_ids[2:]]
