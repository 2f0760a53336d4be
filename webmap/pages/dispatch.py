"""The dispatcher's live map (``/map/dispatch``): open cases, live, over the territories.

Staff only (dispatchers and town coordinators; ``api/pages.py`` checks). The page is a Folium map
with no boundaries of its own: ``static/dispatch.js`` loads the open cases from the compact
feed ``/api/v1/cases/feed`` (one row per case: position, status, agency, type, town, deadline)
into a grid cluster layer drawn for the view (markers coloured by status, a letter per
handling agency, overdue ones ringed in red; clusters count their overdue cases; measured
against Leaflet.markercluster in ``benchmarks/map.py``), then takes the changes pushed by
``/api/v1/cases/stream`` (server-sent events, ``incidents/live.py``) or, without it, polls the
feed every 2 s with ``since=`` the previous answer's ``now``, and loads the territory layers
(``/api/v1/layers/{layer}.geojson``) and the 30-day heat map when they are switched on.
Filters hide markers in the browser; the side list asks ``/api/v1/cases`` for the view's bbox
with the same filters, sorted by deadline, and a popup fetches its case
(``/api/v1/cases/{id}``) when opened, linking to the case page ``/cases/{id}``.

Markercluster's stylesheets and Leaflet.heat are linked by the CDN URLs Folium's plugins use,
so :func:`webmap.assets.localize` points them at the vendored copies like every other library.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from folium.plugins import HeatMap, MarkerCluster

from webmap.basemaps import Basemap
from webmap.pages.common import (
    ASSET_VERSION,
    FALLBACK_CENTER,
    STATIC,
    common_texts,
    esc,
    lang_switch,
    map_page,
    pick,
    plain_page,
)
from webmap.pages.nav import home_of, nav_bar, role_name
from webmap.pages.placesearch import place_search
from webmap.pages.report_in_panel import texts as report_in_texts
from webmap.pages.track import STATUS

PATH = "/map/dispatch"
HEAT_PATH = "/map/dispatch/heat.json"
FEED = "/api/v1/cases/feed"
STREAM = "/api/v1/cases/stream"  # the feed's changes pushed (server-sent events)
LIST = "/api/v1/cases"
CASE_PAGE = "/cases/"
POLL_MS = 2000
NEW_MAX = 20  # rows of the queue of new reports (the latest first, wherever they are)
HEAT_DAYS = 30
LAYER_ZOOM = 14  # boundaries simplified as for this zoom (as the public maps)
CLOSED = ("closed", "rejected")  # never on the map: the feed's open cases are the others

TEXTS: dict[str, tuple[str, str]] = {
    "title": ("调度地图 · 案件实时分布", "Dispatch map · live cases"),
    "heading": ("调度地图", "Dispatch map"),
    "live": ("实时", "Live"),
    "live_push": ("实时推送", "Live, pushed"),
    "live_lost": ("连接中断，正在重试…", "Connection lost, retrying…"),
    "session_lost": ("登录已过期，请重新登录", "Your session has expired: log in again"),
    "loaded": ("已加载{n}件未结案件", "{n} open cases loaded"),
    "truncated": ("案件过多，仅加载了最近更新的{n}件", "Too many cases: the {n} latest loaded"),
    "filters": ("筛选", "Filters"),
    "all_agencies": ("全部承办单位", "All agencies"),
    "all_types": ("全部问题类型", "All kinds"),
    "all_statuses": ("全部状态", "All statuses"),
    "all_towns": ("全部镇/街道", "All towns"),
    "agency": ("承办单位", "Agency"),
    "type": ("问题类型", "Kind"),
    "status": ("状态", "Status"),
    "overdue_only": ("仅看超期", "Overdue only"),
    "reset": ("清除筛选", "Clear"),
    "in_view": ("视野内{n}件，按办理期限排序", "{n} in view, by deadline"),
    "new_queue": ("新上报待受理", "New, to accept"),
    "new_n": ("新上报待受理{n}件，最新的在最前", "{n} new to accept, latest first"),
    "new_none": ("没有待受理的新上报", "No new report waits"),
    # parked 12345 orders (webmap/pages/static/hotline.js, docs/hotline.md)
    "parked": ("12345工单待定位", "Hotline orders to place"),
    "parked_pick": ("在地图上点选", "Choose on the map"),
    "parked_at": ("定位到 {name}", "Place at {name}"),
    "parked_tap": ("请在地图上点击工单 {no} 的位置", "Tap the map where order {no} is"),
    "parked_done": ("工单 {no} 已立案（案件{n}）", "Order {no} filed (case {n})"),
    "list_more": ("仅列出前{n}件，放大地图查看更多", "First {n} listed: zoom in for more"),
    "none_in_view": ("当前视野内没有符合条件的案件", "No matching case in view"),
    "legend": ("图例", "Legend"),
    "overdue": ("已超期", "Overdue"),
    "due": ("办理期限", "Due"),
    "no_due": ("未定期限", "No deadline"),
    "age": ("已上报", "Reported"),
    "ago": ("{t}前", "{t} ago"),
    "days": ("{n}天", "{n} d"),
    "hours": ("{n}小时", "{n} h"),
    "minutes": ("{n}分钟", "{n} min"),
    "handler": ("承办", "Handler"),
    "address": ("地址", "Address"),
    "open_case": ("案件详情", "Case details"),
    "case_no": ("案件{n}", "Case {n}"),
    "cases": ("案件", "Cases"),
    "heat": ("热力图（近{n}天）", "Heat map (last {n} days)"),
    "no_data": ("（无数据）", " (no data)"),
    "logout": ("退出", "Log out"),
    "forbidden": ("无权访问调度地图", "You may not open the dispatch map"),
    "forbidden_hint": (
        "调度地图仅供调度员和镇/街道协调员使用。当前账号：{user}（{role}）。",
        "The dispatch map is for dispatchers and town coordinators. Logged in as {user} ({role}).",
    ),
    "other_user": ("使用其他账号登录", "Log in as someone else"),
    "home": ("回到我的首页", "Back to my home page"),
}

# One character per handling party on its markers (the first of its name otherwise).
AGENCY_MARKS: dict[str, tuple[str, str]] = {
    "housing_service_center": ("房", "H"),
    "housing_construction": ("建", "C"),
    "urban_management": ("城", "U"),
    "public_security": ("警", "P"),
    "planning": ("规", "L"),
    "environmental_protection": ("环", "E"),
    "price_bureau": ("价", "$"),
    "market_regulation": ("市", "M"),
    "town_government": ("镇", "T"),
    "community_committee": ("社", "R"),
    "utility": ("专", "W"),
    "property_company": ("物", "Y"),
}

LAYERS: dict[str, tuple[str, str]] = {
    "town": ("镇/街道", "Towns/streets"),
    "community": ("社区", "Communities"),
    "property_area": ("物业管理区域", "Property management areas"),
    "agency_unit:public_security": ("派出所辖区", "Police precincts"),
    "agency_unit:urban_management": ("城管中队", "City-management squads"),
}
LAYER_ORDER = ("town", "community", "property_area")


def _name(row: Mapping[str, Any], lang: str) -> str:
    en = row.get("name_en") if lang == "en" else None
    return str(en or row.get("name_zh") or row.get("name") or row.get("code") or "")


def _mark(agency: Mapping[str, Any], lang: str) -> str:
    pair = AGENCY_MARKS.get(str(agency.get("code")))
    if pair:
        return pair[1 if lang == "en" else 0]
    return (_name(agency, lang) or "?")[:1]


def _walk(coords: Any, xs: list[float], ys: list[float]) -> None:
    if isinstance(coords, list) and coords and isinstance(coords[0], int | float):
        xs.append(float(coords[0]))
        ys.append(float(coords[1]))
    elif isinstance(coords, list):
        for c in coords:
            _walk(c, xs, ys)


def extent(
    fc: Mapping[str, Any], only: str | None = None
) -> tuple[float, float, float, float] | None:
    """The WGS-84 bounds (west, south, east, north) of a FeatureCollection, or of the one
    feature whose ``code`` is ``only`` (the whole collection when it is not there)."""
    features = list(fc.get("features") or ())
    if only is not None:
        chosen = [f for f in features if (f.get("properties") or {}).get("code") == only]
        features = chosen or features
    xs: list[float] = []
    ys: list[float] = []
    for f in features:
        _walk((f.get("geometry") or {}).get("coordinates"), xs, ys)
    return (min(xs), min(ys), max(xs), max(ys)) if xs else None


#: Layers the dispatch map draws from vector tiles when it has their URLs: all but the towns
#: (a few kB of GeoJSON, with their names shown on the map at all times).
GEOJSON_LAYERS = ("town",)


def overlays(
    layer_keys: Iterable[str],
    agencies: Mapping[str, str],
    lang: str,
    tiles: Mapping[str, str] | None = None,
) -> list[dict]:
    """The boundary layers of the layer control, from the active layer keys
    (``town``, ``agency_unit:public_security`` …): label, GeoJSON URL, its vector tile URL
    template (from ``tiles``; none for the towns), shown at first or not."""
    keys = set(layer_keys)
    ordered = [k for k in LAYER_ORDER if k in keys]
    ordered += sorted(k for k in keys if k.startswith("agency_unit:"))
    out = []
    for key in ordered:
        layer, _, agency = key.partition(":")
        if key in LAYERS:
            label = LAYERS[key][1 if lang == "en" else 0]
        else:
            unit = agencies.get(agency, agency)
            label = f"{unit} units" if lang == "en" else f"{unit}辖区"
        url = f"/api/v1/layers/{layer}.geojson?zoom={LAYER_ZOOM}"
        if agency:
            url += f"&agency={agency}"
        entry = {"key": key, "kind": layer, "label": label, "url": url, "on": key == "town"}
        if tiles and key in tiles and key not in GEOJSON_LAYERS:
            entry["tiles"] = tiles[key]
            entry["collection"] = layer + (f"-{agency}" if agency else "")
        out.append(entry)
    return out


def heat_payload(points: Sequence[tuple[float, float, int]], basemap: Basemap) -> dict[str, Any]:
    """``heat_points`` rows (WGS-84 lon, lat, count) as Leaflet.heat's ``[lat, lng, weight]``,
    positioned for the basemap (shifted onto GCJ-02 tiles)."""
    shifted = basemap.shift_geojson(
        {"type": "MultiPoint", "coordinates": [[lon, lat] for lon, lat, _ in points]}
    )
    drawn = shifted["coordinates"]
    return {
        "days": HEAT_DAYS,
        "points": [[y, x, n] for (x, y), (_, _, n) in zip(drawn, points, strict=True)],
    }


def _options(items: Iterable[tuple[str, str]], everything: str) -> str:
    opts = "".join(f'<option value="{esc(v)}">{esc(label)}</option>' for v, label in items)
    return f'<option value="">{esc(everything)}</option>{opts}'


def _type_options(types: Sequence[Mapping[str, Any]], names: Mapping[str, str], lang: str) -> str:
    groups: dict[str, list[str]] = {}
    for t in types:
        groups.setdefault(str(t.get("agency") or ""), []).append(
            f'<option value="{esc(t["code"])}">{esc(_name(t, lang))}</option>'
        )
    return "".join(
        f'<optgroup label="{esc(names.get(a, a))}">{"".join(opts)}</optgroup>'
        for a, opts in groups.items()
    )


def _legend(statuses: Mapping[str, str], marks: Mapping[str, dict], w: Mapping[str, str]) -> str:
    chips = "".join(
        f'<li><span class="chip st-{esc(code)}"></span>{esc(label)}</li>'
        for code, label in statuses.items()
    )
    chips += f'<li><span class="chip late"></span>{esc(w["overdue"])}</li>'
    letters = "".join(
        f'<li><span class="letter">{esc(a["mark"])}</span>{esc(a["name"])}</li>'
        for a in marks.values()
    )
    return (
        f'<details class="legend"><summary>{esc(w["legend"])}</summary>'
        f'<ul class="legend-list">{chips}</ul><ul class="legend-list">{letters}</ul></details>'
    )


def _body(
    w: Mapping[str, str],
    lang: str,
    *,
    user: Mapping[str, Any],
    agencies: Mapping[str, dict],
    statuses: Mapping[str, str],
    towns: Sequence[tuple[str, str]],
    type_options: str,
) -> str:
    agency_opts = _options(((c, a["name"]) for c, a in agencies.items()), w["all_agencies"])
    return f"""
