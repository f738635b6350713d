"""Reading generated PDFs back in tests: their text (pypdf), and the QR code drawn in them.

`text` drops every whitespace and NUL character: pypdf puts spaces (and, reading the embedded
font's two-byte code map, NULs) between CJK glyphs and breaks lines where the layout wrapped,
none of which is the document's text. `drawn_qr` rebuilds the
module matrix from the filled squares (`x y w h re f`) of the page's content stream.
"""

from __future__ import annotations

import io
import re
from collections import Counter

from pypdf import PdfReader

_SQUARE = re.compile(rb"(-?[\d.]+) (-?[\d.]+) (-?[\d.]+) (-?[\d.]+) re f")


def reader(content: bytes) -> PdfReader:
    return PdfReader(io.BytesIO(content))


def compact(text: str) -> str:
    """`text` without whitespace or NUL, as `text` returns a PDF's."""
    return "".join(text.replace("\x00", "").split())


def text(content: bytes) -> str:
    """Every page's text, in order, without whitespace."""
    return compact("".join(page.extract_text() for page in reader(content).pages))


def metadata(content: bytes) -> dict[str, str]:
    found = reader(content).metadata
    return {} if found is None else {str(key): str(value) for key, value in found.items()}


def drawn_qr(content: bytes) -> tuple[tuple[bool, ...], ...]:
    """The QR code's modules as drawn (True = dark), from the most common filled square."""
    squares: list[tuple[float, float, float]] = []
    for page in reader(content).pages:
        for x, y, w, h in _SQUARE.findall(page.get_contents().get_data()):  # type: ignore[union-attr]
            width, height = float(w), float(h)
            if abs(abs(width) - abs(height)) < 0.011:
                squares.append((float(x), float(y), round(abs(width), 2)))
    if not squares:
        return ()
    module = Counter(size for _, _, size in squares).most_common(1)[0][0]
    cells = [(x, y) for x, y, size in squares if size == module]
    left, top = min(x for x, _ in cells), max(y for _, y in cells)
    dark = {(round((top - y) / module), round((x - left) / module)) for x, y in cells}
    count = max(max(row, col) for row, col in dark) + 1
    return tuple(tuple((row, col) in dark for col in range(count)) for row in range(count))
