"""What the funding service publishes (the finance feed) and reads: registry, examples, consumes."""

from __future__ import annotations

from datetime import date
from typing import Any

from shared.codec import EventRegistry

from ..domain.events import (
    EVENTS,
    BaseExitRecorded,
    ExitReason,
    HoldOpened,
    HoldReleased,
    InstalmentApproved,
    InstalmentCancelled,
    InstalmentDue,
    InstalmentHeld,
    InstalmentPaid,
    InstalmentReleased,
    InstalmentReturned,
    InstalmentScheduled,
    PlanClosed,
    PlanTermRenewed,
    PriorityApprovalRecorded,
    SubsidyNotPlanned,
    SubsidyPlanCreated,
)
from ..domain.policy import Programme

SERVICE = "funding"

registry = EventRegistry(SERVICE, EVENTS)

#: The upstream events this service reacts to (docs/contracts.md, "Who consumes what").
CONSUMES: list[tuple[str, list[str]]] = [
    ("review", ["BaseDesignated", "WorkstationDesignated", "RenewalGranted"]),
    ("assessment", ["RectificationOrdered", "RectificationAccepted", "BaseRevoked", "BaseExpired"]),
]

_PLAN, _BASE, _CASE = (
    "01HZBASE0000000000000000KM",
    "01HZBASE0000000000000000KM",
    "01HZCASE00000000000000KM01",
)
_FIRST: dict[str, Any] = {
    "plan_id": _PLAN,
    "base_id": _BASE,
    "case_id": _CASE,
    "instalment_id": f"{_PLAN}-1",
    "number": 1,
    "amount_fen": 20_000_000,
}
_RECTIFICATION = "01HZRECT00000000000000KM23"

EXAMPLES: list[object] = [
    SubsidyPlanCreated(
        plan_id=_PLAN,
        base_id=_BASE,
        case_id=_CASE,
        unit_id="01HZUNIT0000000000000KMHTZ",
        unit_name="昆明高新技术产业开发区",
        province="53",
        approved_on=date(2022, 6, 15),
        instalments=3,
        amount_fen=20_000_000,
        total_fen=60_000_000,
        policy_version="53-2022.1",
        programme=Programme.NATIONAL_BASE,
        call_opened_on=date(2022, 3, 1),
    ),
    SubsidyNotPlanned(
        plan_id="01HZBASE0000000000000000GY",
        base_id="01HZBASE0000000000000000GY",
        case_id="01HZCASE00000000000000GY01",
        unit_id="01HZUNIT0000000000000GYHTZ",
        unit_name="贵阳国家高新技术产业开发区",
        province="52",
        programme=Programme.NATIONAL_BASE,
        approved_on=date(2022, 6, 15),
        call_opened_on=date(2022, 3, 1),
        policy_version=None,
        reason="贵州省（52）无海智基地补助政策（以征集开始日 2022-03-01 为准） / "
        "province 52 has no HaiZhi base subsidy policy (as of 2022-03-01, the day the call opened)",
    ),
    PriorityApprovalRecorded(_PLAN, _BASE, _CASE, province="53", policy_version="53-2022.1"),
    InstalmentScheduled(**_FIRST, due_on=date(2022, 6, 15), policy_version="53-2022.1"),
    InstalmentDue(**_FIRST, due_on=date(2022, 6, 15), policy_version="53-2022.1"),
    InstalmentApproved(**_FIRST, prepared_by="finance-wang"),
    InstalmentPaid(
        **_FIRST,
        payment_ref="YN-2022-0615-001",
        paid_on=date(2022, 6, 20),
        confirmed_by="cashier-li",
    ),
    HoldOpened(_PLAN, _BASE, _CASE, _RECTIFICATION, policy_version="53-2022.1"),
    InstalmentHeld(**_FIRST, rectification_id=_RECTIFICATION, policy_version="53-2022.1"),
    HoldReleased(_PLAN, _BASE, _CASE, _RECTIFICATION, policy_version="53-2022.1"),
    InstalmentReleased(**_FIRST, rectification_id=_RECTIFICATION, policy_version="53-2022.1"),
    InstalmentReturned(**_FIRST, payment_ref="YN-2022-0615-001", reason="account closed"),
    InstalmentCancelled(**_FIRST, reason=ExitReason.REVOKED, policy_version="53-2022.1"),
    BaseExitRecorded(
        _PLAN, _BASE, _CASE, ExitReason.REVOKED, date(2024, 3, 1), policy_version="53-2022.1"
    ),
    PlanClosed(
        _PLAN, _BASE, _CASE, ExitReason.EXPIRED, date(2027, 6, 15), policy_version="53-2022.1"
    ),
    PlanTermRenewed(
        plan_id=_PLAN,
        base_id=_BASE,
        case_id=_CASE,
        renewal_id="01HZRENW00000000000000KM01",
        term_start=date(2027, 6, 15),
        term_end=date(2032, 6, 14),
        new_plan_on_renewal=False,
        policy_version="53-2022.1",
    ),
]