<main id="sheet" class="sheet dispatch" aria-label="{esc(w["heading"])}">
 <button type="button" class="sheet-handle" id="sheet-toggle" aria-expanded="true"
   aria-controls="sheet-body"><span aria-hidden="true"></span>{esc(w["close"])}</button>
 <div id="sheet-body" class="sheet-body">
  <header class="sheet-head"><h1>{esc(w["heading"])}</h1>{lang_switch(PATH, lang)}</header>
  {nav_bar(user, "dispatch", lang)}
  {place_search()}
  <p id="live" class="live" aria-live="polite"><span class="dot" aria-hidden="true"></span>
   <span id="live-text">{esc(w["loading"])}</span></p>
  <section class="new-queue" data-testid="new-queue" aria-labelledby="new-head">
   <h2 id="new-head" aria-live="polite">{esc(w["new_queue"])}</h2>
   <ol id="new-list" class="case-list" data-testid="new-list"></ol></section>
  <section class="new-queue" id="parked" data-testid="parked-orders" hidden
   aria-labelledby="parked-head"><h2 id="parked-head">{esc(w["parked"])}</h2>
   <ol id="parked-list" class="case-list"></ol></section>
  <form id="filters" class="filters" aria-label="{esc(w["filters"])}">
   <select id="f-agency" aria-label="{esc(w["agency"])}">{agency_opts}</select>
   <select id="f-type" aria-label="{esc(w["type"])}">
    <option value="">{esc(w["all_types"])}</option>{type_options}</select>
   <select id="f-status" aria-label="{esc(w["status"])}">
    {_options(statuses.items(), w["all_statuses"])}</select>
   <select id="f-town" aria-label="{esc(w["town"])}">{_options(towns, w["all_towns"])}</select>
   <label class="check"><input type="checkbox" id="f-overdue"> {esc(w["overdue_only"])}</label>
   <button type="reset" class="btn link">{esc(w["reset"])}</button>
  </form>
  <h2 id="view-head" aria-live="polite"></h2>
  <ol id="case-list" class="case-list" data-testid="case-list"></ol>
  <p id="list-more" class="hint" hidden></p>
  {_legend(statuses, agencies, w)}
 </div>
