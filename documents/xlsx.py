"""A document as an Excel workbook (openpyxl): one sheet per table."""

from __future__ import annotations

import io
import re
from datetime import date, datetime

from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE, Cell
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from documents.model import Document, Heading, Paragraph, Table
from shudi.clock import beijing

MAX_SHEET_NAME = 31
BAD_SHEET_CHARS = re.compile(r"[\[\]:*?/\\]")
MAX_WIDTH = 60


def _sheet_name(title: str, taken: set[str]) -> str:
    """A valid, unique sheet name (≤ 31 characters, none of []:*?/\\)."""
    base = BAD_SHEET_CHARS.sub("_", title).strip("'") or "Sheet"
    name, n = base[:MAX_SHEET_NAME], 1
    while name.lower() in taken:
        n += 1
        suffix = f" ({n})"
        name = base[: MAX_SHEET_NAME - len(suffix)] + suffix
    taken.add(name.lower())
    return name


def _text(value: str) -> str:
    """Text without the control characters XLSX cannot hold (openpyxl refuses them)."""
    return ILLEGAL_CHARACTERS_RE.sub("", value)


def _value(value: object) -> object:
    """What openpyxl stores natively: numbers, dates, text (aware datetimes become naive;
    control characters XLSX cannot hold are left out)."""
    if isinstance(value, str):
        return _text(value)
    if isinstance(value, datetime) and value.tzinfo is not None:
        return beijing(value).replace(tzinfo=None)  # Beijing wall time, as people read it
    if value is None or isinstance(value, int | float | date | str | bool):
        return value
    return str(value)


#: Text a spreadsheet would run as a formula (or DDE command): "=HYPERLINK(…)", "+1…", "-2+3",
#: "@SUM(…)", and the same after a tab or carriage return.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _as_text(cells: tuple[Cell, ...] | list[Cell]) -> None:
    """Text stays text: a string that starts like a formula is stored as a string cell with
    Excel's quote prefix (what typing a leading apostrophe does), so neither Excel nor
    LibreOffice evaluates it — on opening or on editing — and the text is shown as written."""
    for cell in cells:
        if isinstance(cell.value, str) and cell.value.startswith(FORMULA_START):
            cell.data_type = "s"
            cell.quotePrefix = True


def _width(value: object) -> int:
    text = str(value) if value is not None else ""
    # CJK characters take two columns
    return sum(2 if ord(ch) > 0x2E80 else 1 for ch in text)


def _fill(ws: Worksheet, table: Table) -> None:
    ws.append(list(table.columns))
    for cell in ws[1]:
        cell.font = Font(bold=True)
        cell.alignment = Alignment(wrap_text=True, vertical="top")
    widths = [_width(c) for c in table.columns]
    _as_text(ws[1])
    for row in table.rows:
        ws.append([_value(v) for v in row])
        _as_text(ws[ws.max_row])
        widths = [max(w, _width(v)) for w, v in zip(widths, row, strict=False)]
    for r in ws.iter_rows(min_row=2):
        for cell in r:
            if isinstance(cell.value, datetime):
                cell.number_format = "yyyy-mm-dd hh:mm"
            elif isinstance(cell.value, date):
                cell.number_format = "yyyy-mm-dd"
    for i, w in enumerate(widths, start=1):
        ws.column_dimensions[get_column_letter(i)].width = min(max(w + 2, 8), MAX_WIDTH)
    ws.freeze_panes = "A2"


def render_xlsx(doc: Document) -> bytes:
    """The document as .xlsx bytes: a cover sheet with the text, then one sheet per table."""
    wb = Workbook()
    cover = wb.active
    assert cover is not None
    taken: set[str] = set()
    cover.title = _sheet_name("说明", taken)
    cover.append([_text(doc.title)])
    cover["A1"].font = Font(bold=True, size=14)
    if doc.subtitle:
        cover.append([_text(doc.subtitle)])
    cover.column_dimensions["A"].width = 100
    for block in doc.blocks:
        if isinstance(block, Heading):
            cover.append([_text(block.text)])
            cover.cell(cover.max_row, 1).font = Font(bold=True)
        elif isinstance(block, Paragraph):
            cover.append([_text(block.text)])
            cover.cell(cover.max_row, 1).alignment = Alignment(wrap_text=True)
        elif isinstance(block, Table):
            ws = wb.create_sheet(_sheet_name(block.title or f"表{len(wb.sheetnames)}", taken))
            _fill(ws, block)
    for row in cover.iter_rows():
        _as_text(row)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()
