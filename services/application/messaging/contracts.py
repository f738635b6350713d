"""What the application service publishes: its event registry and one example of each event.

Other services' contract tests feed these examples to their consumers, so every event in the
registry has one, with realistic values (the Yunnan 2022 call, a Kunming park).
"""

from __future__ import annotations

from datetime import UTC, date, datetime

from shared.codec import EventRegistry
from shared.issuance import DocumentIssued

from ..domain.events import (
    EVENTS,
    MATERIAL_SLOTS,
    ApplicationDrafted,
    ApplicationResubmitted,
    ApplicationSubmitted,
    ApplicationWithdrawn,
    AttachmentAdded,
    AttachmentRemoved,
    AttachmentReplaced,
    BaseDesignationRecorded,
    BaseExpiryRecorded,
    BaseRevocationRecorded,
    CallClosed,
    CallOpened,
    Category,
    Contact,
    DesignationRecorded,
    DraftUpdated,
    FormEntry,
    Level,
    Office,
    Programme,
    ReceiptRecorded,
    RejectionRecorded,
    RenewalGrantRecorded,
    RenewalPendingPastTermRecorded,
    RenewalRefusalRecorded,
    RenewalRequested,
    RenewalRequestResubmitted,
    RenewalRequestWithdrawn,
    RenewalReturnRecorded,
    RenewalWindowRecorded,
    ReturnRecorded,
    Route,
    Slot,
    SubmissionAddress,
    SubmittedFile,
    TermRenewalRecorded,
    UnitRegistered,
    UnitRegistrationAmended,
    UnitRegistrationReturned,
    UnitStatus,
    UnitVerified,
    WorkstationApplicationRequested,
    WorkstationDesignationRecorded,
)

SERVICE = "application"

registry = EventRegistry(SERVICE, EVENTS)

_DEADLINE = datetime(2022, 4, 30, 16, 0, tzinfo=UTC)  # 2022-05-01 00:00 in Beijing
_SUBMITTED_AT = datetime(2022, 4, 20, 2, 30, tzinfo=UTC)
CALL = "01HZCALL0000000000000000YN"
APP, CASE = "01HZAPP00000000000000000KM", "01HZCASE0000000000000000KM"
LINKED_APP, LINKED_CASE = "01HZAPP00000000000000000WS", "01HZCASE0000000000000000WS"
STATION = "01HZSTATION00000000000000WS"
ATTACHMENT, BASE, RENEWAL = (
    "01HZATT00000000000000000SL",
    "01HZBASE000000000000000KM",
    "01HZRNW0000000000000000KM",
)
UNIT, UNIT_NAME = "unit-kunming-hitech-park", "昆明高新技术产业开发区管委会"
CREDIT_CODE = "12530100431200101K"  # 统一社会信用代码, check character K
CONTACT = Contact("张三", "0871-68000000", "haizhi@example.cn")
NOTICE_CONTACT = Contact("毛发强", "0871-63103381 / 13629451779", "ynskxgjb@126.com")
PAPER_TO = SubmissionAddress("昆明市护国路26号省科协办公大楼508室", "650021", "云南省科协 毛发强")
SHA = "9f2c1a0e5b7d4c3a8e6f0b1d2c3e4f5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c0d1e"
OLD_SHA = "1e0d9c8b7a6f5e4d3c2b1a0f9e8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b3a2f1e0d"
FILES = tuple(
    SubmittedFile(slot, f"{slot}.pdf", "application/pdf", 120_000 + n, f"{n}" * 64)
    for n, slot in enumerate((*MATERIAL_SLOTS, Slot.SIGNED_FORM), start=1)
)
FORM = (
    FormEntry("base_location", "云南省昆明市"),
    FormEntry("host_unit", UNIT_NAME),
    FormEntry("matching_funds_wan", "50"),
    FormEntry("declares_organisation", "true"),
)


def _submission(
    kind: type[ApplicationSubmitted] | type[ApplicationResubmitted], revision: int, at: datetime
) -> ApplicationSubmitted | ApplicationResubmitted:
    return kind(
        application_id=APP,
        case_id=CASE,
        call_id=CALL,
        programme=Programme.NATIONAL_BASE,
        unit_id=UNIT,
        unit_name=UNIT_NAME,
        category=Category.PARK,
        province="53",
        jurisdiction="5301",
        route=Route.VIA_PREFECTURE,
        revision=revision,
        form_hash="ab" * 32,
        files=FILES,
        linked_case_id=LINKED_CASE,
        form=FORM,
        submitted_at=at,
        call_opened_on=date(2022, 3, 1),
        level=Level.PREFECTURE,
        credit_code=CREDIT_CODE,
    )


_TERM_START, _TERM_END = date(2022, 12, 1), date(2027, 11, 30)