</main>
"""


def render_dispatch(
    *,
    basemap: Basemap,
    towns: Mapping[str, Any],
    agencies: Sequence[Mapping[str, Any]],
    types: Sequence[Mapping[str, Any]],
    layers: Iterable[str],
    user: Mapping[str, Any],
    lang: str = "zh",
    tiles: Mapping[str, str] | None = None,
    communities: Mapping[str, str] | None = None,
) -> str:
    """The dispatch map. ``towns`` is the town layer (WGS-84 FeatureCollection: the filter's
    choices and the first view), ``agencies`` and ``types`` the taxonomy, ``layers`` the keys
    of the active boundary layers, ``user`` the principal (``username``, ``role``,
    ``town_code``: a town coordinator's map opens on the town); ``tiles`` the active layers'
    vector tile URLs (the other layers are drawn from them; none on a GCJ-02 basemap),
    ``communities`` code → name of the active communities (the side list names them)."""
    w = pick(TEXTS, lang) | common_texts(lang)
    en = 1 if lang == "en" else 0
    statuses = {k: v[en] for k, v in STATUS.items() if k not in CLOSED}
    marks = {
        str(a["code"]): {"name": _name(a, lang), "mark": _mark(a, lang)}
        for a in agencies
        if a.get("code")
    }
    town_rows = sorted(
        (str(p.get("code")), str(p.get("name") or p.get("code")))
        for p in ((f.get("properties") or {}) for f in towns.get("features") or ())
    )
    box = extent(towns, only=user.get("town_code"))
    center = FALLBACK_CENTER
    fit = None
    if box is not None:
        center = ((box[0] + box[2]) / 2, (box[1] + box[3]) / 2, 13)
        west, south = basemap.from_wgs84(box[0], box[1])
        east, north = basemap.from_wgs84(box[2], box[3])
        fit = [[south, west], [north, east]]
    body = _body(
        w,
        lang,
        user=user,
        agencies=marks,
        statuses=statuses,
        towns=town_rows,
        type_options=_type_options(types, {k: v["name"] for k, v in marks.items()}, lang),
    )
    page = map_page(
        basemap=basemap,
        lang=lang,
        title=w["title"],
        boundaries={},
        body=body,
        config={
            "page": "dispatch",
            "t": w | {"heat": w["heat"].replace("{n}", str(HEAT_DAYS))} | report_in_texts(lang),
            "reportInLate": "/api/v1/report-ins/late",  # 吹哨报到: late units' badges
            "jointOverdue": "/api/v1/joint-tasks/overdue",  # and units past completion
            "feed": FEED,
            "stream": STREAM,
            "heatUrl": HEAT_PATH,
            "pollMs": POLL_MS,
            "caseUrl": "/api/v1/cases/",
            "casePage": CASE_PAGE,
            "listUrl": LIST,
            "newMax": NEW_MAX,
            "parkedUrl": "/api/v1/hotline/orders/parked",
            "placeUrl": "/api/v1/hotline/orders/",
            "loginUrl": f"/login?next={PATH}",
            "overlays": overlays(
                layers,
                {k: v["name"] for k, v in marks.items()},
                lang,
                tiles if not basemap.shifts else None,
            ),
            "communityNames": dict(communities or {}),
            "agencies": marks,
            "types": {str(t["code"]): _name(t, lang) for t in types},
            "statuses": statuses,
            "towns": dict(town_rows),
            "extent": fit,
        },
        scripts=["common", "dispatch", "hotline", "report_in_map"],
        center=center,
        tiles=tiles,
        tile_layers=(),
    )
    # the feed is asked for while the libraries load, not once the scripts have run
    preload = f'<link rel="preload" href="{FEED}" as="fetch" crossorigin="anonymous">\n'
    return page.replace("</head>", preload + _vendor_links() + "</head>", 1)


def _vendor_links() -> str:
    """Markercluster's stylesheets (the cluster icons' look) and Leaflet.heat by the URLs
    Folium's plugins use (``localize`` maps them to the vendored files), then our stylesheet
    after ``pages.css``. The clustering itself is ``dispatch.js``'s grid."""
    css = [url for _, url in MarkerCluster.default_css]
    js = [url for _, url in HeatMap.default_js]
    return (
        "".join(f'<link rel="stylesheet" href="{esc(u)}">\n' for u in css)
        + f'<link rel="stylesheet" href="{STATIC}/dispatch.css?v={ASSET_VERSION}">\n'
        + "".join(f'<script src="{esc(u)}"></script>\n' for u in js)
    )


def render_dispatch_forbidden(*, user: Mapping[str, Any], lang: str = "zh") -> str:
    """The answer to a logged-in user whose role may not open the dispatch map (403)."""
    w = pick(TEXTS, lang) | common_texts(lang)
    role = role_name(user.get("role"), lang)
    hint = w["forbidden_hint"].replace("{user}", str(user.get("username") or ""))
    body = f"""{nav_bar(user, None, lang)}<main class="workbench" id="main">
<header class="sheet-head"><h1>{esc(w["heading"])}</h1>{lang_switch(PATH, lang)}</header>
<section class="card error" role="alert"><p class="error-title">{esc(w["forbidden"])}</p>
<p class="hint">{esc(hint.replace("{role}", role))}</p></section>
<p><a class="btn primary" href="{esc(home_of(str(user.get("role"))))}">{esc(w["home"])}</a>
<a class="btn secondary" href="/login?next={esc(PATH)}">{esc(w["other_user"])}</a></p>
</main>"""
    return plain_page(lang=lang, title=w["forbidden"], body=body)
