"""A notice's life: issued once per upstream event, then each recipient's mail sent or refused.

The stream is `notice-<event id>` (or `digest-<sha256(user)[:32]>-<day>`): a second
`Issue` of the same event — a redelivery, a replay — decides nothing, so no one is told twice.
Recording a mail sent after it was recorded (a worker that crashed after its record)
decides nothing too.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from datetime import date
from typing import Any, assert_never

from shared.decider import Decider

from .errors import NoticeNotIssuedError, UnknownRecipientError
from .events import (
    Contact,
    DigestIssued,
    DigestItem,
    Fact,
    Kind,
    MailRefused,
    MailSent,
    NotificationIssued,
    Recipient,
    UnitContactsRecorded,
)


@dataclass(frozen=True, slots=True)
class IssueNotice:
    """Tell `recipients` of the upstream event `notice_id` (their set found as it arrived)."""

    notice_id: str
    case_id: str
    kind: Kind
    upstream: str
    unit_id: str | None
    unit_name: str | None
    jurisdiction: str | None
    facts: tuple[Fact, ...]
    recipients: tuple[Recipient, ...]


@dataclass(frozen=True, slots=True)
class IssueDigest:
    notice_id: str
    user_id: str
    day: date
    recipient: Recipient
    items: tuple[DigestItem, ...]


@dataclass(frozen=True, slots=True)
class RecordSent:
    notice_id: str
    recipient: str
    message_id: str
    attempts: int


@dataclass(frozen=True, slots=True)
class RecordRefusal:
    notice_id: str
    recipient: str
    message_id: str
    reason: str


Command = IssueNotice | IssueDigest | RecordSent | RecordRefusal


@dataclass(frozen=True, slots=True)
class NotIssued:
    pass


@dataclass(frozen=True, slots=True)
class Issued:
    mailed_to: frozenset[str]  # the recipients expecting one mail
    done: frozenset[str] = field(default_factory=frozenset)  # sent or refused


State = NotIssued | Issued
Event = NotificationIssued | DigestIssued | MailSent | MailRefused


def _mailed(issued: NotificationIssued | DigestIssued) -> frozenset[str]:
    recipients = (
        issued.recipients if isinstance(issued, NotificationIssued) else (issued.recipient,)
    )
    return frozenset(r.key for r in recipients if r.channel == "mail" and r.email)


def _fields(command: IssueNotice | IssueDigest | RecordContacts) -> dict[str, Any]:
    """The command's fields, nested values kept as they are (the event takes them whole)."""
    return {f.name: getattr(command, f.name) for f in fields(command)}


def decide(command: Command, state: State) -> list[Event]:
    match command, state:
        case IssueNotice(), NotIssued():
            return [NotificationIssued(**_fields(command))]
        case IssueDigest(), NotIssued():
            return [DigestIssued(**_fields(command))]
        case IssueNotice() | IssueDigest(), Issued():
            return []  # the same event again: told already
        case RecordSent() | RecordRefusal(), NotIssued():
            raise NoticeNotIssuedError(f"{type(command).__name__}: notice not issued")
        case RecordSent() | RecordRefusal(), Issued() if command.recipient not in state.mailed_to:
            raise UnknownRecipientError(f"{command.recipient} is not mailed this notice")
        case RecordSent() | RecordRefusal(), Issued() if command.recipient in state.done:
            return []
        case RecordSent(notice, recipient, message_id, attempts), Issued():
            return [MailSent(notice, recipient, message_id, attempts)]
        case RecordRefusal(notice, recipient, message_id, reason), Issued():
            return [MailRefused(notice, recipient, message_id, reason)]
        case _:
            raise AssertionError(f"unmatched {command!r} in {state!r}")


def evolve(state: State, event: Event) -> State:
    match event:
        case NotificationIssued() | DigestIssued():
            return Issued(_mailed(event))
        case MailSent() | MailRefused():
            assert isinstance(state, Issued)
            return Issued(state.mailed_to, state.done | {event.recipient})
        case _:
            assert_never(event)


decider: Decider[Command, State, Event] = Decider(decide, evolve, NotIssued)


@dataclass(frozen=True, slots=True)
class RecordContacts:
    unit_id: str
    name: str
    jurisdiction: str
    contacts: tuple[Contact, ...]


def decide_contacts(
    command: RecordContacts, state: UnitContactsRecorded | None
) -> list[UnitContactsRecorded]:
    """A unit's contacts as its latest registration names them; the same again: nothing."""
    recorded = UnitContactsRecorded(**_fields(command))
    return [] if recorded == state else [recorded]


def evolve_contacts(
    _state: UnitContactsRecorded | None, event: UnitContactsRecorded
) -> UnitContactsRecorded | None:
    return event


directory: Decider[RecordContacts, UnitContactsRecorded | None, UnitContactsRecorded] = Decider(
    decide_contacts, evolve_contacts, lambda: None
)
