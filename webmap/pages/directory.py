"""The public responsibility directory (``/directory``): tap anywhere → every party responsible
there (12), what it acts through, its duties, what it handles and whom to call.

``/directory/{estate}`` is the same page with one estate's directory rendered on the server;
``static/directory.js`` renders the same markup for a tapped place.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from webmap.basemaps import Basemap
from webmap.pages.common import (
    common_texts,
    esc,
    lang_switch,
    large_text_toggle,
    map_page,
    pick,
    with_lang,
)
from webmap.pages.messages import error_texts
from webmap.pages.placesearch import place_search

TEXTS: dict[str, tuple[str, str]] = {
    "title": ("谁负责这里 · 物业管理责任清单", "Who is responsible here · property management"),
    "heading": ("谁负责这里", "Who is responsible here"),
    "tap_hint": (
        "点击地图任意位置，查看该处各责任单位、职责和联系方式。",
        "Tap anywhere on the map: the parties responsible there, their duties and contacts.",
    ),
    "parties": ("责任单位（{n}）", "Responsible parties ({n})"),
    "acting": ("在此负责：", "Acting here: "),
    "duties": ("职责", "Duties"),
    "handles": ("在此受理的问题（{n}类）", "Matters it handles here ({n})"),
    "contact": ("联系：", "Contact: "),
    "no_contact": ("暂无公布的联系方式", "No published contact"),
    "report": ("我要上报问题", "Report a problem"),
    "estate_not_found": ("未找到该物业管理区域", "No such property management area"),
    "emergency": ("紧急和24小时电话", "Emergency and 24-hour numbers"),
    "map_label": (
        "地图。方向键移动地图，回车查看十字处的责任单位",
        "Map. Arrow keys move it; Enter shows who is responsible at the cross",
    ),
    "call_order": (
        "按先找谁排列：物业、社区、镇/街道，再到各职能部门",
        "In the order to call: the estate's company, the community, the town, then agencies",
    ),
    "utilities": ("水电气等专业单位", "Utilities serving this place"),
    "no_utilities": ("暂无公布的专业单位联系方式", "No published utility contacts"),
}

EMERGENCY: tuple[tuple[str, str, str], ...] = (
    ("110", "报警（公安）", "Police"),
    ("119", "火警、抢险救援", "Fire and rescue"),
    ("120", "急救", "Ambulance"),
    ("96333", "电梯应急救援（电梯困人）", "Lift rescue"),
    ("12345", "市民服务热线（24小时）", "Citizens' hotline (24 h)"),
)


def emergency_html(lang: str) -> str:
    """The numbers every directory page shows, before anything is tapped."""
    w = pick(TEXTS, lang)
    items = "".join(
        f'<li><a class="btn call" href="tel:{num}"><span class="call-name">'
        f'{esc(en if lang == "en" else zh)}</span><strong class="call-number"> {num}</strong>'
        "</a></li>"
        for num, zh, en in EMERGENCY
    )
    return (
        f'<section class="emergency" aria-labelledby="h-emergency" data-testid="emergency">'
        f'<h2 id="h-emergency">{esc(w["emergency"])}</h2><ul class="calls">{items}</ul></section>'
    )


def _utilities(data: Mapping[str, Any], w: Mapping[str, str], lang: str) -> str:
    rows = []
    for u in data.get("utilities") or []:
        kind = u.get("name_en") if lang == "en" else u.get("name_zh")
        phone = u.get("phone") or ""
        hours = f' <span class="hint">{esc(u["hours"])}</span>' if u.get("hours") else ""
        rows.append(
            f'<li class="utility" data-kind="{esc(u.get("kind"))}"><strong>{esc(kind)}</strong> '
            f"{esc(u.get('name'))} · "
            f'<a href="{esc(_tel(phone))}">{esc(phone)}</a>{hours}</li>'
        )
    body = (
        f'<ul class="utilities">{"".join(rows)}</ul>'
        if rows
        else (f'<p class="hint">{esc(w["no_utilities"])}</p>')
    )
    return f"<h2>{esc(w['utilities'])}</h2>{body}"


def _tel(phone: str) -> str:
    return "tel:" + re.sub(r"[^0-9+]", "", phone)


def _place(place: Mapping[str, Any], w: Mapping[str, str]) -> str:
    rows: list[tuple[str, str]] = []
    point = place.get("point") or {}
    if "lon" in point and "lat" in point:
        rows.append((w["coords"], f"WGS-84 {float(point['lon']):.6f}, {float(point['lat']):.6f}"))
    for key, label in (("town", w["town"]), ("community", w["community"])):
        if place.get(key):
            rows.append((label, place[key].get("name", "")))
    pa = place.get("property_area")
    if pa:
        rows.append((w["estate"], pa.get("name", "")))
        rows.append((w["company"], pa.get("property_company") or w["no_company"]))
    else:
        rows.append((w["estate"], w["no_estate"]))
    coords = ' class="coords"'
    cells = "".join(
        f"<dt>{esc(k)}</dt><dd{coords if k == w['coords'] else ''}>{esc(v)}</dd>" for k, v in rows
    )
    return f'<dl class="place-list">{cells}</dl>'


def _party(p: Mapping[str, Any], w: Mapping[str, str], lang: str) -> str:
    en = lang == "en"
    name = (p.get("name_en") if en else None) or p.get("name_zh") or p.get("agency")
    duties = (p.get("duties_en") if en else None) or p.get("duties_zh") or ""
    out = [f'<li class="party" data-agency="{esc(p.get("agency"))}"><h3>{esc(name)}</h3>']
    unit = p.get("acting_unit")
    if unit and unit.get("name"):
        out.append(f'<p class="unit">{esc(w["acting"])}{esc(unit["name"])}</p>')
    c = p.get("contact")
    if c:
        parts = [esc(x) for x in (c.get("office"), c.get("person")) if x]
        if c.get("phone"):
            parts.append(f'<a href="{esc(_tel(c["phone"]))}">{esc(c["phone"])}</a>')
        hours = f' <span class="hint">{esc(c["hours"])}</span>' if c.get("hours") else ""
        out.append(f'<p class="contact">{esc(w["contact"])}{" · ".join(parts)}{hours}</p>')
    else:
        out.append(f'<p class="contact hint">{esc(w["no_contact"])}</p>')
    if duties:
        out.append(f"<details><summary>{esc(w['duties'])}</summary><p>{esc(duties)}</p></details>")
    handles = p.get("handles") or []
    if handles:
        items = "".join(
            f"<li>{esc((h.get('name_en') if en else None) or h.get('name_zh'))}</li>"
            for h in handles
        )
        label = w["handles"].replace("{n}", str(len(handles)))
        out.append(f"<details><summary>{esc(label)}</summary><ul>{items}</ul></details>")
    out.append("</li>")
    return "".join(out)


def directory_html(data: Mapping[str, Any], *, lang: str = "zh") -> str:
    """The panel of one place's directory (``jurisdictions.directory`` answer)."""
    w = pick(TEXTS, lang) | common_texts(lang)
    parties = list(data.get("parties") or [])
    heading = w["parties"].replace("{n}", str(len(parties)))
    return (
        _place(data.get("place") or {}, w)
        + f"<h2>{esc(heading)}</h2>"
        + f'<p class="hint">{esc(w["call_order"])}</p>'
        + f'<ol class="parties">{"".join(_party(p, w, lang) for p in parties)}</ol>'
        + _utilities(data, w, lang)
    )


