"""The assessment as a document (ranking tables, trend and stage-time charts) for the PDF,
Excel and HTML renderers of :mod:`documents`. No database access: it is handed the figures."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from itertools import pairwise
from typing import Any
from urllib.parse import urlencode

from assessment import satisfaction
from assessment.queries import HOUR_BINS
from documents.model import Block, Chart, Document, Heading, Paragraph, Table
from shudi.clock import beijing_text

API = "/api/v1/assessment"

#: Every figure: its Chinese label and its definition (the full text is docs/assessment.md).
DEFINITIONS: dict[str, tuple[str, str]] = {
    "received": ("受理", "期内上报的案件（合并为重复件的除外）"),
    "rejected": ("不予受理", "截至期末处于不予受理状态的案件"),
    "response_due": ("应响应", "截至期末已响应或响应期限已过的案件"),
    "responded_on_time": ("按时响应", "首次开始办理、转办或联合执法不晚于响应期限"),
    "response_rate": ("按时响应率", "按时响应 / 应响应"),
    "resolution_due": ("应办结", "截至期末已办结或办理期限已过的案件"),
    "resolved": ("已办结", "截至期末处于办结或结案状态的案件"),
    "resolved_on_time": ("按期办结", "最后一次办结不晚于办理期限（含批准的延期）"),
    "resolved_late": ("超期办结", "最后一次办结晚于办理期限"),
    "on_time_rate": ("按期办结率", "按期办结 / 应办结"),
    "overdue": ("超期未办结", "截至期末未办结且办理期限已过"),
    "open": ("在办", "截至期末未办结、未结案、未不予受理"),
    "ever_resolved": ("曾办结", "截至期末至少办结过一次的案件"),
    "reworked": ("返工", "办结后核查未通过、群众异议或结案后重新打开的案件"),
    "rework_rate": ("返工率", "返工 / 曾办结"),
    "rated": ("已评价", "群众作出评价的案件（以最后一次评价为准）"),
    "satisfied": ("满意", "最后一次评价为满意"),
    "satisfaction": ("结案评价满意率", "满意 / 已评价（结案后群众“满意/不满意”评价）"),
    "referred_in": ("转办而来", "经转办到达当前承办单位的案件"),
    "referred_out": ("转出", "本单位作出的转办次数"),
    "referred_correct": ("转办正确", "转出后案件未再被转办（接收单位承办）"),
    "referred_wrong": ("转办错误", "转出后案件又被转办（退回或再转）"),
    "referral_accuracy": ("转办正确率", "转办正确 / 转出"),
    "joint_led": ("牵头联合执法", "作为承办单位（镇街：属地）的联合执法案件"),
    "joint_joined": ("参与联合执法", "有本单位联合执法任务、但非本单位承办的案件"),
    "actions_due": ("会议事项到期", "期内到期的联席会议决定事项"),
    "actions_on_time": ("会议事项按期完成", "完成日期不晚于到期日"),
    "action_on_time_rate": ("会议事项按期完成率", "会议事项按期完成 / 会议事项到期"),
    "meeting_months": ("应开联席会议月数", "期内已结束、且本镇街已有案件或会议的整月数"),
    "months_without_meeting": (
        "未开联席会议月数",
        "应开月份中未召开任何联席会议的月数（三（一））",
    ),
    **satisfaction.DEFINITIONS,
}
STAGE_LABELS: dict[str, str] = {
    "accept": "受理",
    "respond": "响应",
    "handle": "办理",
    "verify": "核查",
    "total": "全程",
}
KIND_LABELS = {"agency": "部门", "agency_unit": "部门派出单位", "town": "镇/街道"}
#: Columns of the ranking tables.
RANKING = (
    "received",
    "response_rate",
    "on_time_rate",
    "actual_resolution_rate",
    "satisfied_rate",
    "overdue",
    "rework_rate",
    "satisfaction",
    "referred_out",
    "referred_wrong",
    "joint_led",
    "joint_joined",
    "action_on_time_rate",
    "months_without_meeting",
)


def definitions() -> dict[str, str]:
    """Figure → "label: definition" (Chinese)."""
    return {k: f"{zh}：{text}" for k, (zh, text) in DEFINITIONS.items()}


def cases_url(unit: Mapping[str, Any], first: object, last: object) -> str:
    """The audit URL of a unit's figures, with ``{figure}`` to fill in."""
    query = {"from": str(first), "to": str(last), "kind": unit["kind"], "unit": unit["unit"]}
    if unit.get("agency"):
        query["agency"] = unit["agency"]
    return f"{API}/cases?{urlencode(query)}&figure={{figure}}"


def with_urls(result: dict[str, Any]) -> dict[str, Any]:
    """The assessment with each unit's audit URL and the definitions."""
    for unit in result["units"]:
        unit["cases_url"] = cases_url(unit, result["from"], result["to"])
    return result | {"definitions": definitions()}


