"""``/map/hotspots``: the planner's hot-spot map (renders the data it is handed).

A Folium map with the town and community boundaries and a side panel: method, grid, filters,
a month slider (the analysis re-run for one month at a time) and the legend of the current
layer. ``hotspots.js`` asks ``/api/v1/hotspots`` for each analysis and keeps one overlay per
method in the layer control; the current layer downloads as GeoJSON, GeoPackage or CSV from
``/api/v1/hotspots.{geojson,gpkg,csv}`` with the same parameters.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import shapely
from shapely.geometry import shape

from webmap.basemaps import Basemap
from webmap.pages.common import (
    ASSET_VERSION,
    STATIC,
    common_texts,
    esc,
    lang_switch,
    map_page,
    pick,
    plain_page,
)
from webmap.pages.nav import nav_bar
from webmap.pages.track import STATUS

PATH = "/map/hotspots"
API = "/api/v1/hotspots"
METHODS = ("gi_star", "local_moran", "count", "kde", "emerging")
GRIDS = ("h3:9", "h3:8", "h3:10", "square:250", "square:500", "community", "property_area")
GRID_NAMES: dict[str, tuple[str, str]] = {
    "h3:9": ("六边形网格（每格约 0.1 平方公里）", "H3 hexagons, res 9 (about 0.1 km²)"),
    "h3:8": ("六边形网格（每格约 0.7 平方公里）", "H3 hexagons, res 8 (about 0.7 km²)"),
    "h3:10": ("六边形网格（每格约 0.015 平方公里）", "H3 hexagons, res 10 (about 0.015 km²)"),
    "square:250": ("方格（边长 250 米）", "Squares of 250 m"),
    "square:500": ("方格（边长 500 米）", "Squares of 500 m"),
    "community": ("按社区（村）", "By community"),
    "property_area": ("按物业小区", "By property area"),
}

#: Plain-language explanations beside the legend: each method, confidence, FDR (zh, en).
EXPLAIN: dict[str, tuple[str, str]] = {
    "gi_star": (
        "把每个网格和它周围的网格一起看：如果这一片的案件明显多于全区平均水平，就是“热点”，"
        "明显少就是“冷点”。",
        "Each cell is judged with its neighbours: markedly more cases than the district "
        "average is a hot spot, markedly fewer a cold spot (Getis-Ord Gi*).",
    ),
    "local_moran": (
        "看每个网格和邻近网格是否相似：“高-高聚集”是案件多的网格挨在一起；“高值异常”是案件少的"
        "区域中夹着一个案件多的网格。",
        "Whether a cell resembles its neighbours: high-high clusters, and outliers that "
        "differ from their surroundings (Local Moran's I).",
    ),
    "count": (
        "每个网格里有多少件案件，颜色越深越多；不作统计判断。",
        "How many cases each cell holds; darker is more. No statistical test.",
    ),
    "kde": (
        "把每件案件看成向周围扩散的一小团，叠加后得到每平方公里的案件密度；颜色越深越密集。",
        "Each case spread over its surroundings and summed: cases per km² (kernel density).",
    ),
    "emerging": (
        "按周把案件分段，看每个网格是不是热点、变化趋势如何：“新增热点”是只在最近一周才成为热点的"
        "网格；“连续热点”“持续热点”是多周都是热点；“加强”“减弱”指热度在上升或下降。",
        "Cases split by week: whether each cell is a hot spot and how that changes. A new hot "
        "spot is one only in the latest week.",
    ),
    "confidence": (
        "置信度 95% 的意思是：如果案件其实是随机分布的，出现这样聚集的可能不到 5%。"
        "置信度越高，越不像是偶然。",
        "95% confidence: were cases placed at random, a concentration like this would arise "
        "less than 5% of the time.",
    ),
    "fdr": (
        "同时检验很多网格时，总会有几个“碰巧”显著。本图已按错误发现率（FDR）校正："
        "被标为热点或冷点的网格中，误判的比例被控制在置信度所允许的范围内。",
        "Testing many cells at once makes some look significant by chance; the map controls "
        "the false discovery rate (FDR) so few of the marked cells are false alarms.",
    ),
}

TEXTS: dict[str, tuple[str, str]] = {
    "title": ("热点分析 · 属地", "Hot spots · Shudi"),
    "heading": ("案件热点分析", "Where cases concentrate"),
    "method": ("方法", "Method"),
    "gi_star": ("热点与冷点", "Hot/cold spots (Getis-Ord Gi*)"),
    "local_moran": ("聚集与异常", "Clusters and outliers (Local Moran's I)"),
    "count": ("案件数", "Case counts"),
    "kde": ("案件密度", "Kernel density"),
    "emerging": ("热点的变化趋势", "Emerging hot spots (trend)"),
    "grid": ("网格", "Grid"),
    "type": ("问题类型", "Type"),
    "agency": ("承办部门", "Agency"),
    "town": ("镇/街道", "Town/street"),
    "all_types": ("全部类型", "All types"),
    "all_agencies": ("全部部门", "All agencies"),
    "all_towns": ("全部镇/街道", "All towns"),
    "period": ("时段", "Period"),
    "all_time": ("全部时间", "All time"),
    "by_month": ("按月查看", "One month at a time"),
    "run": ("分析", "Analyse"),
    "legend": ("图例", "Legend"),
    "export": ("导出当前图层", "Export the current layer"),
    "running": ("正在计算…", "Computing…"),
    "summary": ("{points} 件案件，{cells} 个网格", "{points} cases, {cells} cells"),
    "summary_kde": ("{points} 件案件，带宽 {h} 米", "{points} cases, bandwidth {h} m"),
    "suppressed": ("少于 {n} 件的网格不显示数量", "Counts under {n} per cell are withheld"),
    "hot3": ("热点 99%", "Hot spot 99%"),
    "hot2": ("热点 95%", "Hot spot 95%"),
    "hot1": ("热点 90%", "Hot spot 90%"),
    "ns": ("不显著", "Not significant"),
    "cold1": ("冷点 90%", "Cold spot 90%"),
    "cold2": ("冷点 95%", "Cold spot 95%"),
    "cold3": ("冷点 99%", "Cold spot 99%"),
    "HH": ("高-高聚类", "High-high cluster"),
    "LL": ("低-低聚类", "Low-low cluster"),
    "HL": ("高值异常", "High outlier among low"),
    "LH": ("低值异常", "Low outlier among high"),
    "fewer": ("少", "fewer"),
    "more": ("多", "more"),
    "density": ("每平方公里案件数", "cases per km²"),
    "count_n": ("{n} 件", "{n} cases"),
    "fewer_than": ("少于 {n} 件", "under {n} cases"),
    "tip_gi": ("{cls} · {count}", "{cls} · {count}"),
    "hot_conf": ("热点（置信度 {c}%）", "Hot spot ({c}% confidence)"),
    "cold_conf": ("冷点（置信度 {c}%）", "Cold spot ({c}% confidence)"),
    "bandwidth": ("带宽 {h} 米", "bandwidth {h} m"),
    "empty": (
        "所选条件下案件太少（或没有案件），无法分析；地图已清空，请放宽条件后重试。",
        "Too few cases (or none) match; the map was cleared. Widen the filters.",
    ),
    "failed": ("分析失败（{code}），地图已清空。", "The analysis failed ({code}); map cleared."),
    "inconclusive": (
        "只有 {points} 件案件，少于 {min} 件，无法判断热点或冷点；地图只显示各网格的案件数。",
        "Only {points} cases, fewer than {min}: no hot or cold spots can be concluded; "
        "the map shows counts only.",
    ),
    "cell_heading": ("本网格的案件", "Cases in this cell"),
    "cell_loading": ("正在读取本网格的案件…", "Loading the cell's cases…"),
    "cell_none": ("本网格没有符合条件的案件。", "No matching cases in this cell."),
    "cell_count": ("共 {n} 件（按上报时间，最新在前）", "{n} cases, newest first"),
    "cell_error": ("无法读取本网格的案件。", "Could not load the cell's cases."),
    "to_agenda": ("加入联席会议议程", "Add to a joint meeting agenda"),
    "agenda_added": ("已加入该镇街下次联席会议的议程（第 {p} 项）。", "Added (item {p})."),
    "agenda_already": ("本网格已在下次联席会议的议程中。", "Already on the next agenda."),
    "agenda_failed": ("未能加入议程，请稍后重试。", "Could not add it; try again later."),
    "open_meeting": ("查看会议", "Open the meeting"),
    "case_no": ("案件 {id}", "Case {id}"),
    "close_cell": ("关闭", "Close"),
    "export_density": ("导出密度图", "Export the density"),
    "png": ("图片", "PNG"),
    "geotiff": ("地理栅格", "GeoTIFF"),
    "geojson": ("地理数据", "GeoJSON"),
    "gpkg": ("地理数据库", "GeoPackage"),
    "csv": ("表格", "CSV"),
    "explain": ("怎么看这张图", "How to read this map"),
    "min_rule": (
        "少于 {n} 件案件时，本图不判断热点或冷点，只显示案件数：案件太少，偶然的聚集也会像热点。",
        "Under {n} cases the map draws no hot or cold spots, only counts.",
    ),
    "forbidden": ("无权查看热点分析", "No access to hot-spot analysis"),
    "forbidden_hint": (
        "当前用户 {user} 的角色不能查看热点分析；请使用规划、管理、调度或镇街协调账号登录。",
        "{user}'s role cannot open hot-spot analysis; log in as a planner, administrator, "
        "dispatcher or town coordinator.",
    ),
    "other_user": ("换个账号登录", "Log in as someone else"),
    "logout": ("退出", "Log out"),
}

#: Emerging categories → (Chinese, English).
CATEGORIES: dict[str, tuple[str, str]] = {
    "new_hot": ("新增热点", "New hot spot"),
    "consecutive_hot": ("连续热点", "Consecutive hot spot"),
    "intensifying_hot": ("加强热点", "Intensifying hot spot"),
    "persistent_hot": ("持续热点", "Persistent hot spot"),
    "diminishing_hot": ("减弱热点", "Diminishing hot spot"),
    "sporadic_hot": ("零星热点", "Sporadic hot spot"),
    "oscillating_hot": ("振荡热点", "Oscillating hot spot"),
    "historical_hot": ("历史热点", "Historical hot spot"),
    "new_cold": ("新增冷点", "New cold spot"),
    "intensifying_cold": ("加强冷点", "Intensifying cold spot"),
    "persistent_cold": ("持续冷点", "Persistent cold spot"),
    "diminishing_cold": ("减弱冷点", "Diminishing cold spot"),
    "sporadic_cold": ("零星冷点", "Sporadic cold spot"),
    "historical_cold": ("历史冷点", "Historical cold spot"),
    "no_pattern": ("无明显模式", "No pattern"),
}


def _town_bounds(boundaries: Mapping[str, Mapping[str, Any]]) -> dict[str, list[float]]:
    """Each town's (west, south, east, north) in WGS-84, for "zoom to the chosen town"."""
    out: dict[str, list[float]] = {}
    for f in (boundaries.get("town") or {}).get("features", ()):
        code = (f.get("properties") or {}).get("code")
        if code and f.get("geometry"):
            out[str(code)] = [round(v, 6) for v in shapely.bounds(shape(f["geometry"])).tolist()]
    return out


