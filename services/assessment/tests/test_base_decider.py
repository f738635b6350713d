"""A designated base: registration from review's designation, and the closed terminal states."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import pytest

from services.assessment.domain.base import decider
from services.assessment.domain.commands import (
    AcceptRectification,
    AssessRenewal,
    BaseCommand,
    ConfirmRevocation,
    ExpireBase,
    FileAnnualReport,
    OpenRenewalWindow,
    OpenReporting,
    RecordRenewalRequest,
    RefuseRenewal,
    RegisterBase,
    RenewTerm,
    ScoreBase,
    WithdrawRenewalRequest,
)
from services.assessment.domain.errors import (
    BaseAlreadyRegistered,
    BaseNotActive,
    BaseNotFound,
    InvalidTerm,
)
from services.assessment.domain.events import (
    BaseEvent,
    BaseExpired,
    BaseRevoked,
    ExpiryReason,
    RevocationProposed,
)
from services.assessment.domain.policy import Grade
from services.assessment.tests.examples import (
    ATTACHMENTS,
    BASE_ID,
    CASE_ID,
    JURISDICTION,
    LIBRARY,
    PLAN,
    POLICY,
    REGISTERED,
    SUMMARY,
    TERM_END,
    TERM_START,
    UNIT_ID,
    USER,
    cst,
    final_year,
    opened,
    rectification_id,
    scores,
)
from shared.testkit.spec import spec

REVOKED = BaseRevoked(BASE_ID, CASE_ID, date(2025, 4, 1), (2023, 2024), "LG-2025-2", "2022.1")
EXPIRED = BaseExpired(
    BASE_ID, CASE_ID, date(2027, 6, 15), TERM_END, ExpiryReason.TERM_ENDED, "2022.1"
)


REGISTER = RegisterBase(
    base_id=BASE_ID,
    case_id=CASE_ID,
    unit_id=UNIT_ID,
    unit_name="Kunming High-tech Zone",
    province="53",
    jurisdiction=JURISDICTION,
    term_start=TERM_START,
    term_end=TERM_END,
    policy_version="2022.1",
    first_report_year=2022,
    at=cst(2022, 6, 15),
    by="consumer:review",
)


def revoked_history() -> list[BaseEvent]:
    proposal = RevocationProposed(BASE_ID, CASE_ID, (2023, 2024), date(2025, 3, 10), "2022.1")
    return [
        REGISTERED,
        *final_year(2023, Grade.UNQUALIFIED),
        *final_year(2024, Grade.UNQUALIFIED),
        proposal,
        REVOKED,
    ]


def test_designation_registers_an_active_base_with_its_term() -> None:
    spec(decider).given().when(REGISTER).then(REGISTERED)


def test_a_redelivered_designation_decides_nothing() -> None:
    spec(decider).given(REGISTERED).when(REGISTER).then()


def test_another_designation_on_the_same_stream_is_refused() -> None:
    spec(decider).given(REGISTERED).when(replace(REGISTER, case_id="case-02")).raises(
        BaseAlreadyRegistered
    )


def test_a_term_ending_before_it_starts_is_refused() -> None:
    command = replace(REGISTER, term_end=date(2022, 6, 14))
    spec(decider).given().when(command).raises(InvalidTerm)


def test_commands_for_an_unknown_base_are_refused_as_not_found() -> None:
    command = OpenReporting(BASE_ID, 2022, POLICY, cst(2022, 12, 1), USER)
    error = spec(decider).given().when(command).raises(BaseNotFound)
    assert error.status == 404
    assert "OpenReporting refused while Unregistered" in error.detail


def test_an_unknown_base_cannot_be_assessed_for_renewal() -> None:
    command = AssessRenewal(BASE_ID, "renewal-1", True, ("good",), POLICY, cst(2027, 4, 1), USER)
    spec(decider).given().when(command).raises(BaseNotFound)


def _after_the_end() -> list[BaseCommand]:
    at = cst(2027, 7, 1)
    return [
        OpenReporting(BASE_ID, 2026, POLICY, at, USER),
        FileAnnualReport(BASE_ID, 2026, UNIT_ID, SUMMARY, PLAN, LIBRARY, ATTACHMENTS, at, USER),
        ScoreBase(BASE_ID, 2026, scores(80, 80, 80, 80, 80), POLICY, at, USER),
        AcceptRectification(BASE_ID, rectification_id(2024), at, USER),
        OpenRenewalWindow(BASE_ID, POLICY, at, USER),
        AssessRenewal(BASE_ID, "renewal-1", True, ("good",), POLICY, at, USER),
    ]


@pytest.mark.parametrize("command", _after_the_end(), ids=lambda c: type(c).__name__)
def test_a_revoked_base_refuses_everything(command: BaseCommand) -> None:
    spec(decider).given(*revoked_history()).when(command).raises(BaseNotActive)


@pytest.mark.parametrize("command", _after_the_end(), ids=lambda c: type(c).__name__)
def test_an_expired_base_refuses_everything(command: BaseCommand) -> None:
    spec(decider).given(REGISTERED, opened(2026), EXPIRED).when(command).raises(BaseNotActive)


def test_a_revoked_base_cannot_also_expire() -> None:
    command = ExpireBase(BASE_ID, cst(2027, 7, 1), "scheduler")
    spec(decider).given(*revoked_history()).when(command).raises(BaseNotActive)


def test_an_expired_base_cannot_be_revoked() -> None:
    command = ConfirmRevocation(BASE_ID, "LG-2027-1", cst(2027, 7, 1), USER)
    spec(decider).given(REGISTERED, EXPIRED).when(command).raises(BaseNotActive)


def test_confirming_the_revocation_again_decides_nothing() -> None:
    command = ConfirmRevocation(BASE_ID, "LG-2025-2", cst(2025, 4, 2), USER)
    spec(decider).given(*revoked_history()).when(command).then()


def test_expiring_an_expired_base_again_decides_nothing() -> None:
    command = ExpireBase(BASE_ID, cst(2027, 6, 16), "scheduler")
    spec(decider).given(REGISTERED, EXPIRED).when(command).then()


def test_a_terminal_base_still_ignores_a_redelivered_designation() -> None:
    spec(decider).given(REGISTERED, EXPIRED).when(REGISTER).then()


def _renewal_facts_after_the_end() -> list[BaseCommand]:
    at = cst(2027, 7, 1)
    return [
        RecordRenewalRequest(BASE_ID, "renewal-1", TERM_END, date(2027, 4, 1), at, USER),
        WithdrawRenewalRequest(BASE_ID, "renewal-1", date(2027, 7, 1), at, USER),
        RefuseRenewal(BASE_ID, "renewal-1", date(2027, 7, 1), at, USER),
        RenewTerm(
            BASE_ID, "renewal-1", "C-2", date(2027, 6, 15), date(2032, 6, 14), "2022.1", at, USER
        ),
    ]


@pytest.mark.parametrize("command", _renewal_facts_after_the_end(), ids=lambda c: type(c).__name__)
def test_renewal_facts_reaching_a_closed_base_change_nothing(command: BaseCommand) -> None:
    """A harmless race: application and review have had BaseRevoked / BaseExpired."""
    spec(decider).given(*revoked_history()).when(command).then()
    spec(decider).given(REGISTERED, EXPIRED).when(command).then()
