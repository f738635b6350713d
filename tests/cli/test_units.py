"""The Yunnan units the demo and the scenarios register: valid credit codes (GB 32100), the
level and CAST that decide their route, and Annex 2 complete with the unit's opinion and the
signed form page."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from haizhi.credit_code import (
    InvalidCreditCode,
    check_character,
    credit_code,
    division_code,
    is_valid,
    organisation_check,
)
from haizhi.demo import moved_clock
from haizhi.people import CAST, KMUST, KUNMING_HTZ, KUNMING_UNIVERSITY, QUJING_EDZ, verifier

UNITS = (KMUST, QUJING_EDZ, KUNMING_HTZ, KUNMING_UNIVERSITY)


def test_a_published_code_checks_and_one_changed_character_does_not() -> None:
    assert is_valid("91350100M000100Y43")  # the standard's worked example
    assert check_character("91350100M000100Y4") == "3"
    assert not is_valid("91350100M000100Y44")
    assert not is_valid("91350100M000100Y4")  # 17 characters
    assert not is_valid("91350100M000100I43")  # I is not in the alphabet


def test_the_organisation_code_carries_its_own_gb_11714_check() -> None:
    assert organisation_check("M000100Y") == "4"
    assert organisation_check("80210043") == "3"
    with pytest.raises(InvalidCreditCode):
        organisation_check("m000100y")


def test_generated_codes_are_valid_deterministic_and_placed_in_their_division() -> None:
    codes = [unit.credit_code for unit in UNITS]
    assert all(is_valid(code) and len(code) == 18 for code in codes)
    assert len(set(codes)) == len(codes)
    assert credit_code("unit-kmust", "5301") == credit_code("unit-kmust", "5301")
    assert KMUST.credit_code[2:8] == "530100"
    assert QUJING_EDZ.credit_code[2:8] == "530300"
    assert all(organisation_check(c[8:16]) == c[16] for c in codes)
    assert division_code("53") == "530000"
    with pytest.raises(InvalidCreditCode):
        division_code("530")


def test_the_level_of_the_registration_decides_the_route_and_the_verifying_cast() -> None:
    assert (KMUST.level, KMUST.route, verifier(KMUST)) == (
        "provincial",
        "direct",
        CAST.province_intake,
    )
    assert (QUJING_EDZ.route, verifier(QUJING_EDZ)) == ("via_prefecture", CAST.qujing)
    assert (KUNMING_HTZ.route, verifier(KUNMING_HTZ)) == ("via_prefecture", CAST.kunming)
    # A city-owned university goes through its prefecture like any prefecture-owned unit.
    assert (KUNMING_UNIVERSITY.route, verifier(KUNMING_UNIVERSITY)) == (
        "via_prefecture",
        CAST.kunming,
    )


def test_the_registration_is_what_the_registry_takes() -> None:
    body = QUJING_EDZ.registration()
    assert set(body) == {
        "name",
        "credit_code",
        "category",
        "level",
        "jurisdiction",
        "contacts",
        "address",
    }
    assert body["contacts"] == [
        {"name": "张丽", "phone": "0871-65031234", "email": "zhangli@unit-qjedz.cn"}
    ]
    assert (body["category"], body["level"], body["jurisdiction"]) == ("park", "prefecture", "5303")


def test_annex_2_carries_the_units_opinion_and_the_signed_form_page() -> None:
    assert KMUST.form()["opinion_text"]
    assert set(KMUST.materials()) == {
        "support_letter", "construction_plan", "overseas_cooperation", "policy_measures",
        "signed_form",
    }  # fmt: skip


def test_the_demo_says_it_moved_the_clock_and_how_to_release_it() -> None:
    began = datetime(2026, 5, 1, 2, tzinfo=UTC)
    said = moved_clock(began, began + timedelta(days=400))
    assert "forward by 400 days" in said
    assert "2026-05-01 10:00" in said
    assert "haizhi clock release" in said
    assert "--data-dir" in said
    assert moved_clock(began, began) == "The shared clock was not moved."
