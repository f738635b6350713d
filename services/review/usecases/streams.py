"""Stream ids of this service's aggregates, and the ids derived from other services' ids.

A review's id is derived from its application's id, and a ranking's from its call and
province, so a redelivered or concurrent trigger lands on the same stream and cannot open
a second one.
"""

from __future__ import annotations

import hashlib
from typing import Any

from ulid import ULID

from shared.usecase import Aggregate

from ..domain import renewal_review, review, review_stages
from ..domain.commands import RenewalCommand, ReviewCommand


def derived_id(kind: str, *parts: str) -> str:
    """A ULID-shaped id that is the same for the same parts, always."""
    digest = hashlib.sha256("\x1f".join((kind, *parts)).encode("utf-8")).digest()
    return str(ULID.from_bytes(digest[:16]))


def review_id_for(application_id: str) -> str:
    return derived_id("review", application_id)


def ranking_id_for(call_id: str, province: str) -> str:
    return derived_id("ranking", call_id, province)


REVIEW: Aggregate[ReviewCommand, review_stages.State, Any] = Aggregate(
    "review", review.decider, lambda command: command.review_id
)
RENEWAL: Aggregate[RenewalCommand, renewal_review.State, Any] = Aggregate(
    "renewal", renewal_review.decider, lambda command: command.renewal_id
)


def review_stream(review_id: str) -> str:
    return REVIEW.stream(review_id)


def ranking_stream(ranking_id: str) -> str:
    return f"ranking-{ranking_id}"


def renewal_stream(renewal_id: str) -> str:
    return RENEWAL.stream(renewal_id)


def standing_stream(base_id: str) -> str:
    return f"base-{base_id}"


def register_id(year: int) -> str:
    """The certificate register of one year: its own case id, as it belongs to no case."""
    return f"certificates-{year}"


def station_register_id(province: str, year: int) -> str:
    """A province's register of work-station certificates for one year (its own series)."""
    return f"certificates-ws{province}-{year}"
