"""The documents the assessment service issues, each made only of the streams it documents:

- the rectification notice (整改通知, Art. 12): the base's registration, the year's final grade
  (`GradeFinalised`) and the order with its deadline (`RectificationOrdered`), from the base's
  stream;
- the yearly grade list (考核等次名单, Art. 12): the leading group's approved list
  (`GradeListApproved`) and the registration of each base on it (their units' names).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from shared.document_desk import DocumentKind, DocumentNotReady, Picked
from shared.documents import Cell, DocumentBuilder, Pdf, chinese_date

from ..domain.events import (
    BaseRegistered,
    GradeFinalised,
    GradeListApproved,
    RectificationOrdered,
)
from ..domain.policy import Grade
from .bases import base_stream

ISSUER = "中国科协国际联络部"
GRADES_ZH = {Grade.EXCELLENT: "优秀", Grade.QUALIFIED: "合格", Grade.UNQUALIFIED: "不合格"}
_YEAR_PREFIX = "grade-list-"


def _last(picked: Picked, cls: type) -> list[tuple[Any, Any]]:
    return [(e, ev) for e, ev in picked if isinstance(ev, cls)]


def _pick_rectification(picked: Picked) -> Picked:
    orders = _last(picked, RectificationOrdered)
    registered = _last(picked, BaseRegistered)
    if not orders or not registered:
        raise DocumentNotReady("no rectification has been ordered for this base")
    order = orders[-1]
    graded = [g for g in _last(picked, GradeFinalised) if g[1].year == order[1].year]
    return [registered[0], *graded[-1:], order]


def rectification_notice(events: Sequence[Any], created: datetime, _link: str) -> Pdf:
    base: BaseRegistered = events[0]
    order: RectificationOrdered = events[-1]
    doc = DocumentBuilder(
        title=f"整改通知 {base.unit_name} {order.year}",
        author=ISSUER,
        created=created,
        subject="中国科协海智计划工作基地年度考核整改通知",
        keywords=(base.case_id, base.base_id, order.rectification_id),
    )
    doc.heading("中国科协海智计划工作基地", size=16)
    doc.heading("整改通知", size=20)
    doc.paragraph(f"{base.unit_name}：")
    doc.paragraph(
        f"　　根据《中国科协海智计划工作基地管理办法（试行）》第十二条，经海智计划领导小组审定，"
        f"你单位{order.year}年度考核等次为不合格。请你单位于{chinese_date(order.deadline)}前"
        "完成整改，并通过所在地科协报送整改报告。"
    )
    doc.paragraph("　　连续两年考核不合格的，撤销其中国科协海智计划工作基地资格（第十三条）。")
    doc.table(
        [
            [Cell("基地编号", label=True), Cell(base.base_id)],
            [Cell("承担单位", label=True), Cell(base.unit_name)],
            [Cell("考核年度", label=True), Cell(f"{order.year}年")],
            [Cell("考核等次", label=True), Cell(GRADES_ZH[Grade.UNQUALIFIED])],
            [Cell("整改编号", label=True), Cell(order.rectification_id)],
            [Cell("通知日期", label=True), Cell(chinese_date(order.ordered_on))],
            [Cell("整改期限", label=True), Cell(chinese_date(order.deadline))],
            [Cell("政策版本", label=True), Cell(order.policy_version)],
        ],
        (1, 3),
    )
    doc.signatures([ISSUER, chinese_date(order.ordered_on), "（盖章）"])
    return doc.build()


def _pick_grade_list(picked: Picked) -> Picked:
    approved = _last(picked, GradeListApproved)
    if not approved:
        raise DocumentNotReady("the leading group has not approved this year's grade list")
    listed = {entry.base_id for entry in approved[-1][1].entries}
    registered = {ev.base_id: (e, ev) for e, ev in _last(picked, BaseRegistered)}
    return [approved[-1], *(registered[base_id] for base_id in sorted(listed))]


def _bases_listed(picked: Picked) -> Sequence[str]:
    approved = _last(picked, GradeListApproved)
    entries = approved[-1][1].entries if approved else ()
    return [base_stream(base_id) for base_id in sorted({e.base_id for e in entries})]


def grade_list(events: Sequence[Any], created: datetime, _link: str) -> Pdf:
    approved: GradeListApproved = events[0]
    names = {base.base_id: base.unit_name for base in events[1:]}
    doc = DocumentBuilder(
        title=f"{approved.year}年度中国科协海智计划工作基地考核等次名单",
        author=ISSUER,
        created=created,
        subject="考核等次名单",
        keywords=(f"{_YEAR_PREFIX}{approved.year}", approved.meeting_ref),
    )
    doc.heading(f"{approved.year}年度中国科协海智计划工作基地考核等次名单", size=16)
    doc.paragraph(
        f"经海智计划领导小组审定（{approved.meeting_ref}，{chinese_date(approved.approved_on)}），"
        "现公布年度考核等次名单如下。",
    )
    rows = [[Cell("序号", label=True), Cell("承担单位", label=True), Cell("考核等次", label=True)]]
    order = {Grade.EXCELLENT: 0, Grade.QUALIFIED: 1, Grade.UNQUALIFIED: 2}
    ranked = sorted(approved.entries, key=lambda e: (order[e.grade], names[e.base_id], e.base_id))
    for number, entry in enumerate(ranked, start=1):
        rows.append([Cell(str(number)), Cell(names[entry.base_id]), Cell(GRADES_ZH[entry.grade])])
    doc.table(rows, (1, 5, 2))
    doc.signatures([ISSUER, chinese_date(approved.approved_on)])
    return doc.build()


def grade_list_subject(year: int) -> str:
    return f"{_YEAR_PREFIX}{year}"


RECTIFICATION = DocumentKind(
    name="rectification",
    title="整改通知",
    streams=lambda base_id: [base_stream(base_id)],
    pick=_pick_rectification,
    compose=rectification_notice,
)
GRADE_LIST = DocumentKind(
    name="list",
    title="考核等次名单",
    streams=lambda subject_id: [subject_id],  # the list's stream id is its subject's
    pick=_pick_grade_list,
    compose=grade_list,
    related=_bases_listed,
)
KINDS = (RECTIFICATION, GRADE_LIST)
