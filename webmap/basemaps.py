"""Basemaps for the map pages: none (offline, the default), OpenStreetMap, Tianditu, Amap, local.

Shudi stores WGS-84. A basemap's tiles are drawn in its :attr:`Basemap.coordinate_system`:

* ``none`` — no tiles, boundaries and markers only; works with no network at all.
* ``osm`` — OpenStreetMap's standard tiles, WGS-84 / Web Mercator.
* ``tianditu`` — 天地图 ``vec_w`` (roads) with ``cva_w`` (Chinese labels) on top, Web Mercator;
  CGCS2000, which is WGS-84 to centimetres, so nothing is shifted. Needs a key (``tk``): a
  browser-side (浏览器端) key from the Tianditu console; it is visible in the page's tile URLs.
* ``amap`` — 高德 (AutoNavi) road tiles, **GCJ-02**: overlays must be shifted onto them.
* ``local`` — a tile server of your own: an XYZ URL template and the CRS its tiles are in
  (``wgs84``, ``cgcs2000`` or ``gcj02``).
* ``file:PATH`` — a tile package (MBTiles) the district supplies, served by the app itself at
  ``/tiles/basemap/{z}/{x}/{y}`` (:mod:`webmap.tiles`): no tile server, no internet. Its CRS
  is ``SHUDI_BASEMAP_CRS`` (``wgs84`` by default; ``gcj02`` for a package cut from Amap tiles).

On a GCJ-02 basemap everything drawn from Shudi's data goes through :meth:`Basemap.from_wgs84`,
:meth:`Basemap.shift_geojson` or :meth:`Basemap.shift_geometry` (``gis.coords.from_wgs84(...,
"gcj02")``), and a position the user clicks is in GCJ-02: turn it back with
:meth:`Basemap.to_wgs84`, or send it with ``crs=basemap.coordinate_system`` to an endpoint that
converts. :func:`new_map` shifts the map's centre itself.

Settings (read by the caller, passed to :func:`basemap_from_settings`); suggested names:

* ``SHUDI_BASEMAP`` — ``none`` (default) | ``osm`` | ``tianditu`` | ``amap`` | ``local`` |
  ``file:/path/to/basemap.mbtiles``
* ``SHUDI_BASEMAP_URL`` — the tile URL template for ``local``, e.g.
  ``http://127.0.0.1:8080/tiles/{z}/{x}/{y}.png`` or a same-origin ``/tiles/{z}/{x}/{y}.png``
* ``SHUDI_BASEMAP_CRS`` — the CRS of the ``local`` or ``file:`` tiles: ``wgs84`` (default) |
  ``gcj02``
* ``SHUDI_TIANDITU_KEY`` — the Tianditu key (``tk``)

Folium note: ``folium.Map(tiles=None)`` leaves ``maxZoom`` out of the map's options, and a map
without it makes Leaflet.markercluster draw nothing; :func:`new_map` and :func:`add_to` set it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import folium
import numpy as np
import numpy.typing as npt
import shapely

from gis.coords import CoordSystem, from_wgs84, to_wgs84
from webmap.assets import localize
from webmap.tiles import URL as PACKAGE_URL
from webmap.tiles import TilePackageError, open_package

KINDS = ("none", "osm", "tianditu", "amap", "local")
_ALIASES = {"": "none", "off": "none", "openstreetmap": "osm", "gaode": "amap", "autonavi": "amap"}
# Tile CRSs a basemap may declare: the GCJ-02 offset is the only one that changes positions.
_TILE_SYSTEMS = (CoordSystem.WGS84, CoordSystem.CGCS2000, CoordSystem.GCJ02)

OSM_URL = "https://tile.openstreetmap.org/{z}/{x}/{y}.png"
OSM_ATTRIBUTION = (
    '&copy; <a href="https://www.openstreetmap.org/copyright">OpenStreetMap</a> contributors'
)
TIANDITU_URL = (
    "https://t{s}.tianditu.gov.cn/{layer}_w/wmts?SERVICE=WMTS&REQUEST=GetTile&VERSION=1.0.0"
    "&LAYER={layer}&STYLE=default&TILEMATRIXSET=w&FORMAT=tiles"
    "&TILEMATRIX={z}&TILEROW={y}&TILECOL={x}&tk={key}"
)
TIANDITU_ATTRIBUTION = '&copy; <a href="https://www.tianditu.gov.cn/">天地图</a>'
AMAP_URL = (
    "https://webrd0{s}.is.autonavi.com/appmaptile"
    "?lang=zh_cn&size=1&scale=1&style=8&x={x}&y={y}&z={z}"
)
AMAP_ATTRIBUTION = '&copy; <a href="https://www.amap.com/">高德地图</a>'


@dataclass(frozen=True)
class TileSpec:
    """One Leaflet tile layer of a basemap."""

    url: str
    attribution: str
    name: str
    subdomains: str = "abc"
    max_native_zoom: int = 18
    overlay: bool = False  # drawn over the base tiles (e.g. Tianditu's labels)


@dataclass(frozen=True)
class Basemap:
    kind: str
    coordinate_system: CoordSystem = CoordSystem.WGS84
    layers: tuple[TileSpec, ...] = field(default=())
    min_zoom: int = 0
    max_zoom: int = 19

    @property
    def tile_urls(self) -> tuple[str, ...]:
        """The URL templates a page of this basemap may load (``localize(allow=...)``)."""
        return tuple(layer.url for layer in self.layers)

    @property
    def shifts(self) -> bool:
        """Whether WGS-84 data must be converted to be drawn on these tiles."""
        return self.coordinate_system is CoordSystem.GCJ02

    def from_wgs84(self, lon: float, lat: float) -> tuple[float, float]:
        """A WGS-84 position as drawn on this basemap (lon, lat)."""
        if not self.shifts:
            return lon, lat
        return from_wgs84(lon, lat, self.coordinate_system)

    def to_wgs84(self, lon: float, lat: float) -> tuple[float, float]:
        """A position on this basemap (e.g. a click) back in WGS-84 (lon, lat)."""
        if not self.shifts:
            return lon, lat
        return to_wgs84(lon, lat, self.coordinate_system)

    def _shift_xy(self, xy: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        if not self.shifts or len(xy) == 0:
            return xy
        x, y = from_wgs84(xy[:, 0], xy[:, 1], self.coordinate_system)
        out: npt.NDArray[np.float64] = np.column_stack([x, y])
        return out

    def shift_geometry(self, geom: Any) -> Any:
        """Shapely geometry (or array of them) in WGS-84 → as drawn on this basemap."""
        if not self.shifts:
            return geom
        return shapely.transform(geom, self._shift_xy)

    def shift_geojson(self, obj: Mapping[str, Any]) -> dict[str, Any]:
        """A GeoJSON object (FeatureCollection, Feature or geometry) in WGS-84 → a shifted copy.

        Properties are kept; all positions are converted in one vectorised call.
        """
        data: dict[str, Any] = _copy_json(obj)
        if not self.shifts:
            return data
        positions: list[list[float]] = []
        _collect_positions(data, positions)
        if positions:
            xy = np.array([p[:2] for p in positions], dtype=np.float64)
            shifted = self._shift_xy(xy)
            for p, (x, y) in zip(positions, shifted.tolist(), strict=True):
                p[0], p[1] = x, y
        return data


def _copy_json(obj: Any) -> Any:
    if isinstance(obj, Mapping):
        return {k: _copy_json(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_copy_json(v) for v in obj]
    return obj


def _collect_positions(obj: Any, out: list[list[float]]) -> None:
    """Every position list of a (copied) GeoJSON object, in place."""
    if isinstance(obj, dict):
        kind = obj.get("type")
        if kind == "FeatureCollection":
            for feature in obj.get("features") or ():
                _collect_positions(feature, out)
        elif kind == "Feature":
            if obj.get("geometry") is not None:
                _collect_positions(obj["geometry"], out)
        elif kind == "GeometryCollection":
            for g in obj.get("geometries") or ():
                _collect_positions(g, out)
        elif "coordinates" in obj:
            _collect_coords(obj["coordinates"], out)


def _collect_coords(coords: Any, out: list[list[float]]) -> None:
    if not isinstance(coords, list) or not coords:
        return
    if isinstance(coords[0], int | float):
        out.append(coords)
        return
    for c in coords:
        _collect_coords(c, out)


NONE = Basemap(kind="none", max_zoom=19)
OSM = Basemap(
    kind="osm",
    layers=(TileSpec(OSM_URL, OSM_ATTRIBUTION, "OpenStreetMap", "abc", max_native_zoom=19),),
    max_zoom=19,
)
AMAP = Basemap(
    kind="amap",
    coordinate_system=CoordSystem.GCJ02,
    layers=(TileSpec(AMAP_URL, AMAP_ATTRIBUTION, "高德地图", "1234", max_native_zoom=18),),
    max_zoom=18,
)


def tianditu(key: str) -> Basemap:
    """Tianditu roads (``vec_w``) with labels (``cva_w``); ``key`` is the ``tk`` parameter."""
    key = (key or "").strip()
    if not key:
        raise ValueError("the tianditu basemap needs a key (SHUDI_TIANDITU_KEY)")
    tk = quote(key, safe="")
    layers = tuple(
        TileSpec(
            TIANDITU_URL.replace("{layer}", layer).replace("{key}", tk),
            TIANDITU_ATTRIBUTION,
            name,
            "01234567",
            max_native_zoom=18,
            overlay=overlay,
        )
        for layer, name, overlay in (("vec", "天地图", False), ("cva", "天地图注记", True))
    )
    return Basemap(
        kind="tianditu", coordinate_system=CoordSystem.CGCS2000, layers=layers, max_zoom=18
    )


def local(url: str, crs: str = "wgs84", attribution: str | None = None) -> Basemap:
    """A local tile server: an XYZ template (absolute http(s) or same-origin ``/path``)."""
    url = (url or "").strip()
    if not url:
        raise ValueError("the local basemap needs a tile URL template (SHUDI_BASEMAP_URL)")
    if not url.startswith(("http://", "https://", "/")):
        raise ValueError(f"tile URL must be http(s):// or start with '/': {url!r}")
    if not all(p in url for p in ("{z}", "{x}")) or not ("{y}" in url or "{-y}" in url):
        raise ValueError(f"tile URL template needs {{z}}, {{x}} and {{y}}: {url!r}")
    try:
        system = CoordSystem((crs or "wgs84").strip().lower())
    except ValueError:
        system = None
    if system not in _TILE_SYSTEMS:
        raise ValueError(f"local tiles' CRS must be wgs84, cgcs2000 or gcj02, not {crs!r}")
    layer = TileSpec(url, attribution or "Local tiles", "local", max_native_zoom=18)
    return Basemap(kind="local", coordinate_system=system, layers=(layer,), max_zoom=18)


def _tile_system(crs: str | None) -> CoordSystem:
    try:
        system = CoordSystem((crs or "wgs84").strip().lower())
    except ValueError:
        system = None
    if system not in _TILE_SYSTEMS:
        raise ValueError(f"the tiles' CRS must be wgs84, cgcs2000 or gcj02, not {crs!r}")
    return system


def package(path: str, crs: str | None = "wgs84") -> Basemap:
    """A tile package (MBTiles) served by the app at ``/tiles/basemap/{z}/{x}/{y}``; tiles
    are drawn past the package's deepest zoom by scaling its deepest tiles."""
    path = (path or "").strip()
    if not path:
        raise ValueError("the file basemap needs a path: SHUDI_BASEMAP=file:/path/basemap.mbtiles")
    try:
        tiles = open_package(path)
    except TilePackageError as exc:
        raise ValueError(str(exc)) from exc
    layer = TileSpec(PACKAGE_URL, tiles.attribution, tiles.name, "", max_native_zoom=tiles.max_zoom)
    return Basemap(
        kind="file",
        coordinate_system=_tile_system(crs),
        layers=(layer,),
        min_zoom=0,
        max_zoom=19,
    )


