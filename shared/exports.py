"""A table of rows, rendered as a CSV or an XLSX download: the mechanism every export shares.

A `Sheet` names its columns (a key, a Chinese and an English header, a kind) and holds rows
keyed by those keys; `export_response` renders it in the format and language the request asks
for (`?format=csv|xlsx`, default csv; `?lang=zh|en`, default zh — anything else is a 422
problem, refused by the query's type before a route runs).

- CSV: UTF-8 with a byte-order mark (Excel then reads the Chinese), RFC 4180 quoting and CRLF
  line ends. A text cell that starts with `=`, `+`, `-`, `@`, a tab or a carriage return is
  prefixed with `'`, so a spreadsheet never runs it as a formula (CSV injection); numbers,
  dates and money are written by us and never need it.
- XLSX (openpyxl): integers as numbers, dates as dates, money (fen) as a number of 元 written
  from its exact decimal text (`Decimal`, format `#,##0.00`): the file's XML holds "1234.56",
  never a float's approximation, so a reader gets the fen back exactly by ×100 — and sums work
  in the spreadsheet. Text cells get the same formula guard. The workbook's created/modified
  times are fixed (`FIXED_TIME`), so one read model gives byte-identical files.
- Money in the CSV is 元 as exact text ("1234.56", "-0.05"): integer fen divided by 100 with
  integer arithmetic, never a float.
- Size: exports are bounded, not streamed: a route reads at most `MAX_EXPORT_ROWS` + 1 rows and
  refuses a larger result with a 422 `export-too-large` (narrow the filter), so a file is
  built whole in memory (a few MB at most) and its headers can still change to a problem. It
  is rendered in a worker thread, so the service's event loop keeps serving meanwhile.
"""

from __future__ import annotations

import asyncio
import csv
import io
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Any, Literal
from urllib.parse import quote

from fastapi import APIRouter, Depends, Query
from fastapi.responses import Response

from shared.problems import HTTPProblem, problem_type

#: The most rows one export holds; a larger result is refused (`too_large`).
MAX_EXPORT_ROWS = 20_000
#: Every workbook's created and modified time: the same rows give the same bytes.
FIXED_TIME = datetime(2020, 1, 1)
CSV_MEDIA_TYPE = "text/csv; charset=utf-8"
XLSX_MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
#: What a spreadsheet may take for the start of a formula (OWASP's CSV injection list).
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


class Kind(StrEnum):
    TEXT = "text"
    INTEGER = "integer"
    DATE = "date"
    MONEY = "money"  # integer fen, shown as 元


@dataclass(frozen=True, slots=True)
class Column:
    key: str
    zh: str
    en: str
    kind: Kind = Kind.TEXT


@dataclass(frozen=True, slots=True)
class Sheet:
    """An export: its file's stem (ASCII), its Chinese file name, columns and rows."""

    stem: str
    title_zh: str
    columns: tuple[Column, ...]
    rows: Sequence[Mapping[str, Any]]


Format = Literal["csv", "xlsx"]
Lang = Literal["zh", "en"]
ExportFormat = Annotated[Format, Query(description="csv (UTF-8 with BOM; the default) or xlsx")]
ExportLang = Annotated[Lang, Query(description="the headers' language: zh (default) or en")]
ENDPOINT_DESCRIPTION = (
    " A download: `format` csv (UTF-8 with BOM, the default) or xlsx, headers in `lang` zh"
    f" (default) or en; money in 元, exact. At most {MAX_EXPORT_ROWS} rows (a larger result is"
    " a 422 `export-too-large`: narrow the filter)."
)
DOWNLOAD: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "the export, as a file",
        "content": {"text/csv": {}, XLSX_MEDIA_TYPE: {}},
    }
}


@dataclass(frozen=True, slots=True)
class ExportAs:
    """How an export was asked for: its file format and its headers' language."""

    format: Format = "csv"
    lang: Lang = "zh"


def _export_as(format: ExportFormat = "csv", lang: ExportLang = "zh") -> ExportAs:
    return ExportAs(format, lang)


#: The `format` and `lang` query parameters of every export route.
Export = Annotated[ExportAs, Depends(_export_as)]


