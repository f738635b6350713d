"""Renewal over the bus (Art. 14): review asks for the renewal assessment and is answered on
HAIZHI; a granted renewal starts a new term; a grant that comes after expiry changes nothing."""

from __future__ import annotations

from .world import World

RENEWAL = {"renewal_id": "renewal-1", "case_id": "case-b1", "base_id": "b1"}
GRANT = {
    **RENEWAL,
    "certificate_no": "HZ-b1-2027",
    "term_start": "2027-06-15",
    "term_end": "2032-06-14",
    "policy_version": "2022.1",
}


async def test_a_renewal_assessment_requested_on_the_bus_is_answered_on_the_bus(
    world: World,
) -> None:
    await world.designate("b1")
    await world.on(2027, 3, 20)
    request = await world.from_review("RenewalAssessmentRequested", RENEWAL, case_id="case-b1")
    assert await world.processed(request) == "applied"
    answer = await world.on_the_bus("case-b1", "RenewalAssessed", renewal_id="renewal-1")
    assert (answer["qualified"], answer["reasons"], answer["policy_version"]) == (
        True,
        [],
        "2022.1",
    )


async def test_an_outstanding_rectification_makes_the_renewal_assessment_unqualified(
    world: World,
) -> None:
    await world.designate("b1", term_end="2023-06-14")
    await world.on(2023, 1, 5)
    await world.score("b1", 2022, 90)  # no report filed: unqualified
    await world.grade_year(2022, "2023-01-05")
    await world.on(2023, 4, 1)
    request = await world.from_review("RenewalAssessmentRequested", RENEWAL, case_id="case-b1")
    await world.processed(request)
    answer = await world.on_the_bus("case-b1", "RenewalAssessed", renewal_id="renewal-1")
    assert (answer["qualified"], answer["reasons"]) == (False, ["rectification-outstanding"])


async def test_a_granted_renewal_starts_a_new_term_which_opens_its_own_window(
    world: World,
) -> None:
    await world.designate("b1")
    await world.on(2027, 5, 1)
    grant = await world.from_review("RenewalGranted", GRANT, case_id="case-b1")
    await world.processed(grant)
    renewed = await world.on_the_bus("case-b1", "TermRenewed")
    assert (renewed["term_start"], renewed["term_end"]) == ("2027-06-15", "2032-06-14")
    base = await world.base("b1")
    assert (base["term_end"], base["renewal_window_opens_on"]) == ("2032-06-14", None)
    await world.on(2027, 6, 16)
    assert (await world.base("b1"))["status"] == "active"
    await world.on(2032, 3, 17)
    assert (await world.base("b1"))["renewal_window_opens_on"] == "2032-03-17"
    await world.on_the_bus("case-b1", "RenewalWindowOpened", term_end="2032-06-14")


async def test_a_renewal_granted_after_the_base_expired_is_a_harmless_no_op(
    world: World,
) -> None:
    await world.designate("b1", term_end="2022-09-30")
    await world.on(2022, 10, 1)
    assert (await world.base("b1"))["status"] == "expired"
    before = await world.event_names()
    late = {**GRANT, "term_start": "2022-10-01", "term_end": "2027-09-30"}
    grant = await world.from_review("RenewalGranted", late, case_id="case-b1")
    assert await world.processed(grant) == "applied"  # not dead-lettered
    assert await world.event_names() == before
    assert (await world.base("b1"))["status"] == "expired"


async def test_the_asyncapi_document_has_an_example_of_every_event_and_lists_what_it_reads(
    world: World,
) -> None:
    document = (await world.client.get("/asyncapi.json")).json()
    messages = document["components"]["messages"]
    assert len(messages) == 23
    assert all(message.get("examples") for message in messages.values())
    receives = {op["channel"]["$ref"] for op in document["operations"].values()}
    for name in ("BaseDesignated", "RenewalAssessmentRequested", "RenewalGranted"):
        assert f"#/channels/consume.review.{name}" in receives
