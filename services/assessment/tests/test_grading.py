"""Annual assessment over HTTP (Art. 11–13): reports filed and forwarded, scores, the year's grade
list approved — every grade final in that one transaction — rectification and revocation."""

from __future__ import annotations

from shared.projection import rebuild_and_compare

from ..messaging.contracts import registry
from ..projections import projections
from .world import World


async def test_two_unqualified_years_in_a_row_propose_revocation_and_the_leading_group_revokes(
    world: World,
) -> None:
    await world.designate("b1")
    # 2022: reported and forwarded, but poor work.
    await world.on(2022, 12, 20)
    await world.file_report("b1", 2022)
    forwarded = await world.client.post(
        "/bases/b1/years/2022/forwarding", headers=world.local_cast()
    )
    assert forwarded.status_code == 200, forwarded.text
    await world.on(2023, 2, 1)
    await world.score("b1", 2022, 50)
    approved = await world.grade_year(2022, "2023-02-01")
    assert approved["finalised"] == {"b1": "unqualified"}
    year = await world.year("b1", 2022)
    assert (year["report_status"], year["forwarded_via"]) == ("forwarded", "5301")
    assert (year["weighted_total"], year["final_grade"]) == ("50", "unqualified")
    assert (year["rectification_status"], year["rectification_deadline"]) == (
        "ordered",
        "2023-05-02",
    )
    ordered = await world.on_the_bus("case-b1", "RectificationOrdered")
    assert (ordered["year"], ordered["deadline"]) == (2022, "2023-05-02")
    await world.on(2023, 5, 3)
    assert (await world.year("b1", 2022))["rectification_overdue"]

    # 2023: no report at all — unqualified whatever the scores (a missing report counts).
    await world.on(2024, 1, 2)
    assert (await world.year("b1", 2023))["report_overdue"]
    await world.score("b1", 2023, 95)
    graded = await world.year("b1", 2023)
    assert (graded["proposed_grade"], graded["missing_report"]) == ("unqualified", True)
    assert (await world.base("b1"))["revocation_proposed_for"] is None
    await world.grade_year(2023, "2024-01-02")
    assert (await world.base("b1"))["revocation_proposed_for"] == "2022,2023"
    assert (await world.base("b1"))["status"] == "active"  # until the leading group confirms

    revoked = await world.client.post(
        "/bases/b1/revocation", json={"meeting_ref": "LG-2024-3"}, headers=world.leading_group()
    )
    assert revoked.status_code == 200, revoked.text
    assert (await world.base("b1"))["status"] == "revoked"
    fact = await world.on_the_bus("case-b1", "BaseRevoked")
    assert (fact["years"], fact["revoked_on"], fact["policy_version"]) == (
        [2022, 2023],
        "2024-01-02",
        "2022.1",
    )
    await world.on(2024, 12, 2)  # a revoked base reports no more
    assert 2024 not in {y["year"] for y in await world.years("b1")}
    assert await rebuild_and_compare(world.svc.kernel.db, registry, projections()) == []


