"""China Standard Time (UTC+8): the zone in which the rules' dates and deadlines are meant.

Pure helpers, safe for any domain layer. Instants are always timezone-aware UTC; a *date* in
the rules ("by 2022-04-30") means that calendar day in Beijing.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta, timezone

CST = timezone(timedelta(hours=8), "CST")


def cst_date(instant: datetime) -> date:
    """The calendar day in Beijing at this instant."""
    if instant.tzinfo is None:
        raise ValueError("naive datetime: instants must be timezone-aware")
    return instant.astimezone(CST).date()


def start_of_day(day: date) -> datetime:
    """00:00 in Beijing of `day`, as a UTC instant."""
    return datetime.combine(day, time(0), CST).astimezone(UTC)


def end_of_day(day: date) -> datetime:
    """The first instant after `day` ends in Beijing (exclusive bound), as UTC."""
    return start_of_day(day + timedelta(days=1))


def add_years(day: date, years: int) -> date:
    """Same month and day `years` later; 29 February becomes 28 February."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return day.replace(year=day.year + years, day=28)


def term_end(start: date, years: int) -> date:
    """The last day of a term of `years` years from `start`: the day before the same date
    `years` later. A term from 29 February ends on 28 February (the day before 1 March)."""
    try:
        following = start.replace(year=start.year + years)
    except ValueError:
        following = date(start.year + years, 3, 1)
    return following - timedelta(days=1)