def render_directory(
    *,
    boundaries: Mapping[str, Mapping[str, Any]],
    basemap: Basemap,
    lang: str = "zh",
    data: Mapping[str, Any] | None = None,
    path: str = "/directory",
    not_found: str | None = None,
    type_code: str | None = None,
    tiles: Mapping[str, str] | None = None,
) -> str:
    """The directory map; with ``data`` (one estate's directory) its panel is filled in and the
    map opens on the estate; ``not_found`` names an estate code that does not exist."""
    w = pick(TEXTS, lang) | common_texts(lang)
    center = None
    initial = None
    point = ((data or {}).get("place") or {}).get("point")
    if point:
        center = (float(point["lon"]), float(point["lat"]), 16)
        initial = {"lon": float(point["lon"]), "lat": float(point["lat"]), "crs": "wgs84"}
    panel = directory_html(data, lang=lang) if data else ""
    if not_found is not None:
        panel = (
            f'<div class="error" role="alert"><p class="error-title">'
            f"{esc(w['estate_not_found'])}</p><p>{esc(not_found)}</p></div>"
        )
    body = f"""
<main id="sheet" class="sheet" aria-label="{esc(w["heading"])}">
 <button type="button" class="sheet-handle" id="sheet-toggle" aria-expanded="true"
   aria-controls="sheet-body"><span aria-hidden="true"></span>{esc(w["close"])}</button>
 <div id="sheet-body" class="sheet-body">
  <header class="sheet-head"><h1>{esc(w["heading"])}</h1>
   <span class="head-tools">{large_text_toggle(lang)}{lang_switch(path, lang)}</span></header>
  {place_search()}
  <p class="hint">{esc(w["tap_hint"])}</p>
  <div id="directory" aria-live="polite" data-testid="directory">{panel}</div>
  {emergency_html(lang)}
  <p><a href="{esc(with_lang("/report", lang))}">{esc(w["report"])}</a></p>
 </div>
</main>
"""
    return map_page(
        basemap=basemap,
        lang=lang,
        title=w["title"],
        boundaries=boundaries,
        body=body,
        config={
            "page": "directory",
            "t": w,
            "errors": error_texts(lang),
            "initial": initial,
            "type": type_code,
        },
        scripts=["common", "directory"],
        center=center,
        tiles=tiles,
    )
