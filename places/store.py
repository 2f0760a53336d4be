"""The only writer of ``place`` and ``place_dataset``.

Two kinds of rows:

* boundary names — the estates, communities and towns of the *active* generations, copied with
  their pinyin by :func:`sync_boundaries`, which :mod:`places.search` calls whenever the active
  generations are not all copied yet (so a newly activated generation is searchable at its
  first search, and nothing needs to be loaded for boundary names to be found);
* gazetteer rows — roads, addresses and POIs of a named dataset, replaced as a whole by
  :func:`replace_dataset`.

Every row carries a ``context`` (社区 · 镇/街道 where it lies) so that people can tell apart the
several 天鹅苑 of a district; gazetteer contexts are recomputed when the boundaries change.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import orjson
from sqlalchemy import Connection, text

from places.pinyin import romanise

BOUNDARY_KINDS = {"property_area": "estate", "community": "community", "town": "town"}
GAZETTEER_KINDS = ("road", "address", "poi")
CONTEXT_SEP = " · "

ACTIVE_GENERATIONS = text("""
    SELECT generation_id, layer FROM generation_period
    WHERE valid_to IS NULL AND layer IN ('town', 'community', 'property_area')
""")

_BOUNDARIES = text("""
    WITH act AS (
        SELECT generation_id, layer FROM generation_period
        WHERE valid_to IS NULL AND layer IN ('town', 'community', 'property_area')
    ), cur AS (
        SELECT b.code, b.name, b.layer, b.parent_code FROM boundary b
        JOIN act ON act.generation_id = b.generation_id
    )
    SELECT b.generation_id, b.layer, b.code, b.name,
           concat_ws(:sep, c.name, coalesce(t2.name, t.name)) AS context,
           ST_AsText(ST_PointOnSurface(b.geom)) AS point,
           ST_XMin(b.geom) AS west, ST_YMin(b.geom) AS south,
           ST_XMax(b.geom) AS east, ST_YMax(b.geom) AS north
    FROM boundary b
    LEFT JOIN cur c ON b.layer = 'property_area' AND c.layer = 'community'
                   AND c.code = b.parent_code
    LEFT JOIN cur t2 ON t2.layer = 'town' AND t2.code = c.parent_code
    LEFT JOIN cur t ON b.layer = 'community' AND t.layer = 'town' AND t.code = b.parent_code
    WHERE b.generation_id = ANY(:gens)
""")

_INSERT_BOUNDARY = text("""
    INSERT INTO place (kind, code, name, pinyin, initials, syllables, context, generation_id,
                       geom, point, west, south, east, north)
    SELECT :kind, :code, :name, :pinyin, :initials, :syllables, :context, :generation_id,
           ST_GeomFromText(:point, 4326), ST_GeomFromText(:point, 4326),
           :west, :south, :east, :north
    ON CONFLICT DO NOTHING
""")

#: Where each gazetteer row lies: the active community and town covering its label point.
_GAZETTEER_CONTEXT = text("""
    WITH act AS (
        SELECT generation_id FROM generation_period
        WHERE valid_to IS NULL AND layer IN ('town', 'community')
    )
    UPDATE place p SET context = coalesce(
        (SELECT string_agg(b.name, :sep ORDER BY b.layer)
         FROM boundary b JOIN act ON act.generation_id = b.generation_id
         WHERE ST_Covers(b.geom, p.point)), '')
    WHERE p.dataset IS NOT NULL AND (CAST(:dataset AS text) IS NULL OR p.dataset = :dataset)
