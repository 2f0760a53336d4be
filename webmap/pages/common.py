"""What the public pages share: languages, escaping, the page shell and the map page.

Pages are Chinese by default (``<html lang="zh-CN">``); ``lang="en"`` gives English. Every
value taken from data goes through :func:`esc` (HTML) or :func:`json_script` (script data, read
by the page's JavaScript with ``JSON.parse`` and put into the page with ``textContent``).

The map pages are Folium maps on a :class:`webmap.basemaps.Basemap`, with the town and
community boundaries (WGS-84 GeoJSON handed in by the caller) drawn as light lines — shifted
into GCJ-02 first when the basemap is in GCJ-02 — and the page's own markup, stylesheet and
scripts (``/static/pages/...``) added. The HTML returned still names Folium's CDN URLs: the
caller passes it through :func:`webmap.assets.localize`.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Mapping, Sequence
from datetime import timedelta, timezone
from typing import Any

import folium
from branca.element import Element, Figure

from shudi.clock import beijing_text
from webmap.basemaps import Basemap, new_map

STATIC = "/static/pages"
ASSET_VERSION = "15"  # bump when the files under webmap/pages/static change (browser caches)
LANGS = {"zh": "zh-CN", "en": "en"}
CHINA_TZ = timezone(timedelta(hours=8), "CST")  # no daylight saving time in China
FALLBACK_CENTER = (104.0, 35.0, 4)  # lon, lat, zoom: all of China when there are no boundaries

# Boundary styles: towns darker, communities light and dashed; never filled, never clickable
# (a tap goes through to the map).
BOUNDARY_STYLES: dict[str, dict[str, Any]] = {
    "town": {"color": "#3d5a80", "weight": 2.5, "opacity": 0.8, "fill": False},
    "community": {
        "color": "#7d8fa3",
        "weight": 1,
        "opacity": 0.7,
        "dashArray": "4 4",
        "fill": False,
    },
}

#: Boundary layers a map page draws from vector tiles when it is given their URLs (towns stay
#: GeoJSON in the page: a few kB, and their outline gives the first view).
TILED_LAYERS = ("community",)
#: Leaflet.VectorGrid as vendored (webmap/assets.json): draws ``/tiles/...mvt``.
VECTORGRID_JS = "/static/vendor/leaflet.vectorgrid@1.3.0/dist/Leaflet.VectorGrid.bundled.min.js"

CRS_LABELS = {"wgs84": "WGS-84", "gcj02": "GCJ-02", "bd09": "BD-09", "cgcs2000": "CGCS2000"}

# Words every page uses: key → (Chinese, English).
COMMON: dict[str, tuple[str, str]] = {
    "site": ("属地 · 物业管理执法联动", "Shudi · property-management enforcement linkage"),
    "switch_lang": ("English", "中文"),
    "coords": ("坐标", "Coordinates"),
    "town": ("镇/街道", "Town/street"),
    "community": ("社区", "Community"),
    "estate": ("小区", "Estate"),
    "company": ("物业", "Property company"),
    "no_company": (
        "无物业，由镇/街道实施简易物业管理",
        "No property company: the town runs simple property management",
    ),
    "no_estate": (
        "不在物业管理区域内（道路、公共区域等）",
        "Not inside an estate (a road or public space)",
    ),
    "outside": ("该位置不在本区服务范围内", "This place is outside the district's service area"),
    "nearest": ("最近的镇/街道：", "Nearest town/street: "),
    "km": ("公里", "km"),
    "loading": ("正在查询…", "Looking up…"),
    "network_error": ("网络错误，请稍后重试", "Network error, please try again"),
    "close": ("收起", "Hide"),
    "crosshair": ("在十字处放置定位点", "Drop the pin at the cross"),
    "pin": ("所选位置", "The chosen place"),
    "open": ("展开", "Show"),
}


def lang_of(value: str | None) -> str:
    """``en`` or ``zh`` (the default) from a ``?lang=`` value."""
    return "en" if (value or "").strip().lower().startswith("en") else "zh"


def pick(texts: Mapping[str, tuple[str, str]], lang: str) -> dict[str, str]:
    """The texts in one language."""
    i = 1 if lang == "en" else 0
    return {k: v[i] for k, v in texts.items()}


def label_in(table: Mapping[str, tuple[str, str]], key: object, lang: str) -> str:
    """``key``'s name in ``table`` (Chinese, English) in the page language; unknown keys as
    they are."""
    pair = table.get(str(key))
    return pair[1 if lang == "en" else 0] if pair else str(key or "")


def esc(value: object) -> str:
    """HTML-escape any value (``None`` → empty)."""
    return html.escape("" if value is None else str(value), quote=True)


def json_for_script(data: object) -> str:
    """JSON safe inside ``<script>``: ``<``, ``>`` and ``&`` are written as ``\\u00XX``."""
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"), default=str)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def json_script(element_id: str, data: object) -> str:
    """A ``<script type="application/json">`` block the page's scripts read."""
    return (
        f'<script type="application/json" id="{esc(element_id)}">{json_for_script(data)}</script>'
    )


