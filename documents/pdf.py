"""A document as an A4 PDF (reportlab), the CJK font embedded as a subset."""

from __future__ import annotations

import io
from collections.abc import Callable
from datetime import date, datetime
from functools import lru_cache
from typing import Any
from xml.sax.saxutils import escape

from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.platypus import Flowable, Image, LongTable, SimpleDocTemplate, Spacer
from reportlab.platypus import Paragraph as Para

from documents import charts
from documents.model import Block, Chart, Document, Heading, Paragraph, Table
from shudi.clock import beijing_text

FONT = "WenQuanYiZenHei"
MARGIN = 15 * mm
FRAME_WIDTH = A4[0] - 2 * MARGIN


@lru_cache(maxsize=1)
def _register_font() -> str:
    """Register the CJK font once (TrueType fonts are embedded, subset, by reportlab)."""
    pdfmetrics.registerFont(TTFont(FONT, str(charts.font_path()), subfontIndex=0))
    return FONT


def _style(size: float, *, leading: float | None = None, bold: bool = False) -> ParagraphStyle:
    return ParagraphStyle(
        f"s{size}{bold}",
        fontName=_register_font(),
        fontSize=size,
        leading=leading or size * 1.35,
        wordWrap="CJK",  # break between any two CJK characters
        spaceAfter=size * 0.4,
        textColor=colors.HexColor("#1f3b5a") if bold else colors.black,
    )


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return beijing_text(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float):
        return f"{value:.4g}" if abs(value) < 1e6 else f"{value:,.0f}"
    return str(value)


def _heading(block: Heading) -> list[Flowable]:
    size = {1: 15.0, 2: 12.5}.get(block.level, 11.0)
    return [Spacer(1, 2 * mm), Para(escape(block.text), _style(size, bold=True))]


def _paragraph(block: Paragraph) -> list[Flowable]:
    return [Para(escape(block.text).replace("\n", "<br/>"), _style(10))]


def _text_width(value: object) -> int:
    return sum(2 if ord(ch) > 0x2E80 else 1 for ch in _cell(value))


def _widths(block: Table) -> list[float]:
    """Column widths in proportion to their longest text (between 4 and 40 half-width
    characters), filling the frame: a name column gets the room it needs, a number little."""
    weights = []
    for i, name in enumerate(block.columns):
        longest = max([_text_width(r[i]) for r in block.rows if i < len(r)] or [0])
        weights.append(min(max(longest, _text_width(name) / 2, 4), 40))
    total = sum(weights) or 1
    return [FRAME_WIDTH * w / total for w in weights]


def _table(block: Table) -> list[Flowable]:
    size = 8.5 if len(block.columns) <= 8 else 7.0
    head, body = _style(size, bold=True), _style(size)
    data: list[list[Any]] = [[Para(escape(c), head) for c in block.columns]]
    data += [[Para(escape(_cell(v)), body) for v in row] for row in block.rows]
    table = LongTable(data, colWidths=_widths(block), repeatRows=1)
    table.setStyle(
        [
            ("GRID", (0, 0), (-1, -1), 0.4, colors.HexColor("#9aa5b1")),
            ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#e8eef5")),
            ("VALIGN", (0, 0), (-1, -1), "TOP"),
            ("TOPPADDING", (0, 0), (-1, -1), 2),
            ("BOTTOMPADDING", (0, 0), (-1, -1), 2),
        ]
    )
    title = [Para(escape(block.title), _style(10.5, bold=True))] if block.title else []
    return [*title, table, Spacer(1, 3 * mm)]


def _chart(block: Chart) -> list[Flowable]:
    img = Image(io.BytesIO(charts.png(block)), width=FRAME_WIDTH, height=FRAME_WIDTH * 3.2 / 7)
    return [img, Spacer(1, 3 * mm)]


RENDER: dict[type, Callable[[Any], list[Flowable]]] = {
    Heading: _heading,
    Paragraph: _paragraph,
    Table: _table,
    Chart: _chart,
}


def _page_number(canvas: Any, doc: Any) -> None:
    canvas.saveState()
    canvas.setFont(_register_font(), 8)
    canvas.drawRightString(A4[0] - MARGIN, 8 * mm, f"第 {doc.page} 页")
    canvas.restoreState()


def render_pdf(doc: Document) -> bytes:
    """The document as PDF bytes: A4, CJK text in an embedded font, tables and charts."""
    buf = io.BytesIO()
    pdf = SimpleDocTemplate(
        buf,
        pagesize=A4,
        leftMargin=MARGIN,
        rightMargin=MARGIN,
        topMargin=MARGIN,
        bottomMargin=MARGIN,
        title=doc.title,
        subject=doc.subtitle,
    )
    story: list[Flowable] = [Para(escape(doc.title), _style(18, bold=True))]
    if doc.subtitle:
        story.append(Para(escape(doc.subtitle), _style(10)))
    block: Block
    for block in doc.blocks:
        story.extend(RENDER[type(block)](block))
    pdf.build(story, onFirstPage=_page_number, onLaterPages=_page_number)
    return buf.getvalue()
