"""Boundary generations: import a layer as a new generation, activate it, list and check them.

An import validates the whole file before anything is written and runs in the caller's
transaction, so a failed import leaves the store unchanged. Activation retires the layer's
active generation and opens the new one's validity period in one transaction; older answers
stay reachable with ``at=``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import geopandas as gpd
import pandas as pd
import shapely
from sqlalchemy import Connection, bindparam, text
from sqlalchemy.dialects.postgresql import JSONB

from gis.validation import Problem, repair, validate_layer
from jurisdictions.exceptions import (
    BoundaryImportRejected,
    GenerationNotFound,
    NoActiveGeneration,
    UnknownLayer,
)
from jurisdictions.models import PARENT_LAYER, Layer
from jurisdictions.service import generation_key, generations_at

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
SUBDIVIDE_MAX_VERTICES = 256
TRUE_WORDS = {"1", "true", "t", "yes", "y", "是", "有"}
FALSE_WORDS = {"0", "false", "f", "no", "n", "否", "无", "", "none", "nan"}

INSERT_BOUNDARY = text("""
INSERT INTO boundary (generation_id, layer, agency, code, name, name_en, kind, parent_code,
                      property_company, owners_committee, households, attrs, geom)
VALUES (:generation_id, :layer, :agency, :code, :name, :name_en, :kind, :parent_code,
        :property_company, :owners_committee, :households, :attrs,
        ST_Multi(ST_GeomFromWKB(:wkb, 4326)))
""").bindparams(bindparam("attrs", type_=JSONB))

INSERT_PARTS = text(f"""
INSERT INTO boundary_part (boundary_id, generation_id, geom)
SELECT id, generation_id, (ST_Dump(ST_Subdivide(geom, {SUBDIVIDE_MAX_VERTICES}))).geom
FROM boundary WHERE generation_id = :g
""")


@dataclass
class ImportResult:
    """What an import stored, and the warnings it passed over."""

    generation_id: int
    layer: str
    agency: str
    feature_count: int
    activated: bool
    warnings: list[Problem] = field(default_factory=list)


def check_layer(layer: str, agency: str | None) -> tuple[Layer, str]:
    """Validate a layer name and its agency (required for agency units only)."""
    try:
        lay = Layer(layer)
    except ValueError as exc:
        names = ", ".join(v.value for v in Layer)
        raise UnknownLayer(f"unknown layer {layer!r}; use one of {names}") from exc
    agency = (agency or "").strip()
    if lay is Layer.agency_unit and not agency:
        raise UnknownLayer("the agency_unit layer needs --agency (e.g. public_security)")
    if lay is not Layer.agency_unit and agency:
        raise UnknownLayer(f"--agency only applies to the agency_unit layer, not {layer}")
    return lay, agency


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


def _rows(
    gdf: gpd.GeoDataFrame, lay: Layer, agency: str, gen: int, sources: Mapping[str, str]
) -> list[dict[str, Any]]:
    extra = [c for c in gdf.columns if c not in ("code", "name", "parent_code", "geometry")]
    picked = {
        attr: sources.get(attr)
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
    """A source column by name; gis.io lower-cases attribute columns, so match either way."""
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


def _without_nul(gdf: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
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


def load_layer(
    conn: Connection, *, layer: str, agency: str = "", at: datetime | None = None
) -> gpd.GeoDataFrame:
    """The boundaries of a layer's generation valid at ``at`` as a GeoDataFrame (EPSG:4326)."""
    gen = generations_at(conn, at=at).get(generation_key(layer, agency))
    if gen is None:
        raise NoActiveGeneration(f"layer {generation_key(layer, agency)} has no active generation")
    return load_generation(conn, generation_id=gen)


def load_generation(conn: Connection, *, generation_id: int) -> gpd.GeoDataFrame:
    """One generation's boundaries as a GeoDataFrame (EPSG:4326)."""
    sql = text("""SELECT code, name, parent_code, kind, property_company, owners_committee,
                         households, ST_AsBinary(geom) AS geom
                  FROM boundary WHERE generation_id = :g ORDER BY code""")
    df = pd.DataFrame(
        conn.execute(sql, {"g": generation_id}).mappings().all(),
        columns=[
            "code",
            "name",
            "parent_code",
            "kind",
            "property_company",
            "owners_committee",
            "households",
            "geom",
        ],
    )
    geoms = shapely.from_wkb([bytes(g) for g in df.pop("geom")]) if len(df) else []
    return gpd.GeoDataFrame(df, geometry=gpd.GeoSeries(geoms, crs="EPSG:4326"))


