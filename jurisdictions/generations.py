"""Boundary generations: import a layer as a new generation, activate it, list and check them.

An import validates the whole file before anything is written and runs in the caller's
transaction, so a failed import leaves the store unchanged; :func:`import_and_activate` is the
use case behind every file import. :func:`activate` is the one way a generation becomes active
(``shudi boundaries import --activate``, ``shudi boundaries activate``, the sample loader,
tests): it retires the layer's active generation, opens the new
one's validity period and re-resolves the open cases, all in the caller's transaction; older
answers stay reachable with ``at=``.
"""

from __future__ import annotations

import importlib
import os
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
from jurisdictions import index_watch
from jurisdictions.boundary_rows import boundary_rows, without_nul
from jurisdictions.catalog import UnknownAgency
from jurisdictions.exceptions import (
    BoundaryImportRejected,
    GenerationNotFound,
    NoActiveGeneration,
    UnknownLayer,
)
from jurisdictions.models import PARENT_LAYER, Layer
from jurisdictions.service import generation_key, generations_at
from shudi.settings import get_settings

SUBDIVIDE_MAX_VERTICES = 256

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


#: What keeps stored points current when a generation is activated, as ``module:function``
#: taking the connection and returning ``{"open": n, "changed": m}``. Late-bound because the
#: case store sits above this package (docs/design.md); every activation runs every one.
FOLLOWERS = ("incidents.territory:reresolve_open_cases",)


@dataclass(frozen=True)
class Activation:
    """What an activation did: whether the generation became active (False: it already was),
    and how many open cases there were and how many moved to a new owner."""

    generation_id: int
    changed: bool
    open_cases: int = 0
    moved: int = 0


@dataclass
class ImportResult:
    """What an import stored, the warnings it passed over, and its activation if asked for."""

    generation_id: int
    layer: str
    agency: str
    feature_count: int
    activated: bool
    warnings: list[Problem] = field(default_factory=list)
    moved: int = 0


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


def check_agency(conn: Connection, agency: str) -> None:
    """Refuse an agency code that is not a party of the mechanism, naming the known ones."""
    codes = list(
        conn.execute(text("SELECT code FROM agency ORDER BY party NULLS LAST, code")).scalars()
    )
    if agency not in codes:
        listed = ", ".join(codes) or "none (run `shudi db migrate` to load the taxonomy)"
        raise UnknownAgency(f"unknown agency {agency!r}; known agencies: {listed}", agency=agency)


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


def import_and_activate(
    conn: Connection,
    *,
    path: str | os.PathLike[str],
    layer: str,
    activate: bool,
    agency: str | None = None,
    fields: Mapping[str, str] | None = None,
    encoding: str | None = None,
    src_crs: str | None = None,
    file_layer: str | None = None,
    source: str | None = None,
    description: str = "",
    do_repair: bool = False,
    tolerances: Mapping[str, float] | None = None,
    progress: Callable[[str], None] | None = None,
    read_progress: Callable[[int, int], None] | None = None,
) -> ImportResult:
    """The boundary-import use case (``shudi boundaries import``, the sample loader, tests):
    read a boundary file (any CRS, encoding and field names; at most ``SHUDI_BOUNDARY_MAX_*``
    features and vertices), store it as a new generation of ``layer`` (validated; all or
    nothing) and, when ``activate``, make it the active one through :func:`activate`, so the
    open cases move to their new owners — all in the caller's transaction."""
    from gis.io import read_boundaries  # GDAL: only for the commands that read files

    lay, agency = check_layer(layer, agency)
    if lay is Layer.agency_unit:
        check_agency(conn, agency)
    settings = get_settings()
    fields = dict(fields or {})
    gdf = read_boundaries(
        path,
        fields={k: v for k, v in fields.items() if k in ("code", "name", "parent_code")},
        encoding=encoding,
        src_crs=src_crs,
        file_layer=file_layer,
        progress=read_progress,
        max_features=settings.boundary_max_features,
        max_vertices=settings.boundary_max_vertices,
    )
    return import_layer(
        conn,
        gdf=gdf,
        layer=layer,
        agency=agency,
        source=str(path) if source is None else source,
        description=description,
        fields=fields,
        do_repair=do_repair,
        activate=activate,
        progress=progress,
        tolerances=tolerances,
    )


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
    """Validate ``gdf`` and store it as a new generation of ``layer`` (all or nothing); with
    ``activate``, activate it through :func:`activate` (open cases follow)."""
    lay, agency = check_layer(layer, agency)
    if lay is Layer.agency_unit:
        check_agency(conn, agency)
    note = progress or (lambda _msg: None)
    gdf = without_nul(gdf)
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
    conn.execute(INSERT_BOUNDARY, boundary_rows(gdf, lay, agency, gen, fields or {}))
    note("subdividing")
    conn.execute(INSERT_PARTS, {"g": gen})
    moved = 0
    if activate:
        note("activating; re-resolving open cases")
        moved = _activate(conn, generation_id=gen).moved
    warnings = [p for p in problems if p.severity != "error"]
    return ImportResult(gen, lay.value, agency, len(gdf), activate, warnings, moved)


def activate(conn: Connection, *, generation_id: int) -> Activation:
    """Make a generation its layer's active one and bring the open cases to their new owners,
    in the caller's transaction: the one way a generation becomes active."""
    if not _open_period(conn, generation_id=generation_id):
        return Activation(generation_id, changed=False)
    open_cases = moved = 0
    for follower in FOLLOWERS:
        module, _, name = follower.partition(":")
        counts = getattr(importlib.import_module(module), name)(conn)
        open_cases += counts["open"]
        moved += counts["changed"]
    return Activation(generation_id, changed=True, open_cases=open_cases, moved=moved)


_activate = activate  # for import_layer, whose flag of the same name hides the function


def _open_period(conn: Connection, *, generation_id: int) -> bool:
    """Close the layer's open validity period and open one for ``generation_id``; False when
    it was the active one already."""
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
    index_watch.announce(conn, generation_id=generation_id)  # every worker, on commit
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
