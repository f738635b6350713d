"""Renewal over the bus and HTTP (Art. 14 and our decisions): review asks for the renewal
assessment and the national department answers it, with reasons, the term's grades before it;
application's request keeps the base designated past its term end until review decides; a
grant continues the term, a refusal or a withdrawal after the end ends the base that day."""

from __future__ import annotations

from typing import Any

from shared.projection import rebuild_and_compare
from shared.testkit.bus import foreign_event, publish

from ..messaging.contracts import registry
from ..projections import projections
from .examples import cst
from .world import World

RENEWAL = {"renewal_id": "renewal-1", "case_id": "case-b1", "base_id": "b1"}
GRANT = {
    **RENEWAL,
    "certificate_no": "HZ-b1-2027",
    "term_start": "2027-06-15",
    "term_end": "2032-06-14",
    "policy_version": "2022.1",
}
ASSESSMENT = "/bases/b1/renewal-assessments/renewal-1"


def requested(term_end: str) -> dict[str, Any]:
    """Application's `RenewalRequested` for b1's term ending `term_end`."""
    return {
        **RENEWAL,
        "unit_id": "unit-kunming-park",
        "unit_name": "Unit unit-kunming-park",
        "province": "53",
        "jurisdiction": "5301",
        "term_end": term_end,
        "statement": "Five good years; we ask to renew.",
    }


async def test_the_department_assesses_a_renewal_with_reasons_the_term_s_grades_as_evidence(
    world: World,
) -> None:
    await world.designate("b1", term_end="2023-06-14")
    await world.on(2022, 12, 20)
    await world.file_report("b1", 2022)
    await world.on(2023, 1, 5)
    await world.score("b1", 2022, 75)
    await world.grade_year(2022, "2023-01-05")
    await world.on(2023, 4, 1)
    before = await world.event_names()
    asked = await world.from_review("RenewalAssessmentRequested", RENEWAL, case_id="case-b1")
    assert await world.processed(asked) == "applied"
    assert (await world.event_names())[len(before) :] == ["RenewalAssessmentOpened"]

    queue = await world.client.get("/renewal-assessments", headers=world.department())
    assert queue.status_code == 200, queue.text
    [pending] = queue.json()["items"]
    assert (pending["renewal_id"], pending["status"]) == ("renewal-1", "pending")
    assert pending["grades"] == [{"year": 2022, "grade": "qualified"}]
    shown = await world.client.get(ASSESSMENT, headers=world.local_cast())
    assert shown.json()["grades"] == [{"year": 2022, "grade": "qualified"}]

    refusals: list[tuple[dict[str, Any], dict[str, str], int, str]] = [
        ({"qualified": True, "reasons": ["ok"]}, world.local_cast(), 403, "role-required"),
        ({"qualified": True, "reasons": []}, world.department(), 422, "invalid-request"),
        ({"qualified": True}, world.department(), 422, "invalid-request"),
        ({"qualified": True, "reasons": ["  "]}, world.department(), 422, "invalid-request"),
    ]
    for body, headers, status, code in refusals:
        response = await world.client.post(ASSESSMENT, json=body, headers=headers)
        assert response.status_code == status, response.text
        assert code in response.json()["type"], response.text
    unknown = await world.client.post(
        "/bases/b1/renewal-assessments/renewal-9",
        json={"qualified": True, "reasons": ["ok"]},
        headers=world.department(),
    )
    assert unknown.status_code == 404
    assert unknown.json()["code"] == "renewal-assessment-not-requested"

    body = {"qualified": True, "reasons": ["2022 qualified; no rectification outstanding."]}
    answered = await world.client.post(ASSESSMENT, json=body, headers=world.department())
    assert answered.status_code == 200, answered.text
    fact = await world.on_the_bus("case-b1", "RenewalAssessed", renewal_id="renewal-1")
    assert (fact["qualified"], fact["reasons"], fact["grades"]) == (
        True,
        ["2022 qualified; no rectification outstanding."],
        [{"year": 2022, "grade": "qualified"}],
    )
    view = (await world.client.get(ASSESSMENT, headers=world.auditor())).json()
    assert (view["status"], view["qualified"], view["assessed_by"]) == (
        "assessed",
        True,
        "liaison-dept",
    )
    assert (await world.client.get("/renewal-assessments", headers=world.department())).json()[
        "items"
    ] == []
    again = await world.client.post(
        ASSESSMENT,
        json={"qualified": False, "reasons": ["changed my mind"]},
        headers=world.department(),
    )
    assert again.status_code == 409
    assert again.json()["code"] == "renewal-already-assessed"
    assert await rebuild_and_compare(world.svc.kernel.db, registry, projections()) == []


