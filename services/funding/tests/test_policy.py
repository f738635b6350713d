"""The funding policy: a province's own table, read from its versioned file, exact and validated."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from pathlib import Path
from typing import Any, cast

import pytest

from services.funding.domain.policy import FirstDue, FundingPolicy, NoSubsidy
from services.funding.usecases.plans import (
    check_provincial_policies,
    provincial_subsidy,
    subsidy_policy,
)
from shared.policy import PolicyBook

POLICIES = Path(__file__).resolve().parents[3] / "policies"


TABLE: dict[str, object] = {
    "instalments": 3,
    "amount_fen": 20_000_000,
    "first_due": "approval",
    "hold_during_rectification": True,
    "cancel_unpaid_on_exit": True,
    "new_plan_on_renewal": False,
}


def parse(**changes: object) -> FundingPolicy:
    return FundingPolicy.from_section("test", TABLE | changes, "subsidy")


def test_yunnan_2022_1_pays_200000_cny_a_year_for_three_years_and_priority_approval() -> None:
    policy = provincial_subsidy(PolicyBook.load(POLICIES), "53", "national_base", date(2022, 3, 1))

    assert policy == FundingPolicy(
        version="53-2022.1",
        instalments=3,
        amount_fen=20_000_000,
        first_due=FirstDue.APPROVAL,
        hold_during_rectification=True,
        cancel_unpaid_on_exit=True,
        new_plan_on_renewal=False,
        priority_project_approval=True,
    )
    assert policy.total_fen == 60_000_000


def test_the_national_policy_funds_no_one() -> None:
    book = PolicyBook.load(POLICIES)

    assert not book.in_force(date(2022, 3, 1)).has("funding")
    assert not book.in_force(date(2022, 3, 1)).has("subsidy")
    assert subsidy_policy(None, "national_base") == NoSubsidy()


def test_guizhou_has_no_policy_and_yunnan_none_for_work_stations_or_before_2022() -> None:
    book = PolicyBook.load(POLICIES)

    assert provincial_subsidy(book, "52", "national_base", date(2022, 3, 1)) == NoSubsidy()
    station = provincial_subsidy(book, "53", "provincial_workstation", date(2022, 3, 1))
    assert station == NoSubsidy("53-2022.1")
    assert provincial_subsidy(book, "53", "national_base", date(2021, 12, 31)) == NoSubsidy()
    assert provincial_subsidy(book, "53", "a_new_programme", date(2022, 3, 1)) == NoSubsidy(
        "53-2022.1"
    )


def test_priority_approval_must_be_a_boolean_and_defaults_to_none() -> None:
    assert not parse().priority_project_approval
    with pytest.raises(ValueError, match="priority_project_approval"):
        parse(priority_project_approval="yes")


@pytest.mark.parametrize("amount", [20_000_000.0, True, 0, -20_000_000, "20000000"])
def test_an_amount_that_is_not_a_positive_whole_number_of_fen_is_refused(amount: object) -> None:
    with pytest.raises(ValueError, match="amount_fen"):
        parse(amount_fen=amount)


@pytest.mark.parametrize("count", [0, -1, 3.0])
def test_a_policy_needs_a_whole_positive_number_of_instalments(count: object) -> None:
    with pytest.raises(ValueError, match="instalments"):
        parse(instalments=count)


def test_an_unknown_first_due_rule_is_refused() -> None:
    with pytest.raises(ValueError, match="designation"):
        parse(first_due="designation")


def test_a_switch_must_be_a_boolean() -> None:
    with pytest.raises(ValueError, match="hold_during_rectification"):
        parse(hold_during_rectification="yes")


def test_a_table_that_is_not_a_table_is_refused() -> None:
    with pytest.raises(ValueError, match=r"\[workstation_subsidy\]"):
        FundingPolicy.from_section("53-2022.1", cast(Any, "none"), "workstation_subsidy")


def test_a_policy_is_checked_when_built_directly_too() -> None:
    policy = parse()

    with pytest.raises(ValueError, match="instalments"):
        replace(policy, instalments=0)
    with pytest.raises(ValueError, match="version"):
        replace(policy, version=" ")


def test_a_province_whose_subsidy_table_does_not_parse_stops_the_service_at_start(
    tmp_path: Path,
) -> None:
    (tmp_path / "provinces").mkdir()
    (tmp_path / "2022.1.toml").write_bytes((POLICIES / "2022.1.toml").read_bytes())
    (tmp_path / "provinces" / "52-2024.1.toml").write_text(
        'version = "52-2024.1"\neffective_from = 2024-01-01\nprovince = "52"\n'
        "[workstation_subsidy]\ninstalments = 2\namount_fen = 5000000.0\n",
        encoding="utf-8",
    )

    with pytest.raises(ValueError, match=r"\[workstation_subsidy\] amount_fen must be int"):
        check_provincial_policies(PolicyBook.load(tmp_path))
    check_provincial_policies(PolicyBook.load(POLICIES))  # the repository's files parse