""")


def _romanised(name: str) -> dict[str, str]:
    r = romanise(name)
    return {"pinyin": r.pinyin, "initials": r.initials, "syllables": r.syllables}


def sync_boundaries(conn: Connection) -> int:
    """Make the boundary rows those of the active generations; returns the rows added.

    Safe to run concurrently (inserts skip rows already there) and outside a transaction
    (each statement leaves a consistent table: searches only use rows of active generations).
    """
    active = [int(r.generation_id) for r in conn.execute(ACTIVE_GENERATIONS)]
    have = {
        int(g)
        for (g,) in conn.execute(
            text("SELECT DISTINCT generation_id FROM place WHERE generation_id = ANY(:g)"),
            {"g": active},
        )
    }
    missing = [g for g in active if g not in have]
    added = 0
    if missing:
        rows = [
            {
                "kind": BOUNDARY_KINDS[r.layer],
                "code": r.code,
                "name": r.name,
                "context": r.context or "",
                "generation_id": r.generation_id,
                "point": r.point,
                "west": r.west,
                "south": r.south,
                "east": r.east,
                "north": r.north,
                **_romanised(r.name),
            }
            for r in conn.execute(_BOUNDARIES, {"gens": missing, "sep": CONTEXT_SEP})
            if r.name
        ]
        if rows:
            added = conn.execute(_INSERT_BOUNDARY, rows).rowcount or 0
    stale = conn.execute(
        text("DELETE FROM place WHERE generation_id IS NOT NULL AND NOT (generation_id = ANY(:g))"),
        {"g": active},
    ).rowcount
    if missing or stale:
        conn.execute(_GAZETTEER_CONTEXT, {"sep": CONTEXT_SEP, "dataset": None})
    return added


def replace_dataset(
    conn: Connection, *, dataset: str, source: str, rows: Iterable[Mapping[str, Any]]
) -> int:
    """Replace a gazetteer dataset's rows; each row has ``kind``, ``code``, ``name``, ``wkt``
    (WGS-84) and ``attrs``. Returns the number stored."""
    conn.execute(text("DELETE FROM place_dataset WHERE name = :n"), {"n": dataset})
    conn.execute(
        text("INSERT INTO place_dataset (name, source) VALUES (:n, :s)"),
        {"n": dataset, "s": source},
    )
    batch = [
        {
            "kind": r["kind"],
            "code": r["code"],
            "name": r["name"],
            "dataset": dataset,
            "wkt": r["wkt"],
            "attrs": orjson.dumps(r.get("attrs") or {}).decode(),
            **_romanised(r["name"]),
        }
        for r in rows
    ]
    if batch:
        conn.execute(
            text("""
                WITH g AS (SELECT ST_GeomFromText(:wkt, 4326) AS geom)
                INSERT INTO place (kind, code, name, pinyin, initials, syllables, dataset, attrs,
                                   geom, point, west, south, east, north)
                SELECT :kind, :code, :name, :pinyin, :initials, :syllables, :dataset,
                       CAST(:attrs AS jsonb), g.geom,
                       CASE WHEN GeometryType(g.geom) LIKE '%LINESTRING'
                            THEN ST_ClosestPoint(g.geom, ST_Centroid(g.geom))
                            ELSE ST_PointOnSurface(g.geom) END,
                       ST_XMin(g.geom), ST_YMin(g.geom), ST_XMax(g.geom), ST_YMax(g.geom)
                FROM g
            """),
            batch,
        )
    conn.execute(
        text("UPDATE place_dataset SET feature_count = :c WHERE name = :n"),
        {"c": len(batch), "n": dataset},
    )
    conn.execute(_GAZETTEER_CONTEXT, {"sep": CONTEXT_SEP, "dataset": dataset})
    return len(batch)


def list_datasets(conn: Connection) -> list[dict[str, Any]]:
    """The gazetteer datasets loaded, newest first."""
    rows = conn.execute(
        text(
            "SELECT name, source, feature_count, imported_at FROM place_dataset "
            "ORDER BY imported_at DESC, name"
        )
    )
    return [dict(r._mapping) for r in rows]


def drop_dataset(conn: Connection, *, dataset: str) -> bool:
    """Remove a gazetteer dataset and its rows; ``False`` when there was none."""
    n = conn.execute(text("DELETE FROM place_dataset WHERE name = :n"), {"n": dataset}).rowcount
    return bool(n)
