"""Who is told what: one row per upstream event the service reads (the issue's list).

| upstream event | kind | audience | may opt out |
|---|---|---|---|
| review.ApplicationReturned | returned (退回) | the unit's applicants | no |
| review.ApplicationRejected | rejected (不予通过) | the unit's applicants | no |
| review.BaseDesignated, …WorkstationDesignated | designated (认定) | applicants | yes |
| assessment.ReportingOpened | report_due (年度报告待报送) | the unit's applicants | yes |
| assessment.AnnualReportOverdue | report_overdue (年度报告逾期) | the unit's applicants | no |
| assessment.RectificationOrdered | rectification_ordered (限期整改) | the unit's applicants | no |
| assessment.RenewalWindowOpened | renewal_window_open (续期申请期) | applicants | yes |
| funding.InstalmentPaid | instalment_paid (资助款已拨付) | the unit's applicants | yes |
| review.ReviewOpened | review_queued (新待审) | reviewers of the level covering the unit | yes |
| review.ReviewReopened | review_reopened (重新提交待审) | reviewers of the level, as above | yes |
| review.RenewalReviewOpened | renewal_review_queued (续期待审) | province reviewers, ditto | yes |
| review.ForwardedToProvince | review_queued | province reviewers covering the unit | yes |
| review.Recommended | review_queued | national reviewers covering the unit | yes |
| review.ForwardedToLeadingGroup | review_queued | the leading group, ditto | yes |
| review.LeadingGroupDecided (approve) | review_queued | the general office, ditto | yes |
| review.RenewalReviewReopened | renewal_review_reopened (续期补充待审) | province reviewers | yes |
| review.RenewalForwarded | renewal_review_forwarded (续期转入待审) | national reviewers | yes |
| review.RenewalAssessmentRecorded (qualified) | renewal_review_forwarded | general office | yes |
| funding.InstalmentDue | instalment_due (资助款到期) | finance covering the unit | yes |
| assessment.ReportReminded | report_reminder (年度报告截止提醒) | the unit's applicants | yes |
| (the tick) rectification deadline near | rectification_reminder (整改截止提醒) | applicants | no |
| (the tick) renewal window closing | renewal_reminder (续期申请截止提醒) | applicants | yes |

A case that moves up the review chain is new work in the next level's queue: the event that
moves it names no unit (the case's, known from the `ReviewOpened` before it) and no level
(the rule names the level that now holds it). A decision that moves it up on one outcome
only (the leading group's approval, a qualified renewal assessment) is told on that outcome
(`Rule.when`). The province's recommendation list (`RecommendationListSubmitted`, one event
per call and province) is not read: each application on it reaches the national level by its
own `Recommended`, one event per application, told once each.

A unit's applicants are its registered contacts (application.UnitRegistered, …Amended) and the
people who signed in under the unit (`org`); reviewers and finance are the people known from
their own tokens, matched by role and jurisdiction. What the law makes the unit answer for —
a return, a rejection, an overdue report, a rectification — cannot be turned off.

Deadlines near (`DEADLINES`): the annual report's reminders are the assessment's own
(`ReportReminded`, at the days its policy names); the rectification deadline and the close of
the renewal window the notifier keeps itself — set, met, reopened by the upstream events below,
reminded `REMINDER_LEADS` days before (CST dates) by the scheduler's tick. The rules set no
time limit for a review: reviewers get no deadline reminders.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from .events import Kind, Obligation


class Audience(StrEnum):
    APPLICANTS = "applicants"
    REVIEWERS = "reviewers"
    FINANCE = "finance"


@dataclass(frozen=True, slots=True)
class Rule:
    kind: Kind
    audience: Audience
    #: The data fields the notice shows (and its templates name), beyond the case.
    facts: tuple[str, ...]
    #: Reviewers: the level whose reviewers are told when the event names none (a renewal
    #: request waits at the province first, Art. 14; a case moved up is at the next level);
    #: otherwise the event's `level`.
    level: str | None = None
    #: Told only when the event's field has this value (a decision that moves the case up on
    #: one outcome only); None: always.
    when: tuple[str, object] | None = None

    def applies(self, data: Mapping[str, Any]) -> bool:
        """Whether the event is told at all (its `when`, if any, holds)."""
        if self.when is None:
            return True
        field, value = self.when
        return bool(data.get(field) == value)


RULES: dict[tuple[str, str], Rule] = {
    ("review", "ApplicationReturned"): Rule(
        Kind.RETURNED, Audience.APPLICANTS, ("application_id", "level", "reasons")
    ),
    ("review", "ApplicationRejected"): Rule(
        Kind.REJECTED, Audience.APPLICANTS, ("application_id", "level", "reasons")
    ),
    ("review", "BaseDesignated"): Rule(
        Kind.DESIGNATED, Audience.APPLICANTS, ("base_id", "certificate_no", "term_end")
    ),
    ("review", "WorkstationDesignated"): Rule(
        Kind.DESIGNATED, Audience.APPLICANTS, ("station_id", "certificate_no")
    ),
    ("assessment", "ReportingOpened"): Rule(
        Kind.REPORT_DUE, Audience.APPLICANTS, ("base_id", "year", "due_on")
    ),
    ("assessment", "AnnualReportOverdue"): Rule(
        Kind.REPORT_OVERDUE, Audience.APPLICANTS, ("base_id", "year", "due_on")
    ),
    ("assessment", "RectificationOrdered"): Rule(
        Kind.RECTIFICATION_ORDERED, Audience.APPLICANTS, ("base_id", "year", "deadline")
    ),
    ("assessment", "RenewalWindowOpened"): Rule(
        Kind.RENEWAL_WINDOW_OPEN, Audience.APPLICANTS, ("base_id", "closes_on", "term_end")
    ),
    ("funding", "InstalmentPaid"): Rule(
        Kind.INSTALMENT_PAID,
        Audience.APPLICANTS,
        ("base_id", "number", "amount_fen", "payment_ref", "paid_on"),
    ),
    ("review", "ReviewOpened"): Rule(
        Kind.REVIEW_QUEUED, Audience.REVIEWERS, ("review_id", "level", "unit_name")
    ),
    # A resubmission after a return: the review opens again at its first level.
    ("review", "ReviewReopened"): Rule(
        Kind.REVIEW_REOPENED, Audience.REVIEWERS, ("review_id", "level", "revision")
    ),
    ("review", "RenewalReviewOpened"): Rule(
        Kind.RENEWAL_REVIEW_QUEUED,
        Audience.REVIEWERS,
        ("renewal_id", "base_id", "level", "term_end"),
        level="province",
    ),
    # A case moved up the review chain: new work in the queue of the level that now holds it
    # (review.evolve: AtProvince, AtNational, AtLeadingGroup, AwaitingApproval).
    ("review", "ForwardedToProvince"): Rule(
        Kind.REVIEW_QUEUED, Audience.REVIEWERS, ("review_id", "level"), level="province"
    ),
    # One per application the province's list recommends (recorded with the list, one event
    # per review): each is its own work at the national level.
    ("review", "Recommended"): Rule(
        Kind.REVIEW_QUEUED, Audience.REVIEWERS, ("review_id", "level"), level="national"
    ),
    ("review", "ForwardedToLeadingGroup"): Rule(
        Kind.REVIEW_QUEUED, Audience.REVIEWERS, ("review_id", "level"), level="leading_group"
    ),
    # Approved: the general office issues the approval; a return or a rejection is told to the
    # applicants by the ApplicationReturned / -Rejected that follows it.
    ("review", "LeadingGroupDecided"): Rule(
        Kind.REVIEW_QUEUED,
        Audience.REVIEWERS,
        ("review_id", "level"),
        level="general_office",
        when=("outcome", "approve"),
    ),
    # A returned renewal request, completed: at the province again (not to be returned twice).
    ("review", "RenewalReviewReopened"): Rule(
        Kind.RENEWAL_REVIEW_REOPENED,
        Audience.REVIEWERS,
        ("renewal_id", "base_id", "level"),
        level="province",
    ),
    ("review", "RenewalForwarded"): Rule(
        Kind.RENEWAL_REVIEW_FORWARDED,
        Audience.REVIEWERS,
        ("renewal_id", "base_id", "level"),
        level="national",
    ),
    # Qualified: the general office grants the renewal; unqualified, the RenewalRefused
    # recorded with it ends the request and no queue holds it.
    ("review", "RenewalAssessmentRecorded"): Rule(
        Kind.RENEWAL_REVIEW_FORWARDED,
        Audience.REVIEWERS,
        ("renewal_id", "base_id", "level"),
        level="general_office",
        when=("qualified", True),
    ),
    ("funding", "InstalmentDue"): Rule(
        Kind.INSTALMENT_DUE, Audience.FINANCE, ("plan_id", "base_id", "number", "amount_fen")
    ),
    ("assessment", "ReportReminded"): Rule(
        Kind.REPORT_REMINDER, Audience.APPLICANTS, ("base_id", "year", "due_on", "days_before")
    ),
}

#: Kinds a person may turn off; the others reach them whatever they choose (in the inbox at
#: least: turning e-mail off keeps the inbox).
OPTIONAL: frozenset[Kind] = frozenset(
    {
        Kind.DESIGNATED,
        Kind.REPORT_DUE,
        Kind.RENEWAL_WINDOW_OPEN,
        Kind.INSTALMENT_PAID,
        Kind.REVIEW_QUEUED,
        Kind.REVIEW_REOPENED,
        Kind.RENEWAL_REVIEW_QUEUED,
        Kind.RENEWAL_REVIEW_REOPENED,
        Kind.RENEWAL_REVIEW_FORWARDED,
        Kind.INSTALMENT_DUE,
        Kind.REPORT_REMINDER,
        Kind.RENEWAL_REMINDER,
    }
)

#: New work in a reviewer's queue: what a reviewer on the daily digest gets in the digest.
QUEUED: frozenset[Kind] = frozenset(
    {
        Kind.REVIEW_QUEUED,
        Kind.REVIEW_REOPENED,
        Kind.RENEWAL_REVIEW_QUEUED,
        Kind.RENEWAL_REVIEW_REOPENED,
        Kind.RENEWAL_REVIEW_FORWARDED,
    }
)


class Step(StrEnum):
    """What an upstream event does to a base's deadline."""

    SET = "set"  # fixes it (or fixes it again: the same event read twice decides nothing)
    MET = "met"  # done or settled: no reminder from now on
    REOPENED = "reopened"  # to be done again by the same day (after a MET)
    ENDED = "ended"  # the base is gone: every deadline of the base ends