def with_lang(path: str, lang: str) -> str:
    """A local link that keeps the page language."""
    if lang != "en":
        return path
    return f"{path}{'&' if '?' in path else '?'}lang=en"


def lang_switch(path: str, lang: str) -> str:
    """The link to the same page in the other language."""
    other = path if lang == "en" else with_lang(path, "en")
    label = COMMON["switch_lang"][1 if lang == "en" else 0]
    hreflang = "zh-CN" if lang == "en" else "en"
    # the label is in the other language, and marked so (screen readers, text checks)
    return (
        f'<a class="lang" href="{esc(other)}" hreflang="{hreflang}" lang="{hreflang}">'
        f"{esc(label)}</a>"
    )


def large_text_toggle(lang: str) -> str:
    """The 适老化 large-text switch (common.js remembers the choice on this device)."""
    label = ("Large text", "大字")[0 if lang == "en" else 1]
    return (
        f'<button type="button" class="btn link large-toggle" data-large-toggle '
        f'aria-pressed="false">{esc(label)}</button>'
    )


def fmt_time(value: object) -> str:
    """A timestamp as Beijing time ``YYYY-MM-DD HH:MM`` (empty for ``None``): the one rule
    of :func:`shudi.clock.beijing_text`."""
    return beijing_text(value)


def _head_links(lang: str, title: str) -> str:
    return (
        f"<title>{esc(title)}</title>\n"
        '<meta name="theme-color" content="#3d5a80">\n'
        '<meta name="format-detection" content="telephone=no">\n'
        '<link rel="icon" href="data:,">\n'
        f'<link rel="stylesheet" href="{STATIC}/pages.css?v={ASSET_VERSION}">\n'
    )


def script_tags(names: Sequence[str]) -> str:
    """Deferred page scripts: they run in order once the document (and Folium's map) is parsed."""
    return "".join(
        f'<script defer src="{STATIC}/{esc(n)}.js?v={ASSET_VERSION}"></script>\n' for n in names
    )


def tile_scripts(scripts: Sequence[str], tiles: bool) -> str:
    """The page's scripts; with ``tiles``, VectorGrid first and ``vtiles.js`` after
    ``common.js`` (which makes ``window.Shudi``)."""
    names = list(scripts)
    if not tiles:
        return script_tags(names)
    at = names.index("common") + 1 if "common" in names else 0
    names.insert(at, "vtiles")
    return f'<script defer src="{VECTORGRID_JS}"></script>\n' + script_tags(names)


def set_html_lang(page: str, lang: str) -> str:
    """Put ``lang`` on the document's ``<html>`` tag."""
    return re.sub(r"<html(?=[\s>])", f'<html lang="{LANGS[lang]}"', page, count=1)


#: Leaflet as vendored (webmap/assets.json), for pages that are not Folium maps.
LEAFLET_CSS = "/static/vendor/leaflet@1.9.3/dist/leaflet.css"
LEAFLET_JS = "/static/vendor/leaflet@1.9.3/dist/leaflet.js"


def plain_page(
    *,
    lang: str,
    title: str,
    body: str,
    scripts: Sequence[str] = (),
    styles: Sequence[str] = (),
    vendor_scripts: Sequence[str] = (),
) -> str:
    """A page without a full-screen map (e.g. tracking); ``styles`` and ``vendor_scripts`` are
    local URLs loaded before the page's own."""
    extra = "".join(f'<link rel="stylesheet" href="{esc(u)}">\n' for u in styles) + "".join(
        f'<script defer src="{esc(u)}"></script>\n' for u in vendor_scripts
    )
    return (
        "<!DOCTYPE html>\n"
        f'<html lang="{LANGS[lang]}">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"{extra}{_head_links(lang, title)}{script_tags(scripts)}</head>\n"
        f'<body class="plain">\n{body}\n</body>\n</html>\n'
    )


# --- map pages ---------------------------------------------------------------------------------


def _bounds(collections: Sequence[Mapping[str, Any]]) -> tuple[float, float, float, float] | None:
    xs: list[float] = []
    ys: list[float] = []

    def walk(coords: Any) -> None:
        if isinstance(coords, list) and coords and isinstance(coords[0], int | float):
            xs.append(float(coords[0]))
            ys.append(float(coords[1]))
        elif isinstance(coords, list):
            for c in coords:
                walk(c)

    for fc in collections:
        for f in fc.get("features") or ():
            walk((f.get("geometry") or {}).get("coordinates"))
    if not xs:
        return None
    return min(xs), min(ys), max(xs), max(ys)


