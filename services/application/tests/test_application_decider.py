"""An application: drafted, filled in, attached, submitted, returned and resubmitted, decided."""

from __future__ import annotations

import hashlib
import json
from dataclasses import fields, replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from pydantic import TypeAdapter

from services.application.domain.application import decider
from services.application.domain.commands import (
    AddAttachment,
    CallSnapshot,
    DraftApplication,
    InitialAttachment,
    RecordDesignation,
    RecordReceipt,
    RecordRejection,
    RecordReturn,
    RecordWorkstationDesignation,
    RemoveAttachment,
    ReplaceAttachment,
    RequestWorkstationApplication,
    SubmitApplication,
    UnitSnapshot,
    UpdateDraft,
    UploadedFile,
    WithdrawApplication,
)
from services.application.domain.dossier import route_for
from services.application.domain.errors import (
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
)
from services.application.domain.events import (
    EVENTS,
    MATERIAL_SLOTS,
    ApplicationDrafted,
    ApplicationEvent,
    ApplicationResubmitted,
    ApplicationSubmitted,
    ApplicationWithdrawn,
    AttachmentAdded,
    AttachmentRemoved,
    AttachmentReplaced,
    CallStatus,
    Category,
    DesignationRecorded,
    DraftUpdated,
    FormEntry,
    Level,
    Programme,
    ReceiptRecorded,
    RejectionRecorded,
    ReturnRecorded,
    Route,
    Slot,
    SubmittedFile,
    UnitStatus,
    WorkstationApplicationRequested,
    WorkstationDesignationRecorded,
)
from services.application.domain.form import FieldValue
from shared.testkit.spec import spec

NOW = datetime(2022, 3, 1, 2, 0, tzinfo=UTC)
DEADLINE = datetime(2022, 4, 30, 16, 0, tzinfo=UTC)
AFTER = datetime(2022, 6, 1, 2, 0, tzinfo=UTC)
OPENED_ON = date(2022, 2, 20)
CALL = CallSnapshot("call-1", "53", CallStatus.OPEN, DEADLINE, MATERIAL_SLOTS, True, OPENED_ON)
CODE = "91530100MA6K5J8X2A"
UNIT = UnitSnapshot(
    "unit-1", "昆明高新区", CODE, Category.PARK, Level.PREFECTURE, "53", "5301", UnitStatus.VERIFIED
)
#: What every submission needs: the Art. 7 materials and the signed and sealed form page.
REQUIRED = (*MATERIAL_SLOTS, Slot.SIGNED_FORM)
WHO: dict[str, Any] = {"at": NOW, "by": "user-1", "by_org": "unit-1"}

