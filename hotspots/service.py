"""All SQL of hot-spot analysis: the filtered points, the areas, the data stamp and the cache.

Cache: an answer is stored under (hash of the parameters, data stamp). The stamp is the case
store's ``count(*)``, ``max(id)`` and ``max(updated_at)`` and the ids of the active boundary
generations, read in the same transaction as the points, so a new, changed or removed case or
a boundary activation always gives a new key — no stale answer, no TTL to tune. Older answers
for the same parameters are deleted when a new one is stored.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import numpy as np
import orjson
import shapely
from sqlalchemy import Connection, text

from hotspots.analysis import Answer, Inputs, precheck
from hotspots.pool import compute
from hotspots.schemas import ADMIN_LAYERS, HotspotQuery, Method
from incidents.queries import CASE_ROWS, SHOWN
from jurisdictions.active import ACTIVE_BOUNDARIES, ACTIVE_GENERATIONS

#: The filters of an analysis: visible cases, not merged into another, then the query's own.
CASES = f"""
FROM {CASE_ROWS}
WHERE {SHOWN}
  AND (CAST(:type AS text) IS NULL OR c.type_code = :type)
  AND (CAST(:agency AS text) IS NULL OR c.handler_party = :agency)
  AND (CAST(:scope AS text) IS NULL OR c.scope = :scope)
  AND (CAST(:statuses AS text[]) IS NULL OR c.status = ANY(CAST(:statuses AS text[])))
  AND (CAST(:from_ AS timestamptz) IS NULL OR c.created_at >= :from_)
  AND (CAST(:to AS timestamptz) IS NULL OR c.created_at < :to)
  AND (CAST(:town AS text) IS NULL OR c.town_code = :town)
"""

#: Every matching case's lon and lat as one ``bytea`` of big-endian float8 pairs (x = lon,
#: y = lat): 16 bytes a case, read into numpy without a Python object per row (1,000,000 cases
#: in about the time of the scan, where fetching rows took several seconds).
COORDINATES = "string_agg(float8send(c.lon) || float8send(c.lat), ''::bytea) AS xy"

#: The columns an analysis may read besides the coordinates: the report time (emerging hot
#: spots) and the area code a case was resolved to (administrative grids). Only those a query
#: needs are read, aggregated in the same pass so that they keep the coordinates' order.
EXTRA_COLUMNS = {
    "created_at": "array_agg(c.created_at) AS created_at",
    "town_code": "array_agg(c.town_code) AS town_code",
    "community_code": "array_agg(c.community_code) AS community_code",
    "property_area_code": "array_agg(c.property_area_code) AS property_area_code",
}

STAMP = text(f"""
SELECT count(*) AS n, coalesce(max(id), 0) AS max_id, max(updated_at) AS max_updated,
       (SELECT coalesce(string_agg(generation_id::text, '.' ORDER BY generation_id), '')
          FROM {ACTIVE_GENERATIONS} g) AS generations
FROM {CASE_ROWS}
""")

AREAS = text(f"""
SELECT b.code, b.name, b.households, ST_AsBinary(b.geom) AS wkb
FROM {ACTIVE_BOUNDARIES} b
WHERE b.layer = :layer
  AND (CAST(:town AS text) IS NULL OR :layer = 'town' AND b.code = :town
       OR :layer <> 'town' AND b.code IN (SELECT code FROM boundary_tree))
ORDER BY b.code
""")

# the areas under one town (communities and their estates), for a town filter
TREE = f"""
WITH RECURSIVE boundary_tree(code) AS (
  SELECT b.code FROM {ACTIVE_BOUNDARIES} b
  WHERE b.layer = 'town' AND b.code = CAST(:town AS text)
  UNION
  SELECT b.code FROM {ACTIVE_BOUNDARIES} b
  JOIN boundary_tree t ON b.parent_code = t.code
  WHERE b.layer IN ('community', 'property_area'))
"""

STUDY_AREA = text(f"""
SELECT ST_AsBinary(ST_Union(b.geom))
FROM {ACTIVE_BOUNDARIES} b
WHERE b.layer = 'town'
  AND (CAST(:town AS text) IS NULL OR b.code = :town)
""")

MONTHS = text(f"""
SELECT DISTINCT to_char(c.created_at AT TIME ZONE 'Asia/Shanghai', 'YYYY-MM') AS month
FROM {CASE_ROWS} WHERE {SHOWN} ORDER BY month
""")

CACHED = text("""
SELECT media_type, body, n_points FROM hotspot_result
WHERE params_hash = :h AND data_stamp = :s
""")

STORE = text("""
WITH gone AS (DELETE FROM hotspot_result WHERE params_hash = :h AND data_stamp <> :s)
INSERT INTO hotspot_result (params_hash, data_stamp, params, media_type, body, n_points, seconds)
VALUES (:h, :s, CAST(:params AS jsonb), :media_type, :body, :n, :seconds)
ON CONFLICT (params_hash, data_stamp) DO NOTHING
""")


@dataclass(frozen=True)
class Outcome:
    """An answer and whether it came from the cache."""

    answer: Answer
    cached: bool
    stamp: str


def data_stamp(conn: Connection) -> str:
    """The state of the cases and the active boundaries, as part of the cache key."""
    row = conn.execute(STAMP).one()
    updated = row.max_updated.isoformat() if row.max_updated else "-"
    return f"{row.n}:{row.max_id}:{updated}:{row.generations}"


def case_months(conn: Connection) -> list[str]:
    """The months (``YYYY-MM``, Beijing time) in which cases were reported."""
    return [str(m) for m in conn.execute(MONTHS).scalars()]


def point_columns(query: HotspotQuery) -> tuple[str, ...]:
    """The columns besides lon/lat that ``query``'s analysis reads from each case."""
    kind, _ = query.grid_kind
    times = ("created_at",) if query.method is Method.emerging else ()
    codes = (f"{kind}_code",) if kind in ADMIN_LAYERS else ()
    return times + codes


