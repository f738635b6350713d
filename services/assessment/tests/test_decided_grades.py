"""Grades over HTTP (Art. 10–12): only a forwarded report is scored; scoring suggests a grade,
the department proposes (another, with its reason), the leading group approves or amends;
a base designated late in a year is first graded the next year."""

from __future__ import annotations

from typing import Any

from shared.projection import rebuild_and_compare

from ..messaging.contracts import registry
from ..projections import projections
from .world import World, scores

PROPOSAL = "/bases/b1/years/2022/grade-proposal"


async def test_a_report_its_local_cast_never_forwarded_cannot_be_scored(world: World) -> None:
    await world.designate("b1")
    await world.on(2022, 12, 20)
    await world.file_report("b1", 2022, forward=False)
    await world.on(2023, 1, 5)
    before = await world.event_names()
    refused = await world.client.post(
        "/bases/b1/years/2022/score", json=scores(80), headers=world.department()
    )
    assert refused.status_code == 409, refused.text
    assert refused.json()["code"] == "report-not-forwarded"
    assert await world.event_names() == before
    forwarded = await world.client.post(
        "/bases/b1/years/2022/forwarding", headers=world.local_cast()
    )
    assert forwarded.status_code == 200, forwarded.text
    await world.score("b1", 2022, 80)
    assert (await world.year("b1", 2022))["suggested_grade"] == "qualified"


async def test_the_department_proposes_another_grade_with_a_reason_and_the_group_amends_it(
    world: World,
) -> None:
    await world.designate("b1")
    await world.on(2022, 12, 20)
    await world.file_report("b1", 2022)
    await world.on(2023, 1, 5)
    await world.score("b1", 2022, 70)

    no_reason = await world.client.post(
        PROPOSAL, json={"grade": "excellent"}, headers=world.department()
    )
    assert no_reason.status_code == 422, no_reason.text
    assert no_reason.json()["code"] == "grade-reason-required"
    for body in ({"grade": "outstanding", "reason": "x"}, {"reason": "x"}):
        bad = await world.client.post(PROPOSAL, json=body, headers=world.department())
        assert bad.status_code == 422, bad.text
    by_cast = await world.client.post(
        PROPOSAL, json={"grade": "excellent", "reason": "x"}, headers=world.local_cast()
    )
    assert by_cast.status_code == 403
    assert by_cast.json()["code"] == "role-required"

    why = "Two overseas societies signed cooperation agreements."
    proposed = await world.client.post(
        PROPOSAL, json={"grade": "excellent", "reason": why}, headers=world.department()
    )
    assert proposed.status_code == 200, proposed.text
    year = await world.year("b1", 2022)
    assert (year["suggested_grade"], year["proposed_grade"], year["proposal_reason"]) == (
        "qualified",
        "excellent",
        why,
    )

    listed = await world.client.post(
        "/grade-lists/2022/proposal", json={}, headers=world.department()
    )
    assert listed.status_code == 200, listed.text
    entry = (await world.client.get("/grade-lists/2022", headers=world.auditor())).json()[
        "entries"
    ][0]
    assert (entry["grade"], entry["suggested_grade"], entry["reason"]) == (
        "excellent",
        "qualified",
        why,
    )

    bad_amendments: list[dict[str, Any]] = [
        {"base_id": "b9", "grade": "qualified", "reason": "not on the list"},
        {"base_id": "b1", "grade": "excellent", "reason": "the grade proposed"},
        {"base_id": "b1", "grade": "qualified", "reason": ""},
    ]
    for amendment in bad_amendments:
        approval = {"meeting_ref": "LG-2023-1", "meeting_date": "2023-01-05"}
        refused = await world.client.post(
            "/grade-lists/2022/approval",
            json={**approval, "amendments": [amendment]},
            headers=world.leading_group(),
        )
        assert refused.status_code == 422, refused.text

    amended = "Agreements signed, no project landed yet: qualified."
    amending: dict[str, Any] = {
        "meeting_ref": "LG-2023-1",
        "meeting_date": "2023-01-05",
        "amendments": [{"base_id": "b1", "grade": "qualified", "reason": amended}],
    }
    approved = await world.client.post(
        "/grade-lists/2022/approval", json=amending, headers=world.leading_group()
    )
    assert approved.status_code == 200, approved.text
    assert approved.json()["finalised"] == {"b1": "qualified"}
    year = await world.year("b1", 2022)
    assert (year["final_grade"], year["amendment_reason"], year["commended"]) == (
        "qualified",
        amended,
        False,
    )
    final = await world.on_the_bus("case-b1", "GradeFinalised", year=2022)
    assert (final["grade"], final["proposed_grade"], final["amendment_reason"]) == (
        "qualified",
        "excellent",
        amended,
    )
    entry = (await world.client.get("/grade-lists/2022", headers=world.auditor())).json()[
        "entries"
    ][0]
    assert (entry["final_grade"], entry["amendment_reason"]) == ("qualified", amended)
    assert await rebuild_and_compare(world.svc.kernel.db, registry, projections()) == []