EXAMPLES: list[object] = [
    UnitRegistered(
        UNIT,
        UNIT_NAME,
        CREDIT_CODE,
        Category.PARK,
        Level.PREFECTURE,
        "53",
        "5301",
        (CONTACT,),
        "昆明市高新区科高路1号",
    ),
    UnitRegistrationAmended(
        UNIT,
        UNIT_NAME,
        CREDIT_CODE,
        Category.PARK,
        Level.PREFECTURE,
        "53",
        "5301",
        (CONTACT, Contact("李四", "13800000000", "lisi@example.cn")),
        "昆明市高新区科高路1号",
        UnitStatus.VERIFIED,
    ),
    UnitVerified(UNIT, "53", "5301", Level.PREFECTURE, Office.PREFECTURE, "材料齐全，予以核实"),
    UnitRegistrationReturned(UNIT, Office.PREFECTURE, ("统一社会信用代码与营业执照不符",)),
    CallOpened(
        call_id=CALL,
        province="53",
        year=2022,
        title="2022年中国科协海智计划工作基地申报",
        deadline=_DEADLINE,
        required_slots=MATERIAL_SLOTS,
        allows_workstation=True,
        paper_copies=5,
        opened_on=date(2022, 3, 1),
        additional_materials=("营业执照副本",),
        contacts=(NOTICE_CONTACT,),
        submission_address=PAPER_TO,
    ),
    CallClosed(CALL, "53", _DEADLINE, _DEADLINE),
    ApplicationDrafted(
        APP,
        CASE,
        CALL,
        Programme.NATIONAL_BASE,
        UNIT,
        UNIT_NAME,
        Category.PARK,
        "53",
        "5301",
        None,
        Level.PREFECTURE,
        CREDIT_CODE,
    ),
    DraftUpdated(APP, CASE, FORM),
    AttachmentAdded(
        APP,
        CASE,
        ATTACHMENT,
        Slot.SUPPORT_LETTER,
        "支持函.pdf",
        "application/pdf",
        120_000,
        OLD_SHA,
    ),
    AttachmentReplaced(
        APP,
        CASE,
        ATTACHMENT,
        Slot.SUPPORT_LETTER,
        "支持函（盖章）.pdf",
        "application/pdf",
        130_000,
        SHA,
        previous_sha256=OLD_SHA,
    ),
    AttachmentRemoved(APP, CASE, ATTACHMENT, Slot.SUPPORT_LETTER, SHA),
    WorkstationApplicationRequested(APP, CASE, LINKED_APP, LINKED_CASE),
    _submission(ApplicationSubmitted, 1, _SUBMITTED_AT),
    ReceiptRecorded(APP, CASE, 1, date(2022, 4, 25), "州科协 王五", 5),
    ReturnRecorded(APP, CASE, 1, "01HZREVIEW00000000000000KM", "prefecture", ("补充合作证明",)),
    _submission(ApplicationResubmitted, 2, datetime(2022, 5, 20, 2, 0, tzinfo=UTC)),
    ApplicationWithdrawn(APP, CASE, "单位决定暂不申报", 2),
    RejectionRecorded(APP, CASE, 2, "01HZREVIEW00000000000000KM", "national", ("条件不足",)),
    DesignationRecorded(APP, CASE, 2, "01HZREVIEW00000000000000KM", BASE),
    WorkstationDesignationRecorded(
        LINKED_APP, LINKED_CASE, 1, "01HZREVIEW00000000000000WS", STATION, "云海智站-2022-001"
    ),
    BaseDesignationRecorded(BASE, CASE, UNIT, UNIT_NAME, "53", "5301", _TERM_START, _TERM_END),
    RenewalWindowRecorded(BASE, CASE, date(2027, 9, 2), _TERM_END, _TERM_END, "2022.1"),
    RenewalRequested(
        RENEWAL,
        CASE,
        BASE,
        UNIT,
        UNIT_NAME,
        "53",
        "5301",
        _TERM_END,
        "基地运行良好，申请续期五年。",
        "2022.1",
    ),
    RenewalRequestWithdrawn(RENEWAL, CASE, BASE, "材料需要补充"),
    RenewalReturnRecorded(RENEWAL, CASE, BASE, ("请补充近三年工作总结",)),
    RenewalRequestResubmitted(
        RENEWAL, CASE, BASE, "基地运行良好，申请续期五年。附近三年工作总结。"
    ),
    RenewalPendingPastTermRecorded(BASE, CASE, RENEWAL, _TERM_END),
    RenewalGrantRecorded(RENEWAL, CASE, BASE, date(2027, 12, 1), date(2032, 11, 30)),
    RenewalRefusalRecorded(RENEWAL, CASE, BASE, ("续期评估不合格",)),
    TermRenewalRecorded(BASE, CASE, date(2027, 12, 1), date(2032, 11, 30)),
    BaseExpiryRecorded(BASE, CASE, date(2027, 12, 1), "term_ended"),
    BaseRevocationRecorded(BASE, CASE, date(2025, 3, 1)),
    DocumentIssued(
        document_id="01HZDOC000000000000000FORM",
        kind="form",
        subject_id=APP,
        case_id=CASE,
        jurisdiction="5301",
        owner=UNIT,
        sha256="5a" * 32,
        size=52114,
        filename=f"form-{APP}.pdf",
        sources=(f"application-{APP}@9",),
        source_hashes=("3b" * 32,),
        by="clerk-of-unit-kunming-hitech-park",
        at=_SUBMITTED_AT,
    ),
]
