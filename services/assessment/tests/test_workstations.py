"""Provincial work stations over the bus and HTTP (Notice §5(3)): not national bases; recorded
as not assessed, saying why, where the province configures no station policy (Yunnan), and
tracked to the end of their term where it does."""

from __future__ import annotations

from datetime import date
from typing import Any

from shared.policy import PolicyBook, PolicyDocument
from shared.projection import rebuild_and_compare

from ..messaging.contracts import registry
from ..projections import projections
from .world import World


def designated(station_id: str, province: str = "53", jurisdiction: str = "5303") -> dict[str, Any]:
    """Review's `WorkstationDesignated` for a station approved on 1 August 2022."""
    return {
        "review_id": f"review-{station_id}",
        "application_id": f"application-{station_id}",
        "case_id": f"case-{station_id}",
        "station_id": station_id,
        "programme": "provincial_workstation",
        "call_id": "call-1",
        "call_opened_on": "2022-03-01",
        "unit_id": "unit-qujing",
        "unit_name": "Qujing Economic Zone",
        "province": province,
        "jurisdiction": jurisdiction,
        "certificate_no": f"云海智站-2022-{station_id}",
        "approved_on": "2022-08-01",
        "policy_version": f"{province}-2022.1",
    }


async def _designate(world: World, station_id: str, **where: str) -> None:
    event = await world.from_review(
        "WorkstationDesignated", designated(station_id, **where), case_id=f"case-{station_id}"
    )
    assert await world.processed(event) == "applied"


async def test_a_yunnan_station_is_not_a_national_base_and_says_why_it_is_not_assessed(
    world: World,
) -> None:
    await _designate(world, "s1")
    response = await world.client.get("/workstations/s1", headers=world.local_cast("53"))
    assert response.status_code == 200, response.text
    station = response.json()
    assert (station["assessed"], station["status"], station["term_end"]) == (
        False,
        "not_assessed",
        None,
    )
    assert station["reason"] == (
        "省级工作站无考核政策 / no work-station assessment policy in province 53"
    )
    assert (await world.client.get("/bases/s1", headers=world.auditor())).status_code == 404
    listed = await world.client.get("/workstations", headers=world.auditor())
    assert [s["station_id"] for s in listed.json()["items"]] == ["s1"]
    elsewhere = await world.client.get("/workstations/s1", headers=world.local_cast("5301"))
    assert elsewhere.status_code == 404
    assert elsewhere.json()["code"] == "workstation-not-found"

    # A renewal fact about the station is acknowledged, not dead-lettered, and changes nothing.
    before = await world.event_names()
    renewal = {
        "renewal_id": "r-s1",
        "case_id": "case-s1",
        "base_id": "s1",
        "unit_id": "unit-qujing",
        "unit_name": "Qujing Economic Zone",
        "province": "53",
        "jurisdiction": "5303",
        "term_end": "2025-07-31",
        "statement": "renew",
    }
    asked = await world.from_application("RenewalRequested", renewal, case_id="case-s1")
    assert await world.processed(asked) == "applied"
    assert await world.event_names() == before
    await world.on(2030, 1, 1)
    assert (await world.client.get("/workstations/s1", headers=world.auditor())).json()[
        "status"
    ] == "not_assessed"


async def test_under_a_province_s_station_policy_the_station_s_term_is_tracked_to_its_end(
    world: World,
) -> None:
    # A province that adopts station rules: a [workstation] section with term_years.
    guangdong = PolicyDocument("44-2022.1", date(2022, 1, 1), {"workstation": {"term_years": 3}})
    stations = world.usecases.stations
    stations.book = PolicyBook(
        stations.book.documents, {**stations.book.provinces, "44": (guangdong,)}
    )
    await _designate(world, "s2", province="44", jurisdiction="4401")
    station = (await world.client.get("/workstations/s2", headers=world.auditor())).json()
    assert (station["assessed"], station["status"], station["reason"]) == (True, "active", None)
    assert (station["term_start"], station["term_end"], station["policy_version"]) == (
        "2022-08-01",
        "2025-07-31",
        "44-2022.1",
    )
    await world.on(2025, 8, 1)
    station = (await world.client.get("/workstations/s2", headers=world.auditor())).json()
    assert (station["status"], station["ended_on"]) == ("expired", "2025-08-01")
    assert await rebuild_and_compare(world.svc.kernel.db, registry, projections()) == []
