"""The commands of the application service, all in one place.

Every command carries `at` (aware UTC, from the injected clock) and `by` (the acting user);
commands an applicant unit gives also carry `by_org`, the unit the user acts for. New ids,
snapshots of other aggregates and the policy arrive on the command: the domain looks nothing up.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time
from typing import TypeAlias

from .events import (
    MATERIAL_SLOTS,
    CallStatus,
    Category,
    Contact,
    Level,
    Office,
    Programme,
    Slot,
    SubmissionAddress,
    UnitStatus,
)
from .form import FieldValue
from .policy import RenewalPolicy

# --- organisation registry --------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Registration:
    """What a unit declares of itself; the credit code as typed (the decider normalises it)."""

    name: str
    credit_code: str
    category: Category
    level: Level
    jurisdiction: str
    contacts: tuple[Contact, ...]
    address: str


@dataclass(frozen=True, slots=True)
class RegisterUnit:
    """`credit_code_held_by`: another unit registered under the code (read by the use case)."""

    unit_id: str
    registration: Registration
    at: datetime
    by: str
    by_org: str
    credit_code_held_by: str | None = None


@dataclass(frozen=True, slots=True)
class AmendUnitRegistration:
    """Only the fields given (not None) change. `credit_code_held_by`: another unit registered
    under the new code (read by the use case)."""

    unit_id: str
    at: datetime
    by: str
    by_org: str
    name: str | None = None
    credit_code: str | None = None
    category: Category | None = None
    level: Level | None = None
    jurisdiction: str | None = None
    contacts: tuple[Contact, ...] | None = None
    address: str | None = None
    credit_code_held_by: str | None = None


@dataclass(frozen=True, slots=True)
class VerifyUnit:
    """By the unit's CAST; the API checked the officer's role and jurisdiction against `office`."""

    unit_id: str
    office: Office
    at: datetime
    by: str
    opinion: str | None = None


@dataclass(frozen=True, slots=True)
class ReturnUnitRegistration:
    unit_id: str
    office: Office
    reasons: tuple[str, ...]
    at: datetime
    by: str


@dataclass(frozen=True, slots=True)
class UnitSnapshot:
    """The unit's registration as an application command carries it."""

    unit_id: str
    name: str
    credit_code: str
    category: Category
    level: Level
    province: str
    jurisdiction: str
    status: UnitStatus


# --- call for applications -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class OpenCall:
    """`deadline_time` is a Beijing wall-clock time on `deadline_on`; None: the day's end."""

    call_id: str
    province: str
    year: int
    title: str
    deadline_on: date
    at: datetime
    by: str
    by_jurisdiction: str
    deadline_time: time | None = None
    required_slots: tuple[Slot, ...] = MATERIAL_SLOTS
    allows_workstation: bool = False
    paper_copies: int = 0
    additional_materials: tuple[str, ...] = ()
    contacts: tuple[Contact, ...] = ()
    submission_address: SubmissionAddress | None = None


@dataclass(frozen=True, slots=True)
class CloseCall:
    call_id: str
    at: datetime
    by: str


@dataclass(frozen=True, slots=True)
class CallSnapshot:
    """What an application needs to know of its call, read by the use case from the call."""

    call_id: str
    province: str
    status: CallStatus
    deadline: datetime
    required_slots: tuple[Slot, ...]
    allows_workstation: bool
    opened_on: date | None = None
    additional_materials: tuple[str, ...] = ()


# --- application ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class UploadedFile:
    """An uploaded file as the domain sees it; the bytes are stored elsewhere by their hash."""

    name: str
    media_type: str
    size: int
    sha256: str


@dataclass(frozen=True, slots=True)
class InitialAttachment:
    attachment_id: str
    slot: Slot
    file: UploadedFile
    material: str | None = None


@dataclass(frozen=True, slots=True)
class DraftApplication:
    """`unit` is the unit's registration (None: never registered); `active_application_id`
    the unit's active application under the same call and programme, `active_base_id` the
    active base it holds (both read by the use case). `content` and `attachments` pre-fill
    the draft (e.g. a linked work station application)."""

    application_id: str
    case_id: str
    call: CallSnapshot
    programme: Programme
    unit: UnitSnapshot | None
    at: datetime
    by: str
    by_org: str
    linked_case_id: str | None = None
    content: Mapping[str, FieldValue] = field(default_factory=dict)
    attachments: tuple[InitialAttachment, ...] = ()
    active_application_id: str | None = None
    active_base_id: str | None = None


@dataclass(frozen=True, slots=True)
class UpdateDraft:
    """Only the fields that changed; `None` empties a field."""

    application_id: str
    changes: Mapping[str, FieldValue]
    at: datetime
    by: str
    by_org: str


@dataclass(frozen=True, slots=True)
class AddAttachment:
    """`material`: in slot `extra`, the call's additional material the file answers."""

    application_id: str
    attachment_id: str
    slot: Slot
    file: UploadedFile
    at: datetime
    by: str
    by_org: str
    material: str | None = None


@dataclass(frozen=True, slots=True)
class ReplaceAttachment:
    application_id: str
    attachment_id: str
    file: UploadedFile
    at: datetime
    by: str
    by_org: str


@dataclass(frozen=True, slots=True)
class RemoveAttachment:
    application_id: str
    attachment_id: str
    at: datetime
    by: str
    by_org: str


@dataclass(frozen=True, slots=True)
class RequestWorkstationApplication:
    """Notice §5(3): the unit also applies for the provincial work station."""

    application_id: str
    linked_application_id: str
    linked_case_id: str
    call: CallSnapshot
    at: datetime
    by: str
    by_org: str


