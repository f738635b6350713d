"""Specifications of the certificate register and of a base's standing."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from services.review.domain.certificate import ended_past_term, register, standing
from services.review.domain.commands import (
    IssueCertificateNumber,
    RecordBaseExpiry,
    RecordBaseRevocation,
)
from services.review.domain.events import (
    BaseExpiryRecorded,
    BaseRevocationRecorded,
    CertificateNumberIssued,
)
from shared.testkit.spec import spec

AT = datetime(2022, 9, 1, 2, 0, tzinfo=UTC)
BASE, CASE = "base-1", "case-1"


def issue(base_id: str = BASE) -> IssueCertificateNumber:
    return IssueCertificateNumber(2022, base_id, CASE, "gao", AT)


def test_the_first_certificate_of_a_year_is_number_one() -> None:
    spec(register).given().when(issue()).then(
        CertificateNumberIssued(2022, 1, "HZJD-2022-0001", BASE, CASE, AT)
    )


def test_each_number_follows_the_last_one_issued() -> None:
    spec(register).given(
        CertificateNumberIssued(2022, 1, "HZJD-2022-0001", "base-0", "case-0", AT)
    ).when(issue()).then(CertificateNumberIssued(2022, 2, "HZJD-2022-0002", BASE, CASE, AT))


def test_a_provinces_station_series_numbers_with_its_own_prefix_and_three_digits() -> None:
    command = IssueCertificateNumber(2022, "st-1", CASE, "zhao", AT, series="云海智站", width=3)
    spec(register).given(
        CertificateNumberIssued(2022, 1, "云海智站-2022-001", "st-0", "case-0", AT)
    ).when(command).then(CertificateNumberIssued(2022, 2, "云海智站-2022-002", "st-1", CASE, AT))


REVOKE = RecordBaseRevocation(BASE, CASE, date(2025, 3, 1), "2022.1", "system:review", AT)
EXPIRE = RecordBaseExpiry(BASE, CASE, date(2027, 9, 1), "2022.1", "system:review", AT)
REVOKED = BaseRevocationRecorded(BASE, CASE, date(2025, 3, 1), "2022.1", AT)
EXPIRED = BaseExpiryRecorded(BASE, CASE, date(2027, 9, 1), "2022.1", AT)


def test_a_revocation_is_recorded_for_a_base_in_force() -> None:
    spec(standing).given().when(REVOKE).then(REVOKED)


def test_an_expiry_is_recorded_for_a_base_in_force() -> None:
    spec(standing).given().when(EXPIRE).then(EXPIRED)


def test_a_redelivered_revocation_changes_nothing() -> None:
    spec(standing).given(REVOKED).when(REVOKE).then()


def test_a_revoked_base_does_not_expire_afterwards() -> None:
    spec(standing).given(REVOKED).when(EXPIRE).then()


def test_an_expired_base_is_not_revoked_afterwards() -> None:
    spec(standing).given(EXPIRED).when(REVOKE).then()


TERM_END = date(2027, 8, 24)


@pytest.mark.parametrize(
    ("renewal", "decided_on", "ended"),
    [
        (None, None, date(2027, 8, 25)),  # no request: expired the day after the term
        ("in_review", None, None),  # undecided: still designated
        ("returned", None, None),
        ("awaiting_assessment", None, None),
        ("refused", date(2027, 6, 1), date(2027, 8, 25)),  # refused within the term
        ("refused", date(2027, 9, 10), date(2027, 9, 10)),  # refused after it: that day
        ("withdrawn", date(2027, 9, 10), date(2027, 9, 10)),
    ],
)
def test_a_base_past_its_term_ends_at_its_end_or_at_a_later_decision(
    renewal: str | None, decided_on: date | None, ended: date | None
) -> None:
    assert ended_past_term(TERM_END, renewal, decided_on) == ended
