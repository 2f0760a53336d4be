"""A hot-spot answer (GeoJSON) as a download: GeoJSON, GeoPackage or CSV (no database here).

The CSV has one row per cell: its properties and the lon/lat (EPSG:4326, x = lon) of a point
inside the cell — the cell's position, never a case's.
"""

from __future__ import annotations

import io
import tempfile
from collections.abc import Callable
from pathlib import Path

import geopandas as gpd
import orjson

from hotspots.exceptions import InvalidHotspotQuery

MEDIA_TYPES = {
    "geojson": "application/geo+json",
    "gpkg": "application/geopackage+sqlite3",
    "csv": "text/csv; charset=utf-8",
}


def _frame(body: bytes) -> gpd.GeoDataFrame:
    fc = orjson.loads(body)
    if fc.get("type") != "FeatureCollection":
        raise InvalidHotspotQuery("only cell maps can be exported; the density surface is a PNG")
    frame = gpd.GeoDataFrame.from_features(fc["features"], crs="EPSG:4326")
    if frame.empty:
        frame = gpd.GeoDataFrame({"cell": []}, geometry=[], crs="EPSG:4326")
    return frame


def _gpkg(body: bytes) -> bytes:
    frame = _frame(body)
    with tempfile.TemporaryDirectory(prefix="shudi-hotspots-") as tmp:
        path = Path(tmp) / "hotspots.gpkg"
        frame.to_file(path, driver="GPKG", layer="hotspots", engine="pyogrio")
        return path.read_bytes()


def _csv(body: bytes) -> bytes:
    frame = _frame(body)
    inside = frame.geometry.representative_point()
    table = frame.drop(columns="geometry")
    table["lon"], table["lat"] = inside.x.round(6), inside.y.round(6)
    out = io.StringIO()
    table.to_csv(out, index=False)
    return ("\ufeff" + out.getvalue()).encode()  # BOM: Excel opens Chinese names right


def _geojson(body: bytes) -> bytes:
    _frame(body)  # refuses the density answer
    return body


WRITERS: dict[str, Callable[[bytes], bytes]] = {"geojson": _geojson, "gpkg": _gpkg, "csv": _csv}


def convert(body: bytes, kind: str) -> bytes:
    """The GeoJSON answer ``body`` as a ``kind`` file (``geojson`` | ``gpkg`` | ``csv``)."""
    if kind not in WRITERS:
        raise InvalidHotspotQuery(f"export as geojson, gpkg or csv, not {kind!r}")
    return WRITERS[kind](body)