def _options(items: Iterable[tuple[str, str]], everything: str | None = None) -> str:
    head = f'<option value="">{esc(everything)}</option>' if everything is not None else ""
    return head + "".join(f'<option value="{esc(v)}">{esc(t)}</option>' for v, t in items)


def _name(row: Mapping[str, Any], lang: str) -> str:
    """A catalogue row's name in ``lang`` (the taxonomy and agencies carry ``name_zh`` and
    ``name_en``); the code only when it has no name at all."""
    if lang == "en" and row.get("name_en"):
        return str(row["name_en"])
    return str(row.get("name_zh") or row.get("name") or row.get("name_en") or row.get("code"))


def _explain(w: Mapping[str, str], lang: str, min_cases: int) -> str:
    en = 1 if lang == "en" else 0
    methods = "".join(
        f'<p data-method="{m}"><strong>{esc(w[m])}</strong>：{esc(EXPLAIN[m][en])}</p>'
        for m in METHODS
    )
    rule = w["min_rule"].replace("{n}", str(min_cases))
    return f"""<section id="hs-explain" class="explain" aria-labelledby="hs-explain-h">
   <h2 id="hs-explain-h">{esc(w["explain"])}</h2>{methods}
   <p data-topic="confidence">{esc(EXPLAIN["confidence"][en])}</p>
   <p data-topic="fdr">{esc(EXPLAIN["fdr"][en])}</p>
   <p data-topic="min-cases" id="hs-min-rule">{esc(rule)}</p>
  </section>"""


