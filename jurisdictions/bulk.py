"""Re-resolve every stored point of a table in the database, writing back only what changed.

Used when a new boundary generation is activated (cases keep their territory up to date) and
for history imports. The join runs polygons-outer (each subdivided part probes the GiST index of
the points), which measured about 6× faster than PostgreSQL's default points-outer plan for a
million points; ties on shared borders are broken as in :mod:`jurisdictions.service`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, bindparam, text
from sqlalchemy.dialects.postgresql import ARRAY, INTEGER

from jurisdictions.service import generations_at

IDENT = re.compile(r"^[a-z_][a-z0-9_]*(\.[a-z_][a-z0-9_]*)?$")

HITS = """
CREATE TEMP TABLE _shudi_hits ON COMMIT DROP AS
SELECT pt.id AS pid, b.layer, b.agency, b.code, b.parent_code
FROM boundary_part bp
JOIN boundary b ON b.id = bp.boundary_id
CROSS JOIN LATERAL (
    SELECT t.{id} AS id FROM {table} t WHERE ST_Covers(bp.geom, t.{geom}) OFFSET 0
) pt
WHERE bp.generation_id = ANY(:gens)
"""

WRITE_BACK = """
WITH agg AS (
    SELECT pid,
        (array_agg(code ORDER BY code) FILTER (WHERE layer = 'property_area'))[1] AS pa,
        (array_agg(parent_code ORDER BY code) FILTER (WHERE layer = 'property_area'))[1]
            AS pa_parent,
        array_agg(code ORDER BY code) FILTER (WHERE layer = 'community') AS comms,
        array_agg(parent_code ORDER BY code) FILTER (WHERE layer = 'community') AS comm_parents,
        array_agg(code ORDER BY code) FILTER (WHERE layer = 'town') AS towns,
        COALESCE(jsonb_object_agg(agency, code ORDER BY code DESC)
                 FILTER (WHERE layer = 'agency_unit'), '{{}}'::jsonb) AS units
    FROM _shudi_hits GROUP BY pid
), chosen AS (
    SELECT pid, pa, towns, units, comm_parents, comms,
        CASE WHEN pa_parent = ANY(comms) THEN pa_parent ELSE comms[1] END AS community
    FROM agg
), resolved AS (
    SELECT pid, pa, units, community,
        CASE WHEN comm_parents[array_position(comms, community)] = ANY(towns)
             THEN comm_parents[array_position(comms, community)] ELSE towns[1] END AS town
    FROM chosen
), everything AS (
    SELECT t.{id} AS pid, r.town, r.community, r.pa, COALESCE(r.units, '{{}}'::jsonb) AS units
    FROM {table} t LEFT JOIN resolved r ON r.pid = t.{id}
)
UPDATE {table} t
SET town_code = e.town, community_code = e.community, property_area_code = e.pa,
    agency_units = e.units
FROM everything e
WHERE t.{id} = e.pid
  AND (t.town_code, t.community_code, t.property_area_code, t.agency_units)
      IS DISTINCT FROM (e.town, e.community, e.pa, e.units)
"""


@dataclass(frozen=True)
class BulkResult:
    """How many points were looked at and how many changed owner."""

    points: int
    changed: int
    generations: dict[str, int]


def reresolve_table(
    conn: Connection,
    *,
    table: str,
    id_column: str = "id",
    geom_column: str = "geom",
    at: datetime | None = None,
) -> BulkResult:
    """Re-resolve ``table``'s points (GiST-indexed Point, EPSG:4326) and write back changes.

    The table needs ``town_code``, ``community_code``, ``property_area_code`` (text) and
    ``agency_units`` (jsonb) columns. Runs in the caller's transaction.
    """
    for name in (table, id_column, geom_column):
        if not IDENT.match(name):
            raise ValueError(f"not a plain SQL identifier: {name!r}")
    gens = generations_at(conn, at=at)
    names = {"table": table, "id": id_column, "geom": geom_column}
    conn.execute(text("DROP TABLE IF EXISTS _shudi_hits"))
    conn.execute(
        text(HITS.format(**names)).bindparams(bindparam("gens", type_=ARRAY(INTEGER))),
        {"gens": list(gens.values())},
    )
    changed = conn.execute(text(WRITE_BACK.format(**names))).rowcount
    points = conn.execute(text(f"SELECT count(*) FROM {table}")).scalar_one()
    conn.execute(text("DROP TABLE IF EXISTS _shudi_hits"))
    return BulkResult(points=points, changed=changed, generations=gens)
