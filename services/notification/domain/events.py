"""The notification service's events (docs/contracts.md, "notification").

`NotificationIssued` is the fact that the people it names are to be told of an upstream event
(its `notice_id` is that event's id: one notice per event, whoever consumes it again); each
recipient's mail then ends as `MailSent` (the server took it, under `message_id`) or
`MailRefused` (the server refused the address for good). A reviewer who takes the daily digest
gets one `DigestIssued` a day (CST) instead of one mail per item. `UnitContactsRecorded` keeps a
unit's contacts (联系人), the addresses its applicants are told at, from its registration.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from enum import StrEnum


class Kind(StrEnum):
    """What a notice tells (the first column of `rules.RULES`)."""

    RETURNED = "returned"
    REJECTED = "rejected"
    DESIGNATED = "designated"
    REPORT_DUE = "report_due"
    REPORT_OVERDUE = "report_overdue"
    RECTIFICATION_ORDERED = "rectification_ordered"
    RENEWAL_WINDOW_OPEN = "renewal_window_open"
    INSTALMENT_PAID = "instalment_paid"
    REVIEW_QUEUED = "review_queued"
    INSTALMENT_DUE = "instalment_due"


class Channel(StrEnum):
    """How a recipient hears of a notice besides the inbox."""

    MAIL = "mail"  # one mail for this notice
    DIGEST = "digest"  # listed in the day's digest mail
    INBOX = "inbox"  # the in-app inbox only (mail off, opted out, or no address)


@dataclass(frozen=True, slots=True)
class Recipient:
    """One person told: `key` is `user:<sub>` (known from their token) or `contact:<email>`
    (a unit's contact who has never signed in); the pair (notice, key) is told once."""

    key: str
    user_id: str | None
    email: str | None
    language: str  # zh | en
    channel: Channel


@dataclass(frozen=True, slots=True)
class Fact:
    """One named value of the notice a template may show (a deadline, a reason, an amount)."""

    name: str
    value: str


@dataclass(frozen=True, slots=True)
class NotificationIssued:
    notice_id: str  # the upstream event's id
    case_id: str
    kind: Kind
    upstream: str  # e.g. review.ApplicationReturned
    unit_id: str | None
    unit_name: str | None
    jurisdiction: str | None  # the unit's, which reviewers and finance are matched on
    facts: tuple[Fact, ...]
    recipients: tuple[Recipient, ...]


@dataclass(frozen=True, slots=True)
class MailSent:
    notice_id: str
    recipient: str
    message_id: str
    attempts: int


@dataclass(frozen=True, slots=True)
class MailRefused:
    notice_id: str
    recipient: str
    message_id: str
    reason: str  # the server's reply


@dataclass(frozen=True, slots=True)
class DigestItem:
    notice_id: str
    case_id: str
    kind: Kind
    unit_name: str | None


@dataclass(frozen=True, slots=True)
class DigestIssued:
    notice_id: str  # digest-<user>-<day>
    user_id: str
    day: date  # CST: the day the digest is sent, listing what was queued before it
    recipient: Recipient
    items: tuple[DigestItem, ...]


@dataclass(frozen=True, slots=True)
class Contact:
    name: str
    email: str


@dataclass(frozen=True, slots=True)
class UnitContactsRecorded:
    unit_id: str
    name: str
    jurisdiction: str
    contacts: tuple[Contact, ...]


EVENTS: tuple[type, ...] = (
    UnitContactsRecorded,
    NotificationIssued,
    DigestIssued,
    MailSent,
    MailRefused,
)