def _body(
    w: Mapping[str, str],
    lang: str,
    *,
    user: Mapping[str, Any],
    choices: dict[str, str],
    min_cases: int,
) -> str:
    def link(kind: str, attr: str) -> str:
        return f'<a class="btn secondary" {attr}="{kind}" href="#" download>{esc(w[kind])}</a> '

    cells = "".join(link(k, "data-export") for k in ("geojson", "gpkg", "csv"))
    density = "".join(link(k, "data-density") for k in ("png", "geotiff"))
    return f"""
<main id="sheet" class="sheet dispatch" aria-label="{esc(w["heading"])}">
 <button type="button" class="sheet-handle" id="sheet-toggle" aria-expanded="true"
   aria-controls="sheet-body"><span aria-hidden="true"></span>{esc(w["close"])}</button>
 <div id="sheet-body" class="sheet-body">
  <header class="sheet-head"><h1>{esc(w["heading"])}</h1>{lang_switch(PATH, lang)}</header>
  {nav_bar(user, "hotspots", lang)}
  <form id="hs-form" class="filters">
   <label>{esc(w["method"])} <select id="hs-method">{choices["methods"]}</select></label>
   <label>{esc(w["grid"])} <select id="hs-grid">{choices["grids"]}</select></label>
   <label>{esc(w["type"])} <select id="hs-type">{choices["types"]}</select></label>
   <label>{esc(w["agency"])} <select id="hs-agency">{choices["agencies"]}</select></label>
   <label>{esc(w["town"])} <select id="hs-town">{choices["towns"]}</select></label>
   <fieldset class="period"><legend>{esc(w["period"])}</legend>
    <label class="check"><input type="checkbox" id="hs-by-month"> {esc(w["by_month"])}</label>
    <input type="range" id="hs-month" min="0" max="0" value="0" disabled
      aria-label="{esc(w["period"])}"> <output id="hs-month-label">{esc(w["all_time"])}</output>
   </fieldset>
   <button type="submit" class="btn primary">{esc(w["run"])}</button>
  </form>
  <p id="hs-status" class="hint" aria-live="polite"></p>
  <section id="hs-cell" class="cell-cases" aria-live="polite" hidden></section>
  <section id="hs-legend" class="legend" aria-label="{esc(w["legend"])}"></section>
  {_explain(w, lang, min_cases)}
  <p class="export">{esc(w["export"])}：{cells}</p>
  <p class="export">{esc(w["export_density"])}：{density}</p>
 </div>
</main>
"""