def extract_points(conn: Connection, *, query: HotspotQuery) -> gpd.GeoDataFrame:
    """The filtered cases as lon/lat points (EPSG:4326), with the report time and area code
    when the analysis reads them (:func:`point_columns`)."""
    params: dict[str, Any] = {
        "type": query.type,
        "agency": query.agency,
        "scope": query.scope,
        "statuses": query.statuses,
        "from_": query.from_,
        "to": query.to,
        "town": query.town,
    }
    extra = point_columns(query)
    select = ", ".join([COORDINATES, *(EXTRA_COLUMNS[name] for name in extra)])
    row = conn.execute(text(f"SELECT {select} {CASES}"), params).one()
    xy = np.frombuffer(row.xy or b"", dtype=">f8").astype(np.float64).reshape(-1, 2)
    data = {name: list(getattr(row, name) or ()) for name in extra}
    return gpd.GeoDataFrame(data, geometry=gpd.points_from_xy(xy[:, 0], xy[:, 1]), crs="EPSG:4326")


def active_areas(conn: Connection, *, layer: str, town: str | None = None) -> gpd.GeoDataFrame:
    """The active boundaries of an administrative layer (code, name, households, polygon)."""
    rows = conn.execute(text(TREE + AREAS.text), {"layer": layer, "town": town}).all()
    return gpd.GeoDataFrame(
        {
            "code": [r.code for r in rows],
            "name": [r.name for r in rows],
            "households": [r.households for r in rows],
        },
        geometry=shapely.from_wkb([bytes(r.wkb) for r in rows]),
        crs="EPSG:4326",
    )


def study_area(conn: Connection, *, town: str | None = None) -> shapely.Geometry | None:
    """The union of the active towns (or of one town): the cells analysed cover it."""
    wkb = conn.execute(STUDY_AREA, {"town": town}).scalar_one_or_none()
    return shapely.from_wkb(bytes(wkb)) if wkb is not None else None


def cached(conn: Connection, *, query: HotspotQuery, stamp: str) -> Answer | None:
    """The stored answer for these parameters and this data state, if any."""
    row = conn.execute(CACHED, {"h": query.cache_hash(), "s": stamp}).one_or_none()
    return Answer(row.media_type, bytes(row.body), row.n_points) if row else None


def store(
    conn: Connection, *, query: HotspotQuery, stamp: str, answer: Answer, seconds: float
) -> None:
    """Keep an answer (replacing older ones of the same parameters)."""
    conn.execute(
        STORE,
        {
            "h": query.cache_hash(),
            "s": stamp,
            "params": orjson.dumps(query.echo()).decode(),
            "media_type": answer.media_type,
            "body": answer.body,
            "n": answer.n_points,
            "seconds": seconds,
        },
    )


def read_inputs(conn: Connection, *, query: HotspotQuery) -> Inputs:
    """Everything the analysis needs, read in one transaction."""
    kind, _ = query.grid_kind
    areas = active_areas(conn, layer=kind, town=query.town) if kind in ADMIN_LAYERS else None
    area = None if query.method is Method.count else study_area(conn, town=query.town)
    return Inputs(points=extract_points(conn, query=query), areas=areas, study_area=area)


def hotspots(
    conn: Connection,
    *,
    query: HotspotQuery,
    min_count: int,
    use_cache: bool = True,
    processes: int = 0,
    memory_mb: int = 0,
    timeout_s: float | None = None,
    writer: Connection | None = None,
) -> Outcome:
    """The answer for ``query``: from the cache when the data has not changed, else computed
    (in a pool of ``processes`` processes, or here when 0; each capped at ``memory_mb`` MiB
    and ``timeout_s`` seconds) and stored. The cases are read through ``conn`` (a replica's
    connection may do), the cache through ``writer`` (the primary's) when given."""
    writer = writer if writer is not None else conn
    stamp = data_stamp(conn)
    if use_cache and (hit := cached(writer, query=query, stamp=stamp)) is not None:
        return Outcome(hit, cached=True, stamp=stamp)
    started = time.perf_counter()
    inputs = read_inputs(conn, query=query)
    if query.method is not Method.kde:
        precheck(query, inputs)
    answer = compute(
        query,
        inputs,
        min_count=min_count,
        processes=processes,
        memory_mb=memory_mb,
        timeout_s=timeout_s,
    )
    store(writer, query=query, stamp=stamp, answer=answer, seconds=time.perf_counter() - started)
    return Outcome(answer, cached=False, stamp=stamp)
