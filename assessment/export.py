"""The assessment in each output format (JSON, Excel, PDF, the dashboard's HTML), shared by the
API and the CLI."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection

from assessment import bulletin, service
from assessment.exceptions import UnknownFigure
from assessment.period import Period
from documents.html import render_body
from documents.model import Document
from documents.pdf import render_pdf
from documents.xlsx import render_xlsx


@dataclass(frozen=True)
class Output:
    """A rendered file: its bytes, media type and a file name."""

    content: bytes
    media_type: str
    filename: str


def figures(conn: Connection, *, p: Period) -> dict[str, Any]:
    """The JSON form: every unit's figures, audit URLs and the definitions."""
    return bulletin.with_urls(service.assess(conn, p=p))


def document(conn: Connection, *, p: Period) -> Document:
    """The assessment as a document (rankings, charts, definitions)."""
    return document_and_figures(conn, p=p)[0]


def document_and_figures(conn: Connection, *, p: Period) -> tuple[Document, dict[str, Any]]:
    """The document and the figures it was made from (the dashboard shows both)."""
    with service.facts(conn, p=p) as shared:
        result = service.assess(conn, p=p, given=shared)
        doc = bulletin.build_document(
            result,
            monthly=service.monthly(conn, p=p, kind="town", given=shared),
            histogram=service.stage_histogram(conn, p=p, given=shared),
        )
    return doc, result


def html_content(conn: Connection, *, p: Period) -> str:
    """The document's HTML fragment, for the dashboard."""
    return render_body(document(conn, p=p))


RENDERERS: dict[str, tuple[Callable[[Document], bytes], str]] = {
    "xlsx": (render_xlsx, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
    "pdf": (render_pdf, "application/pdf"),
}
FORMATS = ("json", *RENDERERS)


def render(conn: Connection, *, p: Period, fmt: str) -> Output:
    """The assessment as an Excel workbook or a PDF."""
    if fmt not in RENDERERS:
        raise UnknownFigure(f"unknown format {fmt!r}; use one of {', '.join(FORMATS)}")
    renderer, media = RENDERERS[fmt]
    return Output(renderer(document(conn, p=p)), media, f"assessment-{p.first}-{p.last}.{fmt}")
