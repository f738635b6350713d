"""The documents the review service issues, each made only of its review stream's events:

- the approval (批复) of the CAST general office (中国科协办公厅): the leading group's decision
  (`LeadingGroupDecided`) and the designation (`BaseDesignated`, approval number and term);
- the plaque certificate (牌匾证书): the designation — its number, its term, the plaque's fixed
  name (Art. 8) and a QR code to the console's public certificate check of that number.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from shared.document_desk import DocumentKind, DocumentNotReady, Picked
from shared.documents import Cell, DocumentBuilder, Pdf, chinese_date

from ..domain.events import BaseDesignated, LeadingGroupDecided, LeadingGroupOutcome
from .streams import review_stream

ISSUER = "中国科学技术协会办公厅"


def _designation(picked: Picked, kind: str) -> tuple[Any, Any]:
    """The review's approving decision and its designation, or not ready."""
    decided = [(e, ev) for e, ev in picked if isinstance(ev, LeadingGroupDecided)]
    approved = [(e, ev) for e, ev in decided if ev.outcome == LeadingGroupOutcome.APPROVE]
    designated = [(e, ev) for e, ev in picked if isinstance(ev, BaseDesignated)]
    if not approved or not designated:
        raise DocumentNotReady(f"the {kind} needs a national base designated by this review")
    return approved[-1], designated[-1]


def _pick_approval(picked: Picked) -> Picked:
    return list(_designation(picked, "approval"))


def _pick_certificate(picked: Picked) -> Picked:
    return [_designation(picked, "certificate")[1]]


def _of(events: Sequence[Any], cls: type) -> Any:
    return next(event for event in events if isinstance(event, cls))


def approval_letter(events: Sequence[Any], created: datetime, _link: str) -> Pdf:
    decided: LeadingGroupDecided = _of(events, LeadingGroupDecided)
    designated: BaseDesignated = _of(events, BaseDesignated)
    doc = DocumentBuilder(
        title=f"批复 {designated.approval_no}",
        author=ISSUER,
        created=created,
        subject=f"关于同意{designated.unit_name}建设{designated.plaque_name}的批复",
        keywords=(designated.case_id, designated.certificate_no),
    )
    doc.heading(ISSUER, size=20)
    doc.heading(f"关于同意{designated.unit_name}建设{designated.plaque_name}的批复", size=15)
    doc.paragraph(designated.approval_no, align="C")
    doc.space(4)
    doc.paragraph(f"{designated.unit_name}：")
    doc.paragraph(
        f"　　你单位申报{designated.plaque_name}的材料收悉。经海智计划领导小组审议"
        f"（{decided.meeting_ref}，{chinese_date(decided.meeting_date)}），同意你单位建设"
        f"{designated.plaque_name}，并授予牌匾，证书编号{designated.certificate_no}。"
        f"有效期自{chinese_date(designated.term_start)}至{chinese_date(designated.term_end)}。"
    )
    doc.paragraph(
        "　　请你单位按照《中国科协海智计划工作基地管理办法（试行）》的要求，于每年年底前通过"
        "所在地科协报送年度工作总结和下一年度工作计划；有效期满前90日内可提出续期申请。"
    )
    doc.paragraph("　　特此批复。")
    doc.space(10)
    doc.signatures([ISSUER, chinese_date(designated.approved_on), "（盖章）"])
    return doc.build()


def check_url(events: Sequence[Any], base: str) -> str:
    """The console's public certificate check of the certificate's number."""
    designated: BaseDesignated = _of(events, BaseDesignated)
    return f"{base}/certificates/{designated.certificate_no}"


def plaque_certificate(events: Sequence[Any], created: datetime, link: str) -> Pdf:
    designated: BaseDesignated = _of(events, BaseDesignated)
    doc = DocumentBuilder(
        title=f"{designated.plaque_name} 证书 {designated.certificate_no}",
        author=ISSUER,
        created=created,
        subject=f"{designated.unit_name} {designated.plaque_name}",
        keywords=(designated.case_id, designated.certificate_no),
    )
    doc.space(10)
    doc.heading(designated.plaque_name, size=24)
    doc.heading("证　书", size=20)
    doc.space(6)
    doc.table(
        [
            [Cell("证书编号", label=True), Cell(designated.certificate_no)],
            [Cell("承担单位", label=True), Cell(designated.unit_name)],
            [Cell("牌匾名称", label=True), Cell(designated.plaque_name)],
            [
                Cell("有效期", label=True),
                Cell(f"{chinese_date(designated.term_start)}至{chinese_date(designated.term_end)}"),
            ],
            [Cell("批准文号", label=True), Cell(designated.approval_no)],
        ],
        (1, 3),
    )
    doc.paragraph(
        f"　　经海智计划领导小组审议批准，{designated.unit_name}为{designated.plaque_name}，"
        "特发此证。"
    )
    doc.space(6)
    doc.signatures([ISSUER, chinese_date(designated.approved_on)])
    doc.qr(link, size=34, caption=f"扫码查验证书 Scan to check: {link}")
    return doc.build()


APPROVAL = DocumentKind(
    name="approval",
    title="批复",
    streams=lambda review_id: [review_stream(review_id)],
    pick=_pick_approval,
    compose=approval_letter,
)
CERTIFICATE = DocumentKind(
    name="certificate",
    title="牌匾证书",
    streams=lambda review_id: [review_stream(review_id)],
    pick=_pick_certificate,
    compose=plaque_certificate,
    link=check_url,
)
KINDS = (APPROVAL, CERTIFICATE)
