"""A one-sheet Excel workbook written as a stream: the cells openpyxl's write-only sheet writes,
without building an openpyxl cell object and an XML element per cell.

openpyxl writes the workbook around the sheet (content types, relationships, styles, theme,
workbook, document properties: an empty write-only workbook with the sheet); the sheet's rows
are written here, into the same zip entry openpyxl would have written them to, with the cell
types openpyxl's write-only sheet gives the same values (its rules, taken from openpyxl 3.1's
``Cell._bind_value``, ``check_string`` and ``lxml_write_cell``):

* ``str``: an inline string (``t="inlineStr"``), cut to 32,767 characters, ``xml:space=
  "preserve"`` when it has leading or trailing white space; the empty string an empty cell of
  that type; a string with a control character Excel refuses raises openpyxl's
  ``IllegalCharacterError``; one of Excel's error codes (``#N/A`` …) is an error cell
  (``t="e"``). A text starting with ``=`` would be a formula: refused here (callers escape it,
  see :func:`incidents.export.safe_cell`).
* ``int``/``float``: a number (``%.16g``; NaN and infinities empty); ``bool``: ``t="b"``;
  ``None``: an empty cell.

tests/incidents/test_export_xlsx.py holds the cells to openpyxl's own write-only sheet.
"""

from __future__ import annotations

import io
import math
import re
import zipfile
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from openpyxl.cell.cell import ERROR_CODES, ILLEGAL_CHARACTERS_RE
from openpyxl.utils import get_column_letter
from openpyxl.utils.exceptions import IllegalCharacterError

SHEET_PART = "xl/worksheets/sheet1.xml"
#: The empty rows element of openpyxl's empty sheet (as lxml or its own writer spell it).
EMPTY_DATA = re.compile(rb"<sheetData\s*/>|<sheetData>\s*</sheetData>")
MAX_TEXT = 32_767
#: Rows per write to the zip stream.
CHUNK = 1_000


def _escape(text: str) -> str:
    if "&" in text:
        text = text.replace("&", "&amp;")
    if "<" in text:
        text = text.replace("<", "&lt;")
    if ">" in text:
        text = text.replace(">", "&gt;")
    if "\r" in text:  # a raw CR would be read back as LF
        text = text.replace("\r", "&#13;")
    return text


def _cell(ref: str, value: Any) -> str:
    if isinstance(value, str):
        value = value[:MAX_TEXT]
        if not value:
            return f'<c r="{ref}" t="inlineStr"></c>'
        if value in ERROR_CODES:
            return f'<c r="{ref}" t="e"><v>{value}</v></c>'
        if len(value) > 1 and value.startswith("="):
            raise ValueError(f"{ref}: a text starting with '=' would be a formula")
        space = ' xml:space="preserve"' if value != value.strip() else ""
        return f'<c r="{ref}" t="inlineStr"><is><t{space}>{_escape(value)}</t></is></c>'
    if value is None:
        return f'<c r="{ref}" t="n"></c>'
    if isinstance(value, bool):
        return f'<c r="{ref}" t="b"><v>{int(value)}</v></c>'
    if isinstance(value, (int, float)):
        number = "" if math.isnan(value) or math.isinf(value) else f"{value:.16g}"
        return f'<c r="{ref}" t="n"><v>{number}</v></c>'
    raise TypeError(f"{ref}: cannot write {type(value).__name__} to the sheet")


def _row(r: int, letters: Sequence[str], values: Sequence[Any]) -> str:
    texts = [v for v in values if isinstance(v, str)]
    if texts and ILLEGAL_CHARACTERS_RE.search("".join(t[:MAX_TEXT] for t in texts)):
        bad = next(t for t in texts if ILLEGAL_CHARACTERS_RE.search(t[:MAX_TEXT]))
        raise IllegalCharacterError(f"{bad[:MAX_TEXT]} cannot be used in worksheets.")
    if len(values) > len(letters):
        letters = [get_column_letter(i + 1) for i in range(len(values))]
    cells = "".join(_cell(f"{col}{r}", v) for col, v in zip(letters, values, strict=False))
    return f'<row r="{r}">{cells}</row>'


def _frame(title: str) -> tuple[bytes, list[tuple[zipfile.ZipInfo, bytes]], int]:
    """openpyxl's empty write-only workbook with one sheet ``title``: its sheet XML, every
    other part (in openpyxl's order), and where the sheet part goes among them."""
    from openpyxl import Workbook

    wb = Workbook(write_only=True)
    wb.create_sheet(title)
    buf = io.BytesIO()
    wb.save(buf)
    parts: list[tuple[zipfile.ZipInfo, bytes]] = []
    sheet, at = b"", 0
    with zipfile.ZipFile(buf) as zf:
        for info in zf.infolist():
            if info.filename == SHEET_PART:
                sheet, at = zf.read(info), len(parts)
            else:
                parts.append((info, zf.read(info)))
    return sheet, parts, at


def write_sheet(path: Path, *, title: str, rows: Iterable[Sequence[Any]]) -> int:
    """Write ``rows`` (the first one the header, if any) as the only sheet ``title`` of an
    xlsx workbook at ``path``, streamed (memory does not grow with the rows); how many rows
    were written."""
    sheet, parts, at = _frame(title)
    split = EMPTY_DATA.split(sheet)
    if len(split) != 2:
        raise RuntimeError("openpyxl's empty sheet has no single empty <sheetData>")
    head, tail = split
    letters: Sequence[str] = [get_column_letter(i + 1) for i in range(26)]
    n = 0
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, allowZip64=True) as zf:
        for info, data in parts[:at]:
            zf.writestr(info.filename, data)
        with zf.open(SHEET_PART, "w", force_zip64=True) as out:
            out.write(head + b"<sheetData>")
            chunk: list[str] = []
            for values in rows:
                n += 1
                chunk.append(_row(n, letters, values))
                if len(chunk) == CHUNK:
                    out.write("".join(chunk).encode())
                    chunk.clear()
            out.write("".join(chunk).encode() + b"</sheetData>" + tail)
        for info, data in parts[at:]:
            zf.writestr(info.filename, data)
    return n
