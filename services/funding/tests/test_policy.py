"""The funding policy: read from the versioned policy document, exact and validated."""

from __future__ import annotations

import tomllib
from dataclasses import replace
from pathlib import Path

import pytest

from services.funding.domain.policy import FirstDue, FundingPolicy

POLICY_FILE = Path(__file__).resolve().parents[3] / "policies" / "2022.1.toml"


def document(**funding: object) -> dict[str, object]:
    table: dict[str, object] = {
        "instalments": 3,
        "amount_fen": 20_000_000,
        "first_due": "approval",
        "hold_during_rectification": True,
        "cancel_unpaid_on_exit": True,
        "new_plan_on_renewal": False,
    }
    return {"version": "test", "funding": table | funding}


def test_policy_2022_1_pays_200000_cny_a_year_for_three_years() -> None:
    policy = FundingPolicy.from_document(tomllib.loads(POLICY_FILE.read_text("utf-8")))

    assert policy == FundingPolicy(
        version="2022.1",
        instalments=3,
        amount_fen=20_000_000,
        first_due=FirstDue.APPROVAL,
        hold_during_rectification=True,
        cancel_unpaid_on_exit=True,
        new_plan_on_renewal=False,
    )
    assert policy.total_fen == 60_000_000


@pytest.mark.parametrize("amount", [20_000_000.0, True, 0, -20_000_000, "20000000"])
def test_an_amount_that_is_not_a_positive_whole_number_of_fen_is_refused(amount: object) -> None:
    with pytest.raises(ValueError, match="amount_fen"):
        FundingPolicy.from_document(document(amount_fen=amount))


@pytest.mark.parametrize("count", [0, -1, 3.0])
def test_a_policy_needs_a_whole_positive_number_of_instalments(count: object) -> None:
    with pytest.raises(ValueError, match="instalments"):
        FundingPolicy.from_document(document(instalments=count))


def test_an_unknown_first_due_rule_is_refused() -> None:
    with pytest.raises(ValueError, match="designation"):
        FundingPolicy.from_document(document(first_due="designation"))


def test_a_switch_must_be_a_boolean() -> None:
    with pytest.raises(ValueError, match="hold_during_rectification"):
        FundingPolicy.from_document(document(hold_during_rectification="yes"))


def test_a_document_without_a_funding_table_is_refused() -> None:
    with pytest.raises(ValueError, match=r"\[funding\]"):
        FundingPolicy.from_document({"version": "2022.1"})


def test_a_policy_is_checked_when_built_directly_too() -> None:
    policy = FundingPolicy.from_document(document())

    with pytest.raises(ValueError, match="instalments"):
        replace(policy, instalments=0)
    with pytest.raises(ValueError, match="version"):
        replace(policy, version=" ")
