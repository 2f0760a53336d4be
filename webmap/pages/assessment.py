"""The assessment dashboard (``/assessment``) and the map of each unit's cases
(``/assessment/map``), for town coordinators and administrators (``assessment/router.py``
checks). Renders what it is handed: the assessment document's HTML (rankings and charts, made by
:mod:`documents.html`) and the cases' rounded positions."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import folium
from branca.element import Element

from webmap.basemaps import Basemap, new_map, render_page
from webmap.pages.common import FALLBACK_CENTER, esc, plain_page
from webmap.pages.nav import home_of, nav_bar, role_name

PATH = "/assessment"
MAP_PATH = "/assessment/map"

#: How a case stands at the period's end: (label, colour).
STATES: dict[str, tuple[str, str]] = {
    "on_time": ("按期办结", "#2e8b57"),
    "late": ("超期办结", "#d98c1f"),
    "overdue": ("超期未办结", "#c0392b"),
    "resolved": ("已办结（无期限）", "#5b8fc7"),
    "open": ("在办", "#7f8c8d"),
    "rejected": ("不予受理", "#b0b0b0"),
}

STYLE = """
.plain main.dash { max-width: 1400px; margin: 0 auto; padding: 1em; }
.dash .who { display: flex; gap: 1em; align-items: center; }
.dash table { border-collapse: collapse; width: 100%; font-size: 13px; margin: .5em 0 1.5em;
  display: block; overflow-x: auto; max-width: 100%; }