def export_route(
    router: APIRouter,
    path: str,
    *,
    summary: str,
    description: str,
    responses: dict[int | str, dict[str, Any]] | None = None,
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """`router.get` for an export: a file download, documented as every export is."""
    return router.get(
        path,
        summary=summary,
        description=description + ENDPOINT_DESCRIPTION,
        response_class=Response,
        responses=DOWNLOAD | (responses or {}),
    )


def yuan(fen: int) -> str:
    """Integer fen as exact 元 text: 123456 -> "1234.56", -5 -> "-0.05"."""
    sign = "-" if fen < 0 else ""
    whole, cents = divmod(abs(fen), 100)
    return f"{sign}{whole}.{cents:02d}"


def guarded(text: str) -> str:
    """Text a spreadsheet shows as text, never evaluates as a formula."""
    return "'" + text if text.startswith(_FORMULA_START) else text


def too_large(rows: Sequence[Any]) -> None:
    """Refuse an export of more than `MAX_EXPORT_ROWS` rows (read `MAX_EXPORT_ROWS` + 1)."""
    if len(rows) > MAX_EXPORT_ROWS:
        raise HTTPProblem(
            422,
            "Export too large",
            f"an export holds at most {MAX_EXPORT_ROWS} rows: narrow the filter",
            type_=problem_type("export-too-large"),
            code="export-too-large",
        )


def _header(column: Column, lang: Lang | None) -> str:
    return column.key if lang is None else column.zh if lang == "zh" else column.en


def _text(column: Column, value: Any) -> str:
    if value is None:
        return ""
    match column.kind:
        case Kind.MONEY:
            return yuan(int(value))
        case Kind.INTEGER:
            return str(int(value))
        case Kind.DATE:
            return value.isoformat() if isinstance(value, date) else str(value)
        case Kind.TEXT:
            return guarded(str(value))


def render_csv(sheet: Sheet, lang: Lang | None = "zh", *, bom: bool = True) -> bytes:
    """The sheet as CSV bytes. `lang=None`: the column keys as headers (a machine's file)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([_header(c, lang) for c in sheet.columns])
    for row in sheet.rows:
        writer.writerow([_text(c, row.get(c.key)) for c in sheet.columns])
    return ("\ufeff" if bom else "").encode() + out.getvalue().encode()


def _cell(column: Column, value: Any) -> Any:
    if value is None:
        return None
    match column.kind:
        case Kind.MONEY:
            return Decimal(yuan(int(value)))
        case Kind.INTEGER:
            return int(value)
        case Kind.DATE:
            return value if isinstance(value, date) else date.fromisoformat(str(value)[:10])
        case Kind.TEXT:
            return guarded(str(value))


def render_xlsx(sheet: Sheet, lang: Lang = "zh") -> bytes:
    """The sheet as an XLSX workbook of one worksheet, deterministic to the byte.

    Written in openpyxl's write-only mode (rows streamed into the archive, not held as cell
    objects): a few times faster, and a fraction of the memory, on a large export."""
    from openpyxl import Workbook  # the one route that writes a workbook pays for the import
    from openpyxl.cell import WriteOnlyCell

    book = Workbook(write_only=True)
    book.properties.created = book.properties.modified = FIXED_TIME
    book.properties.creator = "HaiZhi Cases"
    ws = book.create_sheet(sheet.stem[:31])
    ws.append([_header(c, lang) for c in sheet.columns])
    formats = {Kind.MONEY: "#,##0.00", Kind.DATE: "yyyy-mm-dd"}
    for row in sheet.rows:
        cells: list[Any] = []
        for column in sheet.columns:
            value = _cell(column, row.get(column.key))
            style = formats.get(column.kind)
            if style is None or value is None:
                cells.append(value)
            else:
                cell = WriteOnlyCell(ws, value)
                cell.number_format = style
                cells.append(cell)
        ws.append(cells)
    out = io.BytesIO()
    book.save(out)
    return _fixed_zip_times(out.getvalue())


#: The workbook's own `modified` stamp, which openpyxl sets to the time of saving whatever
#: the properties say.
_MODIFIED = re.compile(rb"(<dcterms:modified[^>]*>)[^<]*(</dcterms:modified>)")


def _fixed_zip_times(data: bytes) -> bytes:
    """The same archive with each member's time, and the workbook's `modified`, fixed:
    openpyxl stamps the time of saving on both."""
    import zipfile

    stamp = FIXED_TIME.strftime("%Y-%m-%dT%H:%M:%SZ").encode()
    source = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            fixed = zipfile.ZipInfo(info.filename, FIXED_TIME.timetuple()[:6])
            fixed.compress_type = zipfile.ZIP_DEFLATED
            member = source.read(info.filename)
            if info.filename == "docProps/core.xml":
                member = _MODIFIED.sub(rb"\g<1>" + stamp + rb"\g<2>", member)
            target.writestr(fixed, member)
    return out.getvalue()


def content_disposition(stem: str, title_zh: str, extension: str) -> str:
    """`attachment` with an ASCII `filename` and the Chinese name as RFC 5987 `filename*`."""
    ascii_name = "".join(
        ch if ch.isascii() and (ch.isalnum() or ch in "-_.") else "-" for ch in stem
    )
    return (
        f'attachment; filename="{ascii_name}.{extension}";'
        f" filename*=UTF-8''{quote(f'{title_zh}.{extension}', safe='')}"
    )


async def export_response(sheet: Sheet, asked: ExportAs) -> Response:
    """The sheet as a download in the asked format and header language, rendered in a worker
    thread: a large workbook takes seconds, and the service's event loop keeps serving."""
    if asked.format == "xlsx":
        body, media_type = await asyncio.to_thread(render_xlsx, sheet, asked.lang), XLSX_MEDIA_TYPE
    else:
        body, media_type = await asyncio.to_thread(render_csv, sheet, asked.lang), CSV_MEDIA_TYPE
    disposition = content_disposition(sheet.stem, sheet.title_zh, asked.format)
    return Response(body, media_type=media_type, headers={"Content-Disposition": disposition})