async def test_the_department_sees_an_outstanding_rectification_and_finds_the_base_unqualified(
    world: World,
) -> None:
    await world.designate("b1", term_end="2023-06-14")
    await world.on(2023, 1, 5)
    await world.score("b1", 2022, 90)  # no report filed: unqualified
    await world.grade_year(2022, "2023-01-05")
    await world.on(2023, 4, 1)
    asked = await world.from_review("RenewalAssessmentRequested", RENEWAL, case_id="case-b1")
    await world.processed(asked)
    view = (await world.client.get(ASSESSMENT, headers=world.department())).json()
    assert (view["grades"], view["rectifications_outstanding"]) == (
        [{"year": 2022, "grade": "unqualified"}],
        [2022],
    )
    body = {"qualified": False, "reasons": ["2022 unqualified and not rectified."]}
    answered = await world.client.post(ASSESSMENT, json=body, headers=world.department())
    assert answered.status_code == 200, answered.text
    fact = await world.on_the_bus("case-b1", "RenewalAssessed", renewal_id="renewal-1")
    assert (fact["qualified"], fact["reasons"]) == (False, ["2022 unqualified and not rectified."])


async def test_a_renewal_assessment_for_an_expired_base_is_answered_at_once(world: World) -> None:
    await world.designate("b1", term_end="2022-09-30")
    await world.on(2022, 10, 1)
    asked = await world.from_review("RenewalAssessmentRequested", RENEWAL, case_id="case-b1")
    await world.processed(asked)
    fact = await world.on_the_bus("case-b1", "RenewalAssessed", renewal_id="renewal-1")
    assert (fact["qualified"], fact["grades"]) == (False, [])
    assert (await world.client.get(ASSESSMENT, headers=world.auditor())).json()[
        "status"
    ] == "assessed"


async def _pending_past_term(world: World) -> None:
    """b1's term ends 2022-09-30; its unit asked to renew on 15 August; the term has ended."""
    await world.designate("b1", term_end="2022-09-30")
    await world.on(2022, 8, 15)
    request = await world.from_application(
        "RenewalRequested", requested("2022-09-30"), case_id="case-b1"
    )
    assert await world.processed(request) == "applied"
    assert (await world.base("b1"))["renewal_id"] == "renewal-1"
    await world.on(2022, 10, 1)
    pending = await world.on_the_bus("case-b1", "RenewalPendingPastTerm")
    assert (pending["renewal_id"], pending["term_end"]) == ("renewal-1", "2022-09-30")
    base = await world.base("b1")
    assert (base["status"], base["renewal_pending_since"]) == ("active", "2022-10-01")


async def test_a_request_in_the_window_keeps_the_base_and_a_grant_continues_its_term(
    world: World,
) -> None:
    await _pending_past_term(world)
    await world.on(2022, 11, 20)
    assert (await world.base("b1"))["status"] == "active"  # still designated, pending
    late_grant = {**GRANT, "term_start": "2022-10-01", "term_end": "2027-09-30"}
    grant = await world.from_review("RenewalGranted", late_grant, case_id="case-b1")
    assert await world.processed(grant) == "applied"
    renewed = await world.on_the_bus("case-b1", "TermRenewed")
    assert (renewed["term_start"], renewed["term_end"]) == ("2022-10-01", "2027-09-30")
    base = await world.base("b1")
    assert (base["status"], base["term_start"], base["renewal_pending_since"]) == (
        "active",
        "2022-10-01",
        None,
    )
    assert "BaseExpired" not in await world.event_names()


async def test_a_refusal_after_the_term_end_ends_the_base_on_the_day_of_the_decision(
    world: World,
) -> None:
    await _pending_past_term(world)
    await world.on(2022, 10, 20)
    refusal = {**RENEWAL, "reasons": ["renewal assessment unqualified"], "refused_on": "2022-10-20"}
    refused = await world.from_review("RenewalRefused", refusal, case_id="case-b1")
    assert await world.processed(refused) == "applied"
    ended = await world.on_the_bus("case-b1", "BaseExpired")
    assert (ended["expired_on"], ended["reason"]) == ("2022-10-20", "renewal_refused")
    base = await world.base("b1")
    assert (base["status"], base["ended_on"], base["ended_reason"]) == (
        "expired",
        "2022-10-20",
        "renewal_refused",
    )


async def test_a_refusal_of_older_history_without_refused_on_is_dated_by_its_own_beijing_day(
    world: World,
) -> None:
    await _pending_past_term(world)
    await world.on(2022, 10, 20)
    # Review's refusal of before `refused_on` was carried, stamped 01:00 on 19 October in
    # Beijing (still the 18th in UTC), and read a day later.
    older = {**RENEWAL, "reasons": ["renewal assessment unqualified"]}
    refused = foreign_event(
        "review",
        "RenewalRefused",
        older,
        stream_id="review-renewal-1",
        version=1,
        case_id="case-b1",
        time=cst(2022, 10, 19, 1),
    )
    await publish(world.js, refused)
    assert await world.processed(refused) == "applied"  # not dead-lettered
    ended = await world.on_the_bus("case-b1", "BaseExpired")
    assert (ended["expired_on"], ended["reason"]) == ("2022-10-19", "renewal_refused")
    base = await world.base("b1")
    assert (base["status"], base["ended_on"]) == ("expired", "2022-10-19")