def import_layer(
    conn: Connection,
    *,
    gdf: gpd.GeoDataFrame,
    layer: str,
    agency: str | None = None,
    source: str = "",
    description: str = "",
    fields: Mapping[str, str] | None = None,
    do_repair: bool = False,
    activate: bool = False,
    progress: Callable[[str], None] | None = None,
    tolerances: Mapping[str, float] | None = None,
) -> ImportResult:
    """Validate ``gdf`` and store it as a new generation of ``layer`` (all or nothing)."""
    lay, agency = check_layer(layer, agency)
    note = progress or (lambda _msg: None)
    gdf = _without_nul(gdf)
    if do_repair:
        gdf = repair(gdf)
    parent_layer = PARENT_LAYER[lay]
    parents = load_layer(conn, layer=parent_layer.value) if parent_layer else None
    note("validating")
    problems = validate_layer(gdf, layer=lay.value, parents=parents, **(tolerances or {}))
    errors = [p for p in problems if p.severity == "error"]
    if errors:
        raise BoundaryImportRejected(
            f"{len(errors)} problem(s) in {source or 'the file'}; nothing was stored",
            problems=problems,
        )
    gen = conn.execute(
        text("""INSERT INTO boundary_generation (layer, agency, source, description, feature_count)
                VALUES (:l, :a, :s, :d, :n) RETURNING id"""),
        {"l": lay.value, "a": agency, "s": source, "d": description, "n": len(gdf)},
    ).scalar_one()
    note("storing")
    conn.execute(INSERT_BOUNDARY, _rows(gdf, lay, agency, gen, fields or {}))
    note("subdividing")
    conn.execute(INSERT_PARTS, {"g": gen})
    if activate:
        activate_generation(conn, generation_id=gen)
    return ImportResult(
        gen, lay.value, agency, len(gdf), activate, [p for p in problems if p.severity != "error"]
    )


def activate_generation(conn: Connection, *, generation_id: int) -> bool:
    """Make a generation its layer's active one; False when it already was."""
    row = conn.execute(
        text("SELECT layer, agency FROM boundary_generation WHERE id = :g"), {"g": generation_id}
    ).first()
    if row is None:
        raise GenerationNotFound(f"no boundary generation {generation_id}")
    conn.execute(text("SELECT pg_advisory_xact_lock(hashtext('shudi.generation_period'))"))
    current = conn.execute(
        text("""SELECT id, generation_id FROM generation_period
                WHERE layer = :l AND agency = :a AND valid_to IS NULL FOR UPDATE"""),
        {"l": row.layer, "a": row.agency},
    ).first()
    if current is not None and current.generation_id == generation_id:
        return False
    now = conn.execute(text("SELECT clock_timestamp()")).scalar_one()
    if current is not None:
        conn.execute(
            text("UPDATE generation_period SET valid_to = :t WHERE id = :id"),
            {"t": now, "id": current.id},
        )
    conn.execute(
        text("""INSERT INTO generation_period (generation_id, layer, agency, valid_from)
                VALUES (:g, :l, :a, :t)"""),
        {"g": generation_id, "l": row.layer, "a": row.agency, "t": now},
    )
    return True


def list_generations(conn: Connection) -> list[dict[str, Any]]:
    """Every generation with its counts and validity periods, newest first per layer."""
    sql = text("""
        SELECT g.id, g.layer, g.agency, g.source, g.feature_count, g.created_at,
               COALESCE(json_agg(json_build_object('from', p.valid_from, 'to', p.valid_to)
                                 ORDER BY p.valid_from) FILTER (WHERE p.id IS NOT NULL),
                        '[]') AS periods,
               bool_or(p.id IS NOT NULL AND p.valid_to IS NULL) AS active
        FROM boundary_generation g LEFT JOIN generation_period p ON p.generation_id = g.id
        GROUP BY g.id ORDER BY g.layer, g.agency, g.id DESC""")
    return [dict(r) | {"active": bool(r["active"])} for r in conn.execute(sql).mappings()]


def check_store(conn: Connection, *, at: datetime | None = None) -> dict[str, list[Problem]]:
    """Validate every active layer as an import would; problems per layer key."""
    report: dict[str, list[Problem]] = {}
    towns: gpd.GeoDataFrame | None = None
    communities: gpd.GeoDataFrame | None = None
    for key in sorted(generations_at(conn, at=at), key=_layer_order):
        layer, _, agency = key.partition(":")
        gdf = load_layer(conn, layer=layer, agency=agency, at=at)
        parents: gpd.GeoDataFrame | None = {"community": towns, "property_area": communities}.get(
            layer
        )
        report[key] = validate_layer(gdf, layer=layer, parents=parents)
        if layer == Layer.town:
            towns = gdf
        elif layer == Layer.community:
            communities = gdf
    return report


def _layer_order(key: str) -> int:
    return [v.value for v in Layer].index(key.split(":")[0])
