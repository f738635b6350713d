"""Why the notification service refuses something."""

from __future__ import annotations

from shared.decider import DomainError, InvalidCommand, NotFound


class NoticeNotIssuedError(NotFound):
    code = "notice-not-issued"
    title = "No such notice"


class UnknownRecipientError(DomainError):
    code = "unknown-recipient"
    title = "The notice is not mailed to this recipient"


class InboxItemNotFoundError(NotFound):
    code = "inbox-item-not-found"
    title = "No such item in your inbox"


class MandatoryNoticeError(InvalidCommand):
    code = "notice-mandatory"
    title = "This kind of notice cannot be turned off"


class DigestNotOfferedError(InvalidCommand):
    code = "digest-reviewers-only"
    title = "The daily digest is offered to reviewers only"
