"""The organisation registry over HTTP: a unit registers, its own CAST verifies or returns it,
and only a verified unit drafts; who applies comes from the registration."""

from __future__ import annotations

import asyncio

from shared.projection import rebuild_and_compare
from shared.testkit.service import RunningService

from ..messaging.contracts import registry
from ..projections import projections
from .support import (
    UNIT,
    applicant,
    cast_of,
    draft_body,
    event_count,
    open_call,
    register_unit,
    registration,
    reviewer,
)

KMU = "unit-kunming-university"  # 昆明学院: a university the city of Kunming owns


async def test_a_unit_registers_and_its_prefecture_cast_verifies_it(
    service: RunningService,
) -> None:
    registered = await service.client.post(
        "/units", json=registration(), headers=applicant(service)
    )
    assert registered.status_code == 201, registered.text
    view = registered.json()
    assert (view["unit_id"], view["status"], view["office"]) == (UNIT, "pending", "prefecture")
    assert view["route"] == "via_prefecture"
    assert view["contacts"][0]["name"] == "张三"

    queue = await service.client.get(
        "/units?status=pending", headers=reviewer(service, "prefecture_reviewer", "5301")
    )
    assert [u["unit_id"] for u in queue.json()["items"]] == [UNIT]
    elsewhere = await service.client.get(
        "/units?status=pending", headers=reviewer(service, "prefecture_reviewer", "5303")
    )
    assert elsewhere.json()["items"] == []

    verified = await service.client.post(
        f"/units/{UNIT}/verify",
        json={"opinion": "材料属实"},
        headers=cast_of(service, "prefecture", "5301"),
    )
    assert verified.status_code == 200, verified.text
    assert verified.json()["status"] == "verified"
    assert verified.json()["opinion"] == "材料属实"
    mine = await service.client.get(f"/units/{UNIT}", headers=applicant(service))
    assert mine.json()["status"] == "verified"
    assert mine.headers["ETag"] == '"2"'
    assert await rebuild_and_compare(service.kernel.db, registry, projections()) == []


async def test_registering_twice_is_a_conflict(service: RunningService) -> None:
    await register_unit(service, verify=False)
    again = await service.client.post("/units", json=registration(), headers=applicant(service))
    assert again.status_code == 409
    assert again.json()["type"].endswith("/unit-already-registered")


async def test_a_wrong_credit_code_names_the_expected_check_character(
    service: RunningService,
) -> None:
    body = registration(credit_code="91530100MA6K5J8X2B")
    refused = await service.client.post("/units", json=body, headers=applicant(service))
    assert refused.status_code == 422
    assert refused.json()["type"].endswith("/invalid-credit-code")
    assert refused.json()["expected_check_character"] == "A"
    assert "should be A" in refused.json()["detail"]
    assert await event_count(service) == 0


async def test_a_unit_registers_only_inside_its_tokens_jurisdiction(
    service: RunningService,
) -> None:
    body = registration(jurisdiction="5303")
    refused = await service.client.post("/units", json=body, headers=applicant(service))
    assert refused.status_code == 403
    assert refused.json()["type"].endswith("/outside-token-jurisdiction")
    assert await event_count(service) == 0


async def test_only_the_units_own_cast_verifies_it(service: RunningService) -> None:
    await register_unit(service, verify=False)
    url = f"/units/{UNIT}/verify"
    province = await service.client.post(
        url, json={}, headers=reviewer(service, "province_reviewer", "53")
    )
    assert province.status_code == 403
    assert province.json()["type"].endswith("/not-the-units-cast")
    by_applicant = await service.client.post(url, json={}, headers=applicant(service))
    assert by_applicant.status_code == 403
    assert by_applicant.json()["type"].endswith("/role-required")
    other_city = await service.client.post(
        url, json={}, headers=reviewer(service, "prefecture_reviewer", "5303")
    )
    assert other_city.status_code == 404
    assert (await service.client.get(f"/units/{UNIT}", headers=applicant(service))).json()[
        "status"
    ] == "pending"


