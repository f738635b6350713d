"""What the assessment service publishes: its event registry and one example of each event.

The examples follow one Kunming base through its life (and one Yunnan work station, which
Yunnan's policy does not assess); other services' contract tests parse them, so each carries
every field that docs/contracts.md promises.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

from shared.codec import EventRegistry
from shared.issuance import DocumentIssued

from ..domain.events import (
    EVENTS,
    AnnualReportFiled,
    AnnualReportForwarded,
    AnnualReportOverdue,
    Attachment,
    BaseCommended,
    BaseExpired,
    BaseRegistered,
    BaseRevoked,
    BaseScored,
    ExpiryReason,
    GradeAmendment,
    GradeEntry,
    GradeFinalised,
    GradeListApproved,
    GradeListProposed,
    GradeProposed,
    ProposedGrade,
    RectificationAccepted,
    RectificationOrdered,
    RectificationOverdue,
    RectificationRejected,
    RectificationReportFiled,
    RenewalAssessed,
    RenewalAssessmentOpened,
    RenewalPendingPastTerm,
    RenewalRefusalRecorded,
    RenewalRequestRecorded,
    RenewalRequestWithdrawalRecorded,
    RenewalWindowOpened,
    ReportingOpened,
    ReportReminded,
    ResourceLibrary,
    RevocationProposed,
    TermGrade,
    TermRenewed,
    WorkstationExpired,
    WorkstationNotAssessed,
    WorkstationRegistered,
    WorkSummary,
)
from ..domain.policy import Criterion, CriterionScore, Grade

SERVICE = "assessment"

registry = EventRegistry(SERVICE, EVENTS)

#: The events other services read (docs/contracts.md), for the AsyncAPI document and tests.
INTEGRATION_EVENTS = (
    "RenewalWindowOpened",
    "GradeFinalised",
    "RectificationOrdered",
    "RectificationAccepted",
    "BaseRevoked",
    "BaseExpired",
    "RenewalPendingPastTerm",
    "RenewalAssessed",
    "TermRenewed",
)

_BASE, _CASE, _V = "01HZBASE00000000000000KMG1", "01HZCASE00000000000000KMG1", "2022.1"
_RECT = "01HZRECT00000000000000KMG1"
_RENEWAL = "01HZRENEW0000000000000KMG1"
_STATION, _STATION_CASE = "01HZSTATION000000000000QJ1", "01HZCASE00000000000000QJ01"
_ATTACHMENTS = (Attachment("2023年度工作总结.pdf", "application/pdf", 204800, "ab" * 32),)
_SUMMARY = WorkSummary(
    talent_introduced="引进海外专家3名",
    projects_landed="落地项目2项",
    academic_exchanges="举办海外学术交流会1次",
    technical_innovation="钠离子电池中试线投产",
    difficulties="海外专家来华签证周期长",
)
_SCORES = tuple(CriterionScore(c, s) for c, s in zip(Criterion, (80, 70, 65, 75, 70), strict=True))

EXAMPLES: list[object] = [
    BaseRegistered(
        base_id=_BASE,
        case_id=_CASE,
        unit_id="unit-kunming-hightech-zone",
        unit_name="昆明高新技术产业开发区",
        province="53",
        jurisdiction="5301",
        term_start=date(2022, 6, 15),
        term_end=date(2027, 6, 14),
        first_report_year=2022,
        policy_version=_V,
    ),
    ReportingOpened(_BASE, _CASE, 2023, date(2023, 12, 1), date(2023, 12, 31), (14, 3), _V),
    ReportReminded(_BASE, _CASE, 2023, 14, date(2023, 12, 31), _V),
    AnnualReportFiled(
        base_id=_BASE,
        case_id=_CASE,
        year=2023,
        filed_on=date(2023, 12, 20),
        late=False,
        summary=_SUMMARY,
        next_year_plan="2024年引进海外专家5名，落地项目3项",
        resource_library=ResourceLibrary(12, 7, 40, date(2023, 11, 20)),
        attachments=_ATTACHMENTS,
        policy_version=_V,
    ),
    AnnualReportForwarded(_BASE, _CASE, 2023, "5301", date(2023, 12, 22), _V),
    AnnualReportOverdue(_BASE, _CASE, 2024, date(2024, 12, 31), _V),
    BaseScored(_BASE, _CASE, 2023, _SCORES, Decimal("72.25"), True, Grade.QUALIFIED, _V),
    GradeProposed(
        base_id=_BASE,
        case_id=_CASE,
        year=2023,
        grade=Grade.EXCELLENT,
        suggested_grade=Grade.QUALIFIED,
        missing_report=False,
        reason="钠离子电池中试线投产，成效突出",
        policy_version=_V,
    ),
    GradeFinalised(
        base_id=_BASE,
        case_id=_CASE,
        year=2023,
        grade=Grade.QUALIFIED,
        proposed_grade=Grade.EXCELLENT,
        amendment_reason="优秀名额已满，维持建议等次",
        approved_on=date(2024, 3, 10),
        policy_version=_V,
    ),
    BaseCommended(_BASE, _CASE, 2023, _V),
    RectificationOrdered(
        base_id=_BASE,
        case_id=_CASE,
        rectification_id=_RECT,
        year=2024,
        ordered_on=date(2025, 3, 10),
        deadline=date(2025, 6, 8),
        policy_version=_V,
    ),
    RectificationReportFiled(
        _BASE, _CASE, _RECT, 2024, date(2025, 5, 30), False, "资源库已更新", _ATTACHMENTS, _V
    ),
    RectificationAccepted(_BASE, _CASE, _RECT, 2024, date(2025, 6, 5), _V),
    RectificationRejected(_BASE, _CASE, _RECT, 2024, date(2025, 6, 5), ("资源库仍未更新",), _V),
    RectificationOverdue(_BASE, _CASE, _RECT, 2024, date(2025, 6, 8), _V),
    RevocationProposed(_BASE, _CASE, (2024, 2025), date(2026, 3, 10), _V),
    BaseRevoked(_BASE, _CASE, date(2026, 3, 20), (2024, 2025), "LG-2026-2", _V),
    RenewalWindowOpened(
        base_id=_BASE,
        case_id=_CASE,
        opens_on=date(2027, 3, 17),
        closes_on=date(2027, 6, 14),
        term_end=date(2027, 6, 14),
        policy_version=_V,
    ),
    RenewalRequestRecorded(_BASE, _CASE, _RENEWAL, date(2027, 6, 14), date(2027, 4, 2)),
    RenewalRequestWithdrawalRecorded(_BASE, _CASE, _RENEWAL, date(2027, 5, 2)),
    RenewalRefusalRecorded(_BASE, _CASE, _RENEWAL, date(2027, 6, 1)),
    RenewalPendingPastTerm(
        base_id=_BASE, case_id=_CASE, renewal_id=_RENEWAL, term_end=date(2027, 6, 14)
    ),
    RenewalAssessmentOpened(_BASE, _CASE, _RENEWAL, date(2027, 4, 20)),
    RenewalAssessed(
        base_id=_BASE,
        case_id=_CASE,
        renewal_id=_RENEWAL,
        qualified=True,
        reasons=("五年考核均合格，2023年度优秀",),
        grades=(
            TermGrade(2022, Grade.QUALIFIED),
            TermGrade(2023, Grade.EXCELLENT),
            TermGrade(2024, Grade.QUALIFIED),
            TermGrade(2025, Grade.QUALIFIED),
            TermGrade(2026, Grade.QUALIFIED),
        ),
        assessed_on=date(2027, 5, 10),
        policy_version=_V,
    ),
    TermRenewed(
        base_id=_BASE,
        case_id=_CASE,
        renewal_id=_RENEWAL,
        certificate_no="HZJD-2027-053-01",
        term_start=date(2027, 6, 15),
        term_end=date(2032, 6, 14),
        policy_version=_V,
    ),
    BaseExpired(
        base_id=_BASE,
        case_id=_CASE,
        expired_on=date(2027, 7, 20),
        term_end=date(2027, 6, 14),
        reason=ExpiryReason.RENEWAL_REFUSED,
        policy_version=_V,
    ),
    GradeListProposed(
        2023,
        1,
        (ProposedGrade(_BASE, Grade.EXCELLENT, Grade.QUALIFIED, "钠离子电池中试线投产，成效突出"),),
        _V,
    ),
    GradeListApproved(
        year=2023,
        revision=1,
        entries=(GradeEntry(_BASE, Grade.QUALIFIED),),
        amendments=(
            GradeAmendment(_BASE, Grade.EXCELLENT, Grade.QUALIFIED, "优秀名额已满，维持建议等次"),
        ),
        meeting_ref="LG-2024-1",
        approved_on=date(2024, 3, 10),
        policy_version=_V,
    ),
    WorkstationNotAssessed(
        station_id=_STATION,
        case_id=_STATION_CASE,
        unit_id="unit-qujing-econ-zone",
        unit_name="曲靖经济技术开发区",
        province="53",
        jurisdiction="5303",
        certificate_no="云海智站-2022-001",
        approved_on=date(2022, 8, 1),
        reason="省级工作站无考核政策 / no work-station assessment policy in province 53",
    ),
    WorkstationRegistered(
        station_id=_STATION,
        case_id=_STATION_CASE,
        unit_id="unit-qujing-econ-zone",
        unit_name="曲靖经济技术开发区",
        province="53",
        jurisdiction="5303",
        certificate_no="云海智站-2022-001",
        approved_on=date(2022, 8, 1),
        term_start=date(2022, 8, 1),
        term_end=date(2025, 7, 31),
        policy_version="53-2024.1",
    ),
    WorkstationExpired(_STATION, _STATION_CASE, date(2025, 8, 1), date(2025, 7, 31), "53-2024.1"),
    DocumentIssued(
        document_id="01HZDOC00000000000000RECT1",
        kind="rectification",
        subject_id=_BASE,
        case_id=_CASE,
        jurisdiction="5301",
        owner="unit-kmust",
        sha256="4d" * 32,
        size=38210,
        filename=f"rectification-{_BASE}.pdf",
        sources=(f"base-{_BASE}@3", f"base-{_BASE}@12", f"base-{_BASE}@13"),
        source_hashes=("1a" * 32, "2b" * 32, "3c" * 32),
        by="qian",
        at=datetime(2024, 3, 1, 2, 0, tzinfo=UTC),
    ),
]
