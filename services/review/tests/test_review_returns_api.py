"""Returns to the applicant and to the prefecture, resubmission, withdrawal and redelivery."""

from __future__ import annotations

from shared.testkit.bus import publish
from shared.testkit.service import RunningService

from .scenario import (
    KUNMING,
    YUNNAN,
    YUNNAN_RANKER,
    Application,
    act,
    consumed,
    declare,
    post,
    published,
    review_of,
    through_province,
)

RETURNED_FIELDS = {"review_id", "application_id", "case_id", "level", "reasons"}


async def test_a_return_to_the_applicant_is_published_and_the_revision_reopens_at_the_prefecture(
    service: RunningService,
) -> None:
    app = Application(route="via_prefecture")
    await app.submit(service)
    await review_of(service, app)
    await declare(service, app, KUNMING)
    reasons = {"level": "prefecture", "reasons": ["缺少地方政府支持函"]}
    await act(service, f"/reviews/{app.review_id}/return", KUNMING, reasons)

    returned = await published(service, app.case_id, "ApplicationReturned")
    assert returned.data.keys() >= RETURNED_FIELDS
    assert (returned.data["level"], returned.data["reasons"]) == (
        "prefecture",
        ["缺少地方政府支持函"],
    )
    assert (await review_of(service, app))["status"] == "returned"
    queue = (await service.client.get("/queue", headers=KUNMING.headers(service))).json()
    assert queue["reviews"] == []

    await app.submit(service)  # revision 2
    reopened = await review_of(service, app, revision=2)
    assert (reopened["status"], reopened["level"]) == ("in_review", "prefecture")
    await act(service, f"/reviews/{app.review_id}/forward", KUNMING, {"level": "prefecture"})

    await declare(service, app, YUNNAN)
    back = {"reasons": ["州市科协意见不完整"]}
    await act(service, f"/reviews/{app.review_id}/return-to-prefecture", YUNNAN, back)
    assert (await review_of(service, app))["level"] == "prefecture"
    queue = (await service.client.get("/queue", headers=KUNMING.headers(service))).json()
    assert [r["review_id"] for r in queue["reviews"]] == [app.review_id]

    await act(service, f"/reviews/{app.review_id}/forward", KUNMING, {"level": "prefecture"})
    await act(
        service,
        f"/reviews/{app.review_id}/return",
        YUNNAN,
        {"level": "province", "reasons": ["预算不清"]},
    )
    returned = await published(service, app.case_id, "ApplicationReturned", level="province")
    assert returned.data["reasons"] == ["预算不清"]
    await consumed(service, 2)


async def test_a_direct_application_cannot_go_back_to_a_prefecture(
    service: RunningService,
) -> None:
    app = Application(route="direct", jurisdiction="53")
    await app.submit(service)
    await review_of(service, app)
    await declare(service, app, YUNNAN)
    before = len(await service.kernel.store.read_all())
    refused = await post(
        service, f"/reviews/{app.review_id}/return-to-prefecture", YUNNAN, {"reasons": ["?"]}
    )
    assert refused.status_code == 422
    assert refused.json()["type"].endswith("/no-prefecture-on-route")
    assert len(await service.kernel.store.read_all()) == before


async def test_withdrawals_close_reviews_and_harmless_races_are_no_ops(
    service: RunningService,
) -> None:
    candidate = Application(route="direct", jurisdiction="53")
    rejected = Application(route="direct", jurisdiction="53", unit_id="unit-b")
    never_submitted = Application(route="direct", jurisdiction="53", unit_id="unit-c")
    for app in (candidate, rejected):
        await app.submit(service)
    await through_province(service, candidate)
    await review_of(service, rejected)
    await declare(service, rejected, YUNNAN)
    await act(
        service,
        f"/reviews/{rejected.review_id}/reject",
        YUNNAN,
        {"level": "province", "reasons": ["不符合申报条件"]},
    )

    await candidate.withdraw(service)
    await rejected.withdraw(service)  # raced with the rejection: the rejection stands
    await never_submitted.withdraw(service)  # nothing was ever under review
    closed = await review_of(service, candidate, status="closed")
    assert closed["level"] is None
    assert (await review_of(service, rejected))["status"] == "rejected"
    await consumed(service, 5)

    ranking = await service.client.get(
        f"/calls/{candidate.call_id}/ranking", headers=YUNNAN_RANKER.headers(service)
    )
    assert [c["status"] for c in ranking.json()["candidates"]] == ["withdrawn"]
    queue = (await service.client.get("/queue", headers=YUNNAN_RANKER.headers(service))).json()
    assert queue["rankings"] == []


async def test_a_submission_delivered_twice_opens_one_review(service: RunningService) -> None:
    app = Application(route="direct", jurisdiction="53")
    first = await app.submit(service)
    await publish(service.bus, first, msg_id="redelivered-by-a-reconcile")
    # Even a new envelope of the same submission (a replayed upstream) lands on the same review.
    await publish(service.bus, app.next_event("ApplicationSubmitted", app.submission()))
    await consumed(service, 2)
    events = await service.kernel.store.read_all()
    assert [e.name for e in events] == ["ReviewOpened"]