.dash { overflow-wrap: anywhere; }
.dash figure { margin: 1em 0; max-width: 100%; overflow-x: auto; }
.dash input[type=date] { max-width: 100%; }
@media (max-width: 600px) {
  .plain main.dash { padding: .5em; } .dash iframe.casemap { height: 360px; }
}
.dash th, .dash td { border: 1px solid #c5ccd3; padding: 3px 5px; vertical-align: top; }
.dash th { background: #e8eef5; text-align: left; } .dash td.num { text-align: right; }
.dash caption { text-align: left; font-weight: bold; padding: .3em 0; }
.dash figure svg { max-width: 100%; height: auto; }
.dash form.period { display: flex; gap: .6em; align-items: end; flex-wrap: wrap; }
.dash .downloads a { margin-right: 1em; }
.dash iframe.casemap { width: 100%; height: 520px; border: 1px solid #c5ccd3; }
"""


def render_dashboard(
    *,
    content: str,
    first: str,
    last: str,
    user: Mapping[str, Any],
    downloads: Mapping[str, str],
    map_url: str,
) -> str:
    """The dashboard: a period form, the downloads, the document's HTML, the case map."""
    links = "".join(f'<a href="{esc(url)}">{esc(label)}</a>' for label, url in downloads.items())
    body = f"""{nav_bar(user, "assessment", "zh")}<main class="dash" id="main">
<style>{STYLE}</style>
<form class="period" method="get" action="{PATH}">
 <label>起始日期 <input type="date" name="from" value="{esc(first)}" required></label>
 <label>截止日期 <input type="date" name="to" value="{esc(last)}" required></label>
 <button type="submit" class="btn">查询</button>
</form>
<p class="downloads">导出：{links}</p>
{content}
<h2>各单位案件分布</h2>
<p class="hint">在图层控制中选择单位；位置精确到约百米。</p>
<iframe class="casemap" title="各单位案件分布" src="{esc(map_url)}" loading="lazy"></iframe>
</main>"""
    return plain_page(lang="zh", title="联动工作考核", body=body)


def render_forbidden(*, user: Mapping[str, Any]) -> str:
    """The answer to a logged-in user whose role may not see the assessment (403)."""
    role = role_name(user.get("role"))
    body = f"""{nav_bar(user, None, "zh")}<main class="dash" id="main"><h1>无权查看考核</h1>
<p>考核仅供镇/街道协调员和管理员查看。当前账号：<span translate="no">{esc(user.get("username"))}
</span>（{esc(role)}）。</p>
<p><a class="btn primary" href="{esc(home_of(str(user.get("role"))))}">回到我的首页</a>
<a class="btn secondary" href="/login?next={PATH}">使用其他账号登录</a></p></main>"""
    return plain_page(lang="zh", title="无权查看考核", body=body)


def _feature(p: Mapping[str, Any]) -> dict[str, Any]:
    label, colour = STATES.get(str(p["state"]), (str(p["state"]), "#7f8c8d"))
    return {
        "type": "Feature",
        "geometry": {"type": "Point", "coordinates": [p["lon"], p["lat"]]},
        "properties": {"id": p["id"], "state": label, "colour": colour},
    }


def _code(p: Mapping[str, Any], kind: str) -> str | None:
    if kind == "agency_unit":
        return f"{p['agency']}/{p['agency_unit']}" if p.get("agency_unit") else None
    return p.get(kind)


def _groups(
    points: Sequence[Mapping[str, Any]], names: Mapping[tuple[str, str], str]
) -> dict[str, list[Mapping[str, Any]]]:
    """Layer name → its cases: one layer per town, then per agency, then per field unit of an
    agency (those named in ``names``), each kind in order of name."""
    groups: dict[str, list[Mapping[str, Any]]] = {}
    for kind in ("town", "agency", "agency_unit"):
        of_kind: dict[str, list[Mapping[str, Any]]] = {}
        for p in points:
            code = _code(p, kind)
            if code and (kind != "agency_unit" or (kind, code) in names):
                of_kind.setdefault(names.get((kind, code), code), []).append(p)
        groups |= dict(sorted(of_kind.items()))
    return groups


def _legend() -> Element:
    items = "".join(
        f'<div><span style="display:inline-block;width:10px;height:10px;border-radius:50%;'
        f'background:{colour};margin-right:4px"></span>{esc(label)}</div>'
        for label, colour in STATES.values()
    )
    return Element(
        '<div style="position:fixed;bottom:18px;left:10px;z-index:1000;background:#fff;'
        f'padding:6px 8px;border:1px solid #999;font-size:12px">{items}</div>'
    )


def render_case_map(
    *,
    points: Sequence[Mapping[str, Any]],
    names: Mapping[tuple[str, str], str],
    towns: Mapping[str, Any],
    basemap: Basemap,
) -> str:
    """A map of the period's cases, one switchable layer per unit (the first shown), each case
    coloured by how it stands. ``points`` are WGS-84 and already rounded; ``names`` maps
    ``(kind, code)`` (agency units as ``agency/code``) to a display name."""
    if points:
        lon = sum(p["lon"] for p in points) / len(points)
        lat = sum(p["lat"] for p in points) / len(points)
        zoom = 13
    else:
        lon, lat, zoom = FALLBACK_CENTER
    m = new_map(basemap, lon=lon, lat=lat, zoom=zoom, control_scale=True)
    if towns.get("features"):
        folium.GeoJson(
            basemap.shift_geojson(dict(towns)),
            name="镇/街道边界",
            style_function=lambda _f: {"color": "#3d5a80", "weight": 2, "fill": False},
            interactive=False,
            control=False,
        ).add_to(m)
    for i, (name, cases) in enumerate(_groups(points, names).items()):
        fc = {"type": "FeatureCollection", "features": [_feature(p) for p in cases]}
        group = folium.FeatureGroup(name=f"{name}（{len(cases)}）", show=i == 0)
        folium.GeoJson(
            basemap.shift_geojson(fc),
            marker=folium.CircleMarker(radius=5, weight=1, fill=True, fill_opacity=0.8),
            style_function=lambda f: {
                "color": f["properties"]["colour"],
                "fillColor": f["properties"]["colour"],
            },
            popup=folium.GeoJsonPopup(fields=["id", "state"], aliases=["案件", "状态"]),
        ).add_to(group)
        group.add_to(m)
    folium.LayerControl(collapsed=False).add_to(m)
    m.get_root().html.add_child(_legend())  # type: ignore[attr-defined]
    return render_page(m, basemap)
