"""What the notification service publishes and reads: registry, examples, consumes."""

from __future__ import annotations

from datetime import date

from shared.codec import EventRegistry

from ..domain.deadlines import deadline_id, reminder_id
from ..domain.events import (
    EVENTS,
    Channel,
    Contact,
    DeadlineMet,
    DeadlineReminded,
    DeadlineReopened,
    DeadlinesEnded,
    DeadlineSet,
    DigestIssued,
    DigestItem,
    Fact,
    Kind,
    MailRefused,
    MailSent,
    NotificationIssued,
    Obligation,
    Recipient,
    UnitContactsRecorded,
)
from ..domain.rules import DEADLINES, RULES

SERVICE = "notification"

registry = EventRegistry(SERVICE, EVENTS)


def _rules_of(upstream: str) -> list[str]:
    """The upstream's events a notice rule or a deadline's step names, each once."""
    named = [name for producer, name in [*RULES, *DEADLINES] if producer == upstream]
    return list(dict.fromkeys(named))


#: The upstream events this service reacts to (docs/contracts.md, "Who consumes what").
CONSUMES: list[tuple[str, list[str]]] = [
    ("application", ["UnitRegistered", "UnitRegistrationAmended", *_rules_of("application")]),
    ("review", _rules_of("review")),
    ("assessment", _rules_of("assessment")),
    ("funding", _rules_of("funding")),
]

_NOTICE = "01HZEVNT00000000000000KM01"
_CASE = "01HZCASE00000000000000KM01"
_APPLICANT = Recipient(
    "user:applicant-zhang", "applicant-zhang", "zhang@km-hitech.example.cn", "zh", Channel.MAIL
)
_REVIEWER = Recipient("user:reviewer-li", "reviewer-li", "li@yncast.example.cn", "en", Channel.MAIL)
_BASE = "01HZBASE0000000000000000KM"
_RECTIFICATION = deadline_id(Obligation.RECTIFICATION_REPORT, _BASE, "01HZRECT0000000000000000KM")

EXAMPLES: list[object] = [
    UnitContactsRecorded(
        unit_id="01HZUNIT0000000000000KMHTZ",
        name="昆明高新技术产业开发区",
        jurisdiction="5301",
        contacts=(Contact("张敏", "zhang@km-hitech.example.cn"),),
    ),
    NotificationIssued(
        notice_id=_NOTICE,
        case_id=_CASE,
        kind=Kind.RECTIFICATION_ORDERED,
        upstream="assessment.RectificationOrdered",
        unit_id="01HZUNIT0000000000000KMHTZ",
        unit_name="昆明高新技术产业开发区",
        jurisdiction="5301",
        facts=(Fact("base_id", _BASE), Fact("deadline", "2024-06-30")),
        recipients=(_APPLICANT,),
    ),
    DigestIssued(
        notice_id="digest-reviewer-li-2022-04-02",
        user_id="reviewer-li",
        day=date(2022, 4, 2),
        recipient=_REVIEWER,
        items=(DigestItem(_NOTICE, _CASE, Kind.REVIEW_QUEUED, "昆明高新技术产业开发区"),),
    ),
    DeadlineSet(
        base_id=_BASE,
        case_id=_CASE,
        deadline_id=_RECTIFICATION,
        obligation=Obligation.RECTIFICATION_REPORT,
        due_on=date(2024, 6, 30),
        known_on=date(2024, 4, 1),
        upstream="assessment.RectificationOrdered",
        facts=(Fact("base_id", _BASE), Fact("year", "2023"), Fact("deadline", "2024-06-30")),
    ),
    DeadlineReminded(
        base_id=_BASE,
        case_id=_CASE,
        deadline_id=_RECTIFICATION,
        obligation=Obligation.RECTIFICATION_REPORT,
        lead_days=14,
        on=date(2024, 6, 16),
        notice_id=reminder_id(_RECTIFICATION, 14),
    ),
    DeadlineMet(
        base_id=_BASE,
        case_id=_CASE,
        deadline_id=_RECTIFICATION,
        obligation=Obligation.RECTIFICATION_REPORT,
        upstream="assessment.RectificationReportFiled",
    ),
    DeadlineReopened(
        base_id=_BASE,
        case_id=_CASE,
        deadline_id=_RECTIFICATION,
        obligation=Obligation.RECTIFICATION_REPORT,
        upstream="assessment.RectificationRejected",
    ),
    DeadlinesEnded(base_id=_BASE, case_id=_CASE, upstream="assessment.BaseRevoked"),
    MailSent(
        notice_id=_NOTICE,
        recipient=_APPLICANT.key,
        message_id="<3f1c0a9e5b7d2e4f6a8c0b1d3e5f7a9c1b3d5e7f@notification.haizhi>",
        attempts=1,
    ),
    MailRefused(
        notice_id=_NOTICE,
        recipient=_APPLICANT.key,
        message_id="<3f1c0a9e5b7d2e4f6a8c0b1d3e5f7a9c1b3d5e7f@notification.haizhi>",
        reason="550 5.1.1 mailbox unavailable",
    ),
]