async def test_a_provincial_unit_is_verified_by_the_province_and_goes_direct(
    service: RunningService,
) -> None:
    unit = "unit-yn-academy"
    body = registration(unit, "53", name="云南省科学院", category="research_institute",
                        level="provincial")  # fmt: skip
    headers = applicant(service, unit, "53")
    assert (await service.client.post("/units", json=body, headers=headers)).status_code == 201
    prefecture = await service.client.post(
        f"/units/{unit}/verify", json={}, headers=reviewer(service, "prefecture_reviewer", "5301")
    )
    assert prefecture.status_code == 404  # known only by its province: outside a city's reach
    verified = await service.client.post(
        f"/units/{unit}/verify", json={}, headers=cast_of(service, "provincial", "53")
    )
    assert verified.json()["status"] == "verified"
    assert verified.json()["route"] == "direct"


async def test_a_returned_registration_is_amended_and_verified(service: RunningService) -> None:
    await register_unit(service, verify=False)
    cast = cast_of(service, "prefecture", "5301")
    returned = await service.client.post(
        f"/units/{UNIT}/return", json={"reasons": ["地址不全"]}, headers=cast
    )
    assert returned.json()["status"] == "returned"
    assert returned.json()["reasons"] == ["地址不全"]
    no_reasons = await service.client.post(
        f"/units/{UNIT}/return", json={"reasons": []}, headers=cast
    )
    assert no_reasons.status_code == 422
    amended = await service.client.patch(
        f"/units/{UNIT}", json={"address": "昆明市高新区科高路1号A座"}, headers=applicant(service)
    )
    assert amended.json()["status"] == "pending"
    verified = await service.client.post(f"/units/{UNIT}/verify", json={}, headers=cast)
    assert verified.json()["status"] == "verified"


async def test_amending_what_was_verified_sends_the_unit_back(service: RunningService) -> None:
    await register_unit(service)
    contacts = [{"name": "李四", "phone": "13800000000", "email": "lisi@example.cn"}]
    kept = await service.client.patch(
        f"/units/{UNIT}", json={"contacts": contacts}, headers=applicant(service)
    )
    assert kept.json()["status"] == "verified"
    renamed = await service.client.patch(
        f"/units/{UNIT}", json={"name": "昆明高新区"}, headers=applicant(service)
    )
    assert renamed.json()["status"] == "pending"
    call_id = await open_call(service)
    refused = await service.client.post(
        "/applications", json=draft_body(call_id), headers=applicant(service)
    )
    assert refused.status_code == 409
    assert refused.json()["type"].endswith("/unit-not-verified")
    assert refused.json()["unit_status"] == "pending"


async def test_another_unit_reaches_nothing_of_a_registration(service: RunningService) -> None:
    await register_unit(service)
    stranger = applicant(service, "unit-qj-park", "5303")
    assert (await service.client.get(f"/units/{UNIT}", headers=stranger)).status_code == 404
    patched = await service.client.patch(f"/units/{UNIT}", json={"name": "x"}, headers=stranger)
    assert patched.status_code == 404
    assert (await service.client.get("/units", headers=stranger)).json()["items"] == []


async def test_an_unregistered_unit_is_told_to_register(service: RunningService) -> None:
    call_id = await open_call(service)
    refused = await service.client.post(
        "/applications", json=draft_body(call_id), headers=applicant(service)
    )
    assert refused.status_code == 409
    assert refused.json()["type"].endswith("/unit-not-registered")
    assert "POST /units" in refused.json()["detail"]


