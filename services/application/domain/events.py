"""The events of the application service: calls, applications and renewal requests.

Class names are published names. Events that other services read carry the fields of
docs/contracts.md; events named `...Recorded` are facts this service learned from another
service's event (review, assessment) and keeps in its own streams.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from typing import TypeAlias


class Programme(StrEnum):
    NATIONAL_BASE = "national_base"  # 中国科协海智计划工作基地
    PROVINCIAL_WORKSTATION = "provincial_workstation"  # 省科协海智计划工作站, Notice §5(3)


class Category(StrEnum):
    """The kind of applicant unit; with its jurisdiction it decides the route (Notice §3)."""

    PROVINCIAL_UNIT = "provincial_unit"
    CENTRAL_UNIT = "central_unit"
    UNIVERSITY = "university"
    PREFECTURE_CAST = "prefecture_cast"
    NATIONAL_SOCIETY = "national_society"
    PARK = "park"
    PREFECTURE_INSTITUTE = "prefecture_institute"
    ENTERPRISE = "enterprise"
    PREFECTURE_INSTITUTION = "prefecture_institution"


class Route(StrEnum):
    DIRECT = "direct"
    VIA_PREFECTURE = "via_prefecture"


class Slot(StrEnum):
    """Where an attachment belongs (Art. 7; Annex 2). Every slot but `extra` holds one file."""

    SUPPORT_LETTER = "support_letter"
    CONSTRUCTION_PLAN = "construction_plan"
    OVERSEAS_COOPERATION = "overseas_cooperation"
    POLICY_MEASURES = "policy_measures"
    EXTRA = "extra"


MATERIAL_SLOTS: tuple[Slot, ...] = (
    Slot.SUPPORT_LETTER,
    Slot.CONSTRUCTION_PLAN,
    Slot.OVERSEAS_COOPERATION,
    Slot.POLICY_MEASURES,
)


class CallStatus(StrEnum):
    OPEN = "open"
    CLOSED = "closed"


@dataclass(frozen=True, slots=True)
class FormEntry:
    """One Annex 2 field and its value written as text; `None` is an empty field."""

    field: str
    value: str | None


@dataclass(frozen=True, slots=True)
class SubmittedFile:
    slot: Slot
    name: str
    media_type: str
    size: int
    sha256: str


# --- call for applications -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CallOpened:
    call_id: str
    province: str
    year: int
    title: str
    deadline: datetime
    required_slots: tuple[Slot, ...]
    allows_workstation: bool
    paper_copies: int


@dataclass(frozen=True, slots=True)
class CallClosed:
    call_id: str
    province: str
    deadline: datetime
    closed_at: datetime


# --- application ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ApplicationDrafted:
    application_id: str
    case_id: str
    call_id: str
    programme: Programme
    unit_id: str
    unit_name: str
    category: Category
    province: str
    jurisdiction: str
    linked_case_id: str | None


@dataclass(frozen=True, slots=True)
class DraftUpdated:
    application_id: str
    case_id: str
    changes: tuple[FormEntry, ...]


@dataclass(frozen=True, slots=True)
class AttachmentAdded:
    application_id: str
    case_id: str
    attachment_id: str
    slot: Slot
    name: str
    media_type: str
    size: int
    sha256: str


@dataclass(frozen=True, slots=True)
class AttachmentReplaced:
    application_id: str
    case_id: str
    attachment_id: str
    slot: Slot
    name: str
    media_type: str
    size: int
    sha256: str
    previous_sha256: str


@dataclass(frozen=True, slots=True)
class AttachmentRemoved:
    application_id: str
    case_id: str
    attachment_id: str
    slot: Slot
    sha256: str


@dataclass(frozen=True, slots=True)
class WorkstationApplicationRequested:
    application_id: str
    case_id: str
    linked_application_id: str
    linked_case_id: str


@dataclass(frozen=True, slots=True)
class ApplicationSubmitted:
    application_id: str
    case_id: str
    call_id: str
    programme: Programme
    unit_id: str
    unit_name: str
    category: Category
    province: str
    jurisdiction: str
    route: Route
    revision: int
    form_hash: str
    files: tuple[SubmittedFile, ...]
    linked_case_id: str | None
    form: tuple[FormEntry, ...]
    submitted_at: datetime


@dataclass(frozen=True, slots=True)
class ReceiptRecorded:
    """收件记录: the receiving office got the paper file. A fact, never a gate."""

    application_id: str
    case_id: str
    revision: int
    received_on: date
    recipient: str
    paper_copies: int


@dataclass(frozen=True, slots=True)
class ReturnRecorded:
    application_id: str
    case_id: str
    revision: int
    review_id: str
    level: str
    reasons: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class ApplicationResubmitted:
    application_id: str
    case_id: str
    call_id: str
    programme: Programme
    unit_id: str
    unit_name: str
    category: Category
    province: str
    jurisdiction: str
    route: Route
    revision: int
    form_hash: str
    files: tuple[SubmittedFile, ...]
    linked_case_id: str | None
    form: tuple[FormEntry, ...]
    submitted_at: datetime


@dataclass(frozen=True, slots=True)
class ApplicationWithdrawn:
    application_id: str
    case_id: str
    reason: str
    revision: int  # 0: withdrawn before it was ever submitted


@dataclass(frozen=True, slots=True)
class RejectionRecorded:
    application_id: str
    case_id: str
    revision: int
    review_id: str
    level: str
    reasons: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class DesignationRecorded:
    application_id: str
    case_id: str
    revision: int
    review_id: str
    base_id: str


# --- renewal of a designated base -------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class BaseDesignationRecorded:
    base_id: str
    case_id: str
    unit_id: str
    unit_name: str
    province: str
    jurisdiction: str
    term_start: date
    term_end: date


@dataclass(frozen=True, slots=True)
class RenewalWindowRecorded:
    base_id: str
    case_id: str
    opens_on: date
    closes_on: date
    term_end: date
    policy_version: str


@dataclass(frozen=True, slots=True)
class RenewalRequested:
    renewal_id: str
    case_id: str
    base_id: str
    unit_id: str
    unit_name: str
    province: str
    jurisdiction: str
    term_end: date
    statement: str
    policy_version: str


@dataclass(frozen=True, slots=True)
class RenewalRequestWithdrawn:
    renewal_id: str
    case_id: str
    base_id: str
    reason: str


@dataclass(frozen=True, slots=True)
class RenewalGrantRecorded:
    renewal_id: str
    case_id: str
    base_id: str
    term_start: date
    term_end: date


@dataclass(frozen=True, slots=True)
class RenewalRefusalRecorded:
    renewal_id: str
    case_id: str
    base_id: str
    reasons: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class TermRenewalRecorded:
    base_id: str
    case_id: str
    term_start: date
    term_end: date


@dataclass(frozen=True, slots=True)
class BaseExpiryRecorded:
    base_id: str
    case_id: str
    expired_on: date


@dataclass(frozen=True, slots=True)
class BaseRevocationRecorded:
    base_id: str
    case_id: str
    revoked_on: date


CallEvent: TypeAlias = CallOpened | CallClosed
ApplicationEvent: TypeAlias = (
    ApplicationDrafted
    | DraftUpdated
    | AttachmentAdded
    | AttachmentReplaced
    | AttachmentRemoved
    | WorkstationApplicationRequested
    | ApplicationSubmitted
    | ReceiptRecorded
    | ReturnRecorded
    | ApplicationResubmitted
    | ApplicationWithdrawn
    | RejectionRecorded
    | DesignationRecorded
)
RenewalEvent: TypeAlias = (
    BaseDesignationRecorded
    | RenewalWindowRecorded
    | RenewalRequested
    | RenewalRequestWithdrawn
    | RenewalGrantRecorded
    | RenewalRefusalRecorded
    | TermRenewalRecorded
    | BaseExpiryRecorded
    | BaseRevocationRecorded
)

EVENTS: tuple[type, ...] = (
    CallOpened,
    CallClosed,
    ApplicationDrafted,
    DraftUpdated,
    AttachmentAdded,
    AttachmentReplaced,
    AttachmentRemoved,
    WorkstationApplicationRequested,
    ApplicationSubmitted,
    ReceiptRecorded,
    ReturnRecorded,
    ApplicationResubmitted,
    ApplicationWithdrawn,
    RejectionRecorded,
    DesignationRecorded,
    BaseDesignationRecorded,
    RenewalWindowRecorded,
    RenewalRequested,
    RenewalRequestWithdrawn,
    RenewalGrantRecorded,
    RenewalRefusalRecorded,
    TermRenewalRecorded,
    BaseExpiryRecorded,
    BaseRevocationRecorded,
)
