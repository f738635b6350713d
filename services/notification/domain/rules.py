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
| funding.InstalmentDue | instalment_due (资助款到期) | finance covering the unit | yes |

A unit's applicants are its registered contacts (application.UnitRegistered, …Amended) and the
people who signed in under the unit (`org`); reviewers and finance are the people known from
their own tokens, matched by role and jurisdiction. What the law makes the unit answer for —
a return, a rejection, an overdue report, a rectification — cannot be turned off.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from .events import Kind


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
    ("funding", "InstalmentDue"): Rule(
        Kind.INSTALMENT_DUE, Audience.FINANCE, ("plan_id", "base_id", "number", "amount_fen")
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
        Kind.INSTALMENT_DUE,
    }
)

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
