"""Renewal (Art. 14) through the API, the assessment's answers over NATS, and the public
certificate check from valid to revoked — a projection of this service's own events."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from typing import Any

import pytest

from shared.clock import set_clock
from shared.envelope import Envelope, new_id
from shared.projection import rebuild_and_compare
from shared.testkit.bus import foreign_event, publish
from shared.testkit.pages import every_page
from shared.testkit.service import RunningService, eventually

from ..messaging.contracts import registry
from ..projections import projections
from .scenario import (
    GUIZHOU,
    NATION,
    OFFICE,
    YUNNAN,
    YUNNAN_RANKER,
    Application,
    act,
    consumed,
    from_national_to_plaque,
    post,
    published,
    through_province,
)

GRANTED_FIELDS = {
    "renewal_id",
    "case_id",
    "base_id",
    "certificate_no",
    "term_start",
    "term_end",
    "policy_version",
}


class Upstream:
    """One upstream stream of another service, version by version."""

    def __init__(self, service: str, stream_id: str, case_id: str) -> None:
        self.service, self.stream_id, self.case_id, self.version = service, stream_id, case_id, 0

    async def send(self, svc: RunningService, name: str, **data: Any) -> Envelope:
        self.version += 1
        event = foreign_event(
            self.service,
            name,
            {"case_id": self.case_id, **data},
            stream_id=self.stream_id,
            version=self.version,
            case_id=self.case_id,
        )
        await publish(svc.bus, event)
        return event


async def designated(svc: RunningService) -> tuple[Application, dict[str, Any]]:
    app = Application(route="direct", jurisdiction="5301")
    await app.submit(svc)
    await through_province(svc, app)
    ranking = f"/calls/{app.call_id}/ranking"
    await act(svc, f"{ranking}/declarations", YUNNAN_RANKER)
    await act(svc, ranking, YUNNAN_RANKER, {"ranked": [app.application_id]})
    return app, await from_national_to_plaque(svc, app)


async def renewal_of(svc: RunningService, renewal_id: str, **expected: Any) -> dict[str, Any]:
    async def shows() -> dict[str, Any] | None:
        read = await svc.client.get(f"/renewals/{renewal_id}", headers=NATION.headers(svc))
        if read.status_code != 200:
            return None
        body: dict[str, Any] = read.json()
        return body if all(body.get(k) == v for k, v in expected.items()) else None

    return await eventually(shows)


async def request_renewal(
    svc: RunningService, app: Application, base_id: str, term_end: str = "2027-08-24"
) -> str:
    renewal_id = new_id()
    renewal = Upstream("application", f"renewal-{renewal_id}", app.case_id)
    await renewal.send(
        svc,
        "RenewalRequested",
        renewal_id=renewal_id,
        base_id=base_id,
        unit_id=app.unit_id,
        unit_name=app.unit_name,
        province="53",
        jurisdiction=app.jurisdiction,
        term_end=term_end,
        statement="申请续期",
        policy_version="2022.1",
    )
    await renewal_of(svc, renewal_id, level="province")
    return renewal_id


async def test_a_qualified_renewal_awards_the_plaque_again_and_a_revocation_shows_publicly(
    service: RunningService,
) -> None:
    app, approved = await designated(service)
    base_id, first_no = approved["base_id"], approved["certificate_no"]
    designation = await published(service, app.case_id, "BaseDesignated")
    check = await service.client.get(f"/certificates/{first_no}")  # no sign-in
    assert check.status_code == 200
    assert check.json() == {
        "certificate_no": first_no,
        "programme": "national_base",
        "base_name": app.unit_name,
        "plaque_name": "中国科协海智计划工作基地",
        "term_start": "2022-08-25",
        "term_end": "2027-08-24",
        "status": "valid",
        "since": None,
        "renewal_pending": False,
        "designation_hash": designation.hash,
        "province": None,
        "policy_version": None,
    }
    assert designation.data["call_id"] == app.call_id
    assert designation.data["call_opened_on"] == "2022-04-01"

    renewal_id = await request_renewal(service, app, base_id)
    queue = (await service.client.get("/queue", headers=YUNNAN.headers(service))).json()
    assert [r["renewal_id"] for r in queue["renewals"]] == [renewal_id]
    renewal = f"/renewals/{renewal_id}"
    for who in (YUNNAN, NATION, OFFICE):
        await act(service, f"{renewal}/declarations", who)
    too_early = await post(service, f"{renewal}/grant", OFFICE)
    assert too_early.status_code == 409
    await act(service, f"{renewal}/forward", YUNNAN, {"opinion": "同意续期"})
    await act(service, f"{renewal}/assessment-request", NATION)
    asked = await published(service, app.case_id, "RenewalAssessmentRequested")
    assert {"renewal_id", "case_id", "base_id"} <= asked.data.keys()
    assert (asked.data["renewal_id"], asked.data["base_id"]) == (renewal_id, base_id)

    assessment = Upstream("assessment", f"base-{base_id}", app.case_id)
    await assessment.send(
        service,
        "RenewalAssessed",
        base_id=base_id,
        renewal_id=renewal_id,
        qualified=True,
        reasons=[],
        policy_version="2022.1",
    )
    await renewal_of(service, renewal_id, level="general_office")
    granted = await act(service, f"{renewal}/grant", OFFICE)
    assert granted["certificate_no"] == "HZJD-2022-0002"
    event = await published(service, app.case_id, "RenewalGranted")
    assert event.data.keys() >= GRANTED_FIELDS
    assert (event.data["term_start"], event.data["term_end"]) == ("2027-08-25", "2032-08-24")
    renewed = (await service.client.get("/certificates/HZJD-2022-0002")).json()
    assert (renewed["status"], renewed["designation_hash"]) == ("valid", event.hash)

    await assessment.send(
        service,
        "BaseRevoked",
        base_id=base_id,
        revoked_on="2025-03-01",
        years=[2023, 2024],
        policy_version="2022.1",
    )

    async def revoked() -> bool:
        check = (await service.client.get(f"/certificates/{first_no}")).json()
        return bool(check["status"] == "revoked" and check["since"] == "2025-03-01")

    await eventually(revoked)
    assert (await service.client.get("/certificates/HZJD-2022-0002")).json()["status"] == "revoked"
    unknown = await service.client.get("/certificates/HZJD-1999-0001")
    assert unknown.status_code == 404
    assert unknown.headers["content-type"] == "application/problem+json"
    await consumed(service, 4)
    assert await rebuild_and_compare(service.kernel.db, registry, projections()) == []


async def test_an_unqualified_assessment_refuses_a_renewal_on_the_day_of_the_decision(
    service: RunningService,
) -> None:
    app = Application(route="direct", jurisdiction="5301")
    unqualified = await request_renewal(service, app, base_id="base-1")
    for who in (YUNNAN, NATION):
        await act(service, f"/renewals/{unqualified}/declarations", who)
    await act(service, f"/renewals/{unqualified}/forward", YUNNAN)
    await act(service, f"/renewals/{unqualified}/assessment-request", NATION)
    await Upstream("assessment", "base-base-1", app.case_id).send(
        service,
        "RenewalAssessed",
        base_id="base-1",
        renewal_id=unqualified,
        qualified=False,
        reasons=["2026年度考核不合格"],
        assessed_on="2022-08-25",
        policy_version="2022.1",
    )
    refused = await published(service, app.case_id, "RenewalRefused", renewal_id=unqualified)
    assert refused.data["reasons"] == ["2026年度考核不合格"]
    assert refused.data["refused_on"] == "2022-08-25"  # the department's day, not ours
    shown = await renewal_of(service, unqualified, status="refused")
    assert (shown["level"], shown["refused_on"]) == (None, "2022-08-25")


async def test_a_renewal_withdrawn_during_its_assessment_ignores_the_late_answer(
    service: RunningService,
) -> None:
    app = Application(route="direct", jurisdiction="5301")
    renewal_id = new_id()
    request = Upstream("application", f"renewal-{renewal_id}", app.case_id)
    await request.send(
        service,
        "RenewalRequested",
        renewal_id=renewal_id,
        base_id="base-1",
        unit_id=app.unit_id,
        unit_name=app.unit_name,
        province="53",
        jurisdiction="5301",
        term_end="2027-08-24",
        statement="",
        policy_version="2022.1",
    )
    await renewal_of(service, renewal_id)
    for who in (YUNNAN, NATION):
        await act(service, f"/renewals/{renewal_id}/declarations", who)
    await act(service, f"/renewals/{renewal_id}/forward", YUNNAN)
    await act(service, f"/renewals/{renewal_id}/assessment-request", NATION)
    await request.send(service, "RenewalRequestWithdrawn", renewal_id=renewal_id, base_id="base-1")
    await renewal_of(service, renewal_id, status="withdrawn")
    await Upstream("assessment", "base-base-1", app.case_id).send(
        service,
        "RenewalAssessed",
        base_id="base-1",
        renewal_id=renewal_id,
        qualified=True,
        reasons=[],
        policy_version="2022.1",
    )
    await consumed(service, 3)  # applied as a no-op, not dead-lettered
    assert (await renewal_of(service, renewal_id))["status"] == "withdrawn"


async def test_the_province_returns_an_incomplete_request_and_the_completed_one_comes_back(
    service: RunningService,
) -> None:
    app = Application(route="direct", jurisdiction="5301", unit_id="unit-2")
    renewal_id = await request_renewal(service, app, base_id="base-2")
    renewal = f"/renewals/{renewal_id}"
    await act(service, f"{renewal}/declarations", YUNNAN)
    no_reasons = await post(service, f"{renewal}/return", YUNNAN, {"reasons": []})
    assert no_reasons.status_code == 422
    gone = await post(service, f"{renewal}/refuse", YUNNAN, {"reasons": ["逾期"]})
    assert gone.status_code in (404, 405)  # the province no longer refuses
    await act(service, f"{renewal}/return", YUNNAN, {"reasons": ["缺少五年建设总结"]})
    returned = await published(service, app.case_id, "RenewalReturned")
    assert returned.data["renewal_id"] == renewal_id
    assert (returned.data["base_id"], returned.data["reasons"]) == ("base-2", ["缺少五年建设总结"])
    shown = await renewal_of(service, renewal_id, status="returned")
    assert (shown["level"], shown["reasons"]) == (None, ["缺少五年建设总结"])
    queue = (await service.client.get("/queue", headers=YUNNAN.headers(service))).json()
    assert queue["renewals"] == []
    early = await post(service, f"{renewal}/forward", YUNNAN)
    assert (early.status_code, early.json()["code"]) == (409, "renewal-not-in-progress")

    request = Upstream("application", f"renewal-{renewal_id}", app.case_id)
    request.version = 1  # after its RenewalRequested
    await request.send(
        service,
        "RenewalRequestResubmitted",
        renewal_id=renewal_id,
        base_id="base-2",
        statement="申请续期（已补充五年建设总结）",
    )
    back = await renewal_of(service, renewal_id, status="in_review", level="province")
    assert (back["statement"], back["reasons"]) == ("申请续期（已补充五年建设总结）", [])
    twice = await post(service, f"{renewal}/return", YUNNAN, {"reasons": ["仍缺附件"]})
    assert (twice.status_code, twice.json()["code"]) == (409, "renewal-already-returned")
    await act(service, f"{renewal}/forward", YUNNAN, {"opinion": "材料齐全，同意续期"})
    await renewal_of(service, renewal_id, level="national")
    await consumed(service, 2)
    assert await rebuild_and_compare(service.kernel.db, registry, projections()) == []


async def test_a_renewal_granted_after_the_old_term_ended_continues_it_without_a_gap(
    service: RunningService,
) -> None:
    app, approved = await designated(service)
    base_id, first_no = approved["base_id"], approved["certificate_no"]
    renewal_id = await request_renewal(service, app, base_id)  # the term ends 2027-08-24
    renewal = f"/renewals/{renewal_id}"
    for who in (YUNNAN, NATION, OFFICE):
        await act(service, f"{renewal}/declarations", who)
    await act(service, f"{renewal}/forward", YUNNAN)
    await act(service, f"{renewal}/assessment-request", NATION)
    grades = [{"year": year, "grade": "qualified"} for year in range(2023, 2028)]
    await Upstream("assessment", f"base-{base_id}", app.case_id).send(
        service,
        "RenewalAssessed",
        base_id=base_id,
        renewal_id=renewal_id,
        qualified=True,
        reasons=["五年考核均合格"],
        grades=grades,
        policy_version="2022.1",
    )
    await renewal_of(service, renewal_id, level="general_office")

    # The decision comes after the old term ended (the base stayed renewal pending).
    after_the_term = datetime(2027, 9, 10, 2, 0, tzinfo=UTC)
    await set_clock(service.bus, after_the_term)

    async def moved() -> bool:
        return service.kernel.clock.now() == after_the_term

    await eventually(moved)
    pending = (await service.client.get(f"/certificates/{first_no}")).json()
    assert (pending["status"], pending["renewal_pending"]) == ("valid", True)  # still designated
    granted = await act(service, f"{renewal}/grant", OFFICE)
    assert granted["certificate_no"] == "HZJD-2027-0001"  # the grant year's register
    event = await published(service, app.case_id, "RenewalGranted")
    assert (event.data["term_start"], event.data["term_end"]) == ("2027-08-25", "2032-08-24")
    renewed = (await service.client.get("/certificates/HZJD-2027-0001")).json()
    assert (renewed["status"], renewed["term_start"]) == ("valid", "2027-08-25")
    old = (await service.client.get(f"/certificates/{first_no}")).json()
    assert (old["status"], old["since"]) == ("expired", "2027-08-25")  # its own term is over

    by_base = await service.client.get(
        "/renewals", params={"base_id": base_id}, headers=NATION.headers(service)
    )
    assert [r["renewal_id"] for r in by_base.json()["items"]] == [renewal_id]
    assert by_base.json()["items"][0]["new_term_start"] == "2027-08-25"
    by_case = await service.client.get(
        "/renewals", params={"case_id": app.case_id}, headers=YUNNAN.headers(service)
    )
    assert [r["renewal_id"] for r in by_case.json()["items"]] == [renewal_id]
    elsewhere = await service.client.get(
        "/renewals", params={"case_id": app.case_id}, headers=GUIZHOU.headers(service)
    )
    assert elsewhere.json() == {"items": [], "next_cursor": None}


async def on(svc: RunningService, day: str) -> None:
    """10:00 in Beijing on `day`, once the service's clock shows it."""
    instant = datetime.combine(date.fromisoformat(day), time(2, 0), tzinfo=UTC)
    await set_clock(svc.bus, instant)

    async def moved() -> bool:
        return svc.kernel.clock.now() == instant

    await eventually(moved)


