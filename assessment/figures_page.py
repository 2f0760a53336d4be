"""The assessment's figures as the dashboard shows them: ranking tables in which every figure
opens the cases behind it (``/assessment/cases``), the coordinator's own town marked; and that
list page. Renders what ``assessment/router.py`` hands it (``assessment.service`` answers).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import urlencode

from assessment.bulletin import DEFINITIONS, KIND_LABELS, RANKING
from documents.html import RENDER
from documents.model import Document, Table
from webmap.pages.common import esc, plain_page
from webmap.pages.nav import nav_bar

CASES_PATH = "/assessment/cases"
#: Rates: (numerator, denominator), as assessment.service.RATES.
PERCENT = {"response_rate", "on_time_rate", "rework_rate", "satisfaction", "action_on_time_rate",
           "actual_resolution_rate", "satisfied_rate"}  # fmt: skip


def cases_link(unit: Mapping[str, Any], figure: str, first: str, last: str) -> str:
    """The page listing what lies behind one figure of one unit."""
    query = {"from": first, "to": last, "kind": unit["kind"], "unit": unit["unit"]}
    if unit.get("agency"):
        query["agency"] = unit["agency"]
    return f"{CASES_PATH}?{urlencode(query | {'figure': figure})}"


def _value(value: Any, figure: str) -> str:
    if value is None:
        return "—"
    if figure in PERCENT or figure == "referral_accuracy":
        return f"{value * 100:.1f}%"
    return str(value)


def _table(units: Sequence[Mapping[str, Any]], kind: str, first: str, last: str, own: str) -> str:
    rows = []
    for u in units:
        if u["kind"] != kind:
            continue
        mine = kind == "town" and u["unit"] == own
        cells = "".join(
            f'<td class="num"><a href="{esc(cases_link(u, f, first, last))}" data-figure="{f}"'
            f' title="{esc(DEFINITIONS[f][0])}：{esc(DEFINITIONS[f][1])}">'
            f"{esc(_value(u.get(f), f))}</a></td>"
            for f in RANKING
        )
        badge = ' <span class="badge own">本镇/街道</span>' if mine else ""
        rows.append(
            f'<tr data-testid="rank-row" data-kind="{esc(kind)}" data-unit="{esc(u["unit"])}"'
            + (' class="own" data-own="1" aria-current="true"' if mine else "")
            + f'><td class="num">{esc(u["rank"])}</td><th scope="row">{esc(u["name"])}{badge}</th>'
            f"{cells}</tr>"
        )
    if not rows:
        return ""
    head = "".join(
        f'<th scope="col" title="{esc(DEFINITIONS[f][1])}">{esc(DEFINITIONS[f][0])}</th>'
        for f in RANKING
    )
    return (
        f'<div class="rank-wrap"><table class="ranking" data-testid="ranking-{esc(kind)}">'
        f"<caption>{esc(KIND_LABELS[kind])}排名（点击数字查看对应案件）</caption>"
        f'<thead><tr><th scope="col">名次</th><th scope="col">单位</th>{head}</tr></thead>'
        f"<tbody>{''.join(rows)}</tbody></table></div>"
    )


def render_rankings(
    units: Sequence[Mapping[str, Any]], *, first: str, last: str, own_town: str | None
) -> str:
    """The ranking tables of towns, agencies and field units, each figure a link."""
    return "".join(
        _table(units, kind, first, last, own_town or "")
        for kind in ("town", "agency", "agency_unit")
    )


STYLE = """
.dash .rank-wrap { max-width: 100%; overflow-x: auto; }
.dash table.ranking { display: table; }
.dash tr.own th, .dash tr.own td { background: #fff6d6; }
.dash tr.own { outline: 2px solid #d9a400; }
.dash .badge.own { background: #d9a400; color: #fff; }
.dash table.ranking a { display: inline-block; min-width: 2em; padding: .2em 0; }
.audit-list { list-style: none; padding: 0; display: flex; flex-wrap: wrap; gap: .4rem; }
.audit-list a { display: inline-block; padding: .4rem .6rem; border: 1px solid #c5ccd3;
  border-radius: 8px; background: #fff; }
"""


def _ids(title: str, ids: Sequence[Any], href: str, testid: str, prefix: str) -> str:
    items = "".join(
        f'<li data-testid="{testid}" data-id="{esc(i)}"><a href="{esc(href.format(i))}">'
        f"{esc(prefix)}{esc(i)}</a></li>"
        for i in ids
    )
    empty = "" if ids else '<p class="hint">没有。</p>'
    return f'<h2>{esc(title)}（{len(ids)}）</h2><ul class="audit-list">{items}</ul>{empty}'


def render_audit(
    lists: Sequence[tuple[str, Mapping[str, Any]]],
    *,
    unit_name: str,
    figure: str,
    first: str,
    last: str,
    as_of: str,
    user: Mapping[str, Any],
) -> str:
    """What lies behind a figure: for each of ``lists`` (a label and ``service.audit``'s
    answer), the cases (links to their pages), the meeting actions, or the months."""
    label, definition = DEFINITIONS.get(figure, (figure, ""))
    parts = []
    for title, found in lists:
        if found.get("case_ids") is not None:
            parts.append(_ids(title, found["case_ids"], "/cases/{}", "audit-case", "#"))
        elif found.get("action_ids") is not None:
            parts.append(_ids(title, found["action_ids"], "/meetings", "audit-action", "事项 "))
        else:
            months = found.get("months") or []
            items = "".join(f'<li data-testid="audit-month">{esc(m)}</li>' for m in months)
            parts.append(
                f'<h2>{esc(title)}（{len(months)}）</h2><ul class="audit-list">{items}</ul>'
            )
    body = f"""{nav_bar(user, "assessment", "zh")}<main class="dash workbench" id="main"
 data-testid="audit"><style>{STYLE}</style>
<h1>{esc(unit_name)} · {esc(label)}</h1>
<p class="hint">{esc(definition)}。考核期 {esc(first)} 至 {esc(last)}；数据截至 {esc(as_of)}。</p>
{"".join(parts)}
<p><a class="btn secondary" href="/assessment?{esc(urlencode({"from": first, "to": last}))}">
返回考核</a></p></main>"""
    return plain_page(lang="zh", title=f"{unit_name} {label}", body=body)


def dashboard_content(doc: Document, rankings: str) -> str:
    """The document's HTML with its ranking tables replaced by ``rankings`` (whose figures
    open the cases behind them)."""
    parts = [f"<h1>{esc(doc.title)}</h1>"]
    if doc.subtitle:
        parts.append(f'<p class="subtitle">{esc(doc.subtitle)}</p>')
    placed = False
    for block in doc.blocks:
        if isinstance(block, Table) and block.title.endswith("排名"):
            if not placed:
                parts.append(rankings)
                placed = True
            continue
        parts.append(RENDER[type(block)](block))
    if not placed:
        parts.insert(2, rankings)
    return "\n".join(parts)