def basemap_from_settings(
    kind: str | None,
    url: str | None,
    key: str | None,
    crs: str | None = None,
    attribution: str | None = None,
) -> Basemap:
    """The basemap the settings describe (see the module docstring for the variable names).

    ``url`` and ``crs`` belong to ``local``, ``key`` to ``tianditu``. The other kinds have a
    fixed CRS, so ``crs`` (which a settings object may always pass, e.g. its default
    ``"wgs84"``) is ignored for them; a ``url`` with another kind raises ``ValueError``, as it
    means the configuration is not what its author thinks.
    """
    name = (kind or "").strip()
    if name.lower().startswith("file:"):
        if url:
            raise ValueError("a tile URL (SHUDI_BASEMAP_URL) is not used by a file: basemap")
        return package(name[len("file:") :], crs)
    name = _ALIASES.get(name.lower(), name.lower())
    if name not in KINDS:
        raise ValueError(f"unknown basemap {kind!r}; choose one of {', '.join(KINDS)} or file:PATH")
    if name == "local":
        return local(url or "", crs or "wgs84", attribution)
    if url:
        raise ValueError(
            f"a tile URL (SHUDI_BASEMAP_URL) is only used by the local basemap, not {name}"
        )
    if name == "tianditu":
        return tianditu(key or "")
    return {"none": NONE, "osm": OSM, "amap": AMAP}[name]


