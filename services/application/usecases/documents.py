"""The documents the application service issues, each made only of its application stream:

- the filled Annex 2 form (附件2 申报表), laid out as the annex's table, for the paper copies
  to be signed and sealed: the last submission (`ApplicationSubmitted` or
  `ApplicationResubmitted`, whose `form` holds every field);
- the receipt record (收件记录): the office's `ReceiptRecorded` and the submission it received.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from shared.document_desk import DocumentKind, DocumentNotReady, Picked
from shared.documents import Cell, DocumentBuilder, Pdf, chinese_date

from ..domain import annex2
from ..domain.events import ApplicationResubmitted, ApplicationSubmitted, ReceiptRecorded
from ..domain.form import KINDS, FieldValue, decode
from .applications import application_stream

Submission = ApplicationSubmitted | ApplicationResubmitted
_SLOTS = {
    "support_letter": "支持函",
    "construction_plan": "建设方案（可行性报告）",
    "overseas_cooperation": "海外合作证明",
    "policy_measures": "地方支持政策",
    "signed_form": "签字盖章的申报表",
    "extra": "其他材料",
}


def _submissions(picked: Picked) -> list[tuple[Any, Any]]:
    return [(e, ev) for e, ev in picked if isinstance(ev, Submission)]


def _pick_form(picked: Picked) -> Picked:
    submissions = _submissions(picked)
    if not submissions:
        raise DocumentNotReady("the Annex 2 form is printed from a submitted application")
    return [submissions[-1]]


def _pick_receipt(picked: Picked) -> Picked:
    receipts = [(e, ev) for e, ev in picked if isinstance(ev, ReceiptRecorded)]
    if not receipts:
        raise DocumentNotReady("no receipt of the paper file is recorded yet")
    receipt = receipts[-1]
    received = [s for s in _submissions(picked) if s[1].revision == receipt[1].revision]
    return [received[-1], receipt]


def _shown(name: str, value: FieldValue) -> str:
    match value:
        case None:
            return ""
        case bool():
            return "是" if value else "否"
        case date():
            return chinese_date(value)
        case _:
            return str(value)


def annex2_form(events: Sequence[Any], created: datetime, _link: str) -> Pdf:
    submission: Submission = events[0]
    values = {entry.field: decode(KINDS[entry.field], entry.value) for entry in submission.form}
    doc = DocumentBuilder(
        title=f"{annex2.TITLE} {submission.unit_name}",
        author=submission.unit_name,
        created=created,
        subject=annex2.TITLE,
        keywords=(submission.case_id, submission.application_id, submission.form_hash),
    )
    doc.paragraph(annex2.ANNEX, size=12)
    doc.heading(annex2.TITLE, size=18)
    doc.paragraph(f"申报编号：{submission.application_id}　第{submission.revision}版", size=10)
    rows: list[list[Cell]] = []
    for row in annex2.LAYOUT:
        if isinstance(row, str):
            rows.append([Cell(row, span=4, label=True)])
        elif len(row) == 1:
            rows.append(
                [Cell(annex2.LABELS[row[0]], label=True), Cell(_value(values, row[0]), span=3)]
            )
        else:
            cells = []
            for name in row:
                cells += [Cell(annex2.LABELS[name], label=True), Cell(_value(values, name))]
            rows.append(cells)
    rows.append([Cell("收件记录", label=True), Cell("收件日期：　　　　　收件人：", span=3)])
    doc.table(rows, (1.2, 2, 1.2, 2))
    doc.paragraph(f"表单哈希（SHA-256）：{submission.form_hash}", size=8)
    doc.signatures(["填表单位（盖章）：", "负责人（签字）：", "　　年　　月　　日"])
    return doc.build()


def _value(values: dict[str, FieldValue], name: str) -> str:
    return _shown(name, values.get(name))


def receipt_record(events: Sequence[Any], created: datetime, _link: str) -> Pdf:
    submission: Submission = events[0]
    receipt: ReceiptRecorded = events[1]
    doc = DocumentBuilder(
        title=f"收件记录 {submission.unit_name}",
        author=receipt.recipient,
        created=created,
        subject=annex2.TITLE,
        keywords=(submission.case_id, submission.application_id),
    )
    doc.heading("收件记录", size=18)
    rows = [
        [Cell("申报单位", label=True), Cell(submission.unit_name)],
        [Cell("申报编号", label=True), Cell(submission.application_id)],
        [Cell("案卷编号", label=True), Cell(submission.case_id)],
        [Cell("申报版本", label=True), Cell(f"第{submission.revision}版")],
        [Cell("提交时间", label=True), Cell(chinese_date(submission.submitted_at.date()))],
        [Cell("表单哈希", label=True), Cell(submission.form_hash)],
        [Cell("收件日期", label=True), Cell(chinese_date(receipt.received_on))],
        [Cell("收件人", label=True), Cell(receipt.recipient)],
        [Cell("纸质份数", label=True), Cell(f"{receipt.paper_copies}份")],
        [Cell("附件材料", span=2, label=True)],
    ]
    for file in submission.files:
        slot = _SLOTS.get(file.slot, file.slot)
        rows.append([Cell(slot), Cell(f"{file.name}\nSHA-256：{file.sha256}")])
    doc.table(rows, (1, 3))
    doc.signatures(["收件人（签字）：", chinese_date(receipt.received_on)])
    return doc.build()


FORM = DocumentKind(
    name="form",
    title="申报表",
    streams=lambda application_id: [application_stream(application_id)],
    pick=_pick_form,
    compose=annex2_form,
)
RECEIPT = DocumentKind(
    name="receipt",
    title="收件记录",
    streams=lambda application_id: [application_stream(application_id)],
    pick=_pick_receipt,
    compose=receipt_record,
)
KINDS_ISSUED = (FORM, RECEIPT)
