"""A document as plain data: what the renderers (PDF, Excel, HTML) are handed."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal


@dataclass(frozen=True)
class Heading:
    """A section title; ``level`` 1 is the largest."""

    text: str
    level: int = 1


@dataclass(frozen=True)
class Paragraph:
    """A paragraph of plain text."""

    text: str


@dataclass(frozen=True)
class Table:
    """Rows under named columns; cells are text, numbers, dates or None (empty)."""

    columns: list[str]
    rows: list[list[object]]
    title: str = ""


@dataclass(frozen=True)
class Chart:
    """Named series of ``(x, y)`` points: a line, grouped bars or a histogram (``y`` = count)."""

    title: str
    kind: Literal["line", "bar", "hist"]
    series: dict[str, list[tuple[object, float]]]
    x_label: str = ""
    y_label: str = ""


Block = Heading | Paragraph | Table | Chart


@dataclass(frozen=True)
class Document:
    """A titled sequence of blocks."""

    title: str
    blocks: list[Block]
    subtitle: str = ""
