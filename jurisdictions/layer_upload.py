"""A boundary layer uploaded by an administrator: checked by the import's own validation,
stored as a new (inactive) generation only when it has no error, then compared with the
layer's active generation and drawn for a preview; :func:`jurisdictions.generations.activate`
makes it active (and moves the open cases).

A file that fails (unreadable, wrong fields, errors in its features) stores nothing: the
caller gets :class:`BoundaryFileUnreadable` or :class:`BoundaryImportRejected` with the
problems per feature.
"""

from __future__ import annotations

import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, text

from gis.exceptions import GisError
from jurisdictions import generations
from jurisdictions.exceptions import BoundaryImportRejected, GenerationNotFound
from jurisdictions.service import generation_key, generations_at

#: File name endings an upload may have: GeoJSON, GeoPackage, a zipped Shapefile.
FORMATS = (".geojson", ".json", ".gpkg", ".zip")


class BoundaryFileUnreadable(BoundaryImportRejected):
    """The uploaded file cannot be read as a boundary layer (format, fields, CRS)."""

    code = "unreadable_boundary_file"


def upload_layer(
    conn: Connection,
    *,
    data: bytes,
    filename: str,
    layer: str,
    agency: str | None = None,
    fields: Mapping[str, str] | None = None,
    description: str = "",
) -> dict[str, Any]:
    """Validate an uploaded layer and store it as a new generation of ``layer``, not active;
    its id, feature count and the warnings the validation passed over."""
    suffix = Path(filename).suffix.lower()
    if suffix not in FORMATS:
        raise BoundaryFileUnreadable(
            f"{filename!r} is not GeoJSON, GeoPackage or a zipped Shapefile", reason="format"
        )
    if not data:
        raise BoundaryFileUnreadable("the file is empty", reason="empty")
    with tempfile.TemporaryDirectory(prefix="shudi-upload-") as tmp:
        path = Path(tmp) / f"upload{suffix}"
        path.write_bytes(data)
        try:
            result = generations.import_and_activate(
                conn,
                path=path,
                layer=layer,
                agency=agency,
                fields={k: v for k, v in (fields or {}).items() if v},
                source=Path(filename).name,
                description=description,
                activate=False,
            )
        except GisError as exc:
            raise BoundaryFileUnreadable(
                str(exc).replace(str(path), Path(filename).name), reason="unreadable"
            ) from exc
    return {
        "generation_id": result.generation_id,
        "layer": result.layer,
        "agency": result.agency,
        "feature_count": result.feature_count,
        "warnings": result.warnings,
    }


def _generation(conn: Connection, generation_id: int) -> Any:
    row = conn.execute(
        text("""SELECT g.id, g.layer, g.agency, g.source, g.description, g.feature_count,
                       g.created_at, EXISTS (SELECT 1 FROM generation_period p
                         WHERE p.generation_id = g.id AND p.valid_to IS NULL) AS active
                FROM boundary_generation g WHERE g.id = :g"""),
        {"g": generation_id},
    ).first()
    if row is None:
        raise GenerationNotFound(f"no boundary generation {generation_id}")
    return row


COMPARE = text("""
WITH n AS (SELECT code, name, parent_code, geom FROM boundary WHERE generation_id = :new),
     o AS (SELECT code, name, parent_code, geom FROM boundary WHERE generation_id = :old)
SELECT coalesce(n.code, o.code) AS code, o.name AS old_name, n.name AS new_name,
       o.parent_code AS old_parent, n.parent_code AS new_parent,
       ST_Area(o.geom::geography) AS old_area, ST_Area(n.geom::geography) AS new_area,
       CASE WHEN n.geom IS NOT NULL AND o.geom IS NOT NULL
            THEN NOT (n.geom ~= o.geom AND ST_Equals(n.geom, o.geom)) END AS reshaped
FROM n FULL JOIN o ON o.code = n.code
ORDER BY 1""")


def compare_with_active(conn: Connection, *, generation_id: int) -> dict[str, Any]:
    """A generation against its layer's active one, by code: the codes added, removed and
    changed (name, parent or outline, with the areas in m² before and after), and how many
    are the same. Against nothing (every code added) when the layer has no active one."""
    gen = _generation(conn, generation_id)
    active = generations_at(conn).get(generation_key(gen.layer, gen.agency))
    rows = conn.execute(COMPARE, {"new": generation_id, "old": active or -1}).mappings().all()
    added, removed, changed, same = [], [], [], 0
    for r in rows:
        if r["old_name"] is None:
            added.append({"code": r["code"], "name": r["new_name"], "area_m2": r["new_area"]})
        elif r["new_name"] is None:
            removed.append({"code": r["code"], "name": r["old_name"], "area_m2": r["old_area"]})
        elif (r["old_name"], r["old_parent"]) != (r["new_name"], r["new_parent"]) or r["reshaped"]:
            changed.append(
                {
                    "code": r["code"],
                    "old_name": r["old_name"],
                    "new_name": r["new_name"],
                    "old_parent": r["old_parent"],
                    "new_parent": r["new_parent"],
                    "old_area_m2": r["old_area"],
                    "new_area_m2": r["new_area"],
                    "area_change_m2": r["new_area"] - r["old_area"],
                    "reshaped": bool(r["reshaped"]),
                }
            )
        else:
            same += 1
    return {
        "generation": dict(gen._mapping),
        "active_generation_id": active,
        "added": added,
        "removed": removed,
        "changed": changed,
        "unchanged": same,
    }


GEOJSON = text("""
SELECT json_build_object('type', 'FeatureCollection', 'features', coalesce(json_agg(
  json_build_object('type', 'Feature',
    'properties', json_build_object('code', code, 'name', name, 'parent_code', parent_code),
    'geometry', ST_AsGeoJSON(ST_SimplifyPreserveTopology(geom, 0.00001), 6)::json)
  ORDER BY code), '[]'::json))::text
FROM boundary WHERE generation_id = :g""")


def generation_geojson(conn: Connection, *, generation_id: int) -> str:
    """One generation's features (code, name, parent) as GeoJSON text, lightly simplified
    (≈ 1 m) for drawing."""
    _generation(conn, generation_id)
    return str(conn.execute(GEOJSON, {"g": generation_id}).scalar_one())


def describe(conn: Connection, *, generation_id: int) -> dict[str, Any]:
    """A generation's layer, source, count, whether active, and the id of its layer's active
    generation."""
    gen = _generation(conn, generation_id)
    active = generations_at(conn).get(generation_key(gen.layer, gen.agency))
    return dict(gen._mapping) | {"active_generation_id": active}
