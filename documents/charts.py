"""Charts drawn with matplotlib (its object API, no pyplot state) in the CJK font: SVG for
HTML pages (text as paths, so no font is needed to view it), PNG for PDFs."""

from __future__ import annotations

import io
import re
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path

from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.backends.backend_svg import FigureCanvasSVG
from matplotlib.figure import Figure
from matplotlib.font_manager import FontProperties

from documents.exceptions import FontMissing
from documents.model import Chart

#: The CJK font (Debian package fonts-wqy-zenhei, installed by scripts/install-system-deps.sh).
CJK_FONT = Path("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc")

WIDTH_IN, HEIGHT_IN = 7.0, 3.2
METADATA = re.compile(r"<metadata>.*?</metadata>", re.DOTALL)  # RDF naming remote vocabularies
COLOURS = (
    "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
    "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf",
)  # fmt: skip


def font_path() -> Path:
    """The CJK font file, or :class:`FontMissing` with what to install."""
    if not CJK_FONT.is_file():
        raise FontMissing(f"{CJK_FONT} is missing: install the Debian package fonts-wqy-zenhei")
    return CJK_FONT


@lru_cache(maxsize=1)
def _font() -> FontProperties:
    return FontProperties(fname=str(font_path()))


def _labels(xs: Sequence[object]) -> list[str]:
    return [str(x) for x in xs]


def _draw_line(ax: Axes, chart: Chart) -> None:
    for i, (name, points) in enumerate(chart.series.items()):
        xs = _labels([p[0] for p in points])
        ax.plot(xs, [p[1] for p in points], marker="o", label=name, color=COLOURS[i % len(COLOURS)])


def _draw_bar(ax: Axes, chart: Chart) -> None:
    cats = list(dict.fromkeys(str(p[0]) for pts in chart.series.values() for p in pts))
    n = max(len(chart.series), 1)
    width = 0.8 / n
    for i, (name, points) in enumerate(chart.series.items()):
        vals = {str(x): y for x, y in points}
        pos = [c + (i - (n - 1) / 2) * width for c in range(len(cats))]
        ax.bar(
            pos, [vals.get(c, 0) for c in cats], width, label=name, color=COLOURS[i % len(COLOURS)]
        )
    ax.set_xticks(range(len(cats)), cats)


DRAW = {"line": _draw_line, "bar": _draw_bar, "hist": _draw_bar}


def figure(chart: Chart) -> Figure:
    """The chart as a matplotlib figure, every text in the CJK font."""
    font = _font()
    fig = Figure(figsize=(WIDTH_IN, HEIGHT_IN), layout="constrained")
    ax = fig.add_subplot()
    DRAW[chart.kind](ax, chart)
    ax.set_title(chart.title, fontproperties=font)
    ax.set_xlabel(chart.x_label, fontproperties=font)
    ax.set_ylabel(chart.y_label, fontproperties=font)
    for label in [*ax.get_xticklabels(), *ax.get_yticklabels()]:
        label.set_fontproperties(font)
    if len(chart.series) > 1:
        ax.legend(prop=font, loc="upper left", bbox_to_anchor=(1.01, 1), frameon=False)
    ax.grid(axis="y", alpha=0.3)
    ax.spines[["top", "right"]].set_visible(False)
    return fig


def svg(chart: Chart) -> str:
    """The chart as an inline ``<svg>`` element (text drawn as paths)."""
    buf = io.StringIO()
    FigureCanvasSVG(figure(chart)).print_svg(buf)
    text = buf.getvalue()
    return METADATA.sub("", text[text.index("<svg") :])


def png(chart: Chart, dpi: int = 150) -> bytes:
    """The chart as a PNG image."""
    buf = io.BytesIO()
    fig = figure(chart)
    fig.set_dpi(dpi)
    FigureCanvasAgg(fig).print_png(buf)
    return buf.getvalue()