@dataclass(frozen=True, slots=True)
class SubmitApplication:
    """Submits a draft, or resubmits an application returned for revision. `active_base_id`
    is the active base the unit holds, `unit` its registration (None: never registered), both
    read by the use case: a draft from before the registry takes who applies from it."""

    application_id: str
    call: CallSnapshot
    at: datetime
    by: str
    by_org: str
    active_base_id: str | None = None
    unit: UnitSnapshot | None = None


@dataclass(frozen=True, slots=True)
class WithdrawApplication:
    application_id: str
    reason: str
    at: datetime
    by: str
    by_org: str


@dataclass(frozen=True, slots=True)
class RecordReceipt:
    application_id: str
    received_on: date
    recipient: str
    paper_copies: int
    at: datetime
    by: str


@dataclass(frozen=True, slots=True)
class RecordReturn:
    """From review's `ApplicationReturned`."""

    application_id: str
    review_id: str
    level: str
    reasons: tuple[str, ...]
    at: datetime
    by: str


@dataclass(frozen=True, slots=True)
class RecordRejection:
    """From review's `ApplicationRejected`."""

    application_id: str
    review_id: str
    level: str
    reasons: tuple[str, ...]
    at: datetime
    by: str


@dataclass(frozen=True, slots=True)
class RecordDesignation:
    """From review's `BaseDesignated`."""

    application_id: str
    review_id: str
    base_id: str
    at: datetime
    by: str


@dataclass(frozen=True, slots=True)
class RecordWorkstationDesignation:
    """From review's `WorkstationDesignated` (Notice §5(3)): no base, no renewal."""

    application_id: str
    review_id: str
    station_id: str
    certificate_no: str
    at: datetime
    by: str


# --- renewal of a designated base -------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RecordBaseDesignation:
    """From review's `BaseDesignated`: the base and its first term."""

    base_id: str
    case_id: str
    unit_id: str
    unit_name: str
    province: str
    jurisdiction: str
    term_start: date
    term_end: date
    at: datetime
    by: str


@dataclass(frozen=True, slots=True)
class RecordRenewalWindow:
    """From assessment's `RenewalWindowOpened`."""

    base_id: str
    opens_on: date
    closes_on: date
    term_end: date
    policy_version: str
    at: datetime
    by: str


@dataclass(frozen=True, slots=True)
class RequestRenewal:
    """Art. 14: the written renewal request, filed through the provincial CAST."""

    base_id: str
    renewal_id: str
    statement: str
    policy: RenewalPolicy
    at: datetime
    by: str
    by_org: str


@dataclass(frozen=True, slots=True)
class WithdrawRenewalRequest:
    base_id: str
    renewal_id: str
    reason: str
    at: datetime
    by: str
    by_org: str


@dataclass(frozen=True, slots=True)
class ResubmitRenewalRequest:
    """The unit completes a request the province returned."""

    base_id: str
    renewal_id: str
    statement: str
    at: datetime
    by: str
    by_org: str


@dataclass(frozen=True, slots=True)
class RecordRenewalReturn:
    """From review's `RenewalReturned`."""

    base_id: str
    renewal_id: str
    reasons: tuple[str, ...]
    at: datetime
    by: str


@dataclass(frozen=True, slots=True)
class RecordRenewalPendingPastTerm:
    """From assessment's `RenewalPendingPastTerm`."""

    base_id: str
    renewal_id: str
    term_end: date
    at: datetime
    by: str


@dataclass(frozen=True, slots=True)
class RecordRenewalGrant:
    """From review's `RenewalGranted`."""

    base_id: str
    renewal_id: str
    term_start: date
    term_end: date
    at: datetime
    by: str


@dataclass(frozen=True, slots=True)
class RecordRenewalRefusal:
    """From review's `RenewalRefused`."""

    base_id: str
    renewal_id: str
    reasons: tuple[str, ...]
    at: datetime
    by: str


@dataclass(frozen=True, slots=True)
class RecordTermRenewal:
    """From assessment's `TermRenewed`."""

    base_id: str
    term_start: date
    term_end: date
    at: datetime
    by: str


@dataclass(frozen=True, slots=True)
class RecordBaseExpiry:
    """From assessment's `BaseExpired`."""

    base_id: str
    expired_on: date
    at: datetime
    by: str
    reason: str = "term_ended"


@dataclass(frozen=True, slots=True)
class RecordBaseRevocation:
    """From assessment's `BaseRevoked`."""

    base_id: str
    revoked_on: date
    at: datetime
    by: str


UnitCommand: TypeAlias = RegisterUnit | AmendUnitRegistration | VerifyUnit | ReturnUnitRegistration
CallCommand: TypeAlias = OpenCall | CloseCall
ApplicationCommand: TypeAlias = (
    DraftApplication
    | UpdateDraft
    | AddAttachment
    | ReplaceAttachment
    | RemoveAttachment
    | RequestWorkstationApplication
    | SubmitApplication
    | WithdrawApplication
    | RecordReceipt
    | RecordReturn
    | RecordRejection
    | RecordDesignation
    | RecordWorkstationDesignation
)
RenewalCommand: TypeAlias = (
    RecordBaseDesignation
    | RecordRenewalWindow
    | RequestRenewal
    | WithdrawRenewalRequest
    | ResubmitRenewalRequest
    | RecordRenewalReturn
    | RecordRenewalPendingPastTerm
    | RecordRenewalGrant
    | RecordRenewalRefusal
    | RecordTermRenewal
    | RecordBaseExpiry
    | RecordBaseRevocation
)
