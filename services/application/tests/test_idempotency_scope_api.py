"""Idempotency keys are scoped by the caller's whole identity and by the route."""

from __future__ import annotations

from shared.idempotency import key_scope
from shared.testkit.service import RunningService

CALL = {"province": "53", "year": 2022, "title": "2022年海智基地申报", "deadline_on": "2022-04-30"}
KEY = {"Idempotency-Key": "open-the-call"}


def officer(svc: RunningService, org: str, *jurisdictions: str) -> dict[str, str]:
    return svc.auth(
        "province_reviewer", user="mao", org=org, jurisdictions=jurisdictions or ("53",)
    )


async def test_one_sub_in_another_organisation_never_replays_the_first_answer(
    service: RunningService,
) -> None:
    first = await service.client.post(
        "/calls", json=CALL, headers={**officer(service, "cast-53"), **KEY}
    )
    other_org = await service.client.post(
        "/calls", json=CALL, headers={**officer(service, "elsewhere"), **KEY}
    )
    again = await service.client.post(
        "/calls", json=CALL, headers={**officer(service, "cast-53"), **KEY}
    )

    assert first.status_code == 201, first.text
    assert "Idempotency-Replayed" not in other_org.headers
    assert other_org.json().get("call_id") != first.json()["call_id"]
    assert again.headers["Idempotency-Replayed"] == "true"
    assert again.json() == first.json()


async def test_another_jurisdiction_or_role_set_of_one_sub_is_another_scope(
    service: RunningService,
) -> None:
    first = await service.client.post(
        "/calls", json=CALL, headers={**officer(service, "cast-53"), **KEY}
    )
    wider = await service.client.post(
        "/calls", json=CALL, headers={**officer(service, "cast-53", "53", "52"), **KEY}
    )

    assert first.status_code == 201, first.text
    assert "Idempotency-Replayed" not in wider.headers


def test_the_scope_names_the_identity_the_route_and_its_ids() -> None:
    def scope(**changes: object) -> str:
        parts: dict[str, object] = {
            "user_id": "mao",
            "org_id": "cast-53",
            "roles": ["province_reviewer"],
            "jurisdictions": ["53"],
            "method": "POST",
            "route": "/calls/{call_id}/close",
            "path_params": {"call_id": "A"},
            **changes,
        }
        return key_scope(**parts)  # type: ignore[arg-type]

    base = scope()
    assert len(base) == 64
    assert scope(roles=["province_reviewer"], jurisdictions=["53"]) == base
    for change in (
        {"org_id": "elsewhere"},
        {"org_id": None},
        {"roles": ["province_reviewer", "admin"]},
        {"jurisdictions": ["5301"]},
        {"method": "PUT"},
        {"route": "/calls/{call_id}/reopen"},
        {"path_params": {"call_id": "B"}},
    ):
        assert scope(**change) != base, change
