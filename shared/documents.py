"""Deterministic PDF documents with their Chinese text embedded: the mechanism, no domain.

A service lays out a document with `DocumentBuilder` — headings, paragraphs, a bordered
label/value table (cells may span columns), signature and seal lines, a QR code drawn as vector
squares — and `build()` gives its bytes and their SHA-256. The same calls give the same bytes:
the creation date and every metadata field come from the caller (the time of the fact the
document records, never "now"), the font is a fixed file (Noto Sans SC, from the
`pylopdf_fonts_zh_cn` wheel, embedded as a subset), the QR code is segno's matrix drawn square
by square. So an auditor can regenerate a document from the event stream and compare hashes.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime

import pylopdf_fonts_zh_cn
import segno
from fpdf import FPDF
from fpdf.enums import Align, TableBordersLayout, XPos, YPos
from fpdf.fonts import FontFace

FONT = "NotoSansSC"
MEDIA_TYPE = "application/pdf"
#: The first bytes of every PDF file.
PDF_MAGIC = b"%PDF-"
_CREATOR = "HaiZhi Cases"
_QUIET_ZONE = 4  # modules of white around a QR code (ISO/IEC 18004)
_LABEL = FontFace(fill_color=(235, 235, 235))


def sha256_of(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


def chinese_date(day: date) -> str:
    """A date as Chinese official documents write it: 2022年8月25日."""
    return f"{day.year}年{day.month}月{day.day}日"


@dataclass(frozen=True, slots=True)
class Pdf:
    """A built document: its bytes and their SHA-256 (hex)."""

    content: bytes
    sha256: str

    @property
    def size(self) -> int:
        return len(self.content)


@dataclass(frozen=True, slots=True)
class Cell:
    """One cell of a table: a label (shaded, bold-looking by its background) or a value;
    `span` columns wide."""

    text: str
    span: int = 1
    label: bool = False


def qr_modules(data: str) -> tuple[tuple[bool, ...], ...]:
    """The QR code's modules (True = dark), row by row, without the quiet zone: what
    `DocumentBuilder.qr` draws. Error correction M; segno picks the smallest version."""
    code = segno.make_qr(data, error="m", boost_error=False)
    return tuple(tuple(bool(module) for module in row) for row in code.matrix)


class _Page(FPDF):
    """A4 portrait, the CJK font, and "page n of N" in every footer."""

    def footer(self) -> None:
        self.set_y(-15)
        self.set_font(FONT, size=9)
        self.cell(0, 8, f"第 {self.page_no()} 页 共 {{nb}} 页", align=Align.C)


class DocumentBuilder:
    """Lay out one document, top to bottom, then `build()` it."""

    def __init__(
        self,
        *,
        title: str,
        author: str,
        created: datetime,
        subject: str = "",
        keywords: Sequence[str] = (),
    ) -> None:
        if created.tzinfo is None:
            raise ValueError("a document's creation time must be timezone-aware")
        pdf = _Page(orientation="P", unit="mm", format="A4")
        pdf.set_margins(20, 20, 20)
        pdf.set_auto_page_break(auto=True, margin=22)
        pdf.add_font(FONT, "", str(pylopdf_fonts_zh_cn.sans_path()))
        pdf.set_title(title)
        pdf.set_author(author)
        pdf.set_subject(subject)
        pdf.set_keywords(" ".join(keywords))
        pdf.set_creator(_CREATOR)
        pdf.set_producer(_CREATOR)
        pdf.set_creation_date(created.astimezone(UTC))
        pdf.set_lang("zh-CN")
        pdf.add_page()
        self._pdf = pdf

    @property
    def width(self) -> float:
        """The width between the margins, in mm."""
        return float(self._pdf.epw)

    def heading(self, text: str, *, size: float = 18) -> None:
        self._pdf.set_font(FONT, size=size)
        self._pdf.multi_cell(0, size * 0.6, text, align=Align.C, new_x=XPos.LMARGIN)
        self._pdf.ln(size * 0.3)

    def paragraph(self, text: str, *, size: float = 12, align: str = "L") -> None:
        """A paragraph, wrapped; `align` L, C, R or J."""
        self._pdf.set_font(FONT, size=size)
        self._pdf.multi_cell(0, size * 0.6, text, align=Align.coerce(align), new_x=XPos.LMARGIN)
        self._pdf.ln(size * 0.25)

    def space(self, mm: float) -> None:
        self._pdf.ln(mm)

    def table(self, rows: Sequence[Sequence[Cell]], widths: Sequence[float]) -> None:
        """A bordered table; `widths` are the columns' relative widths, and each row's spans
        add up to their count."""
        columns = len(widths)
        for number, row in enumerate(rows, start=1):
            spanned = sum(cell.span for cell in row)
            if spanned != columns:
                raise ValueError(f"row {number} spans {spanned} columns, not {columns}")
        self._pdf.set_font(FONT, size=11)
        with self._pdf.table(
            col_widths=tuple(widths),
            first_row_as_headings=False,
            borders_layout=TableBordersLayout.ALL,
            line_height=6.5,
            padding=1.5,
            text_align="LEFT",
        ) as table:
            for row in rows:
                line = table.row()
                for cell in row:
                    style = _LABEL if cell.label else None
                    line.cell(cell.text, colspan=cell.span, style=style)
        self._pdf.ln(4)

    def signatures(self, lines: Sequence[str], *, size: float = 12) -> None:
        """Signature, seal and date lines, right of centre, where the paper copy is signed."""
        self._pdf.set_font(FONT, size=size)
        indent = self.width * 0.45
        for line in lines:
            self._pdf.set_x(self._pdf.l_margin + indent)
            self._pdf.cell(
                self.width - indent, size * 0.8, line, new_x=XPos.LMARGIN, new_y=YPos.NEXT
            )
        self._pdf.ln(2)

    def qr(self, data: str, *, size: float = 32, caption: str | None = None) -> None:
        """`data` as a QR code `size` mm square (quiet zone included), centred, drawn as one
        filled square per dark module: vectors, no image, the same every time."""
        modules = qr_modules(data)
        count = len(modules) + 2 * _QUIET_ZONE
        module = size / count
        if self._pdf.will_page_break(size + 10):
            self._pdf.add_page()
        left = self._pdf.l_margin + (self.width - size) / 2
        top = self._pdf.get_y()
        self._pdf.set_fill_color(0, 0, 0)
        for y, row in enumerate(modules):
            for x, dark in enumerate(row):
                if dark:
                    self._pdf.rect(
                        left + (x + _QUIET_ZONE) * module,
                        top + (y + _QUIET_ZONE) * module,
                        module,
                        module,
                        style="F",
                    )
        self._pdf.set_y(top + size)
        if caption is not None:
            self._pdf.set_font(FONT, size=9)
            self._pdf.multi_cell(0, 5, caption, align=Align.C, new_x=XPos.LMARGIN)
        self._pdf.ln(2)

    def build(self) -> Pdf:
        content = bytes(self._pdf.output())
        return Pdf(content, sha256_of(content))