# Every Annex 2 field, typed as the API gives it, and as text as the events carry it.
FORM: dict[str, FieldValue] = {
    "base_location": "云南省昆明市",
    "host_unit": "昆明高新技术产业开发区管委会",
    "address": "昆明市高新区科高路1号",
    "telephone": "0871-68000000",
    "fax": "0871-68000001",
    "contact_person": "张三",
    "email": "haizhi@example.cn",
    "postcode": "650106",
    "overview_basic_conditions": "具备工作规程、财务制度和专职人员",
    "overview_advantages": "面向南亚东南亚的区位优势",
    "overview_description": "依托园区建设海智工作基地",
    "overview_expected_goals": "三年引进海外高层次人才20名",
    "office_space": "200平方米",
    "matching_funds_wan": Decimal("50"),
    "self_raised_funds_wan": Decimal("30.5"),
    "opinion_text": "同意申报",
    "opinion_responsible_person": "李四",
    "opinion_title": "主任",
    "opinion_date": date(2022, 4, 1),
    "declares_organisation": True,
    "declares_overseas_channels": True,
    "declares_government_support": True,
}
FORM_TEXT: dict[str, str | None] = {
    **{k: v for k, v in FORM.items() if isinstance(v, str)},
    "matching_funds_wan": "50",
    "self_raised_funds_wan": "30.5",
    "opinion_date": "2022-04-01",
    "declares_organisation": "true",
    "declares_overseas_channels": "true",
    "declares_government_support": "true",
}
FORM_ENTRIES = tuple(FormEntry(name, FORM_TEXT[name]) for name in FORM)
FORM_HASH = hashlib.sha256(
    json.dumps(FORM_TEXT, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode()
).hexdigest()


def sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def upload(name: str) -> UploadedFile:
    return UploadedFile(f"{name}.pdf", "application/pdf", 1024, sha(name))


def added(slot: Slot, attachment_id: str | None = None, name: str | None = None) -> AttachmentAdded:
    f = upload(name or slot)
    return AttachmentAdded(
        "app-1",
        "case-1",
        attachment_id or f"att-{slot}",
        slot,
        f.name,
        f.media_type,
        f.size,
        f.sha256,
    )


def submitted_file(slot: Slot) -> SubmittedFile:
    f = upload(slot)
    return SubmittedFile(slot, f.name, f.media_type, f.size, f.sha256)


DRAFT = DraftApplication(
    application_id="app-1",
    case_id="case-1",
    call=CALL,
    programme=Programme.NATIONAL_BASE,
    unit=UNIT,
    **WHO,
)
DRAFTED = ApplicationDrafted(
    "app-1", "case-1", "call-1", Programme.NATIONAL_BASE, "unit-1", "昆明高新区",
    Category.PARK, "53", "5301", None, Level.PREFECTURE, CODE,
)  # fmt: skip
FILLED = DraftUpdated("app-1", "case-1", FORM_ENTRIES)
MATERIALS = tuple(added(slot) for slot in REQUIRED)
READY: tuple[ApplicationEvent, ...] = (DRAFTED, FILLED, *MATERIALS)
SUBMIT = SubmitApplication("app-1", CALL, **WHO)
SUBMITTED = ApplicationSubmitted(
    application_id="app-1",
    case_id="case-1",
    call_id="call-1",
    programme=Programme.NATIONAL_BASE,
    unit_id="unit-1",
    unit_name="昆明高新区",
    category=Category.PARK,
    province="53",
    jurisdiction="5301",
    route=Route.VIA_PREFECTURE,
    revision=1,
    form_hash=FORM_HASH,
    files=tuple(submitted_file(slot) for slot in REQUIRED),
    linked_case_id=None,
    form=FORM_ENTRIES,
    submitted_at=NOW,
    call_opened_on=OPENED_ON,
    level=Level.PREFECTURE,
    credit_code=CODE,
)
RETURN = RecordReturn("app-1", "rev-1", "prefecture", ("补充支持函",), at=AFTER, by="review")
RETURNED = ReturnRecorded("app-1", "case-1", 1, "rev-1", "prefecture", ("补充支持函",))
WITHDRAW = WithdrawApplication("app-1", "另行申报", **WHO)


def update(**changes: FieldValue) -> UpdateDraft:
    return UpdateDraft("app-1", changes, **WHO)


def text_of(**changes: str | None) -> DraftUpdated:
    return DraftUpdated("app-1", "case-1", tuple(FormEntry(k, v) for k, v in changes.items()))


# --- drafting ---------------------------------------------------------------------------------


def test_a_unit_drafts_an_application_under_an_open_call() -> None:
    spec(decider).given().when(DRAFT).then(DRAFTED)


def test_a_draft_can_start_with_content_and_files() -> None:
    letter = InitialAttachment("att-letter", Slot.SUPPORT_LETTER, upload("support_letter"))
    command = replace(DRAFT, content={"host_unit": "昆明高新区"}, attachments=(letter,))
    spec(decider).given().when(command).then(
        DRAFTED,
        text_of(host_unit="昆明高新区"),
        added(Slot.SUPPORT_LETTER, "att-letter", "support_letter"),
    )


def test_initial_files_obey_the_slot_rules() -> None:
    one = InitialAttachment("a", Slot.SUPPORT_LETTER, upload("a"))
    two = InitialAttachment("b", Slot.SUPPORT_LETTER, upload("b"))
    spec(decider).given().when(replace(DRAFT, attachments=(one, two))).raises(SlotAlreadyFilled)


def test_initial_content_is_checked_like_an_update() -> None:
    spec(decider).given().when(replace(DRAFT, content={"colour": "red"})).raises(UnknownFormFields)


def test_drafting_under_a_closed_call_is_refused() -> None:
    closed = replace(CALL, status=CallStatus.CLOSED)
    spec(decider).given().when(replace(DRAFT, call=closed)).raises(CallClosed)


def test_drafting_once_the_deadline_has_passed_is_refused() -> None:
    refusal = spec(decider).given().when(replace(DRAFT, at=DEADLINE)).raises(CallClosed)
    assert refusal.context["deadline"] == DEADLINE.isoformat()


def test_a_unit_outside_the_calls_province_cannot_draft() -> None:  # Notice §1
    guizhou = replace(UNIT, province="52", jurisdiction="5201")
    spec(decider).given().when(replace(DRAFT, unit=guizhou)).raises(OutsideCallProvince)


def test_a_unit_that_never_registered_cannot_draft() -> None:
    refusal = spec(decider).given().when(replace(DRAFT, unit=None)).raises(UnitNotRegistered)
    assert "POST /units" in refusal.detail


@pytest.mark.parametrize("status", [UnitStatus.PENDING, UnitStatus.RETURNED])
def test_a_unit_whose_registration_is_not_verified_cannot_draft(status: UnitStatus) -> None:
    command = replace(DRAFT, unit=replace(UNIT, status=status))
    refusal = spec(decider).given().when(command).raises(UnitNotVerified)
    assert refusal.context["unit_status"] == str(status)


def test_the_application_takes_who_applies_from_the_registration() -> None:
    college = replace(
        UNIT, name="昆明学院", category=Category.UNIVERSITY, level=Level.PREFECTURE,
        jurisdiction="530100",
    )  # fmt: skip
    (drafted,) = spec(decider).given().when(replace(DRAFT, unit=college)).decided()
    assert isinstance(drafted, ApplicationDrafted)
    assert (drafted.unit_name, drafted.category, drafted.level, drafted.jurisdiction) == (
        "昆明学院", Category.UNIVERSITY, Level.PREFECTURE, "530100",
    )  # fmt: skip
    assert drafted.credit_code == CODE


def test_a_second_active_application_under_the_call_is_refused_naming_the_first() -> None:
    command = replace(DRAFT, active_application_id="app-0")
    refusal = spec(decider).given().when(command).raises(ApplicationAlreadyActive)
    assert refusal.context["application_id"] == "app-0"
    assert "app-0" in refusal.detail


def test_the_active_application_being_this_one_is_a_repeat_not_a_conflict() -> None:
    spec(decider).given(DRAFTED).when(replace(DRAFT, active_application_id="app-1")).then()


def test_a_unit_holding_an_active_base_renews_it_rather_than_applying_again() -> None:
    command = replace(DRAFT, active_base_id="base-1")
    refusal = spec(decider).given().when(command).raises(ActiveBaseHeld)
    assert refusal.context["base_id"] == "base-1"


def test_an_active_base_does_not_stop_a_work_station_application() -> None:
    station = replace(
        DRAFT, programme=Programme.PROVINCIAL_WORKSTATION, linked_case_id="case-0",
        active_base_id="base-1",
    )  # fmt: skip
    (drafted,) = spec(decider).given().when(station).decided()
    assert isinstance(drafted, ApplicationDrafted)


def test_a_user_cannot_draft_for_another_unit() -> None:
    spec(decider).given().when(replace(DRAFT, by_org="unit-2")).raises(NotApplicantUnit)


@pytest.mark.parametrize(
    "applicant",
    [
        {"jurisdiction": "5", "province": "5"},
        {"jurisdiction": "53xx"},
        {"name": " "},
    ],
    ids=["too-short", "not-digits", "blank-name"],
)
def test_a_badly_described_applicant_is_refused(applicant: dict[str, Any]) -> None:
    command = replace(DRAFT, unit=replace(UNIT, **applicant))
    spec(decider).given().when(command).raises(InvalidApplicant)


def test_drafting_the_same_application_again_records_nothing() -> None:
    spec(decider).given(DRAFTED).when(DRAFT).then()


def test_drafting_over_another_application_is_refused() -> None:
    other = replace(DRAFT, case_id="case-2")
    spec(decider).given(DRAFTED).when(other).raises(ApplicationAlreadyExists)


def test_a_work_station_application_needs_a_call_that_offers_it() -> None:  # Notice §5(3)
    command = replace(
        DRAFT,
        programme=Programme.PROVINCIAL_WORKSTATION,
        linked_case_id="case-1",
        call=replace(CALL, allows_workstation=False),
    )
    spec(decider).given().when(command).raises(WorkstationNotOffered)


def test_a_work_station_application_goes_with_a_national_application() -> None:
    command = replace(DRAFT, programme=Programme.PROVINCIAL_WORKSTATION)
    spec(decider).given().when(command).raises(WorkstationNeedsNationalApplication)


@pytest.mark.parametrize("command", [update(fax=None), SUBMIT, WITHDRAW])
def test_an_application_never_drafted_is_not_found(command: object) -> None:
    spec(decider).given().when(command).raises(ApplicationNotFound)


# --- the form, field by field -----------------------------------------------------------------


def test_an_update_records_only_the_fields_that_changed() -> None:
    given = (DRAFTED, text_of(host_unit="昆明高新区", telephone="0871-1"))
    spec(decider).given(*given).when(update(host_unit="昆明高新区", telephone="0871-2")).then(
        text_of(telephone="0871-2")
    )


def test_an_update_identical_to_the_draft_records_nothing() -> None:
    spec(decider).given(*READY).when(update(**FORM)).then()


def test_unknown_fields_are_refused_and_listed() -> None:
    refusal = (
        spec(decider)
        .given(DRAFTED)
        .when(update(host_unit="x", colour="red", budget=Decimal(1)))
        .raises(UnknownFormFields)
    )
    assert refusal.context["unknown_fields"] == ["budget", "colour"]


def test_values_of_the_wrong_kind_are_refused_and_listed() -> None:
    wrong = update(
        matching_funds_wan=50.0,  # type: ignore[arg-type]  # a float is never money
        opinion_date="2022-04-01",
        declares_organisation="yes",
        telephone=Decimal("68000000"),
    )
    refusal = spec(decider).given(DRAFTED).when(wrong).raises(InvalidFormValues)
    assert refusal.context["invalid_fields"] == [
        "telephone",
        "matching_funds_wan",
        "opinion_date",
        "declares_organisation",
    ]


@pytest.mark.parametrize(
    "value",
    [Decimal("-1"), Decimal("0.0000001"), Decimal("NaN"), Decimal("Infinity")],
    ids=["negative", "finer-than-a-fen", "nan", "infinite"],
)
def test_funds_are_whole_fen_and_never_negative(value: Decimal) -> None:
    spec(decider).given(DRAFTED).when(update(matching_funds_wan=value)).raises(InvalidFormValues)


def test_a_date_field_refuses_an_instant() -> None:
    moment = datetime(2022, 4, 1, tzinfo=UTC)
    spec(decider).given(DRAFTED).when(update(opinion_date=moment)).raises(InvalidFormValues)


def test_funds_are_written_one_canonical_way() -> None:
    spec(decider).given(DRAFTED).when(update(matching_funds_wan=Decimal("12.50"))).then(
        text_of(matching_funds_wan="12.5")
    )
    given = (DRAFTED, text_of(matching_funds_wan="12.5"))
    spec(decider).given(*given).when(update(matching_funds_wan=Decimal("12.500"))).then()
    spec(decider).given(DRAFTED).when(update(self_raised_funds_wan=Decimal("1E+2"))).then(
        text_of(self_raised_funds_wan="100")
    )


def test_none_or_blank_text_empties_a_field() -> None:
    given = (DRAFTED, text_of(fax="0871-1", email="a@b.cn"))
    spec(decider).given(*given).when(update(fax=None, email="  ")).then(
        text_of(fax=None, email=None)
    )


def test_another_unit_cannot_edit_the_draft() -> None:
    command = replace(update(fax="1"), by_org="unit-2")
    spec(decider).given(DRAFTED).when(command).raises(NotApplicantUnit)


def test_a_returned_application_is_edited_again() -> None:
    spec(decider).given(*READY, SUBMITTED, RETURNED).when(update(fax="0871-9")).then(
        text_of(fax="0871-9")
    )


@pytest.mark.parametrize(
    "command",
    [
        update(fax="0871-9"),
        AddAttachment("app-1", "att-x", Slot.EXTRA, upload("x"), **WHO),
        ReplaceAttachment("app-1", "att-support_letter", upload("new"), **WHO),
        RemoveAttachment("app-1", "att-support_letter", **WHO),
    ],
    ids=["update", "add", "replace", "remove"],
)
def test_a_submitted_application_is_frozen(command: object) -> None:
    spec(decider).given(*READY, SUBMITTED).when(command).raises(ApplicationFrozen)


def test_a_withdrawn_application_cannot_be_edited() -> None:
    withdrawn = ApplicationWithdrawn("app-1", "case-1", "另行申报", 0)
    spec(decider).given(DRAFTED, withdrawn).when(update(fax="1")).raises(ApplicationClosed)


# --- attachments ------------------------------------------------------------------------------


def add(slot: Slot, attachment_id: str, name: str) -> AddAttachment:
    return AddAttachment("app-1", attachment_id, slot, upload(name), **WHO)


def test_a_file_is_attached_to_its_material_slot() -> None:
    spec(decider).given(DRAFTED).when(add(Slot.SUPPORT_LETTER, "att-1", "support_letter")).then(
        added(Slot.SUPPORT_LETTER, "att-1")
    )


def test_a_material_slot_holds_one_file() -> None:
    given = (DRAFTED, added(Slot.SUPPORT_LETTER))
    refusal = spec(decider).given(*given).when(add(Slot.SUPPORT_LETTER, "att-2", "b"))
    assert refusal.raises(SlotAlreadyFilled).context["attachment_id"] == "att-support_letter"


def test_extra_files_may_be_many() -> None:
    given = (DRAFTED, added(Slot.EXTRA, "extra-1"))
    spec(decider).given(*given).when(add(Slot.EXTRA, "extra-2", "extra-2")).then(
        added(Slot.EXTRA, "extra-2", "extra-2")
    )


def test_attaching_the_same_file_again_records_nothing() -> None:
    given = (DRAFTED, added(Slot.EXTRA, "extra-1"))
    spec(decider).given(*given).when(add(Slot.EXTRA, "extra-1", "extra")).then()


def test_an_attachment_id_is_not_reused_for_another_file() -> None:
    given = (DRAFTED, added(Slot.EXTRA, "extra-1"))
    spec(decider).given(*given).when(add(Slot.EXTRA, "extra-1", "other")).raises(
        AttachmentAlreadyExists
    )


@pytest.mark.parametrize(
    "file",
    [
        UploadedFile("", "application/pdf", 1, sha("a")),
        UploadedFile("a.pdf", " ", 1, sha("a")),
        UploadedFile("a.pdf", "application/pdf", 0, sha("a")),
        UploadedFile("a.pdf", "application/pdf", 1, sha("a").upper()),
        UploadedFile("a.pdf", "application/pdf", 1, "abc"),
    ],
    ids=["no-name", "no-type", "empty", "uppercase-hash", "short-hash"],
)
def test_a_badly_described_file_is_refused(file: UploadedFile) -> None:
    command = AddAttachment("app-1", "att-1", Slot.EXTRA, file, **WHO)
    spec(decider).given(DRAFTED).when(command).raises(InvalidAttachment)


def test_a_file_is_replaced_and_the_previous_hash_kept() -> None:
    new = upload("letter-v2")
    command = ReplaceAttachment("app-1", "att-support_letter", new, **WHO)
    spec(decider).given(DRAFTED, added(Slot.SUPPORT_LETTER)).when(command).then(
        AttachmentReplaced(
            "app-1",
            "case-1",
            "att-support_letter",
            Slot.SUPPORT_LETTER,
            new.name,
            new.media_type,
            new.size,
            new.sha256,
            previous_sha256=sha("support_letter"),
        )
    )


def test_replacing_a_file_with_itself_records_nothing() -> None:
    command = ReplaceAttachment("app-1", "att-support_letter", upload("support_letter"), **WHO)
    spec(decider).given(DRAFTED, added(Slot.SUPPORT_LETTER)).when(command).then()


def test_replacing_an_unknown_attachment_is_refused() -> None:
    command = ReplaceAttachment("app-1", "att-9", upload("x"), **WHO)
    spec(decider).given(DRAFTED).when(command).raises(AttachmentNotFound)


def test_a_file_is_removed() -> None:
    command = RemoveAttachment("app-1", "att-support_letter", **WHO)
    spec(decider).given(DRAFTED, added(Slot.SUPPORT_LETTER)).when(command).then(
        AttachmentRemoved(
            "app-1", "case-1", "att-support_letter", Slot.SUPPORT_LETTER, sha("support_letter")
        )
    )


def test_removing_a_file_that_is_not_there_records_nothing() -> None:
    spec(decider).given(DRAFTED).when(RemoveAttachment("app-1", "att-9", **WHO)).then()


def test_a_removed_slot_takes_a_new_file() -> None:
    gone = AttachmentRemoved("app-1", "case-1", "att-support_letter", Slot.SUPPORT_LETTER, "x")
    given = (DRAFTED, added(Slot.SUPPORT_LETTER), gone)
    spec(decider).given(*given).when(add(Slot.SUPPORT_LETTER, "att-2", "v2")).then(
        added(Slot.SUPPORT_LETTER, "att-2", "v2")
    )


# --- the provincial work station (Notice §5(3)) ------------------------------------------------

ASK = RequestWorkstationApplication("app-1", "app-2", "case-2", CALL, **WHO)
ASKED = WorkstationApplicationRequested("app-1", "case-1", "app-2", "case-2")


def test_a_base_application_also_asks_for_the_work_station() -> None:
    spec(decider).given(DRAFTED).when(ASK).then(ASKED)


def test_the_work_station_can_be_asked_for_after_submission_before_the_deadline() -> None:
    spec(decider).given(*READY, SUBMITTED).when(ASK).then(ASKED)


def test_the_work_station_is_refused_when_the_call_does_not_offer_it() -> None:
    command = replace(ASK, call=replace(CALL, allows_workstation=False))
    spec(decider).given(DRAFTED).when(command).raises(WorkstationNotOffered)


def test_the_work_station_is_refused_once_the_call_has_closed() -> None:
    spec(decider).given(DRAFTED).when(replace(ASK, at=DEADLINE)).raises(CallClosed)


def test_the_work_station_request_names_the_applications_call() -> None:
    command = replace(ASK, call=replace(CALL, call_id="call-2"))
    spec(decider).given(DRAFTED).when(command).raises(WrongCall)


def test_asking_for_the_work_station_again_records_nothing() -> None:
    spec(decider).given(DRAFTED, ASKED).when(ASK).then()


def test_a_second_work_station_application_is_refused() -> None:
    other = replace(ASK, linked_application_id="app-3", linked_case_id="case-3")
    spec(decider).given(DRAFTED, ASKED).when(other).raises(WorkstationAlreadyRequested)


def test_a_work_station_application_cannot_ask_for_a_work_station() -> None:
    station = replace(DRAFTED, programme=Programme.PROVINCIAL_WORKSTATION, linked_case_id="case-0")
    spec(decider).given(station).when(ASK).raises(WorkstationNeedsNationalApplication)


def test_the_work_station_is_not_asked_for_by_a_closed_application() -> None:
    withdrawn = ApplicationWithdrawn("app-1", "case-1", "", 0)
    spec(decider).given(DRAFTED, withdrawn).when(ASK).raises(ApplicationClosed)


def test_the_linked_work_station_is_drafted_from_the_same_content() -> None:
    station = replace(
        DRAFT,
        application_id="app-2",
        case_id="case-2",
        programme=Programme.PROVINCIAL_WORKSTATION,
        linked_case_id="case-1",
        content=FORM,
    )
    spec(decider).given().when(station).then(
        replace(
            DRAFTED,
            application_id="app-2",
            case_id="case-2",
            programme=Programme.PROVINCIAL_WORKSTATION,
            linked_case_id="case-1",
        ),
        DraftUpdated("app-2", "case-2", FORM_ENTRIES),
    )


def test_the_submission_carries_the_linked_case() -> None:
    spec(decider).given(*READY, ASKED).when(SUBMIT).then(
        replace(SUBMITTED, linked_case_id="case-2")
    )


# --- submission -------------------------------------------------------------------------------


def test_a_complete_application_is_submitted_with_its_route_form_hash_and_files() -> None:
    spec(decider).given(*READY).when(SUBMIT).then(SUBMITTED)


def test_submission_lists_every_missing_field_and_material() -> None:
    given = (DRAFTED, text_of(host_unit="x", declares_organisation="false"), added(Slot.EXTRA))
    refusal = spec(decider).given(*given).when(SUBMIT).raises(SubmissionIncomplete)
    assert refusal.context["missing_fields"] == [
        name for name in FORM if name not in ("host_unit", "fax")
    ]
    assert refusal.context["missing_materials"] == [str(slot) for slot in REQUIRED]


def test_an_eligibility_declaration_not_made_blocks_submission() -> None:  # Art. 6
    given = (*READY, text_of(declares_government_support="false"))
    refusal = spec(decider).given(*given).when(SUBMIT).raises(SubmissionIncomplete)
    assert refusal.context["missing_fields"] == ["declares_government_support"]
    assert refusal.context["missing_materials"] == []


def test_one_missing_material_blocks_submission() -> None:  # Art. 7
    given = [
        e for e in READY if not (isinstance(e, AttachmentAdded) and e.slot == "policy_measures")
    ]
    refusal = spec(decider).given(*given).when(SUBMIT).raises(SubmissionIncomplete)
    assert refusal.context["missing_materials"] == ["policy_measures"]


def test_the_signed_and_sealed_form_is_needed_whatever_the_call_lists() -> None:  # Art. 7(2)
    refusal = spec(decider).given(*READY[:-1]).when(SUBMIT).raises(SubmissionIncomplete)
    assert refusal.context["missing_materials"] == ["signed_form"]


def test_the_filling_units_opinion_is_needed_to_submit() -> None:  # Annex 2
    given = (*READY, text_of(opinion_text=None))
    refusal = spec(decider).given(*given).when(SUBMIT).raises(SubmissionIncomplete)
    assert refusal.context["missing_fields"] == ["opinion_text"]


def test_the_calls_additional_materials_are_needed_each_in_slot_extra() -> None:
    call = replace(CALL, additional_materials=("营业执照副本",))
    submit = replace(SUBMIT, call=call)
    refusal = (
        spec(decider).given(*READY, added(Slot.EXTRA)).when(submit).raises(SubmissionIncomplete)
    )
    assert refusal.context["missing_materials"] == ["extra:营业执照副本"]
    licence = replace(added(Slot.EXTRA, "att-licence", "licence"), material="营业执照副本")
    (event,) = spec(decider).given(*READY, licence).when(submit).decided()
    assert isinstance(event, ApplicationSubmitted)
    assert event.files[-1].material == "营业执照副本"


def test_a_material_name_goes_only_with_a_file_in_slot_extra() -> None:
    command = AddAttachment(
        "app-1", "att-1", Slot.SUPPORT_LETTER, upload("x"), material="营业执照副本", **WHO
    )
    spec(decider).given(DRAFTED).when(command).raises(InvalidAttachment)


def test_the_fax_may_stay_empty() -> None:
    given = (*READY, text_of(fax=None))
    produced = spec(decider).given(*given).when(SUBMIT).decided()
    assert [type(e) for e in produced] == [ApplicationSubmitted]


def test_only_the_materials_the_call_requires_are_needed() -> None:
    call = replace(CALL, required_slots=(Slot.SUPPORT_LETTER,))  # stored calls may ask less
    given = (DRAFTED, FILLED, added(Slot.SUPPORT_LETTER), added(Slot.SIGNED_FORM))
    produced = spec(decider).given(*given).when(replace(SUBMIT, call=call)).decided()
    assert [type(e) for e in produced] == [ApplicationSubmitted]


def test_submission_is_refused_once_the_call_is_closed() -> None:
    closed = replace(SUBMIT, call=replace(CALL, status=CallStatus.CLOSED))
    spec(decider).given(*READY).when(closed).raises(CallClosed)


def test_submission_is_refused_from_the_deadline_on_even_before_the_scheduler_closes() -> None:
    spec(decider).given(*READY).when(replace(SUBMIT, at=DEADLINE)).raises(CallClosed)


def test_submission_a_moment_before_the_deadline_is_accepted() -> None:
    just_in_time = DEADLINE - timedelta(microseconds=1)
    spec(decider).given(*READY).when(replace(SUBMIT, at=just_in_time)).then(
        replace(SUBMITTED, submitted_at=just_in_time)
    )


def test_submission_names_the_applications_call() -> None:
    command = replace(SUBMIT, call=replace(CALL, call_id="call-2"))
    spec(decider).given(*READY).when(command).raises(WrongCall)


def test_another_unit_cannot_submit() -> None:
    spec(decider).given(*READY).when(replace(SUBMIT, by_org="unit-2")).raises(NotApplicantUnit)


def test_submitting_again_records_nothing() -> None:
    spec(decider).given(*READY, SUBMITTED).when(SUBMIT).then()


def test_the_form_hash_follows_the_content_not_the_order_of_edits() -> None:
    in_pieces = (
        DRAFTED,
        DraftUpdated("app-1", "case-1", FORM_ENTRIES[10:]),
        DraftUpdated("app-1", "case-1", FORM_ENTRIES[:10]),
        *MATERIALS,
    )
    spec(decider).given(*in_pieces).when(SUBMIT).then(SUBMITTED)
    changed = (*READY, text_of(office_space="300平方米"))
    (other,) = spec(decider).given(*changed).when(SUBMIT).decided()
    assert isinstance(other, ApplicationSubmitted)
    assert other.form_hash != FORM_HASH


@pytest.mark.parametrize(
    ("level", "jurisdiction", "route"),
    [
        (Level.PROVINCIAL, "53", Route.DIRECT),
        (Level.PROVINCIAL, "5301", Route.DIRECT),
        (Level.CENTRAL, "5301", Route.DIRECT),
        (Level.PREFECTURE, "5301", Route.VIA_PREFECTURE),  # e.g. 昆明学院, a city's university
        (Level.PREFECTURE, "530102", Route.VIA_PREFECTURE),
        (Level.PREFECTURE, "530100", Route.VIA_PREFECTURE),
        (Level.PREFECTURE, "530000", Route.DIRECT),  # known only by its province
    ],
)
def test_the_route_follows_the_level_and_the_jurisdiction(
    level: Level, jurisdiction: str, route: Route
) -> None:  # Notice §3
    assert route_for(level, jurisdiction) is route


@pytest.mark.parametrize(
    ("category", "jurisdiction", "route"),
    [
        (Category.UNIVERSITY, "5301", Route.DIRECT),
        (Category.PARK, "5301", Route.VIA_PREFECTURE),
        (Category.PARK, "530000", Route.DIRECT),
    ],
)
def test_a_draft_from_before_the_registry_keeps_its_category_route(
    category: Category, jurisdiction: str, route: Route
) -> None:
    assert route_for(None, jurisdiction, category) is route


def test_the_route_is_recorded_on_submission() -> None:
    direct = replace(DRAFTED, level=Level.PROVINCIAL)
    (event,) = spec(decider).given(direct, *READY[1:]).when(SUBMIT).decided()
    assert isinstance(event, ApplicationSubmitted)
    assert event.route is Route.DIRECT


# --- one unit, one base: checked again at submission -----------------------------------------


def test_a_draft_cannot_go_forward_once_the_unit_holds_a_base() -> None:
    """Drafted under another call before the unit's first application was designated."""
    command = replace(SUBMIT, active_base_id="base-1")
    refusal = spec(decider).given(*READY).when(command).raises(ActiveBaseHeld)
    assert refusal.context["base_id"] == "base-1"
    assert "base-1" in refusal.detail


def test_a_returned_application_is_not_resubmitted_once_the_unit_holds_a_base() -> None:
    command = replace(SUBMIT, at=AFTER, active_base_id="base-1")
    spec(decider).given(*READY, SUBMITTED, RETURNED).when(command).raises(ActiveBaseHeld)


def test_an_active_base_does_not_stop_submitting_a_work_station_application() -> None:
    station = replace(DRAFTED, programme=Programme.PROVINCIAL_WORKSTATION, linked_case_id="case-0")
    (event,) = (
        spec(decider)
        .given(station, *READY[1:])
        .when(replace(SUBMIT, active_base_id="base-1"))
        .decided()
    )
    assert isinstance(event, ApplicationSubmitted)


# --- a draft from before the registry: who applies comes from the registration at submission --

LEGACY = replace(DRAFTED, category=Category.UNIVERSITY, level=None, credit_code=None)
COLLEGE = replace(
    UNIT, name="昆明学院", category=Category.UNIVERSITY, level=Level.PREFECTURE,
    jurisdiction="530100",
)  # fmt: skip


def test_a_legacy_draft_is_submitted_as_the_verified_registration_describes_the_unit() -> None:
    """Declared a university (direct, before the registry); registered as a prefecture-owned
    one, it goes through its prefecture like any other."""
    command = replace(SUBMIT, unit=COLLEGE)
    (event,) = spec(decider).given(LEGACY, *READY[1:]).when(command).decided()
    assert isinstance(event, ApplicationSubmitted)
    assert (event.unit_name, event.category, event.level, event.jurisdiction) == (
        "昆明学院", Category.UNIVERSITY, Level.PREFECTURE, "530100",
    )  # fmt: skip
    assert (event.credit_code, event.route) == (CODE, Route.VIA_PREFECTURE)
    assert route_for(None, "5301", Category.UNIVERSITY) is Route.DIRECT  # what it declared


def test_a_legacy_application_keeps_the_snapshot_it_was_submitted_with() -> None:
    submitted = replace(
        SUBMITTED, category=Category.UNIVERSITY, unit_name="昆明学院", jurisdiction="530100"
    )
    history = (LEGACY, *READY[1:], submitted, RETURNED)
    (event,) = spec(decider).given(*history).when(replace(SUBMIT, at=AFTER)).decided()
    assert isinstance(event, ApplicationResubmitted)  # no registration needed again
    assert (event.unit_name, event.level, event.jurisdiction) == (
        "昆明学院", Level.PREFECTURE, "530100",
    )  # fmt: skip


def test_a_legacy_draft_of_an_unregistered_unit_is_not_submitted() -> None:
    refusal = spec(decider).given(LEGACY, *READY[1:]).when(SUBMIT).raises(UnitNotRegistered)
    assert "POST /units" in refusal.detail


@pytest.mark.parametrize("status", [UnitStatus.PENDING, UnitStatus.RETURNED])
def test_a_legacy_draft_of_an_unverified_unit_is_not_submitted(status: UnitStatus) -> None:
    command = replace(SUBMIT, unit=replace(COLLEGE, status=status))
    refusal = spec(decider).given(LEGACY, *READY[1:]).when(command).raises(UnitNotVerified)
    assert refusal.context["unit_status"] == str(status)


def test_a_legacy_draft_of_a_unit_registered_in_another_province_is_not_submitted() -> None:
    command = replace(SUBMIT, unit=replace(COLLEGE, province="52", jurisdiction="5201"))
    spec(decider).given(LEGACY, *READY[1:]).when(command).raises(OutsideCallProvince)


def test_a_legacy_returned_application_is_resubmitted_only_from_the_registration() -> None:
    legacy_submitted = replace(
        SUBMITTED, category=Category.UNIVERSITY, route=Route.DIRECT, level=None, credit_code=None
    )
    history = (LEGACY, *READY[1:], legacy_submitted, RETURNED)
    spec(decider).given(*history).when(replace(SUBMIT, at=AFTER)).raises(UnitNotRegistered)
    command = replace(SUBMIT, at=AFTER, unit=COLLEGE)
    (event,) = spec(decider).given(*history).when(command).decided()
    assert isinstance(event, ApplicationResubmitted)
    assert (event.level, event.route, event.credit_code) == (
        Level.PREFECTURE, Route.VIA_PREFECTURE, CODE,
    )  # fmt: skip


# --- receipt record (收件记录) -----------------------------------------------------------------

RECEIVE = RecordReceipt("app-1", date(2022, 4, 28), "王五", 5, at=NOW, by="officer-1")
RECEIVED = ReceiptRecorded("app-1", "case-1", 1, date(2022, 4, 28), "王五", 5)


def test_the_receiving_office_records_the_receipt() -> None:
    spec(decider).given(*READY, SUBMITTED).when(RECEIVE).then(RECEIVED)


def test_a_receipt_counts_whatever_paper_came() -> None:  # 5 asked, Art. 7 says 3: not enforced
    spec(decider).given(*READY, SUBMITTED).when(replace(RECEIVE, paper_copies=0)).then(
        replace(RECEIVED, paper_copies=0)
    )


def test_recording_the_same_receipt_again_records_nothing() -> None:
    spec(decider).given(*READY, SUBMITTED, RECEIVED).when(RECEIVE).then()


def test_a_corrected_receipt_is_recorded() -> None:
    spec(decider).given(*READY, SUBMITTED, RECEIVED).when(replace(RECEIVE, paper_copies=3)).then(
        replace(RECEIVED, paper_copies=3)
    )


def test_nothing_is_received_before_submission() -> None:
    spec(decider).given(*READY).when(RECEIVE).raises(NotSubmitted)


@pytest.mark.parametrize("bad", [{"recipient": " "}, {"paper_copies": -1}], ids=["who", "count"])
def test_a_receipt_names_its_recipient_and_counts_from_zero(bad: dict[str, Any]) -> None:
    spec(decider).given(*READY, SUBMITTED).when(replace(RECEIVE, **bad)).raises(InvalidReceipt)


def test_the_receipt_is_not_a_gate_for_review() -> None:
    spec(decider).given(*READY, SUBMITTED).when(RETURN).then(RETURNED)


# --- review's decisions -----------------------------------------------------------------------


def resubmitted(revision: int) -> ApplicationResubmitted:
    same: dict[str, Any] = {f.name: getattr(SUBMITTED, f.name) for f in fields(SUBMITTED)}
    return ApplicationResubmitted(**{**same, "revision": revision, "submitted_at": AFTER})


REJECT = RecordRejection("app-1", "rev-2", "province", ("条件不足",), at=AFTER, by="review")
REJECTED = RejectionRecorded("app-1", "case-1", 1, "rev-2", "province", ("条件不足",))
DESIGNATE = RecordDesignation("app-1", "rev-3", "base-1", at=AFTER, by="review")
DESIGNATED = DesignationRecorded("app-1", "case-1", 1, "rev-3", "base-1")
WITHDRAWN = ApplicationWithdrawn("app-1", "case-1", "另行申报", 1)


def test_a_return_from_review_reopens_the_application_for_revision() -> None:
    spec(decider).given(*READY, SUBMITTED).when(RETURN).then(RETURNED)


def test_the_same_return_again_records_nothing() -> None:
    spec(decider).given(*READY, SUBMITTED, RETURNED).when(RETURN).then()


def test_a_returned_application_is_resubmitted_as_the_next_revision_after_the_deadline() -> None:
    closed = replace(CALL, status=CallStatus.CLOSED)
    command = replace(SUBMIT, call=closed, at=AFTER)
    spec(decider).given(*READY, SUBMITTED, RETURNED).when(command).then(resubmitted(2))


def test_every_revision_cycle_is_kept_in_the_history() -> None:
    second_return = replace(RETURNED, revision=2, review_id="rev-9")
    history = (*READY, SUBMITTED, RETURNED, resubmitted(2), second_return)
    spec(decider).given(*history).when(replace(SUBMIT, at=AFTER)).then(resubmitted(3))


def test_the_revision_carries_the_edits_made_after_the_return() -> None:
    edit = text_of(office_space="300平方米")
    (event,) = (
        spec(decider)
        .given(*READY, SUBMITTED, RETURNED, edit)
        .when(replace(SUBMIT, at=AFTER))
        .decided()
    )
    assert isinstance(event, ApplicationResubmitted)
    assert FormEntry("office_space", "300平方米") in event.form
    assert event.form_hash != FORM_HASH


def test_a_resubmission_must_still_be_complete() -> None:
    gone = AttachmentRemoved("app-1", "case-1", "att-support_letter", Slot.SUPPORT_LETTER, "x")
    given = (*READY, SUBMITTED, RETURNED, gone)
    refusal = spec(decider).given(*given).when(replace(SUBMIT, at=AFTER))
    assert refusal.raises(SubmissionIncomplete).context["missing_materials"] == ["support_letter"]


def test_a_returned_application_resubmitted_again_is_under_review_once_more() -> None:
    spec(decider).given(*READY, SUBMITTED, RETURNED, resubmitted(2)).when(SUBMIT).then()


@pytest.mark.parametrize(
    "command", [RETURN, REJECT, DESIGNATE], ids=["return", "reject", "designate"]
)
def test_review_cannot_decide_on_a_draft(command: object) -> None:
    spec(decider).given(*READY).when(command).raises(NotUnderReview)


def test_a_second_return_without_resubmission_is_refused() -> None:
    other = replace(RETURN, review_id="rev-9")
    spec(decider).given(*READY, SUBMITTED, RETURNED).when(other).raises(NotUnderReview)


def test_a_rejection_is_recorded_and_final() -> None:
    spec(decider).given(*READY, SUBMITTED).when(REJECT).then(REJECTED)


def test_a_returned_application_can_be_rejected() -> None:
    spec(decider).given(*READY, SUBMITTED, RETURNED).when(REJECT).then(REJECTED)


def test_the_same_rejection_again_records_nothing() -> None:
    spec(decider).given(*READY, SUBMITTED, REJECTED).when(REJECT).then()


def test_a_designation_is_recorded_and_final() -> None:
    spec(decider).given(*READY, SUBMITTED).when(DESIGNATE).then(DESIGNATED)


def test_the_same_designation_again_records_nothing() -> None:
    spec(decider).given(*READY, SUBMITTED, DESIGNATED).when(DESIGNATE).then()


def test_a_returned_application_cannot_be_designated_before_resubmission() -> None:
    spec(decider).given(*READY, SUBMITTED, RETURNED).when(DESIGNATE).raises(NotUnderReview)


@pytest.mark.parametrize(
    ("decided", "command"),
    [(REJECTED, DESIGNATE), (DESIGNATED, REJECT), (DESIGNATED, RETURN)],
    ids=["rejected-then-designated", "designated-then-rejected", "designated-then-returned"],
)
def test_a_final_decision_is_not_overturned(decided: object, command: object) -> None:
    spec(decider).given(*READY, SUBMITTED, decided).when(command).raises(NotUnderReview)


@pytest.mark.parametrize("command", [RETURN, REJECT], ids=["return", "reject"])
def test_a_decision_that_crossed_a_withdrawal_changes_nothing(command: object) -> None:
    spec(decider).given(*READY, SUBMITTED, WITHDRAWN).when(command).then()


def test_a_withdrawn_application_cannot_be_designated() -> None:
    spec(decider).given(*READY, SUBMITTED, WITHDRAWN).when(DESIGNATE).raises(NotUnderReview)


@pytest.mark.parametrize("decided", [REJECTED, DESIGNATED], ids=["rejected", "designated"])
def test_a_decided_application_is_closed_to_the_applicant(decided: object) -> None:
    given = (*READY, SUBMITTED, decided)
    spec(decider).given(*given).when(SUBMIT).raises(ApplicationClosed)
    spec(decider).given(*given).when(update(fax="1")).raises(ApplicationClosed)
    spec(decider).given(*given).when(RECEIVE).raises(ApplicationClosed)


STATION_DRAFTED = replace(
    DRAFTED, programme=Programme.PROVINCIAL_WORKSTATION, linked_case_id="case-0"
)
STATION_SUBMITTED = replace(
    SUBMITTED, programme=Programme.PROVINCIAL_WORKSTATION, linked_case_id="case-0"
)
DESIGNATE_STATION = RecordWorkstationDesignation(
    "app-1", "rev-ws", "station-1", "云海智站-2022-001", at=AFTER, by="review"
)


def test_a_work_station_designation_is_recorded_without_a_base() -> None:  # Notice §5(3)
    spec(decider).given(STATION_DRAFTED, *READY[1:], STATION_SUBMITTED).when(
        DESIGNATE_STATION
    ).then(
        WorkstationDesignationRecorded(
            "app-1", "case-1", 1, "rev-ws", "station-1", "云海智站-2022-001"
        )
    )


def test_the_same_work_station_designation_again_records_nothing() -> None:
    designated = WorkstationDesignationRecorded(
        "app-1", "case-1", 1, "rev-ws", "station-1", "云海智站-2022-001"
    )
    given = (STATION_DRAFTED, *READY[1:], STATION_SUBMITTED, designated)
    spec(decider).given(*given).when(DESIGNATE_STATION).then()
    spec(decider).given(*given).when(WITHDRAW).raises(ApplicationClosed)


def test_a_national_base_application_is_not_designated_a_work_station() -> None:
    spec(decider).given(*READY, SUBMITTED).when(DESIGNATE_STATION).raises(NotUnderReview)


# --- withdrawal -------------------------------------------------------------------------------


def test_a_draft_is_withdrawn_before_it_was_ever_submitted() -> None:
    spec(decider).given(DRAFTED).when(WITHDRAW).then(replace(WITHDRAWN, revision=0))


def test_a_submitted_application_is_withdrawn() -> None:
    spec(decider).given(*READY, SUBMITTED).when(WITHDRAW).then(WITHDRAWN)


def test_a_returned_application_is_withdrawn_naming_its_revision() -> None:
    history = (*READY, SUBMITTED, RETURNED, resubmitted(2), replace(RETURNED, revision=2))
    spec(decider).given(*history).when(WITHDRAW).then(replace(WITHDRAWN, revision=2))


def test_withdrawing_again_records_nothing() -> None:
    spec(decider).given(*READY, SUBMITTED, WITHDRAWN).when(WITHDRAW).then()


@pytest.mark.parametrize("decided", [REJECTED, DESIGNATED], ids=["rejected", "designated"])
def test_a_decided_application_cannot_be_withdrawn(decided: object) -> None:
    spec(decider).given(*READY, SUBMITTED, decided).when(WITHDRAW).raises(ApplicationClosed)


def test_another_unit_cannot_withdraw() -> None:
    command = replace(WITHDRAW, by_org="unit-2")
    spec(decider).given(*READY, SUBMITTED).when(command).raises(NotApplicantUnit)


def test_a_withdrawn_application_is_not_resubmitted() -> None:
    spec(decider).given(*READY, SUBMITTED, WITHDRAWN).when(SUBMIT).raises(ApplicationClosed)


# --- the events as published ------------------------------------------------------------------


def test_a_whole_life_folds_and_every_event_survives_a_json_round_trip() -> None:
    life: tuple[ApplicationEvent, ...] = (
        *READY,
        ASKED,
        replace(SUBMITTED, linked_case_id="case-2"),
        RECEIVED,
        RETURNED,
        replace(resubmitted(2), linked_case_id="case-2"),
        DESIGNATED,
    )
    decider.fold(life)
    for event in life:
        adapter: TypeAdapter[Any] = TypeAdapter(type(event))
        assert adapter.validate_python(adapter.dump_python(event, mode="json")) == event
        assert type(event) in EVENTS
