"""吹哨报到 in the assessment: per called unit, how often it reported in on time and how the
towns rated its responses (each a figure of its own).

Of the joint-enforcement calls made in the period: ``due`` are those whose report-in deadline
has passed by the period's as-of time or that were reported in; ``on_time`` reported in by the
deadline, ``late`` after it, ``missing`` not at all (past due); the on-time report-in rate is
``on_time / due`` (missing ones count against it). The rating is the mean of the towns'
1–5 ratings of the unit's responses (``rated`` of them), unweighted.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Connection, text

from assessment.period import Period
from webmap.pages.common import esc

FIGURES = text("""
SELECT t.party, a.name_zh AS agency_name, t.unit_code, t.unit_name,
       count(*) AS called,
       count(*) FILTER (WHERE r.report_due_at <= :as_of
                           OR r.reported_at <= :as_of) AS due,
       count(*) FILTER (WHERE r.reported_at <= r.report_due_at
                          AND r.reported_at <= :as_of) AS on_time,
       count(*) FILTER (WHERE r.reported_at > r.report_due_at
                          AND r.reported_at <= :as_of) AS late,
       count(*) FILTER (WHERE r.report_due_at <= :as_of
                          AND (r.reported_at IS NULL OR r.reported_at > :as_of)) AS missing,
       count(r.rating) AS rated,
       avg(r.rating)::float AS rating_avg
  FROM task_response r JOIN case_task t ON t.id = r.task_id
  JOIN agency a ON a.code = t.party
 WHERE r.called_at >= :start AND r.called_at < :end AND r.called_at <= :as_of
 GROUP BY t.party, a.name_zh, t.unit_code, t.unit_name
 ORDER BY t.party, t.unit_code NULLS FIRST, t.unit_name""")


def report_in_figures(conn: Connection, *, p: Period) -> list[dict[str, Any]]:
    """One row per called unit (agency and unit) with its report-in and rating figures."""
    rows = []
    for r in conn.execute(FIGURES, p.params()).mappings():
        row = dict(r)
        row["on_time_rate"] = round(row["on_time"] / row["due"], 4) if row["due"] else None
        row["rating_avg"] = round(row["rating_avg"], 2) if row["rating_avg"] is not None else None
        rows.append(row)
    return rows


def report_in_table(rows: Sequence[Mapping[str, Any]]) -> str:
    """The dashboard's table of the figures (Chinese; empty when no unit was called)."""
    if not rows:
        return ""

    def pct(v: float | None) -> str:
        return "—" if v is None else f"{v * 100:.1f}%"

    body = "".join(
        f'<tr data-testid="report-in-row" data-party="{esc(r["party"])}">'
        f'<th scope="row">{esc(r["agency_name"])} {esc(r["unit_name"] or "")}</th>'
        f'<td class="num">{r["called"]}</td><td class="num">{r["on_time"]}</td>'
        f'<td class="num">{r["late"]}</td><td class="num">{r["missing"]}</td>'
        f'<td class="num">{pct(r["on_time_rate"])}</td>'
        f'<td class="num">{"—" if r["rating_avg"] is None else r["rating_avg"]}</td></tr>'
        for r in rows
    )
    head = "".join(
        f'<th scope="col">{h}</th>'
        for h in ("单位", "被吹哨次数", "按时报到", "超时报到", "未报到", "报到按时率", "响应评分")
    )
    return (
        '<div class="rank-wrap"><table class="ranking" data-testid="report-in-figures">'
        "<caption>吹哨报到：参与单位按时报到率与镇（街道）评分（1–5 分，平均）</caption>"
        f"<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></div>"
    )
