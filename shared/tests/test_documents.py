"""The PDF builder: Chinese text that reads back, the same bytes from the same calls, and a QR
code drawn as squares that are segno's matrix of its data."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from shared.documents import Cell, DocumentBuilder, Pdf, chinese_date, qr_modules, sha256_of
from shared.testkit import pdf

AT = datetime(2022, 8, 25, 2, 0, tzinfo=UTC)
URL = "http://127.0.0.1:8000/certificates/HZJD-2022-0001"


def a_document(created: datetime = AT, unit: str = "昆明理工大学") -> Pdf:
    doc = DocumentBuilder(title="证书", author="中国科学技术协会办公厅", created=created)
    doc.heading("中国科协海智计划工作基地")
    doc.paragraph(f"{unit}：经审议，同意。HaiZhi 2022")
    doc.table(
        [
            [Cell("基地所在地", label=True), Cell("云南省昆明市", span=3)],
            [Cell("电话", label=True), Cell("0871-65100000"), Cell("传真", label=True), Cell("")],
            [Cell("概述", span=4)],
            [Cell("基础条件" * 60, span=4)],
        ],
        (1, 2, 1, 2),
    )
    doc.signatures(["负责人签字：", "（单位盖章）", chinese_date(created.date())])
    doc.qr(URL, caption="扫码查验")
    return doc.build()


def test_the_chinese_text_is_embedded_and_reads_back() -> None:
    document = a_document()
    assert pdf.text(document.content) == pdf.compact(
        "中国科协海智计划工作基地"
        "昆明理工大学：经审议，同意。HaiZhi 2022"
        "基地所在地云南省昆明市电话0871-65100000传真概述" + "基础条件" * 60 + "负责人签字："
        "（单位盖章）2022年8月25日扫码查验第1页共1页"
    )
    assert pdf.metadata(document.content)["/CreationDate"] == "D:20220825020000Z"
    assert b"/FontFile" in document.content  # the font travels in the file


def test_the_same_calls_give_the_same_bytes_and_hash() -> None:
    first, second = a_document(), a_document()
    assert first.content == second.content
    assert first.sha256 == second.sha256 == sha256_of(first.content)
    assert first.size == len(first.content)
    # The same instant in Beijing time is the same document; another fact is another.
    beijing = AT.astimezone(timezone(timedelta(hours=8)))
    assert a_document(created=beijing).sha256 == first.sha256
    assert a_document(created=AT + timedelta(seconds=1)).sha256 != first.sha256
    assert a_document(unit="云南大学").sha256 != first.sha256


def test_the_qr_code_is_drawn_as_segnos_matrix_of_its_url() -> None:
    drawn = pdf.drawn_qr(a_document().content)
    assert drawn == qr_modules(URL)
    assert drawn != qr_modules(URL + "1")
    assert b"/Subtype /Image" not in a_document().content  # vectors, no raster


def test_a_row_that_does_not_span_the_table_is_refused() -> None:
    doc = DocumentBuilder(title="t", author="a", created=AT)
    with pytest.raises(ValueError, match="spans 1 columns, not 2"):
        doc.table([[Cell("x")]], (1, 1))


def test_a_naive_creation_time_is_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        DocumentBuilder(title="t", author="a", created=datetime(2022, 8, 25))
