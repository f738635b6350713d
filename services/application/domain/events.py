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

from shared.issuance import DocumentIssued


class Programme(StrEnum):
    NATIONAL_BASE = "national_base"  # 中国科协海智计划工作基地
    PROVINCIAL_WORKSTATION = "provincial_workstation"  # 省科协海智计划工作站, Notice §5(3)


class Category(StrEnum):
    """The kind of applicant unit (Notice §3). Stored events keep the first nine values; the
    route now follows the unit's administrative `Level`, not its category."""

    PROVINCIAL_UNIT = "provincial_unit"
    CENTRAL_UNIT = "central_unit"
    UNIVERSITY = "university"
    PREFECTURE_CAST = "prefecture_cast"
    NATIONAL_SOCIETY = "national_society"
    PARK = "park"
    PREFECTURE_INSTITUTE = "prefecture_institute"
    ENTERPRISE = "enterprise"
    PREFECTURE_INSTITUTION = "prefecture_institution"
    RESEARCH_INSTITUTE = "research_institute"  # 科研院所
    INSTITUTION = "institution"  # 事业单位


class Level(StrEnum):
    """A unit's administrative level: who verifies its registration and its route."""

    CENTRAL = "central"  # 中央在滇单位: central units in the province
    PROVINCIAL = "provincial"  # 省直/省属: provincial departments and provincial-owned units
    PREFECTURE = "prefecture"  # 州市所属: owned by a prefecture (e.g. 昆明学院)


class UnitStatus(StrEnum):
    PENDING = "pending"
    VERIFIED = "verified"
    RETURNED = "returned"


class Office(StrEnum):
    """The CAST that verifies a unit's registration."""

    PREFECTURE = "prefecture"
    PROVINCE = "province"


class Route(StrEnum):
    DIRECT = "direct"
    VIA_PREFECTURE = "via_prefecture"


class Slot(StrEnum):
    """Where an attachment belongs (Art. 7; Annex 2). Every slot but `extra` holds one file."""

    SUPPORT_LETTER = "support_letter"
    CONSTRUCTION_PLAN = "construction_plan"
    OVERSEAS_COOPERATION = "overseas_cooperation"
    POLICY_MEASURES = "policy_measures"
    SIGNED_FORM = "signed_form"  # Art. 7(2): the form page signed and sealed (签字盖章)
    EXTRA = "extra"


MATERIAL_SLOTS: tuple[Slot, ...] = (
    Slot.SUPPORT_LETTER,
    Slot.CONSTRUCTION_PLAN,
    Slot.OVERSEAS_COOPERATION,
    Slot.POLICY_MEASURES,
)


#: Required by every submission whatever the call says: the signed and sealed form page.
ALWAYS_REQUIRED: tuple[Slot, ...] = (Slot.SIGNED_FORM,)


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
    material: str | None = None  # in slot `extra`: the call's additional material it answers


@dataclass(frozen=True, slots=True)
class Contact:
    name: str
    phone: str
    email: str


@dataclass(frozen=True, slots=True)
class SubmissionAddress:
    """Where the paper copies go (Notice §5(2))."""

    address: str
    postcode: str
    recipient: str  # office and person


# --- organisation registry --------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class UnitRegistered:
    unit_id: str
    name: str
    credit_code: str  # 统一社会信用代码, GB 32100-2015
    category: Category
    level: Level
    province: str
    jurisdiction: str
    contacts: tuple[Contact, ...]
    address: str


@dataclass(frozen=True, slots=True)
class UnitRegistrationAmended:
    """The whole registration after the amendment, and its status: a verified unit whose name,
    code, category, level or jurisdiction changed, or a returned one, is pending again."""

    unit_id: str
    name: str
    credit_code: str
    category: Category
    level: Level
    province: str
    jurisdiction: str
    contacts: tuple[Contact, ...]
    address: str
    status: UnitStatus


@dataclass(frozen=True, slots=True)
class UnitVerified:
    unit_id: str
    province: str
    jurisdiction: str
    level: Level
    office: Office
    opinion: str | None


@dataclass(frozen=True, slots=True)
class UnitRegistrationReturned:
    unit_id: str
    office: Office
    reasons: tuple[str, ...]


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
    opened_on: date | None = None  # CST; None in calls opened before it was recorded
    additional_materials: tuple[str, ...] = ()  # named materials beyond Art. 7, slot `extra`
    contacts: tuple[Contact, ...] = ()
    submission_address: SubmissionAddress | None = None


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
    level: Level | None = None  # None: drafted before the registry (route from the category)
    credit_code: str | None = None


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
    material: str | None = None


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
    material: str | None = None


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
    call_opened_on: date | None = None  # None only in events stored before it was carried
    level: Level | None = None
    credit_code: str | None = None


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
    call_opened_on: date | None = None  # None only in events stored before it was carried
    level: Level | None = None
    credit_code: str | None = None


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


@dataclass(frozen=True, slots=True)
class WorkstationDesignationRecorded:
    """Review's `WorkstationDesignated`: the provincial CAST approved the work station."""

    application_id: str
    case_id: str
    revision: int
    review_id: str
    station_id: str
    certificate_no: str


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
class RenewalReturnRecorded:
    """Review's `RenewalReturned`: the province asks the unit to complete its request."""

    renewal_id: str
    case_id: str
    base_id: str
    reasons: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class RenewalRequestResubmitted:
    renewal_id: str
    case_id: str
    base_id: str
    statement: str


@dataclass(frozen=True, slots=True)
class RenewalPendingPastTermRecorded:
    """Assessment's `RenewalPendingPastTerm`: the term ended, the base stays designated until
    the decision on the request filed in the window."""

    base_id: str
    case_id: str
    renewal_id: str
    term_end: date


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
    reason: str = "term_ended"  # or renewal_refused, renewal_withdrawn (assessment's reason)


@dataclass(frozen=True, slots=True)
class BaseRevocationRecorded:
    base_id: str
    case_id: str
    revoked_on: date


UnitEvent: TypeAlias = (
    UnitRegistered | UnitRegistrationAmended | UnitVerified | UnitRegistrationReturned
)
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
    | WorkstationDesignationRecorded
)
RenewalEvent: TypeAlias = (
    BaseDesignationRecorded
    | RenewalWindowRecorded
    | RenewalRequested
    | RenewalRequestWithdrawn
    | RenewalReturnRecorded
    | RenewalRequestResubmitted
    | RenewalPendingPastTermRecorded
    | RenewalGrantRecorded
    | RenewalRefusalRecorded
    | TermRenewalRecorded
    | BaseExpiryRecorded
    | BaseRevocationRecorded
)

EVENTS: tuple[type, ...] = (
    UnitRegistered,
    UnitRegistrationAmended,
    UnitVerified,
    UnitRegistrationReturned,
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
    WorkstationDesignationRecorded,
    BaseDesignationRecorded,
    RenewalWindowRecorded,
    RenewalRequested,
    RenewalRequestWithdrawn,
    RenewalReturnRecorded,
    RenewalRequestResubmitted,
    RenewalPendingPastTermRecorded,
    RenewalGrantRecorded,
    RenewalRefusalRecorded,
    TermRenewalRecorded,
    BaseExpiryRecorded,
    BaseRevocationRecorded,
    DocumentIssued,  # the Annex 2 form and the receipt record (shared.issuance)
)
