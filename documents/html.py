"""A document as one self-contained HTML page: inline CSS, charts as inline SVG, no CDN."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from html import escape
from typing import Any

from documents import charts
from documents.model import Chart, Document, Heading, Paragraph, Table
from shudi.clock import beijing_text

CSS = """
body { font-family: "WenQuanYi Zen Hei", "Noto Sans CJK SC", "Microsoft YaHei", sans-serif;
       margin: 2em auto; max-width: 1100px; padding: 0 1em; color: #1b1b1b; }
h1 { color: #1f3b5a; margin-bottom: .2em; } .subtitle { color: #555; margin-top: 0; }
table { border-collapse: collapse; margin: .5em 0 1.5em; width: 100%; font-size: 14px; }
th, td { border: 1px solid #c5ccd3; padding: 4px 6px; vertical-align: top; }
th { background: #e8eef5; text-align: left; } td.num { text-align: right; }
caption { text-align: left; font-weight: bold; padding: .3em 0; }
figure { margin: 1em 0; } figure svg { max-width: 100%; height: auto; }
@media print { body { margin: 0; max-width: none; } }
"""


def _cell(value: object) -> str:
    if value is None:
        return "<td></td>"
    if isinstance(value, bool):
        return f"<td>{'是' if value else '否'}</td>"
    if isinstance(value, int | float):
        text = f"{value:.4g}" if isinstance(value, float) else str(value)
        return f'<td class="num">{text}</td>'
    if isinstance(value, datetime):
        return f"<td>{beijing_text(value)}</td>"
    if isinstance(value, date):
        return f"<td>{value.isoformat()}</td>"
    return f"<td>{escape(str(value))}</td>"


def _heading(block: Heading) -> str:
    level = min(max(block.level, 1), 4) + 1  # the document title is the one <h1>
    return f"<h{level}>{escape(block.text)}</h{level}>"


def _paragraph(block: Paragraph) -> str:
    return f"<p>{escape(block.text).replace(chr(10), '<br>')}</p>"


def table_html(block: Table) -> str:
    """One table as an HTML ``<table>``."""
    caption = f"<caption>{escape(block.title)}</caption>" if block.title else ""
    head = "".join(f"<th>{escape(c)}</th>" for c in block.columns)
    body = "".join("<tr>" + "".join(_cell(v) for v in row) + "</tr>" for row in block.rows)
    return f"<table>{caption}<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _chart(block: Chart) -> str:
    return f'<figure aria-label="{escape(block.title)}">{charts.svg(block)}</figure>'


RENDER: dict[type, Callable[[Any], str]] = {
    Heading: _heading,
    Paragraph: _paragraph,
    Table: table_html,
    Chart: _chart,
}


def render_body(doc: Document) -> str:
    """The document's content (title and blocks) as an HTML fragment, for embedding in pages."""
    parts = [f"<h1>{escape(doc.title)}</h1>"]
    if doc.subtitle:
        parts.append(f'<p class="subtitle">{escape(doc.subtitle)}</p>')
    parts += [RENDER[type(b)](b) for b in doc.blocks]
    return "\n".join(parts)


def render_html(doc: Document, *, lang: str = "zh-CN") -> str:
    """The document as a complete, self-contained HTML page (Chinese by default)."""
    return (
        f'<!DOCTYPE html>\n<html lang="{escape(lang)}"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(doc.title)}</title><style>{CSS}</style></head>"
        f"<body>\n{render_body(doc)}\n</body></html>\n"
    )