@pytest.mark.parametrize(
    ("ending", "decided_on", "since"),
    [
        ("refused", "2027-06-01", "2027-08-25"),  # before the term's end: expired at its end
        ("refused", "2027-09-10", "2027-09-10"),  # after it: designated until the decision
        ("withdrawn", "2027-06-01", "2027-08-25"),
        ("withdrawn", "2027-09-10", "2027-09-10"),
    ],
)
async def test_after_the_term_the_certificate_expired_at_its_end_or_at_a_later_ending(
    service: RunningService, ending: str, decided_on: str, since: str
) -> None:
    app, approved = await designated(service)
    base_id, first_no = approved["base_id"], approved["certificate_no"]
    await on(service, "2027-05-01")  # the renewal window of the term ending 2027-08-24
    renewal_id = await request_renewal(service, app, base_id)
    for who in (YUNNAN, NATION):
        await act(service, f"/renewals/{renewal_id}/declarations", who)
    await act(service, f"/renewals/{renewal_id}/forward", YUNNAN)
    await act(service, f"/renewals/{renewal_id}/assessment-request", NATION)

    await on(service, decided_on)
    if date.fromisoformat(decided_on) > date(2027, 8, 24):
        undecided = (await service.client.get(f"/certificates/{first_no}")).json()
        assert (undecided["status"], undecided["since"], undecided["renewal_pending"]) == (
            "valid",
            None,
            True,
        )
    if ending == "refused":
        await Upstream("assessment", f"base-{base_id}", app.case_id).send(
            service,
            "RenewalAssessed",
            base_id=base_id,
            renewal_id=renewal_id,
            qualified=False,
            reasons=["2026年度考核不合格"],
            assessed_on=decided_on,
            policy_version="2022.1",
        )
        shown = await renewal_of(service, renewal_id, status="refused")
        assert shown["refused_on"] == decided_on
    else:
        request = Upstream("application", f"renewal-{renewal_id}", app.case_id)
        request.version = 1  # after its RenewalRequested
        await request.send(
            service, "RenewalRequestWithdrawn", renewal_id=renewal_id, base_id=base_id
        )
        await renewal_of(service, renewal_id, status="withdrawn")

    await on(service, "2027-09-20")  # the expiry itself (assessment's fact) has not reached us
    check = (await service.client.get(f"/certificates/{first_no}")).json()
    assert (check["status"], check["since"], check["renewal_pending"]) == (
        "expired",
        since,
        False,
    )


async def test_the_renewal_requests_come_whole_in_pages_by_id(service: RunningService) -> None:
    app, approved = await designated(service)
    filed = sorted([await request_renewal(service, app, approved["base_id"]) for _ in range(3)])

    pages = await every_page(service.client, "/renewals", NATION.headers(service), limit=2)

    assert [[r["renewal_id"] for r in page] for page in pages] == [filed[:2], filed[2:]]
