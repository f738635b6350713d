"""The notification service's events (docs/contracts.md, "notification").

`NotificationIssued` is the fact that the people it names are to be told of an upstream event
(its `notice_id` is that event's id: one notice per event, whoever consumes it again); each
recipient's mail then ends as `MailSent` (the server took it, under `message_id`) or
`MailRefused` (the server refused the address for good). A reviewer who takes the daily digest
gets one `DigestIssued` a day (CST) instead of one mail per item. `UnitContactsRecorded` keeps a
unit's contacts (联系人), the addresses its applicants are told at, from its registration.

A base's deadlines (`deadlines-<base id>`): `DeadlineSet` when an upstream event fixes a day by
which the unit must act (a rectification report, a renewal request), `DeadlineMet` when it has
acted (or the thing is settled), `DeadlineReopened` when it must act again (its report was
rejected), `DeadlinesEnded` when the base was revoked or expired, and `DeadlineReminded` for
each reminder told before the day (its notice: `remind-<deadline id>-<lead>d`).
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
    REVIEW_REOPENED = "review_reopened"
    RENEWAL_REVIEW_QUEUED = "renewal_review_queued"
    RENEWAL_REVIEW_REOPENED = "renewal_review_reopened"
    RENEWAL_REVIEW_FORWARDED = "renewal_review_forwarded"
    INSTALMENT_DUE = "instalment_due"
    REPORT_REMINDER = "report_reminder"
    RECTIFICATION_REMINDER = "rectification_reminder"
    RENEWAL_REMINDER = "renewal_reminder"


class Obligation(StrEnum):
    """What a base's unit must do by a deadline (the reminders the notifier keeps itself)."""

    RECTIFICATION_REPORT = "rectification_report"  # Art. 12: rectify by the deadline
    RENEWAL_REQUEST = "renewal_request"  # Art. 14: request within the window before expiry


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


@dataclass(frozen=True, slots=True)
class DeadlineSet:
    """The unit of base `base_id` must act (`obligation`) by `due_on` (CST), as `upstream`
    said on `known_on` (the day the deadline was known: no reminder before that day)."""

    base_id: str
    case_id: str
    deadline_id: str  # sha256(obligation, base id, key)[:32]
    obligation: Obligation
    due_on: date
    known_on: date
    upstream: str  # e.g. assessment.RectificationOrdered
    facts: tuple[Fact, ...]


@dataclass(frozen=True, slots=True)
class DeadlineMet:
    """What the deadline asked for was done (a report filed, a request made) or settled."""

    base_id: str
    case_id: str
    deadline_id: str
    obligation: Obligation
    upstream: str  # e.g. assessment.RectificationReportFiled


@dataclass(frozen=True, slots=True)
class DeadlineReopened:
    """It must be done again by the same day (a rectification report was rejected)."""

    base_id: str
    case_id: str
    deadline_id: str
    obligation: Obligation
    upstream: str


@dataclass(frozen=True, slots=True)
class DeadlinesEnded:
    """The base was revoked or expired: it owes nothing more, no reminder follows."""

    base_id: str
    case_id: str
    upstream: str


@dataclass(frozen=True, slots=True)
class DeadlineReminded:
    """A reminder `lead_days` before the deadline, decided on `on` (CST) by the service's
    clock, told as the notice `notice_id` (issued in the same transaction)."""

    base_id: str
    case_id: str
    deadline_id: str
    obligation: Obligation
    lead_days: int
    on: date
    notice_id: str


EVENTS: tuple[type, ...] = (
    UnitContactsRecorded,
    NotificationIssued,
    DigestIssued,
    MailSent,
    MailRefused,
    DeadlineSet,
    DeadlineMet,
    DeadlineReopened,
    DeadlinesEnded,
    DeadlineReminded,
)
