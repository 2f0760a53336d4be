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

PATH = "/map/hotspots"
API = "/api/v1/hotspots"
METHODS = ("gi_star", "local_moran", "count", "kde", "emerging")
GRIDS = ("h3:9", "h3:8", "h3:10", "square:250", "square:500", "community", "property_area")
#: The grids' names (value → Chinese, English).
GRID_NAMES: dict[str, tuple[str, str]] = {
    "h3:9": ("六边形网格（边长约170米）", "Hexagons (~170 m)"),
    "h3:8": ("六边形网格（边长约460米）", "Hexagons (~460 m)"),
    "h3:10": ("六边形网格（边长约65米）", "Hexagons (~65 m)"),
    "square:250": ("方格（250米）", "Squares (250 m)"),
    "square:500": ("方格（500米）", "Squares (500 m)"),
    "community": ("按社区", "By community"),
    "property_area": ("按物业管理区域", "By property management area"),
}

TEXTS: dict[str, tuple[str, str]] = {
    "title": ("热点分析 · 属地", "Hot spots · Shudi"),
    "heading": ("案件热点分析", "Where cases concentrate"),
    "method": ("方法", "Method"),
    "gi_star": ("热点/冷点 (Getis-Ord Gi*)", "Hot/cold spots (Getis-Ord Gi*)"),
    "local_moran": ("聚类与异常 (局部 Moran's I)", "Clusters and outliers (Local Moran's I)"),
    "count": ("案件数", "Case counts"),
    "kde": ("核密度", "Kernel density"),
    "emerging": ("时空趋势 (新兴热点)", "Emerging hot spots (trend)"),
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


def _options(items: Iterable[tuple[str, str]], everything: str | None = None) -> str:
    head = f'<option value="">{esc(everything)}</option>' if everything is not None else ""
    return head + "".join(f'<option value="{esc(v)}">{esc(t)}</option>' for v, t in items)


def _name(row: Mapping[str, Any], lang: str) -> str:
    if lang == "en" and row.get("name_en"):
        return str(row["name_en"])
    return str(row.get("name_zh") or row.get("name") or row.get("code"))


def _body(
    w: Mapping[str, str], lang: str, *, user: Mapping[str, Any], choices: dict[str, str]
) -> str:
    exports = "".join(
        f'<a class="btn secondary" data-export="{k}" href="#" download>{label}</a> '
        for k, label in (("geojson", "GeoJSON"), ("gpkg", "GeoPackage"), ("csv", "CSV"))
    )
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
   <select id="hs-type" aria-label="{esc(w["type"])}">{choices["types"]}</select>
   <select id="hs-agency" aria-label="{esc(w["agency"])}">{choices["agencies"]}</select>
   <select id="hs-town" aria-label="{esc(w["town"])}">{choices["towns"]}</select>
   <fieldset class="period"><legend>{esc(w["period"])}</legend>
    <label class="check"><input type="checkbox" id="hs-by-month"> {esc(w["by_month"])}</label>
    <input type="range" id="hs-month" min="0" max="0" value="0" disabled
      aria-label="{esc(w["period"])}"> <output id="hs-month-label">{esc(w["all_time"])}</output>
   </fieldset>
   <button type="submit" class="btn primary">{esc(w["run"])}</button>
  </form>
  <p id="hs-status" class="hint" aria-live="polite"></p>
  <section id="hs-legend" class="legend" aria-label="{esc(w["legend"])}"></section>
  <p class="export">{esc(w["export"])}: {exports}</p>
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
    lang: str = "zh",
) -> str:
    """The hot-spot map. ``boundaries`` are the town and community layers (WGS-84 GeoJSON),
    ``types``/``agencies`` the taxonomy, ``months`` the ``YYYY-MM`` months holding cases (the
    slider's stops), ``user`` the principal (``username``, ``role``, ``town_code``)."""
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
        body=_body(w, lang, user=user, choices=choices),
        config={
            "page": "hotspots",
            "t": w | {k: v[en] for k, v in CATEGORIES.items()},
            "api": API,
            "months": list(months),
            "minCount": min_count,
            "methods": {m: w[m] for m in METHODS},
        },
        scripts=["common", "hotspots"],
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
