"""What the assessment service publishes: its event registry and one example of each event.

The examples follow one Kunming base through its life; other services' contract tests parse
them, so each carries every field that docs/contracts.md promises.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from shared.codec import EventRegistry

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
    GradeEntry,
    GradeFinalised,
    GradeListApproved,
    GradeListProposed,
    GradeProposed,
    RectificationAccepted,
    RectificationOrdered,
    RectificationOverdue,
    RectificationRejected,
    RectificationReportFiled,
    RenewalAssessed,
    RenewalObstacle,
    RenewalWindowOpened,
    ReportingOpened,
    ReportReminded,
    ResourceLibrary,
    RevocationProposed,
    TermRenewed,
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
    "RenewalAssessed",
    "TermRenewed",
)

_BASE, _CASE, _V = "01HZBASE00000000000000KMG1", "01HZCASE00000000000000KMG1", "2022.1"
_RECT = "01HZRECT00000000000000KMG1"
_RENEWAL = "01HZRENEW0000000000000KMG1"
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
    BaseScored(_BASE, _CASE, 2023, _SCORES, Decimal("72.25"), True, _V),
    GradeProposed(_BASE, _CASE, 2023, Grade.QUALIFIED, False, _V),
    GradeFinalised(_BASE, _CASE, 2023, Grade.QUALIFIED, date(2024, 3, 10), _V),
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
    RenewalAssessed(
        base_id=_BASE,
        case_id=_CASE,
        renewal_id=_RENEWAL,
        qualified=False,
        reasons=(RenewalObstacle.RECTIFICATION_OUTSTANDING,),
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
    BaseExpired(_BASE, _CASE, date(2027, 6, 15), date(2027, 6, 14), _V),
    GradeListProposed(2023, 1, (GradeEntry(_BASE, Grade.QUALIFIED),), _V),
    GradeListApproved(
        2023, 1, (GradeEntry(_BASE, Grade.QUALIFIED),), "LG-2024-1", date(2024, 3, 10), _V
    ),
]