def _pct(value: float | None) -> float | None:
    return None if value is None else round(value * 100, 1)


def ranking_table(units: Sequence[Mapping[str, Any]], kind: str) -> Table:
    """The ranking of one kind of unit (rates in per cent)."""
    columns = [
        "名次",
        "单位",
        *(DEFINITIONS[c][0] + ("%" if "rate" in c or c == "satisfaction" else "") for c in RANKING),
    ]
    rows: list[list[object]] = []
    for u in units:
        if u["kind"] != kind:
            continue
        cells = [_pct(u[c]) if isinstance(u[c], float) or u[c] is None else u[c] for c in RANKING]
        rows.append([u["rank"], u["name"], *cells])
    return Table(columns, rows, title=f"{KIND_LABELS[kind]}排名")


def stage_table(units: Sequence[Mapping[str, Any]]) -> Table:
    """Mean and 90th-percentile hours per stage, per unit."""
    columns = ["类别", "单位"]
    for label in STAGE_LABELS.values():
        columns += [f"{label}均值(时)", f"{label}P90(时)"]
    rows: list[list[object]] = []
    for u in units:
        row: list[object] = [KIND_LABELS[u["kind"]], u["name"]]
        for stage in STAGE_LABELS:
            t = u["stage_hours"][stage]
            row += [t["mean"], t["p90"]]
        rows.append(row)
    return Table(columns, rows, title="各环节用时")


def trend_chart(monthly: Sequence[Mapping[str, Any]], names: Mapping[str, str]) -> Chart:
    """On-time resolution rate per month of receipt: the district and each unit."""
    series: dict[str, list[tuple[object, float]]] = {}
    for r in monthly:
        if r["resolution_due"]:
            label = names.get(r["unit"], r["unit"]) if r["unit"] else "全区"
            rate = 100.0 * r["resolved_on_time"] / r["resolution_due"]
            series.setdefault(label, []).append((r["month"], round(rate, 1)))
    return Chart("按月按期办结率（按受理月份）", "line", series, "月份", "按期办结率 %")


def received_chart(monthly: Sequence[Mapping[str, Any]], names: Mapping[str, str]) -> Chart:
    """Cases received per month, per unit."""
    series: dict[str, list[tuple[object, float]]] = {}
    for r in monthly:
        if r["unit"]:
            series.setdefault(names.get(r["unit"], r["unit"]), []).append(
                (r["month"], float(r["received"]))
            )
    return Chart("按月受理量", "bar", series, "月份", "案件数")


def bin_labels() -> list[str]:
    """Labels of the stage-time histogram's bins."""
    edges = [0, *HOUR_BINS]
    labels = [f"{a}–{b}时" for a, b in pairwise(edges)]
    return [*labels, f"≥{HOUR_BINS[-1]}时"]


def stage_chart(histogram: Mapping[str, Sequence[int]]) -> Chart:
    """How long each stage took: cases per bin of hours."""
    labels: list[object] = list(bin_labels())
    series: dict[str, list[tuple[object, float]]] = {
        STAGE_LABELS[stage]: [(label, float(n)) for label, n in zip(labels, counts, strict=True)]
        for stage, counts in histogram.items()
        if stage in ("respond", "handle", "total")
    }
    return Chart("环节用时分布", "hist", series, "用时", "案件数")


def build_document(
    result: Mapping[str, Any],
    *,
    monthly: Sequence[Mapping[str, Any]],
    histogram: Mapping[str, Sequence[int]],
) -> Document:
    """The assessment as a document: rankings per kind, stage times, charts, definitions."""
    units = result["units"]
    names = {u["unit"]: u["name"] for u in units if u["kind"] == "town"}
    blocks: list[Block] = [
        Paragraph(
            "数据截至 "
            + beijing_text(result["as_of"], label=True)
            + "。按期办结率 = 按期办结 / 应办结；返工率 = 返工 / 曾办结；满意率 = 满意 / 已评价。"
            "各项数字均由案件事件计算，可按单位与指标列出案件编号复核。"
        )
    ]
    for kind in ("town", "agency", "agency_unit"):
        table = ranking_table(units, kind)
        if table.rows:
            blocks.append(table)
    blocks += [
        Heading("趋势与用时"),
        trend_chart(monthly, names),
        received_chart(monthly, names),
        stage_chart(histogram),
        stage_table(units),
        Heading("指标定义"),
        Table(
            ["指标", "定义"],  # by name: the API's field names are in docs/assessment.md
            [[zh, d] for zh, d in DEFINITIONS.values()],
            title="指标定义",
        ),
    ]
    return Document(
        title="物业管理执法联动工作考核",
        subtitle=f"{result['from']} 至 {result['to']}",
        blocks=blocks,
    )
