"""The base's term (Art. 14): registration, the renewal window, renewal assessment, renewal, expiry.

A term runs from `term_start` to `term_end`, both days included (China Standard Time). The
renewal window is its last `renewal_window_days` days; the base expires on the day after
`term_end` unless a renewal has moved `term_end` on. Review owns the renewal decision; this
service answers its request for a renewal assessment.
"""

from __future__ import annotations

from datetime import timedelta

from services.assessment.domain.base_state import Active, Expired, RectificationStage, Revoked
from services.assessment.domain.commands import (
    AssessRenewal,
    ExpireBase,
    OpenRenewalWindow,
    RegisterBase,
    RenewTerm,
)
from services.assessment.domain.errors import (
    BaseAlreadyRegistered,
    InvalidTerm,
    RenewalWindowNotYetOpen,
    TermNotEnded,
    refused,
)
from services.assessment.domain.events import (
    BaseEvent,
    BaseExpired,
    BaseRegistered,
    RenewalAssessed,
    RenewalObstacle,
    RenewalWindowOpened,
    TermRenewed,
)
from services.assessment.domain.policy import Grade
from shared.cst import cst_date


def register(c: RegisterBase, state: object) -> list[BaseEvent]:
    if c.term_end < c.term_start:
        raise refused(InvalidTerm, c, state, f"{c.term_start}..{c.term_end}")
    return [
        BaseRegistered(
            base_id=c.base_id,
            case_id=c.case_id,
            unit_id=c.unit_id,
            unit_name=c.unit_name,
            province=c.province,
            jurisdiction=c.jurisdiction,
            term_start=c.term_start,
            term_end=c.term_end,
            policy_version=c.policy_version,
        )
    ]


def register_again(c: RegisterBase, base: Active | Revoked | Expired) -> list[BaseEvent]:
    """A redelivered designation decides nothing; another designation on this stream is a bug."""
    if (c.base_id, c.case_id) == (base.base_id, base.case_id):
        return []
    raise refused(BaseAlreadyRegistered, c, base, f"{base.base_id} is case {base.case_id}")


def open_window(c: OpenRenewalWindow, base: Active) -> list[BaseEvent]:
    if base.window_opened_for == base.term_end:
        return []
    opens_on = c.policy.renewal_window_opens_on(base.term_end)
    if cst_date(c.at) < opens_on:  # Art. 14: within the 90 days before expiry
        raise refused(RenewalWindowNotYetOpen, c, base, f"the window opens {opens_on}")
    return [
        RenewalWindowOpened(
            base_id=base.base_id,
            case_id=base.case_id,
            opens_on=opens_on,
            closes_on=base.term_end,
            term_end=base.term_end,
            policy_version=c.policy.version,
        )
    ]


def assess_renewal(c: AssessRenewal, base: Active | Revoked | Expired) -> list[BaseEvent]:
    """Art. 14 (经考核合格): the renewal assessment is qualified iff all of these hold:

    - the base is still active (not revoked, not expired);
    - no revocation is proposed for it (Art. 13);
    - its latest final grade is not unqualified with a rectification still unaccepted (Art. 12).

    A revoked or expired base is answered, not refused, so that review's request never hangs.
    Older unaccepted rectifications do not count once a later year was graded qualified or
    better. The rule applies no number of the policy today; the answer names its version.
    """
    if c.renewal_id in base.renewals_assessed:
        return []
    reasons = _obstacles(base)
    return [
        RenewalAssessed(
            base_id=base.base_id,
            case_id=base.case_id,
            renewal_id=c.renewal_id,
            qualified=not reasons,
            reasons=reasons,
            policy_version=c.policy.version,
        )
    ]


def renew(c: RenewTerm, base: Active) -> list[BaseEvent]:
    if c.renewal_id in base.renewals_granted:
        return []
    if c.term_end < c.term_start or c.term_end <= base.term_end:
        raise refused(InvalidTerm, c, base, f"{c.term_start}..{c.term_end} after {base.term_end}")
    return [
        TermRenewed(
            base_id=base.base_id,
            case_id=base.case_id,
            renewal_id=c.renewal_id,
            certificate_no=c.certificate_no,
            term_start=c.term_start,
            term_end=c.term_end,
            policy_version=c.policy_version,
        )
    ]


def expire(c: ExpireBase, base: Active) -> list[BaseEvent]:
    if cst_date(c.at) <= base.term_end:  # Art. 14: valid through the last day of the term
        raise refused(TermNotEnded, c, base, f"the term ends {base.term_end}")
    return [
        BaseExpired(
            base_id=base.base_id,
            case_id=base.case_id,
            expired_on=base.term_end + timedelta(days=1),
            term_end=base.term_end,
            policy_version=base.term_policy_version,
        )
    ]


def _obstacles(base: Active | Revoked | Expired) -> tuple[RenewalObstacle, ...]:
    match base:
        case Revoked():
            return (RenewalObstacle.BASE_REVOKED,)
        case Expired():
            return (RenewalObstacle.BASE_EXPIRED,)
    reasons: list[RenewalObstacle] = []
    if base.revocation is not None:
        reasons.append(RenewalObstacle.REVOCATION_PROPOSED)
    finals = {year: g.final for year, g in base.grades.items() if g.final is not None}
    if finals:
        latest = max(finals)
        outstanding = any(
            order.year == latest and order.stage is not RectificationStage.ACCEPTED
            for order in base.rectifications.values()
        )
        if finals[latest] is Grade.UNQUALIFIED and outstanding:
            reasons.append(RenewalObstacle.RECTIFICATION_OUTSTANDING)
    return tuple(reasons)