async def test_a_city_owned_university_applies_through_its_prefecture(
    service: RunningService,
) -> None:
    call_id = await open_call(service)
    await register_unit(
        service, KMU, "5301", name="昆明学院", category="university", level="prefecture"
    )
    drafted = await service.client.post(
        "/applications", json=draft_body(call_id), headers=applicant(service, KMU)
    )
    assert drafted.status_code == 201, drafted.text
    read = await service.client.get(
        f"/applications/{drafted.json()['application_id']}", headers=applicant(service, KMU)
    )
    body = read.json()
    assert (body["unit_name"], body["category"], body["level"], body["route"]) == (
        "昆明学院", "university", "prefecture", "via_prefecture",
    )  # fmt: skip
    assert body["credit_code"] == registration(KMU)["credit_code"]


async def test_the_openapi_labels_the_registration_and_the_annex_2_form(
    service: RunningService,
) -> None:
    schemas = (await service.client.get("/openapi.json")).json()["components"]["schemas"]
    form = schemas["FormFields"]["properties"]
    assert form["base_location"]["title"] == "基地所在地 / Base location"
    assert form["opinion_text"]["title"] == "填表单位意见 / Opinion of the filling unit"
    assert all(" / " in field["title"] for field in form.values())
    assert all("Default" in field["description"] for field in form.values())
    unit = schemas["RegistrationBody"]["properties"]
    assert unit["credit_code"]["title"] == "统一社会信用代码 / Unified social credit code"
    assert all(" / " in field["title"] for field in unit.values())
    draft = schemas["DraftBody"]["properties"]
    assert set(draft) == {"call_id", "form", "also_workstation"}


# --- one legal entity, one registration -------------------------------------------------------


async def test_a_credit_code_registers_once_under_one_unit(service: RunningService) -> None:
    first = await register_unit(service, UNIT)
    code = first["credit_code"]
    before = await event_count(service)
    twin = await service.client.post(
        "/units", json=registration(KMU, credit_code=code), headers=applicant(service, KMU)
    )
    assert twin.status_code == 409, twin.text
    assert twin.json()["type"].endswith("/credit-code-registered")
    assert twin.json()["unit_id"] == UNIT
    assert UNIT in twin.json()["detail"]
    lower = await service.client.post(
        "/units", json=registration(KMU, credit_code=f" {code.lower()} "),
        headers=applicant(service, KMU),
    )  # fmt: skip
    assert lower.status_code == 409  # the code as registered: trimmed, in capitals
    assert await event_count(service) == before

    own = await register_unit(service, KMU)
    taken = await service.client.patch(
        f"/units/{KMU}", json={"credit_code": code}, headers=applicant(service, KMU)
    )
    assert taken.status_code == 409, taken.text
    assert taken.json()["type"].endswith("/credit-code-registered")
    assert taken.json()["unit_id"] == UNIT
    unchanged = await service.client.get(f"/units/{KMU}", headers=applicant(service, KMU))
    assert unchanged.json()["credit_code"] == own["credit_code"]
    assert unchanged.json()["status"] == "verified"
    assert await rebuild_and_compare(service.kernel.db, registry, projections()) == []


async def test_of_concurrent_registrations_under_one_credit_code_exactly_one_wins(
    service: RunningService,
) -> None:
    """Both may read no holder (PostgreSQL): the read model's unique index decides."""
    code = registration(UNIT)["credit_code"]
    units = [f"unit-twin-{n}" for n in range(4)]
    answers = await asyncio.gather(
        *(
            service.client.post(
                "/units", json=registration(u, credit_code=code), headers=applicant(service, u)
            )
            for u in units
        )
    )
    statuses = sorted(a.status_code for a in answers)
    assert statuses == [201, 409, 409, 409], [a.text for a in answers]
    winner = next(a.json()["unit_id"] for a in answers if a.status_code == 201)
    refused = [a.json() for a in answers if a.status_code == 409]
    assert {r["type"].rsplit("/", 1)[1] for r in refused} == {"credit-code-registered"}
    assert {r["unit_id"] for r in refused} == {winner}
    registered = [e for e in await service.kernel.store.read_all() if e.name == "UnitRegistered"]
    assert len(registered) == 1