def add_to(m: folium.Map, basemap: Basemap) -> folium.Map:
    """Add the basemap's tile layers to a map made with ``tiles=None``; set its zoom range."""
    m.options.setdefault("max_zoom", basemap.max_zoom)
    m.options.setdefault("min_zoom", basemap.min_zoom)
    for layer in basemap.layers:
        folium.TileLayer(
            tiles=layer.url,
            attr=layer.attribution,
            name=layer.name,
            subdomains=layer.subdomains,
            min_zoom=basemap.min_zoom,
            max_zoom=basemap.max_zoom,
            max_native_zoom=min(layer.max_native_zoom, basemap.max_zoom),
            overlay=layer.overlay,
            control=False,
        ).add_to(m)
    return m


def new_map(
    basemap: Basemap, *, lon: float, lat: float, zoom: int = 13, **kwargs: Any
) -> folium.Map:
    """A Folium map centred on WGS-84 ``lon``/``lat`` with the basemap; zoom range always set.

    ``kwargs`` go to :class:`folium.Map` (never ``tiles``: the basemap decides).
    """
    if "tiles" in kwargs:
        raise TypeError("new_map() takes the tiles from the basemap, not a tiles= argument")
    x, y = basemap.from_wgs84(lon, lat)
    m = folium.Map(
        location=[y, x],
        zoom_start=zoom,
        tiles=None,
        min_zoom=basemap.min_zoom,
        max_zoom=basemap.max_zoom,
        **kwargs,
    )
    m.options["max_zoom"] = basemap.max_zoom
    m.options["min_zoom"] = basemap.min_zoom
    return add_to(m, basemap)


def render_page(m: folium.Map, basemap: Basemap) -> str:
    """The map's HTML with every library served locally; raises if anything else is remote."""
    html: str = m.get_root().render()
    return localize(html, allow=basemap.tile_urls)