def _slim(fc: Mapping[str, Any]) -> dict[str, Any]:
    """Only what the map draws: the geometry, with the code and name of each area."""
    features = [
        {
            "type": "Feature",
            "properties": {k: v for k, v in (f.get("properties") or {}).items() if k in _KEEP},
            "geometry": f.get("geometry"),
        }
        for f in fc.get("features") or ()
    ]
    return {"type": "FeatureCollection", "features": features}


_KEEP = ("code", "name")


def map_page(
    *,
    basemap: Basemap,
    lang: str,
    title: str,
    boundaries: Mapping[str, Mapping[str, Any]],
    body: str,
    config: Mapping[str, Any],
    scripts: Sequence[str],
    center: tuple[float, float, int] | None = None,
    tiles: Mapping[str, str] | None = None,
    tile_layers: Sequence[str] = TILED_LAYERS,
) -> str:
    """A full-screen Folium map with the boundaries, ``body`` markup and the page's scripts.

    ``boundaries`` maps a layer (``town``, ``community``) to its WGS-84 FeatureCollection;
    ``tiles`` maps a layer key to its vector tiles' URL template (``boundary_tiles.tile_urls``):
    the ``tile_layers`` found there are drawn from tiles by ``vtiles.js`` instead of GeoJSON
    in the page (``boundaries`` need not hold them), and ``orient.js`` draws the estates'
    outlines from them;
    ``center`` is a WGS-84 (lon, lat, zoom) to open at (the boundaries' extent otherwise).
    ``config`` reaches the scripts as ``Shudi.cfg`` together with the map's variable name and
    the coordinate system of positions on the map (``crs``: what a tap gives).
    """
    shown = {
        layer: basemap.shift_geojson(_slim(fc))
        for layer, fc in boundaries.items()
        if fc and fc.get("features")
    }
    extent = _bounds(list(boundaries.values()))
    if center is not None:
        lon, lat, zoom = center
    elif extent is not None:
        lon, lat, zoom = (extent[0] + extent[2]) / 2, (extent[1] + extent[3]) / 2, 13
    else:
        lon, lat, zoom = FALLBACK_CENTER
    m = new_map(basemap, lon=lon, lat=lat, zoom=zoom, control_scale=True)
    tiles = dict(tiles or {}) if not basemap.shifts else {}
    tiled = [
        {"layer": layer, "url": tiles[layer], "style": BOUNDARY_STYLES[layer]}
        for layer in tile_layers
        if layer in tiles
    ]
    for layer, fc in shown.items():
        if any(t["layer"] == layer for t in tiled):
            continue
        style = BOUNDARY_STYLES.get(layer, BOUNDARY_STYLES["community"])
        folium.GeoJson(
            fc,
            name=layer,
            style_function=lambda _f, s=style: s,
            interactive=False,
            control=False,
        ).add_to(m)
    fit = None  # fitted by common.js (not Folium's fit_bounds: animated, it races the page)
    if center is None and extent is not None:
        west, south = basemap.from_wgs84(extent[0], extent[1])
        east, north = basemap.from_wgs84(extent[2], extent[3])
        fit = [[south, west], [north, east]]
    fig = m.get_root()
    assert isinstance(fig, Figure)
    cfg = {
        **config,
        "map": m.get_name(),
        "crs": basemap.coordinate_system.value,
        "crsLabel": CRS_LABELS.get(basemap.coordinate_system.value, basemap.coordinate_system),
        "lang": lang,
        "fit": fit,
    }
    if tiles:
        cfg |= {"tiles": tiles, "boundaryTiles": tiled}
    fig.html.add_child(Element(body + json_script("shudi-config", cfg)))
    page: str = fig.render()
    # the stable test hook of every map (Folium names the map's div after its variable)
    page = page.replace(f'id="{m.get_name()}"', f'id="{m.get_name()}" data-testid="map"', 1)
    # After Folium's own stylesheets (Bootstrap's reboot among them), so that ours win.
    from webmap.pages.placesearch import orientation  # (it imports this module)

    head = _head_links(lang, title) + tile_scripts(scripts, bool(tiles)) + orientation()
    page = page.replace("</head>", head + "</head>", 1)
    return set_html_lang(page, lang)


def common_texts(lang: str) -> dict[str, str]:
    """The shared words, for a page's script configuration."""
    return pick(COMMON, lang)
