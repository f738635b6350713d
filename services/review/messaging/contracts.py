"""What the review service publishes: its event registry and one example of each event.

The examples follow one case from submission to the plaque and its renewal; other services'
contract tests parse them, and `tests/test_contracts.py` checks every event has one.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

from shared.codec import EventRegistry
from shared.issuance import DocumentIssued

from ..domain.events import (
    EVENTS,
    AcceptedAtProvince,
    ApplicationRejected,
    ApplicationReturned,
    BaseDesignated,
    BaseExpiryRecorded,
    BaseRevocationRecorded,
    CandidateAdded,
    CandidateWithdrawn,
    CertificateNumberIssued,
    ConflictDeclared,
    ForwardedToLeadingGroup,
    ForwardedToProvince,
    GradeEvidence,
    LeadingGroupDecided,
    LeadingGroupOutcome,
    Level,
    NoConflictDeclared,
    NotRecommendedEntry,
    Programme,
    RankedEntry,
    RankingConflictDeclared,
    RankingNoConflictDeclared,
    RecommendationListSubmitted,
    Recommended,
    RenewalAssessmentRecorded,
    RenewalAssessmentRequested,
    RenewalConflictDeclared,
    RenewalForwarded,
    RenewalGranted,
    RenewalNoConflictDeclared,
    RenewalRefused,
    RenewalReturned,
    RenewalReviewClosed,
    RenewalReviewOpened,
    RenewalReviewReopened,
    ReturnedToPrefecture,
    ReviewClosed,
    ReviewOpened,
    ReviewReopened,
    Route,
    ScoreRecorded,
    SubmittedFile,
    WorkstationDesignated,
)

SERVICE = "review"

registry = EventRegistry(SERVICE, EVENTS)

# What this service reads, by upstream service (docs/contracts.md, "Who consumes what").
CONSUMES: list[tuple[str, list[str]]] = [
    (
        "application",
        [
            "ApplicationSubmitted",
            "ApplicationResubmitted",
            "ApplicationWithdrawn",
            "RenewalRequested",
            "RenewalRequestResubmitted",
            "RenewalRequestWithdrawn",
        ],
    ),
    ("assessment", ["RenewalAssessed", "BaseRevoked", "BaseExpired"]),
]

_AT = datetime(2022, 5, 10, 2, 0, tzinfo=UTC)
_REVIEW, _APP, _CASE = (
    "01HZREV0000000000000000001",
    "01HZAPP0000000000000000001",
    "01HZCASE000000000000000001",
)
_CALL, _RANKING = "01HZCALL0000000000000000YN", "01HZRANK000000000000000001"
_BASE, _RENEWAL = "01HZBASE000000000000000001", "01HZRENEW00000000000000001"
_UNIT = "unit-kmust"
_IDS = (_REVIEW, _APP, _CASE)
_FORM = "5f1d" + "0" * 60
_FILES = (
    SubmittedFile("support_letter", "支持函.pdf", "a1" * 32),
    SubmittedFile("construction_plan", "建设方案.pdf", "b2" * 32),
    SubmittedFile("overseas_cooperation", "海外合作证明.pdf", "c3" * 32),
    SubmittedFile("local_policies", "地方政策.pdf", "d4" * 32),
)
_CERTIFICATE = "HZJD-2022-0001"
_OPENED_ON = date(2022, 4, 1)
_STATION = "01HZSTATION000000000000001"

EXAMPLES: list[object] = [
    ReviewOpened(
        *_IDS,
        call_id=_CALL,
        programme=Programme.NATIONAL_BASE,
        unit_id=_UNIT,
        unit_name="昆明理工大学",
        province="53",
        jurisdiction="5301",
        route=Route.VIA_PREFECTURE,
        revision=1,
        form_hash=_FORM,
        files=_FILES,
        level=Level.PREFECTURE,
        at=_AT,
        call_opened_on=_OPENED_ON,
    ),
    ReviewReopened(*_IDS, 2, "昆明理工大学", _FORM, _FILES, Level.PREFECTURE, _AT, _OPENED_ON),
    NoConflictDeclared(_REVIEW, _CASE, "li", "cast-km", _AT),
    ConflictDeclared(_REVIEW, _CASE, "wang", "cast-km", "former employee of the unit", _AT),
    ScoreRecorded(_REVIEW, _CASE, 1, Level.PROVINCE, "mao", "overseas_channels", 85, _AT),
    ForwardedToProvince(*_IDS, "同意推荐", "li", _AT),
    ReturnedToPrefecture(*_IDS, ("prefecture opinion missing",), "mao", _AT),
    AcceptedAtProvince(*_IDS, _CALL, Programme.NATIONAL_BASE, "53", _UNIT, "材料齐全", "mao", _AT),
    Recommended(*_IDS, _RANKING, 1, "zhou", _AT),
    ForwardedToLeadingGroup(*_IDS, "初审通过", "qian", _AT),
    LeadingGroupDecided(
        *_IDS,
        meeting_ref="海智领导小组2022年第3次会议",
        meeting_date=date(2022, 8, 20),
        members_present=("chen", "sun", "zhao"),
        outcome=LeadingGroupOutcome.APPROVE,
        form_hash=_FORM,
        file_hashes=tuple(f.sha256 for f in _FILES),
        reasons=(),
        by="chen",
        at=_AT,
    ),
    ApplicationReturned(*_IDS, Level.PROVINCE, ("budget lacks the use of funds",), "mao", _AT),
    ApplicationRejected(*_IDS, Level.NATIONAL, ("no overseas channel shown",), "qian", _AT),
    BaseDesignated(
        *_IDS,
        base_id=_BASE,
        programme=Programme.NATIONAL_BASE,
        unit_id=_UNIT,
        unit_name="昆明理工大学",
        province="53",
        jurisdiction="5301",
        approval_no="科协办函〔2022〕15号",
        certificate_no=_CERTIFICATE,
        plaque_name="中国科协海智计划工作基地",
        approved_on=date(2022, 9, 1),
        term_start=date(2022, 9, 1),
        term_end=date(2027, 8, 31),
        policy_version="2022.1",
        by="gao",
        at=_AT,
        call_id=_CALL,
        call_opened_on=_OPENED_ON,
    ),
    WorkstationDesignated(
        review_id="01HZREV0000000000000000002",
        application_id="01HZAPP0000000000000000002",
        case_id="01HZCASE000000000000000002",
        station_id=_STATION,
        programme=Programme.PROVINCIAL_WORKSTATION,
        call_id=_CALL,
        call_opened_on=_OPENED_ON,
        unit_id="unit-kmu",
        unit_name="昆明学院",
        province="53",
        jurisdiction="530100",
        certificate_no="云海智站-2022-001",
        approved_on=date(2022, 9, 1),
        policy_version="53-2022.1",
        opinion="同意设立省科协海智计划工作站",
        by="zhao",
        at=_AT,
    ),
    ReviewClosed(*_IDS, Level.PROVINCE, "withdrawn by the unit", _AT),
    CandidateAdded(_RANKING, _CALL, "53", _APP, _REVIEW, _CASE, _UNIT, "mao", _AT),
    CandidateWithdrawn(_RANKING, _APP, "withdrawn by the unit", _AT),
    RankingNoConflictDeclared(_RANKING, "zhou", "cast-yn", _AT),
    RankingConflictDeclared(_RANKING, "wu", "cast-yn", "spouse works at a candidate", _AT),
    RecommendationListSubmitted(
        _RANKING,
        _CALL,
        "53",
        1,
        (RankedEntry(1, _APP, _REVIEW, _CASE),),
        (
            NotRecommendedEntry(
                "01HZAPP0000000000000000002",
                "01HZREV0000000000000000002",
                "01HZCASE000000000000000002",
                ("weaker overseas channels",),
            ),
        ),
        "zhou",
        _AT,
    ),
    RenewalReviewOpened(
        _RENEWAL,
        _CASE,
        _BASE,
        _UNIT,
        "昆明理工大学",
        "53",
        "5301",
        date(2027, 8, 31),
        _AT,
        "申请续期：五年建设总结见附件",
    ),
    RenewalReturned(_RENEWAL, _CASE, _BASE, ("缺少五年建设总结",), "mao", _AT),
    RenewalReviewReopened(_RENEWAL, _CASE, _BASE, "申请续期：已补充五年建设总结", _AT),
    RenewalNoConflictDeclared(_RENEWAL, _CASE, "mao", "cast-yn", _AT),
    RenewalConflictDeclared(_RENEWAL, _CASE, "wu", "cast-yn", "spouse works at the unit", _AT),
    RenewalForwarded(_RENEWAL, _CASE, _BASE, "同意续期", "mao", _AT),
    RenewalAssessmentRequested(_RENEWAL, _CASE, _BASE, "qian", _AT),
    RenewalAssessmentRecorded(
        _RENEWAL,
        _CASE,
        _BASE,
        True,
        (),
        "2022.1",
        _AT,
        tuple(GradeEvidence(year, "qualified") for year in range(2023, 2028)),
    ),
    RenewalGranted(
        _RENEWAL,
        _CASE,
        _BASE,
        "HZJD-2027-0001",
        date(2027, 9, 1),
        date(2032, 8, 31),
        "2022.1",
        "gao",
        _AT,
    ),
    RenewalRefused(
        _RENEWAL,
        _CASE,
        _BASE,
        Level.NATIONAL,
        ("renewal assessment unqualified",),
        "system:review",
        _AT,
        date(2027, 9, 20),
    ),
    RenewalReviewClosed(_RENEWAL, _CASE, _BASE, _AT),
    CertificateNumberIssued(2022, 1, _CERTIFICATE, _BASE, _CASE, _AT),
    BaseRevocationRecorded(_BASE, _CASE, date(2025, 3, 1), "2022.1", _AT),
    BaseExpiryRecorded(_BASE, _CASE, date(2027, 9, 1), "2022.1", _AT),
    DocumentIssued(
        document_id="01HZDOC0000000000000000001",
        kind="certificate",
        subject_id=_REVIEW,
        case_id=_CASE,
        jurisdiction="5301",
        owner=_UNIT,
        sha256="9e" * 32,
        size=41872,
        filename=f"certificate-{_REVIEW}.pdf",
        sources=(f"review-{_REVIEW}@14",),
        source_hashes=("7c" * 32,),
        by="gao",
        at=_AT,
        link=f"http://127.0.0.1:8000/certificates/{_CERTIFICATE}",
    ),
]
