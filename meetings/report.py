"""A meeting as a document (agenda, or minutes once held), and its exports."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from documents.model import Block, Chart, Document, Heading, Paragraph, Table
from shudi.clock import beijing_text

KIND_ZH = {
    "action_followup": "决定事项跟进",
    "overdue": "超期未办结",
    "joint": "联合执法",
    "referred_repeatedly": "多次转办",
    "dispute": "未解决纠纷",
    "repeat_location": "重复发生",
    "hotspot": "热点区域",
    "missed_meeting": "上月联席会议未召开",
}
PARTY_ZH = {
    "town_government": "街道办事处/镇政府",
    "community_committee": "社区居委会",
    "public_security": "公安派出所",
    "market_regulation": "市场监管局",
    "urban_management": "城管局",
    "environmental_protection": "环保局",
    "housing_construction": "住建局",
    "housing_service_center": "房地产服务中心",
    "property_company": "物业服务企业",
    "owners_committee": "业主委员会（业主代表）",
    "utility": "专业经营单位",
    "planning": "规划局",
    "price_bureau": "物价局",
    "other": "其他",
}
COUNT_COLUMNS = ["本月受理", "本月结案", "按期结案", "在办", "超期在办"]
COUNT_KEYS = ["received", "closed", "closed_on_time", "open", "overdue"]


def _cases(ids: list[int]) -> str:
    return "、".join(f"#{i}" for i in ids)


def _figures(figures: dict[str, Any]) -> list[Block]:
    blocks: list[Block] = [Heading("本月数据", 2)]
    for key, title, label in (
        ("by_agency", "各部门数据", "承办单位"),
        ("by_community", "各社区数据", "社区"),
    ):
        rows = figures.get(key, [])
        blocks.append(
            Table(
                [label, *COUNT_COLUMNS],
                [[r["name"], *(r[k] for k in COUNT_KEYS)] for r in rows],
                title=title,
            )
        )
    communities = figures.get("by_community", [])
    if communities:
        blocks.append(
            Chart(
                "各社区本月受理与超期在办",
                "bar",
                {
                    "本月受理": [(r["name"], float(r["received"])) for r in communities],
                    "超期在办": [(r["name"], float(r["overdue"])) for r in communities],
                },
                y_label="件",
            )
        )
    return blocks


def meeting_document(meeting: dict[str, Any]) -> Document:
    """The agenda (a draft) or the minutes (a held meeting) as a document."""
    held = meeting["status"] == "held"
    kind = "临时会议" if meeting["kind"] == "extraordinary" else "例会"
    title = f"{meeting['town_name']}物业管理联席会议{'纪要' if held else '议程'}"
    subtitle = f"{meeting['month']} {kind}" + (f" · {meeting['topic']}" if meeting["topic"] else "")
    blocks: list[Block] = [
        Paragraph(
            f"召开日期：{meeting['held_on']}"
            if held
            else f"议程依据 {beijing_text(meeting['as_of'], label=True)} 的案件数据生成，尚未召开。"
        )
    ]
    if meeting["attendees"]:
        blocks.append(
            Table(
                ["参会单位类别", "单位", "姓名"],
                [[PARTY_ZH[a["party"]], a["unit"], a["name"]] for a in meeting["attendees"]],
                title="参会人员",
            )
        )
    items = meeting["items"]
    blocks += [
        Table(
            ["序号", "类别", "议题", "关联案件", "决定"],
            [
                [
                    i["position"],
                    KIND_ZH[i["kind"]],
                    i["title"],
                    _cases(i["case_ids"]),
                    i["decision"],
                ]
                for i in items
            ],
            title="议题",
        ),
    ]
    if not items:
        blocks.append(Paragraph("本次无议题。"))
    actions = [(i["position"], a) for i in items for a in i["actions"]]
    if held:
        blocks += [
            Table(
                ["议题序号", "事项", "责任单位", "完成期限", "完成日期"],
                [[p, a["title"], a["owner_name"], a["due_on"], a["done_on"]] for p, a in actions],
                title="决定事项",
            ),
        ]
        if meeting["minutes_note"]:
            blocks.append(Paragraph(meeting["minutes_note"]))
    return Document(title, blocks + _figures(meeting["figures"]), subtitle=subtitle)


def _pdf(doc: Document) -> bytes:
    from documents.pdf import render_pdf

    return render_pdf(doc)


def _xlsx(doc: Document) -> bytes:
    from documents.xlsx import render_xlsx

    return render_xlsx(doc)


def _html(doc: Document) -> bytes:
    from documents.html import render_html

    return render_html(doc).encode()


#: Export formats: renderer and media type.
EXPORTS: dict[str, tuple[Callable[[Document], bytes], str]] = {
    "html": (_html, "text/html; charset=utf-8"),
    "pdf": (_pdf, "application/pdf"),
    "xlsx": (_xlsx, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
}


def export(meeting: dict[str, Any], fmt: str) -> tuple[bytes, str]:
    """The meeting in ``fmt`` (html, pdf, xlsx) and its media type."""
    render, media = EXPORTS[fmt]
    return render(meeting_document(meeting)), media