def render_hotspots(
    *,
    basemap: Basemap,
    boundaries: Mapping[str, Mapping[str, Any]],
    types: Sequence[Mapping[str, Any]],
    agencies: Sequence[Mapping[str, Any]],
    months: Sequence[str],
    user: Mapping[str, Any],
    min_count: int,
    min_cases: int = 30,
    lang: str = "zh",
    tiles: Mapping[str, str] | None = None,
) -> str:
    """The hot-spot map. ``boundaries`` are the town and community layers (WGS-84 GeoJSON),
    ``types``/``agencies`` the taxonomy, ``months`` the ``YYYY-MM`` months holding cases (the
    slider's stops), ``user`` the principal (``username``, ``role``, ``town_code``); ``tiles``
    the active layers' vector tile URLs (the communities are drawn from them)."""
    w = pick(TEXTS, lang) | common_texts(lang)
    en = 1 if lang == "en" else 0
    towns = sorted(
        (str(p.get("code")), str(p.get("name") or p.get("code")))
        for p in (
            (f.get("properties") or {}) for f in (boundaries.get("town") or {}).get("features", ())
        )
    )
    choices = {
        "methods": _options((m, w[m]) for m in METHODS),
        "grids": _options((g, GRID_NAMES[g][en]) for g in GRIDS),
        "types": _options(((str(t["code"]), _name(t, lang)) for t in types), w["all_types"]),
        "agencies": _options(
            ((str(a["code"]), _name(a, lang)) for a in agencies if a.get("code")),
            w["all_agencies"],
        ),
        # a town coordinator analyses its own town only (the API enforces it too)
        "towns": _options([t for t in towns if t[0] == own])
        if (own := user.get("town_code"))
        else _options(towns, w["all_towns"]),
    }
    page = map_page(
        basemap=basemap,
        lang=lang,
        title=w["title"],
        boundaries=boundaries,
        body=_body(w, lang, user=user, choices=choices, min_cases=min_cases),
        config={
            "page": "hotspots",
            "t": w | {k: v[en] for k, v in CATEGORIES.items()},
            "api": API,
            "months": list(months),
            "minCount": min_count,
            "minCases": min_cases,
            "status": {k: v[en] for k, v in STATUS.items()},
            "townBounds": _town_bounds(boundaries),
            "methods": {m: w[m] for m in METHODS},
        },
        scripts=["common", "hotspots"],
        tiles=tiles,
    )
    css = "".join(
        f'<link rel="stylesheet" href="{STATIC}/{name}.css?v={ASSET_VERSION}">\n'
        for name in ("dispatch", "hotspots")
    )
    return page.replace("</head>", css + "</head>", 1)


def render_hotspots_forbidden(*, user: Mapping[str, Any], lang: str = "zh") -> str:
    """The answer to a logged-in user whose role may not open the hot-spot map (403)."""
    w = pick(TEXTS, lang) | common_texts(lang)
    hint = w["forbidden_hint"].replace("{user}", str(user.get("username") or ""))
    body = f"""{nav_bar(user, None, lang)}<main class="workbench" id="main">
<header class="sheet-head"><h1>{esc(w["heading"])}</h1>{lang_switch(PATH, lang)}</header>
<section class="card error" role="alert"><p class="error-title">{esc(w["forbidden"])}</p>
<p class="hint">{esc(hint)}</p></section>
<p><a class="btn secondary" href="/login?next={esc(PATH)}">{esc(w["other_user"])}</a></p>
</main>"""
    return plain_page(lang=lang, title=w["forbidden"], body=body)