async def test_a_refusal_within_the_term_lets_the_base_expire_at_its_term_end(
    world: World,
) -> None:
    await world.designate("b1", term_end="2022-09-30")
    await world.on(2022, 8, 15)
    request = await world.from_application(
        "RenewalRequested", requested("2022-09-30"), case_id="case-b1"
    )
    await world.processed(request)
    await world.on(2022, 9, 10)
    refusal = {**RENEWAL, "reasons": ["unqualified"], "refused_on": "2022-09-10"}
    await world.processed(await world.from_review("RenewalRefused", refusal, case_id="case-b1"))
    assert (await world.base("b1"))["status"] == "active"
    await world.on(2022, 10, 1)
    ended = await world.on_the_bus("case-b1", "BaseExpired")
    assert (ended["expired_on"], ended["reason"]) == ("2022-10-01", "term_ended")
    assert "RenewalPendingPastTerm" not in await world.event_names()


async def test_a_withdrawal_after_the_term_end_ends_the_base_that_day(world: World) -> None:
    await _pending_past_term(world)
    await world.on(2022, 10, 12)
    withdrawn = await world.from_application(
        "RenewalRequestWithdrawn", {**RENEWAL, "reason": "unit merged"}, case_id="case-b1"
    )
    assert await world.processed(withdrawn) == "applied"
    ended = await world.on_the_bus("case-b1", "BaseExpired")
    assert (ended["expired_on"], ended["reason"]) == ("2022-10-12", "renewal_withdrawn")


async def test_a_renewal_granted_after_the_base_expired_is_a_harmless_no_op(
    world: World,
) -> None:
    await world.designate("b1", term_end="2022-09-30")
    await world.on(2022, 10, 1)
    assert (await world.base("b1"))["status"] == "expired"
    assert (await world.base("b1"))["ended_reason"] == "term_ended"
    before = await world.event_names()
    late = {**GRANT, "term_start": "2022-10-01", "term_end": "2027-09-30"}
    grant = await world.from_review("RenewalGranted", late, case_id="case-b1")
    assert await world.processed(grant) == "applied"  # not dead-lettered
    assert await world.event_names() == before
    assert (await world.base("b1"))["status"] == "expired"


async def test_a_granted_renewal_starts_a_new_term_which_opens_its_own_window(
    world: World,
) -> None:
    await world.designate("b1")
    await world.on(2027, 5, 1)
    grant = await world.from_review("RenewalGranted", GRANT, case_id="case-b1")
    await world.processed(grant)
    renewed = await world.on_the_bus("case-b1", "TermRenewed")
    assert (renewed["term_start"], renewed["term_end"]) == ("2027-06-15", "2032-06-14")
    await world.on(2032, 3, 17)
    assert (await world.base("b1"))["renewal_window_opens_on"] == "2032-03-17"


async def test_a_withdrawal_closes_the_pending_assessment_and_an_ended_base_leaves_it_closed(
    world: World,
) -> None:
    await _pending_past_term(world)
    await world.on(2022, 10, 5)
    asked = await world.from_review("RenewalAssessmentRequested", RENEWAL, case_id="case-b1")
    assert await world.processed(asked) == "applied"
    assert (await world.client.get(ASSESSMENT, headers=world.auditor())).json()[
        "status"
    ] == "pending"
    await world.on(2022, 10, 12)
    withdrawn = await world.from_application(
        "RenewalRequestWithdrawn", {**RENEWAL, "reason": "unit merged"}, case_id="case-b1"
    )
    assert await world.processed(withdrawn) == "applied"
    await world.on_the_bus("case-b1", "BaseExpired")
    view = (await world.client.get(ASSESSMENT, headers=world.auditor())).json()
    assert (view["status"], view["qualified"], view["assessed_by"]) == ("closed", None, None)
    closed = await world.client.get(
        "/renewal-assessments", params={"status": "closed"}, headers=world.department()
    )
    assert [a["renewal_id"] for a in closed.json()["items"]] == ["renewal-1"]
    assert await rebuild_and_compare(world.svc.kernel.db, registry, projections()) == []


async def test_an_answered_assessment_stays_assessed_when_its_base_ends(world: World) -> None:
    await _pending_past_term(world)
    await world.on(2022, 10, 5)
    asked = await world.from_review("RenewalAssessmentRequested", RENEWAL, case_id="case-b1")
    assert await world.processed(asked) == "applied"
    body = {"qualified": False, "reasons": ["no annual report filed"]}
    answered = await world.client.post(ASSESSMENT, json=body, headers=world.department())
    assert answered.status_code == 200, answered.text
    await world.on(2022, 10, 20)
    refusal = {**RENEWAL, "reasons": ["renewal assessment unqualified"], "refused_on": "2022-10-20"}
    refused = await world.from_review("RenewalRefused", refusal, case_id="case-b1")
    assert await world.processed(refused) == "applied"
    await world.on_the_bus("case-b1", "BaseExpired")
    view = (await world.client.get(ASSESSMENT, headers=world.auditor())).json()
    assert (view["status"], view["qualified"], view["reasons"]) == (
        "assessed",
        False,
        ["no annual report filed"],
    )
    assert await rebuild_and_compare(world.svc.kernel.db, registry, projections()) == []
