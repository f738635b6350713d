"""An application (申报) for a HaiZhi work base, or for the provincial work station.

Its life: drafted under an open call → the Annex 2 form filled field by field and the
materials attached → submitted, then frozen → returned for revision and resubmitted, any
number of times → designated or rejected, both final. Withdrawal is possible until then.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import TypeAlias, assert_never

from shared.decider import Decider, DomainError

from . import form
from .commands import (
    AddAttachment,
    ApplicationCommand,
    CallSnapshot,
    DraftApplication,
    RecordDesignation,
    RecordReceipt,
    RecordRejection,
    RecordReturn,
    RecordWorkstationDesignation,
    RemoveAttachment,
    ReplaceAttachment,
    RequestWorkstationApplication,
    SubmitApplication,
    UpdateDraft,
    UploadedFile,
    WithdrawApplication,
)
from .dossier import Attachment, Dossier
from .errors import (
    ActiveBaseHeld,
    ApplicationAlreadyActive,
    ApplicationAlreadyExists,
    ApplicationClosed,
    ApplicationFrozen,
    ApplicationNotFound,
    AttachmentAlreadyExists,
    AttachmentNotFound,
    CallClosed,
    InvalidApplicant,
    InvalidAttachment,
    InvalidFormValues,
    InvalidReceipt,
    NotApplicantUnit,
    NotSubmitted,
    NotUnderReview,
    OutsideCallProvince,
    SlotAlreadyFilled,
    SubmissionIncomplete,
    UnitNotRegistered,
    UnitNotVerified,
    UnknownFormFields,
    WorkstationAlreadyRequested,
    WorkstationNeedsNationalApplication,
    WorkstationNotOffered,
    WrongCall,
    refused,
)
from .events import (
    ALWAYS_REQUIRED,
    ApplicationDrafted,
    ApplicationEvent,
    ApplicationResubmitted,
    ApplicationSubmitted,
    ApplicationWithdrawn,
    AttachmentAdded,
    AttachmentRemoved,
    AttachmentReplaced,
    CallStatus,
    DesignationRecorded,
    DraftUpdated,
    Programme,
    ReceiptRecorded,
    RejectionRecorded,
    ReturnRecorded,
    Slot,
    UnitStatus,
    WorkstationApplicationRequested,
    WorkstationDesignationRecorded,
)
from .form import FieldValue


@dataclass(frozen=True, slots=True)
class NoApplication:
    pass


@dataclass(frozen=True, slots=True)
class Draft:
    dossier: Dossier


@dataclass(frozen=True, slots=True)
class Submitted:
    dossier: Dossier
    revision: int
    receipt: ReceiptRecorded | None = None


@dataclass(frozen=True, slots=True)
class Returned:
    dossier: Dossier
    revision: int
    review_id: str
    receipt: ReceiptRecorded | None = None


@dataclass(frozen=True, slots=True)
class Withdrawn:
    application_id: str
    unit_id: str


@dataclass(frozen=True, slots=True)
class Rejected:
    application_id: str
    unit_id: str
    review_id: str


@dataclass(frozen=True, slots=True)
class Designated:
    application_id: str
    unit_id: str
    review_id: str


State: TypeAlias = NoApplication | Draft | Submitted | Returned | Withdrawn | Rejected | Designated
_BY_APPLICANT = (
    DraftApplication,
    UpdateDraft,
    AddAttachment,
    ReplaceAttachment,
    RemoveAttachment,
    RequestWorkstationApplication,
    SubmitApplication,
    WithdrawApplication,
)


def initial_state() -> State:
    return NoApplication()


def evolve(state: State, event: ApplicationEvent) -> State:
    match event:
        case ApplicationDrafted():
            return Draft(Dossier.drafted(event))
        case DraftUpdated(changes=changes):
            return _edit(state, lambda d: d.with_form(changes))
        case AttachmentAdded():
            return _edit(state, lambda d: d.with_file(Attachment.of(event)))
        case AttachmentReplaced():
            return _edit(state, lambda d: d.with_file(Attachment.of(event)))
        case AttachmentRemoved(attachment_id=gone):
            return _edit(state, lambda d: d.without(gone))
        case WorkstationApplicationRequested(linked_case_id=linked):
            return _edit(state, lambda d: replace(d, linked_case_id=linked))
        case ApplicationSubmitted(revision=revision) | ApplicationResubmitted(revision=revision):
            return Submitted(_dossier(state).submitted_as(event), revision)
        case ReceiptRecorded():
            return (
                replace(state, receipt=event) if isinstance(state, Submitted | Returned) else state
            )
        case ReturnRecorded(revision=revision, review_id=review_id):
            return Returned(_dossier(state), revision, review_id)
        case ApplicationWithdrawn():
            return Withdrawn(event.application_id, _dossier(state).unit_id)
        case RejectionRecorded(review_id=review_id):
            return Rejected(event.application_id, _dossier(state).unit_id, review_id)
        case DesignationRecorded(review_id=review_id):
            return Designated(event.application_id, _dossier(state).unit_id, review_id)
        case WorkstationDesignationRecorded(review_id=review_id):
            return Designated(event.application_id, _dossier(state).unit_id, review_id)
        case _:
            assert_never(event)


def decide(command: ApplicationCommand, state: State) -> list[ApplicationEvent]:
    if isinstance(command, _BY_APPLICANT) and _unit_of(state) not in (None, command.by_org):
        raise refused(NotApplicantUnit, command, state, "it is another unit's application")
    match (command, state):
        case (DraftApplication(), NoApplication()):
            return _draft(command, state)
        case (DraftApplication(), Draft(dossier=d)) if _same_identity(command, d):
            return []
        case (DraftApplication(), _):
            raise refused(ApplicationAlreadyExists, command, state, command.application_id)
        case (_, NoApplication()):
            raise refused(ApplicationNotFound, command, state, command.application_id)

        case (UpdateDraft(), Draft(dossier=d) | Returned(dossier=d)):
            entries = form.changed(d.form, _clean(command, state, command.changes))
            return [DraftUpdated(d.application_id, d.case_id, entries)] if entries else []
        case (AddAttachment(), Draft(dossier=d) | Returned(dossier=d)):
            add = command
            return _add(add, state, d, add.attachment_id, add.slot, add.file, add.material)
        case (ReplaceAttachment(), Draft(dossier=d) | Returned(dossier=d)):
            return _replace(command, state, d)
        case (RemoveAttachment(), Draft(dossier=d) | Returned(dossier=d)):
            old = d.find(command.attachment_id)
            if old is None:  # removing is idempotent, like DELETE
                return []
            gone = AttachmentRemoved(
                d.application_id, d.case_id, old.attachment_id, old.slot, old.file.sha256
            )
            return [gone]
        case (UpdateDraft() | AddAttachment() | ReplaceAttachment() | RemoveAttachment(), _):
            raise _closed_or_frozen(command, state)

        case (
            RequestWorkstationApplication(),
            Draft(dossier=d) | Submitted(dossier=d) | Returned(dossier=d),
        ):
            return _request_workstation(command, state, d)
        case (RequestWorkstationApplication(), _):
            raise refused(ApplicationClosed, command, state, "the application is closed")

        case (SubmitApplication(), Draft(dossier=d)):
            _require_open_call(command, state, command.call)  # Notice §5(2): the deadline
            d = _registered_applicant(command, state, d)
            _require_no_active_base(command, state, d)
            _require_complete(command, state, d)
            return [_submission(ApplicationSubmitted, command, d, revision=1)]
        case (SubmitApplication(), Returned(dossier=d, revision=revision)):
            # A return reopens the file after the call has closed: the deadline binds only
            # the first submission, or no revision could ever be resubmitted.
            d = _registered_applicant(command, state, d)
            _require_no_active_base(command, state, d)
            _require_complete(command, state, d)
            return [_submission(ApplicationResubmitted, command, d, revision=revision + 1)]
        case (SubmitApplication(), Submitted()):
            return []
        case (SubmitApplication(), _):
            raise refused(ApplicationClosed, command, state, "the application is closed")

        case (WithdrawApplication(), Draft(dossier=d)):
            return [ApplicationWithdrawn(d.application_id, d.case_id, command.reason, 0)]
        case (
            WithdrawApplication(),
            Submitted(dossier=d, revision=r) | Returned(dossier=d, revision=r),
        ):
            return [ApplicationWithdrawn(d.application_id, d.case_id, command.reason, r)]
        case (WithdrawApplication(), Withdrawn()):
            return []
        case (WithdrawApplication(), _):  # Rejected or Designated
            raise refused(ApplicationClosed, command, state, "a final decision has been made")

        case (
            RecordReceipt(),
            Submitted(dossier=d, revision=r, receipt=last)
            | Returned(dossier=d, revision=r, receipt=last),
        ):
            receipt = _receipt(command, state, d, r)
            return [] if receipt == last else [receipt]
        case (RecordReceipt(), Draft()):
            raise refused(NotSubmitted, command, state, "there is nothing to receive yet")
        case (RecordReceipt(), _):
            raise refused(ApplicationClosed, command, state, "the application is closed")

        case (
            RecordReturn(review_id=rid, level=level, reasons=why),
            Submitted(dossier=d, revision=r),
        ):
            return [ReturnRecorded(d.application_id, d.case_id, r, rid, level, why)]
        case (RecordReturn(review_id=rid), Returned(review_id=returned)) if rid == returned:
            return []
        case (
            RecordRejection(review_id=rid, level=level, reasons=why),
            Submitted(dossier=d, revision=r) | Returned(dossier=d, revision=r),
        ):
            return [RejectionRecorded(d.application_id, d.case_id, r, rid, level, why)]
        case (RecordRejection(review_id=rid), Rejected(review_id=rejected)) if rid == rejected:
            return []
        case (RecordReturn() | RecordRejection(), Withdrawn()):
            # The withdrawal crossed the review's decision in flight: nothing left to change.
            return []
        case (RecordDesignation(review_id=rid, base_id=base), Submitted(dossier=d, revision=r)):
            return [DesignationRecorded(d.application_id, d.case_id, r, rid, base)]
        case (RecordDesignation(review_id=rid), Designated(review_id=designated)) if (
            rid == designated
        ):
            return []
        case (
            RecordWorkstationDesignation(review_id=rid),
            Submitted(dossier=d, revision=r),
        ) if d.programme is Programme.PROVINCIAL_WORKSTATION:  # Notice §5(3)
            station, certificate = command.station_id, command.certificate_no
            return [
                WorkstationDesignationRecorded(
                    d.application_id, d.case_id, r, rid, station, certificate
                )
            ]
        case (RecordWorkstationDesignation(review_id=rid), Designated(review_id=designated)) if (
            rid == designated
        ):
            return []
        case (
            RecordReturn()
            | RecordRejection()
            | RecordDesignation()
            | RecordWorkstationDesignation(),
            _,
        ):
            raise refused(NotUnderReview, command, state, "no submission awaits this decision")
        case _:
            assert_never(command)


def _draft(command: DraftApplication, state: State) -> list[ApplicationEvent]:
    _require_open_call(command, state, command.call)
    unit = command.unit
    if unit is None:
        why = f"unit {command.by_org} has not registered: register it with POST /units first"
        raise refused(UnitNotRegistered, command, state, why)
    if command.by_org != unit.unit_id:
        raise refused(NotApplicantUnit, command, state, "a unit drafts only its own application")
    if unit.status is not UnitStatus.VERIFIED:  # Notice §3: its CAST vouches for the unit
        why = (
            "the unit's registration awaits its CAST's verification"
            if unit.status is UnitStatus.PENDING
            else "the unit's registration was returned: amend it (PATCH /units/{id})"
        )
        raise refused(UnitNotVerified, command, state, why, unit_status=str(unit.status))
    code = unit.jurisdiction
    if not (code.isascii() and code.isdigit() and len(code) >= 2) or not unit.name.strip():
        raise refused(InvalidApplicant, command, state, "unit name or jurisdiction code invalid")
    if command.call.province != unit.province:  # Notice §1: units in the province
        raise refused(OutsideCallProvince, command, state, f"{code} is not in the call's province")
    if command.programme is Programme.PROVINCIAL_WORKSTATION:  # Notice §5(3)
        if not command.call.allows_workstation:
            raise refused(WorkstationNotOffered, command, state, "the call offers no work station")
        if command.linked_case_id is None:
            raise refused(
                WorkstationNeedsNationalApplication, command, state, "no linked national case"
            )
    active = command.active_application_id
    if active is not None and active != command.application_id:  # one per unit, call, programme
        why = f"application {active} is active under call {command.call.call_id}"
        raise refused(ApplicationAlreadyActive, command, state, why, application_id=active)
    base = command.active_base_id
    if base is not None and command.programme is Programme.NATIONAL_BASE:  # Art. 14: renew it
        why = f"the unit holds base {base}: ask for its renewal instead"
        raise refused(ActiveBaseHeld, command, state, why, base_id=base)
    drafted = ApplicationDrafted(
        application_id=command.application_id,
        case_id=command.case_id,
        call_id=command.call.call_id,
        programme=command.programme,
        unit_id=unit.unit_id,
        unit_name=unit.name,
        category=unit.category,
        province=unit.province,
        jurisdiction=code,
        linked_case_id=command.linked_case_id,
        level=unit.level,
        credit_code=unit.credit_code,
    )
    events: list[ApplicationEvent] = [drafted]
    current = evolve(state, drafted)
    entries = form.changed(_dossier(current).form, _clean(command, state, command.content))
    if entries:
        events.append(DraftUpdated(command.application_id, command.case_id, entries))
    for extra in command.attachments:  # checked one by one, as AddAttachment would be
        added = _add(
            command, state, _dossier(current), extra.attachment_id, extra.slot, extra.file,
            extra.material,
        )  # fmt: skip
        events.extend(added)
        current = evolve(current, added[0]) if added else current
    return events


def _same_identity(command: DraftApplication, dossier: Dossier) -> bool:
    return (command.case_id, command.call.call_id, command.by_org, command.programme) == (
        dossier.case_id,
        dossier.call_id,
        dossier.unit_id,
        dossier.programme,
    )


def _clean(
    command: object, state: State, changes: Mapping[str, FieldValue]
) -> dict[str, FieldValue]:
    unknown = form.unknown(changes)
    if unknown:
        why = f"unknown form fields: {', '.join(unknown)}"
        raise refused(UnknownFormFields, command, state, why, unknown_fields=unknown)
    cleaned, invalid = form.clean(changes)
    if invalid:
        why = f"invalid values for: {', '.join(invalid)}"
        raise refused(InvalidFormValues, command, state, why, invalid_fields=invalid)
    return cleaned


def _add(
    command: object,
    state: State,
    d: Dossier,
    attachment_id: str,
    slot: Slot,
    file: UploadedFile,
    material: str | None = None,
) -> list[ApplicationEvent]:
    _check_file(command, state, file)
    material = (material or "").strip() or None
    if material is not None and slot is not Slot.EXTRA:
        why = "only a file in slot extra answers a named additional material"
        raise refused(InvalidAttachment, command, state, why)
    existing = d.find(attachment_id)
    if existing is not None:
        if existing == Attachment(attachment_id, slot, file, material):
            return []
        raise refused(AttachmentAlreadyExists, command, state, attachment_id)
    filled = d.holder_of(slot)
    if filled is not None:
        why = f"{slot} holds {filled.attachment_id}: replace it instead"
        raise refused(SlotAlreadyFilled, command, state, why, attachment_id=filled.attachment_id)
    f = file
    return [
        AttachmentAdded(
            d.application_id,
            d.case_id,
            attachment_id,
            slot,
            f.name,
            f.media_type,
            f.size,
            f.sha256,
            material,
        )
    ]


def _replace(command: ReplaceAttachment, state: State, d: Dossier) -> list[ApplicationEvent]:
    _check_file(command, state, command.file)
    old = d.find(command.attachment_id)
    if old is None:
        raise refused(AttachmentNotFound, command, state, command.attachment_id)
    if old.file == command.file:
        return []
    f = command.file
    return [
        AttachmentReplaced(
            d.application_id,
            d.case_id,
            old.attachment_id,
            old.slot,
            f.name,
            f.media_type,
            f.size,
            f.sha256,
            previous_sha256=old.file.sha256,
            material=old.material,
        )
    ]


def _check_file(command: object, state: State, file: UploadedFile) -> None:
    digest = file.sha256
    hex_digest = len(digest) == 64 and all(c in "0123456789abcdef" for c in digest)
    if not (file.name.strip() and file.media_type.strip() and file.size > 0 and hex_digest):
        why = "a file needs a name, a media type, a positive size and a lowercase hex SHA-256"
        raise refused(InvalidAttachment, command, state, why)


def _request_workstation(
    command: RequestWorkstationApplication, state: State, d: Dossier
) -> list[ApplicationEvent]:
    if d.programme is not Programme.NATIONAL_BASE:
        why = "only a national base application can ask for a work station"
        raise refused(WorkstationNeedsNationalApplication, command, state, why)
    if d.linked_case_id == command.linked_case_id:
        return []
    if d.linked_case_id is not None:
        why = f"already linked to case {d.linked_case_id}"
        raise refused(WorkstationAlreadyRequested, command, state, why)
    _require_call(command, state, d, command.call)
    if not command.call.allows_workstation:  # Notice §5(3)
        raise refused(WorkstationNotOffered, command, state, "the call offers no work station")
    _require_open_call(command, state, command.call)
    return [
        WorkstationApplicationRequested(
            d.application_id, d.case_id, command.linked_application_id, command.linked_case_id
        )
    ]


def _require_call(command: object, state: State, d: Dossier, call: CallSnapshot) -> None:
    if call.call_id != d.call_id:
        raise refused(WrongCall, command, state, f"the application belongs to call {d.call_id}")


def _require_open_call(
    command: DraftApplication | SubmitApplication | RequestWorkstationApplication,
    state: State,
    call: CallSnapshot,
) -> None:
    if call.status is CallStatus.CLOSED or command.at >= call.deadline:
        deadline = call.deadline.isoformat()
        why = f"call {call.call_id} closed at its deadline {deadline}"
        raise refused(CallClosed, command, state, why, deadline=deadline)


def _registered_applicant(command: SubmitApplication, state: State, d: Dossier) -> Dossier:
    """Who applies, as the unit's verified registration says. A draft from before the registry
    (no level) declared its own category: its submission takes a fresh snapshot of the
    registration (name, credit code, category, level, jurisdiction) instead."""
    if d.level is not None:
        return d
    unit = command.unit
    if unit is None:
        why = (
            f"application {d.application_id} was drafted before the registry: register unit "
            f"{d.unit_id} with POST /units and have its CAST verify it before submitting"
        )
        raise refused(UnitNotRegistered, command, state, why)
    if unit.status is not UnitStatus.VERIFIED:
        why = (
            f"application {d.application_id} was drafted before the registry and takes who "
            "applies from the unit's verified registration, which awaits its CAST's verification"
        )
        raise refused(UnitNotVerified, command, state, why, unit_status=str(unit.status))
    if unit.unit_id != d.unit_id:
        raise refused(NotApplicantUnit, command, state, "it is another unit's application")
    if unit.province != command.call.province:  # Notice §1: units in the province
        why = f"{unit.jurisdiction} is not in the call's province"
        raise refused(OutsideCallProvince, command, state, why)
    return replace(
        d, unit_name=unit.name, category=unit.category, jurisdiction=unit.jurisdiction,
        level=unit.level, credit_code=unit.credit_code,
    )  # fmt: skip


def _require_no_active_base(command: SubmitApplication, state: State, d: Dossier) -> None:
    """One unit, one base: an application drafted under another call before the unit was
    designated cannot go forward once it holds a base (Art. 14: renewal is the way)."""
    base = command.active_base_id
    if base is not None and d.programme is Programme.NATIONAL_BASE:
        why = f"the unit holds base {base}: ask for its renewal instead"
        raise refused(ActiveBaseHeld, command, state, why, base_id=base)


def _require_complete(command: SubmitApplication, state: State, d: Dossier) -> None:
    """Art. 6, Art. 7, Annex 2: every field and every material, all reported at once; the
    signed and sealed form page (Art. 7(2)) whatever the call lists."""
    _require_call(command, state, d, command.call)
    fields = form.missing(d.form)
    required = (*command.call.required_slots, *ALWAYS_REQUIRED)
    materials = d.missing_materials(required, command.call.additional_materials)
    if fields or materials:
        why = (
            f"missing fields: {', '.join(fields) or '-'}; materials: {', '.join(materials) or '-'}"
        )
        raise refused(
            SubmissionIncomplete,
            command,
            state,
            why,
            missing_fields=fields,
            missing_materials=materials,
        )


def _submission(
    kind: type[ApplicationSubmitted] | type[ApplicationResubmitted],
    command: SubmitApplication,
    d: Dossier,
    revision: int,
) -> ApplicationSubmitted | ApplicationResubmitted:
    return kind(
        application_id=d.application_id,
        case_id=d.case_id,
        call_id=d.call_id,
        programme=d.programme,
        unit_id=d.unit_id,
        unit_name=d.unit_name,
        category=d.category,
        province=d.province,
        jurisdiction=d.jurisdiction,
        route=d.route,
        revision=revision,
        form_hash=form.digest(d.form),
        files=d.submitted_files(),
        linked_case_id=d.linked_case_id,
        form=form.entries(d.form),
        submitted_at=command.at,
        call_opened_on=command.call.opened_on,
        level=d.level,
        credit_code=d.credit_code,
    )


def _receipt(command: RecordReceipt, state: State, d: Dossier, revision: int) -> ReceiptRecorded:
    if not command.recipient.strip() or command.paper_copies < 0:
        why = "a receipt names its recipient and a paper copy count of zero or more"
        raise refused(InvalidReceipt, command, state, why)
    return ReceiptRecorded(
        d.application_id,
        d.case_id,
        revision,
        command.received_on,
        command.recipient,
        command.paper_copies,
    )


def _closed_or_frozen(command: object, state: State) -> DomainError:
    if isinstance(state, Submitted):
        return refused(ApplicationFrozen, command, state, "submitted applications are frozen")
    return refused(ApplicationClosed, command, state, "the application is closed")


def _unit_of(state: State) -> str | None:
    match state:
        case Draft(dossier=d) | Submitted(dossier=d) | Returned(dossier=d):
            return d.unit_id
        case Withdrawn(unit_id=unit) | Rejected(unit_id=unit) | Designated(unit_id=unit):
            return unit
        case NoApplication():
            return None
        case _:
            assert_never(state)


def _dossier(state: State) -> Dossier:
    match state:
        case Draft(dossier=d) | Submitted(dossier=d) | Returned(dossier=d):
            return d
    raise AssertionError(f"{type(state).__name__} holds no dossier")


def _edit(state: State, change: Callable[[Dossier], Dossier]) -> State:
    match state:
        case Draft(dossier=d) | Submitted(dossier=d) | Returned(dossier=d):
            return replace(state, dossier=change(d))
    return state


decider = Decider(decide=decide, evolve=evolve, initial_state=initial_state)
