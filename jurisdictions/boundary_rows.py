"""Rows of the ``boundary`` table from an imported layer's GeoDataFrame (no database).

The canonical attributes (``name_en``, ``kind``, ``property_company``, ``owners_committee``,
``households``) are taken from the columns ``--field`` names, else from the usual column
names; every other column is kept in ``attrs``. Text loses NUL characters, which PostgreSQL
cannot store.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import geopandas as gpd
import pandas as pd
import shapely

from jurisdictions.exceptions import BoundaryImportRejected
from jurisdictions.models import Layer

#: Canonical attribute names an import fills beside code, name and parent_code.
ATTRIBUTES = ("name_en", "kind", "property_company", "owners_committee", "households")
#: Where the canonical attributes are looked for when no ``--field`` names them.
DEFAULT_SOURCES = {
    "name_en": ("name_en", "name_pinyin", "pinyin"),
    "kind": ("kind",),
    "property_company": ("property_company",),
    "owners_committee": ("owners_committee",),
    "households": ("households",),
}
TRUE_WORDS = {"1", "true", "t", "yes", "y", "是", "有"}
FALSE_WORDS = {"0", "false", "f", "no", "n", "否", "无", "", "none", "nan"}


def _as_bool(value: Any) -> bool | None:
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return None
    if isinstance(value, bool):
        return value
    word = str(value).strip().lower()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    return None


def _as_int(value: Any) -> int | None:
    try:
        return None if value is None or pd.isna(value) else int(value)
    except (TypeError, ValueError):
        return None


def _town_kind(name: str, given: Any) -> str:
    if isinstance(given, str) and given.strip() in ("town", "subdistrict"):
        return given.strip()
    return "subdistrict" if name.endswith("街道") or "街道" in str(given or "") else "town"


def boundary_rows(
    gdf: gpd.GeoDataFrame, lay: Layer, agency: str, gen: int, sources: Mapping[str, str]
) -> list[dict[str, Any]]:
    extra = [c for c in gdf.columns if c not in ("code", "name", "parent_code", "geometry")]
    picked = {
        attr: _column(gdf, sources.get(attr))
        or next((c for c in DEFAULT_SOURCES[attr] if c in gdf.columns), None)
        for attr in ATTRIBUTES
    }
    rows = []
    for rec, geom in zip(gdf.to_dict("records"), gdf.geometry, strict=True):

        def attr(name: str, rec: dict[str, Any] = rec) -> Any:
            col = picked[name]
            return rec.get(col) if col else None

        name = str(rec["name"]).strip()
        rows.append(
            {
                "generation_id": gen,
                "layer": lay.value,
                "agency": agency,
                "code": rec["code"],
                "name": name,
                "name_en": str(attr("name_en") or ""),
                "kind": _town_kind(name, attr("kind")) if lay is Layer.town else None,
                "parent_code": rec.get("parent_code") or None,
                "property_company": (
                    str(attr("property_company") or "").strip()
                    if lay is Layer.property_area
                    else None
                ),
                "owners_committee": (
                    bool(_as_bool(attr("owners_committee"))) if lay is Layer.property_area else None
                ),
                "households": _as_int(attr("households")),
                "attrs": {
                    k: rec[k]
                    for k in extra
                    if k not in picked.values()
                    and not (isinstance(rec[k], float) and pd.isna(rec[k]))
                },
                "wkb": shapely.to_wkb(shapely.force_2d(geom)),  # the column is 2D
            }
        )
    return rows


def _column(gdf: gpd.GeoDataFrame, name: str | None) -> str | None:
    """A source column named by ``--field``; gis.io lower-cases attribute columns, so match
    either way."""
    if not name:
        return None
    for candidate in (name, name.lower()):
        if candidate in gdf.columns:
            return candidate
    raise BoundaryImportRejected(
        f"no column {name!r} in the file; columns: {', '.join(map(str, gdf.columns))}",
        problems=[],
    )


def _strip_nul(value: Any) -> Any:
    """``value`` with NUL characters removed from its text, also inside lists and objects."""
    if isinstance(value, str):
        return value.replace("\x00", "")
    if isinstance(value, dict):
        return {_strip_nul(k): _strip_nul(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_strip_nul(v) for v in value]
    return value


def without_nul(gdf: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Text as PostgreSQL can store it: NUL characters removed (GDAL drops them from files)."""
    columns = [
        c
        for c in gdf.columns
        if c != gdf.geometry.name
        and (pd.api.types.is_object_dtype(gdf[c]) or pd.api.types.is_string_dtype(gdf[c]))
    ]
    if not columns:
        return gdf
    out = gdf.copy()
    for column in columns:
        out[column] = out[column].map(_strip_nul)
    return out