async def test_a_proposal_changed_after_the_list_refuses_the_approval_until_proposed_again(
    world: World,
) -> None:
    await world.designate("b1")
    await world.on(2023, 1, 5)
    await world.score("b1", 2022, 80)  # no report: unqualified suggested
    await world.client.post("/grade-lists/2022/proposal", json={}, headers=world.department())
    lost = {"grade": "qualified", "reason": "The report was lost in the post; a copy is in."}
    changed = await world.client.post(PROPOSAL, json=lost, headers=world.department())
    assert changed.status_code == 200, changed.text
    approval = {"meeting_ref": "LG-2023-1", "meeting_date": "2023-01-05"}
    before = await world.event_names()
    refused = await world.client.post(
        "/grade-lists/2022/approval", json=approval, headers=world.leading_group()
    )
    assert refused.status_code == 409, refused.text
    assert refused.json()["code"] == "grade-proposal-changed"
    assert await world.event_names() == before
    approved = await world.grade_year(2022, "2023-01-05")
    assert approved["finalised"] == {"b1": "qualified"}


async def test_a_base_designated_on_20_december_is_first_graded_the_next_year(
    world: World,
) -> None:
    await world.designate("b1", term_start="2022-12-20", term_end="2027-12-19")
    assert (await world.base("b1"))["first_report_year"] == 2023
    await world.on(2022, 12, 31, 23)
    await world.on(2023, 1, 2)
    assert await world.years("b1") == []  # no report owed for 2022, none overdue
    early = await world.client.post(
        "/bases/b1/years/2022/score", json=scores(80), headers=world.department()
    )
    assert early.status_code == 422, early.text
    assert early.json()["code"] == "year-before-designation"
    listed = await world.client.post(
        "/grade-lists/2022/proposal", json={"base_ids": ["b1"]}, headers=world.department()
    )
    assert listed.status_code == 409, listed.text  # nothing of b1's to grade for 2022
    assert listed.json()["code"] == "base-not-gradable"
    await world.on(2023, 12, 1)
    assert [y["year"] for y in await world.years("b1")] == [2023]


async def test_the_openapi_names_the_grades_and_the_approval_s_amendments(world: World) -> None:
    document = (await world.client.get("/openapi.json")).json()
    schemas = document["components"]["schemas"]
    grade = schemas["GradeProposalBody"]["properties"]["grade"]
    text = str(grade)
    for name in ("优秀", "合格", "不合格", "excellent", "qualified", "unqualified"):
        assert name in text, text
    assert "amendments" in schemas["ApprovalBody"]["properties"]
    assert "优秀" in str(schemas["YearView"]["properties"]["final_grade"])
    paths = document["paths"]
    assert "post" in paths["/bases/{base_id}/years/{year}/grade-proposal"]
    assert {"get", "post"} <= set(paths["/bases/{base_id}/renewal-assessments/{renewal_id}"])
    assert "get" in paths["/renewal-assessments"]


async def test_a_list_reaching_beyond_the_caller_s_jurisdiction_is_a_typed_403(
    world: World,
) -> None:
    await world.designate("b1")
    await world.designate("b3", unit="unit-guiyang", jurisdiction="5201")
    await world.on(2023, 1, 5)
    await world.score("b1", 2022, 80)
    await world.score("b3", 2022, 80)
    yunnan_only = world.svc.auth("national_reviewer", user="yn", jurisdictions=["53"])
    refused = await world.client.post(
        "/grade-lists/2022/proposal", json={"base_ids": ["b1", "b3"]}, headers=yunnan_only
    )
    assert refused.status_code == 403, refused.text
    problem = refused.json()
    assert problem["code"] == "base-outside-jurisdiction"
    assert problem["type"].endswith("/base-outside-jurisdiction")
