"""The document renderers: the PDF has its pages, its Chinese text and the font embedded; the
workbook reads back with typed cells; the HTML page is self-contained."""

from __future__ import annotations

import io
import re
from datetime import date, datetime

import pypdf
import pytest
from openpyxl import load_workbook

from documents.html import render_html
from documents.model import Chart, Document, Heading, Paragraph, Table
from documents.pdf import render_pdf
from documents.xlsx import render_xlsx

LONG_NAME = "清溪区综合行政执法局城市管理第一中队（含街道联络站）" * 2


def sample(rows: int = 3) -> Document:
    return Document(
        title="年度考核 2026",
        subtitle="2026-01-01 至 2026-12-31",
        blocks=[
            Heading("单位排名"),
            Paragraph("按期办结率 = 按期办结的案件 / 应当办结的案件。"),
            Table(
                ["单位", "受理", "按期办结率", "截止日期"],
                [[f"{LONG_NAME}{i}", i, 0.75, date(2026, 1, 3)] for i in range(rows)],
                title="排名表",
            ),
            Table(
                ["案件", "时间"],
                [[1, datetime(2026, 2, 1, 9, 30)]],
                title="一个很长很长的表格标题，超过三十一个字符的工作表名称会被截断的",
            ),
            Table(
                ["x"],
                [["y"]],
                title="一个很长很长的表格标题，超过三十一个字符的工作表名称会被截断的",
            ),
            Chart("按月趋势", "line", {"城管": [("2026-01", 3.0), ("2026-02", 5.0)]}, "月份"),
            Chart("办理时长分布", "hist", {"办理": [("0–8", 4.0), ("8–24", 1.0)]}, "小时"),
        ],
    )


def _fonts(reader: pypdf.PdfReader) -> list[dict]:
    found = []
    for page in reader.pages:
        for font in page["/Resources"]["/Font"].values():
            found.append(font.get_object())
    return found


def test_pdf_has_pages_chinese_text_and_the_font_embedded() -> None:
    data = render_pdf(sample(rows=90))
    assert data.startswith(b"%PDF")
    reader = pypdf.PdfReader(io.BytesIO(data))
    assert len(reader.pages) >= 3  # a long table breaks across pages, its header repeated
    text = "".join(p.extract_text() for p in reader.pages)
    assert "年度考核 2026" in text
    assert "单位排名" in text and "按期办结率" in text
    assert text.count("截止日期") >= 3  # header on every page of the table
    assert "第 2 页" in text
    cjk = [f for f in _fonts(reader) if "WenQuanYi" in str(f["/BaseFont"])]
    assert cjk, "the CJK font is used"
    for font in cjk:
        # a subset (ABCDEF+ prefix) with the font program inside the file
        assert re.match(r"/[A-Z]{6}\+", str(font["/BaseFont"]))
        descriptor = font["/FontDescriptor"].get_object()
        assert "/FontFile2" in descriptor
    assert len(data) < 2_000_000  # a subset, not the 17 MB collection


def test_pdf_wraps_long_cells_inside_the_page() -> None:
    reader = pypdf.PdfReader(io.BytesIO(render_pdf(sample(rows=1))))
    text = reader.pages[0].extract_text()
    # the long unit name is broken over lines rather than running off the page
    assert "清溪区综合行政执法局" in text
    assert LONG_NAME + "0" not in text.replace("\n", "|")


def test_xlsx_reads_back_with_typed_cells_and_unique_sheet_names() -> None:
    wb = load_workbook(io.BytesIO(render_xlsx(sample())))
    names = wb.sheetnames
    assert names[0] == "说明" and "排名表" in names
    assert len(names) == 4 and len(set(names)) == 4
    assert all(len(n) <= 31 for n in names)
    ws = wb["排名表"]
    assert [c.value for c in ws[1]] == ["单位", "受理", "按期办结率", "截止日期"]
    assert all(c.font.bold for c in ws[1])
    assert ws["B3"].value == 1 and isinstance(ws["B3"].value, int)
    assert ws["C2"].value == 0.75
    assert ws["D2"].value == datetime(2026, 1, 3) and ws["D2"].is_date
    assert ws.column_dimensions["A"].width > ws.column_dimensions["B"].width
    second = wb[names[2]]
    assert second["B2"].value == datetime(2026, 2, 1, 9, 30) and second["B2"].is_date
    cover = [r[0] for r in wb["说明"].iter_rows(values_only=True)]
    assert cover[:4] == [
        "年度考核 2026",
        "2026-01-01 至 2026-12-31",
        "单位排名",
        sample().blocks[1].text,
    ]


def test_html_is_self_contained_with_inline_svg_charts() -> None:
    page = render_html(sample())
    assert page.startswith("<!DOCTYPE html>") and 'lang="zh-CN"' in page
    assert page.count("<svg") == 2 and "<table>" in page
    assert "按期办结率" in page and "2026-01-03" in page
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", page)
    assert "<script" not in page


@pytest.mark.parametrize("render", [render_pdf, render_xlsx, render_html])
def test_an_empty_document_renders(render) -> None:
    assert render(Document(title="空", blocks=[]))


def test_xlsx_leaves_out_control_characters_it_cannot_hold() -> None:
    """Found by the fuzzing (issue #17): a meeting topic with a control character made the
    Excel export answer 500 (openpyxl's IllegalCharacterError)."""
    import io

    from openpyxl import load_workbook

    from documents.model import Document, Paragraph, Table
    from documents.xlsx import render_xlsx

    doc = Document(
        title="2026-12 临时会议 · \x01议题",
        subtitle="副\x02标题",
        blocks=[Paragraph("段\x1f落"), Table(columns=["事项"], rows=[["决\x0b定"]], title="决定")],
    )
    wb = load_workbook(io.BytesIO(render_xlsx(doc)))
    cover = [c.value for row in wb.worksheets[0].iter_rows() for c in row]
    assert cover == ["2026-12 临时会议 · 议题", "副标题", "段落"]
    assert wb.worksheets[1]["A2"].value == "决定"