@dataclass(frozen=True, slots=True)
class DeadlineRule:
    step: Step
    obligation: Obligation | None  # None: every obligation of the base (ENDED)
    #: The data field naming which of the base's deadlines (with `base_id`): the same value
    #: in the event that sets it and the events that meet it.
    key: str | None = None
    #: SET: the data field holding the date (CST) by which the unit must act.
    due: str | None = None
    #: SET: the data fields the reminder shows (its templates name them), beyond the case.
    facts: tuple[str, ...] = ()


#: Upstream events that set, meet, reopen or end a base's deadlines (`domain/deadlines.py`).
DEADLINES: dict[tuple[str, str], DeadlineRule] = {
    # Art. 12: an unqualified base rectifies by a deadline; its report, once filed, awaits the
    # department (done, unless rejected: then it must come again by the same deadline).
    ("assessment", "RectificationOrdered"): DeadlineRule(
        Step.SET,
        Obligation.RECTIFICATION_REPORT,
        key="rectification_id",
        due="deadline",
        facts=("base_id", "year", "deadline"),
    ),
    ("assessment", "RectificationReportFiled"): DeadlineRule(
        Step.MET, Obligation.RECTIFICATION_REPORT, key="rectification_id"
    ),
    ("assessment", "RectificationRejected"): DeadlineRule(
        Step.REOPENED, Obligation.RECTIFICATION_REPORT, key="rectification_id"
    ),
    ("assessment", "RectificationAccepted"): DeadlineRule(
        Step.MET, Obligation.RECTIFICATION_REPORT, key="rectification_id"
    ),
    # Art. 14: a written renewal request within the window, which closes at the term's end.
    ("assessment", "RenewalWindowOpened"): DeadlineRule(
        Step.SET,
        Obligation.RENEWAL_REQUEST,
        key="term_end",
        due="closes_on",
        facts=("base_id", "closes_on", "term_end"),
    ),
    ("application", "RenewalRequested"): DeadlineRule(
        Step.MET, Obligation.RENEWAL_REQUEST, key="term_end"
    ),
    ("assessment", "BaseRevoked"): DeadlineRule(Step.ENDED, None),
    ("assessment", "BaseExpired"): DeadlineRule(Step.ENDED, None),
}

#: Days before a deadline (CST dates) its reminders are due: the same as the assessment
#: policy's annual report reminders (`reminder_days_before = [14, 3]`); the rules name none
#: for a rectification or a renewal window, and these are the notifier's own.
REMINDER_LEADS: tuple[int, ...] = (14, 3)

#: The kind of the reminder of each obligation.
REMINDER_OF: dict[Obligation, Kind] = {
    Obligation.RECTIFICATION_REPORT: Kind.RECTIFICATION_REMINDER,
    Obligation.RENEWAL_REQUEST: Kind.RENEWAL_REMINDER,
}

#: The review level (review.Level) -> the role whose holders review at it.
REVIEWER_OF_LEVEL: dict[str, str] = {
    "prefecture": "prefecture_reviewer",
    "province": "province_reviewer",
    "province_recommendation": "province_reviewer",
    "provincial_decision": "province_reviewer",
    "national": "national_reviewer",
    "leading_group": "leading_group",
    "general_office": "general_office",
}
REVIEWER_ROLES = frozenset(REVIEWER_OF_LEVEL.values())