async def test_unqualified_qualified_unqualified_does_not_revoke_and_a_rectification_is_accepted(
    world: World,
) -> None:
    await world.designate("b1")
    await world.on(2023, 1, 5)  # 2022: no report
    await world.score("b1", 2022, 80)
    await world.grade_year(2022, "2023-01-05")
    rectification_id = (await world.year("b1", 2022))["rectification_id"]

    rectify = f"/bases/b1/rectifications/{rectification_id}"
    body = {"summary": "The resource library is rebuilt and current.", "attachments": []}
    assert (
        await world.client.post(f"{rectify}/report", json=body, headers=world.unit())
    ).is_success
    rejected = await world.client.post(
        f"{rectify}/rejection", json={"reasons": ["No evidence."]}, headers=world.department()
    )
    assert rejected.status_code == 200, rejected.text
    assert (await world.year("b1", 2022))["rectification_status"] == "ordered"
    assert (
        await world.client.post(f"{rectify}/report", json=body, headers=world.unit())
    ).is_success
    accepted = await world.client.post(f"{rectify}/acceptance", headers=world.department())
    assert accepted.status_code == 200, accepted.text
    await world.on_the_bus(
        "case-b1", "RectificationAccepted", rectification_id=rectification_id, year=2022
    )

    await world.on(2023, 12, 20)  # 2023: a good year
    await world.file_report("b1", 2023)
    await world.on(2024, 1, 10)
    await world.score("b1", 2023, 92)
    assert (await world.grade_year(2023, "2024-01-10"))["finalised"] == {"b1": "excellent"}
    assert (await world.year("b1", 2023))["commended"]
    await world.on_the_bus("case-b1", "GradeFinalised", year=2023, grade="excellent")

    await world.on(2025, 1, 10)  # 2024: no report again
    await world.score("b1", 2024, 10)
    await world.grade_year(2024, "2025-01-10")
    base = await world.base("b1")
    assert (base["status"], base["revocation_proposed_for"]) == ("active", None)
    grades = {y["year"]: y["final_grade"] for y in await world.years("b1")}
    assert grades == {2022: "unqualified", 2023: "excellent", 2024: "unqualified"}
    assert "RevocationProposed" not in await world.event_names()
    assert await rebuild_and_compare(world.svc.kernel.db, registry, projections()) == []


async def test_a_year_s_list_needs_every_base_due_and_approval_finalises_all_of_them_at_once(
    world: World,
) -> None:
    await world.designate("b1")
    await world.designate("b2", unit="unit-dali", jurisdiction="5329", term_end="2023-01-10")
    await world.on(2023, 1, 5)
    await world.score("b1", 2022, 75)
    partial = await world.client.post(
        "/grade-lists/2022/proposal", json={"base_ids": ["b1"]}, headers=world.department()
    )
    assert partial.status_code == 409
    assert partial.json()["type"].endswith("grade-list-incomplete")
    await world.score("b2", 2022, 40)
    proposed = await world.client.post(
        "/grade-lists/2022/proposal", json={}, headers=world.department()
    )
    assert proposed.json()["base_ids"] == ["b1", "b2"]
    listed = await world.client.get("/grade-lists/2022", headers=world.auditor())
    assert listed.json()["status"] == "proposed"
    assert [(e["base_id"], e["grade"]) for e in listed.json()["entries"]] == [
        ("b1", "unqualified"),  # no report: unqualified, whatever the scores
        ("b2", "unqualified"),
    ]

    # b2's term ends before the meeting: its grade cannot be made final, so nothing is.
    await world.on(2023, 1, 11)
    before = await world.event_names()
    approval = {"meeting_ref": "LG-2023-1", "meeting_date": "2023-01-11"}
    refused = await world.client.post(
        "/grade-lists/2022/approval", json=approval, headers=world.leading_group()
    )
    assert refused.status_code == 409
    assert refused.json()["type"].endswith("base-not-active")
    assert await world.event_names() == before

    proposed = await world.client.post(
        "/grade-lists/2022/proposal", json={}, headers=world.department()
    )
    assert proposed.json()["base_ids"] == ["b1"]
    approved = await world.client.post(
        "/grade-lists/2022/approval", json=approval, headers=world.leading_group()
    )
    assert approved.status_code == 200, approved.text
    appended = (await world.event_names())[len(before) :]
    assert appended == [
        "GradeListProposed",
        "GradeListApproved",
        "GradeFinalised",
        "RectificationOrdered",
    ]
    again = await world.client.post(
        "/grade-lists/2022/approval", json=approval, headers=world.leading_group()
    )
    assert again.status_code == 200
    assert len(await world.event_names()) == len(before) + len(appended)
    kunming = await world.client.get("/grade-lists/2022", headers=world.local_cast("5301"))
    assert [e["base_id"] for e in kunming.json()["entries"]] == ["b1"]
    dali = await world.client.get("/grade-lists/2022", headers=world.local_cast("5329"))
    assert dali.json()["entries"] == []
