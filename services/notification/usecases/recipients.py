"""Who is told: the recipients of a notice, found in the directory by its rule's audience.

Applicants: the unit's registered contacts and the people who signed in under the unit.
Reviewers: the people holding the level's role whose jurisdictions cover the unit's.
Finance: the people holding the finance role whose jurisdictions cover the unit's
(a province-level finance officer covers every unit of the province: jurisdiction 53 covers
5301).
A person's preferences decide how (mail, digest or the inbox only) or whether (an optional
kind they turned off); a contact who never signed in is mailed in Chinese.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from shared.auth import Principal, Role

from ..domain.events import Channel, Kind, Recipient
from ..domain.rules import OPTIONAL, QUEUED, REVIEWER_OF_LEVEL, REVIEWER_ROLES, Audience
from ..projections.tables import cases, contacts, people, units


@dataclass(frozen=True, slots=True)
class Unit:
    """The unit a case is about, as the directory knows it."""

    unit_id: str
    unit_name: str
    jurisdiction: str


async def unit_of_case(conn: AsyncConnection, case_id: str) -> Unit | None:
    """The case's unit (a review opened or a designation named it); None: never heard of."""
    row = (await conn.execute(select(cases).where(cases.c.case_id == case_id))).first()
    return None if row is None else Unit(row.unit_id, row.unit_name, row.jurisdiction)


async def unit_registered(conn: AsyncConnection, unit_id: str) -> bool:
    """Whether the unit's registration (its contacts) has been read: every unit registers
    before it applies, so a unit not yet known here is only a consumer behind."""
    found = await conn.execute(select(units.c.unit_id).where(units.c.unit_id == unit_id))
    return found.first() is not None


def _principal(row: Any) -> Principal:
    roles = {Role(r) for r in row.roles.split() if r in set(Role)}
    return Principal(
        user_id=row.user_id,
        roles=frozenset(roles),
        org_id=row.org_id,
        jurisdictions=tuple(row.jurisdictions.split()),
        email=row.email,
    )


def _as_recipient(row: Any, kind: Kind) -> Recipient | None:
    if kind in OPTIONAL and kind in row.opt_out.split():
        return None
    email = row.email
    channel = Channel.MAIL
    if not row.email_enabled or not email:
        channel = Channel.INBOX
    elif kind in QUEUED and row.digest == "daily":
        channel = Channel.DIGEST
    user = row.user_id
    return Recipient(f"user:{user}", user, email, row.language, channel)


async def recipients(
    conn: AsyncConnection,
    audience: Audience,
    kind: Kind,
    unit: Unit | None,
    *,
    level: str | None = None,
) -> tuple[Recipient, ...]:
    """Nobody when the unit is unknown: an event about a case no notice has named yet."""
    if unit is None:
        return ()
    unit_id, jurisdiction = unit.unit_id, unit.jurisdiction
    rows = (await conn.execute(select(people).order_by(people.c.user_id))).all()
    found: list[Recipient | None] = []
    match audience:
        case Audience.APPLICANTS:
            members = [r for r in rows if r.org_id == unit_id and Role.APPLICANT in r.roles.split()]
            found = [_as_recipient(r, kind) for r in members]
            known = {r.email.lower() for r in members if r.email}
            listed = await conn.execute(
                select(contacts.c.email).where(contacts.c.unit_id == unit_id).order_by("email")
            )
            found += [
                Recipient(f"contact:{email.lower()}", None, email, "zh", Channel.MAIL)
                for (email,) in listed
                if email.lower() not in known
            ]
        case Audience.REVIEWERS:
            role = REVIEWER_OF_LEVEL.get(level or "")
            found = [
                _as_recipient(r, kind)
                for r in rows
                if role is not None
                and role in r.roles.split()
                and _principal(r).covers(jurisdiction)
            ]
        case Audience.FINANCE:
            found = [
                _as_recipient(r, kind)
                for r in rows
                if Role.FINANCE in r.roles.split() and _principal(r).covers(jurisdiction)
            ]
    return tuple(r for r in found if r is not None)


def is_reviewer(roles: Sequence[str]) -> bool:
    return any(role in REVIEWER_ROLES for role in roles)
