"""China Standard Time dates: the day in Beijing, day bounds, anniversaries and terms."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from shared.cst import add_years, cst_date, end_of_day, start_of_day, term_end


def test_the_day_is_the_day_in_beijing() -> None:
    assert cst_date(datetime(2022, 4, 30, 15, 59, tzinfo=UTC)) == date(2022, 4, 30)
    assert cst_date(datetime(2022, 4, 30, 16, 0, tzinfo=UTC)) == date(2022, 5, 1)
    with pytest.raises(ValueError, match="naive"):
        cst_date(datetime(2022, 4, 30, 16, 0))


def test_a_day_runs_from_midnight_to_midnight_in_beijing() -> None:
    assert start_of_day(date(2022, 5, 1)) == datetime(2022, 4, 30, 16, 0, tzinfo=UTC)
    assert end_of_day(date(2022, 4, 30)) == datetime(2022, 4, 30, 16, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("start", "years", "last_day"),
    [
        (date(2022, 7, 1), 5, date(2027, 6, 30)),  # Art. 14: five years from approval
        (date(2023, 3, 1), 5, date(2028, 2, 29)),  # the day before 1 March, in a leap year
        (date(2024, 2, 29), 5, date(2029, 2, 28)),  # the day before 1 March
        (date(2024, 2, 29), 4, date(2028, 2, 28)),  # the day before 29 February
    ],
)
def test_a_term_ends_the_day_before_the_same_date_years_later(
    start: date, years: int, last_day: date
) -> None:
    assert term_end(start, years) == last_day


def test_an_anniversary_of_29_february_falls_on_28_february() -> None:
    assert add_years(date(2024, 2, 29), 1) == date(2025, 2, 28)
    assert add_years(date(2022, 7, 1), 2) == date(2024, 7, 1)
