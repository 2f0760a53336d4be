"""Open-case density as vector tiles: ``/tiles/case_density/{z}/{x}/{y}.mvt`` (staff only).

Each tile is cut into :data:`CELLS` × :data:`CELLS` square cells on the Web Mercator grid (at a
256-pixel tile, a cell is 16 pixels; at zoom 14 about 130 m at the district's latitude) and every
cell holding at least one open case the principal may see (``incidents.access.visibility``)
becomes one square feature of the MVT layer ``case_density`` with one attribute, ``count``.
Nothing else about a case leaves: no id, type, status, or exact position.

Cells are half-open — a case exactly on a cell's west or north edge counts in that cell, on its
east or south edge in the next — so every open case of a tile is counted once, in one cell, and
the counts of a tile add up to the open cases inside it. Cells are aligned with the tile grid, so
the cells of zoom z+1 split those of zoom z exactly.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from sqlalchemy import Connection, text

from accounts.exceptions import Forbidden
from accounts.service import Principal
from incidents import access
from jurisdictions.boundary_tiles import BUFFER, EXTENT, TILE_BOUNDS, TileAddress, parse_address

COLLECTION = "case_density"
#: Cells per tile side (a power of two: the cells nest across zooms).
CELLS = 16
#: Open cases: the live map's (closed, rejected and merged cases are gone); hidden cases stay
#: on staff maps, as in the staff list.
OPEN_CASE = "c.status NOT IN ('closed', 'rejected') AND c.merged_into IS NULL"

#: A cell's side in metres of Web Mercator.
CELL = f"((ST_XMax(bounds.env) - ST_XMin(bounds.env)) / {CELLS})"

#: The visible open cases inside the tile (half-open: west and north edges in, east and south
#: out), each as its cell's column and row.
CASES_IN_TILE = f"""
SELECT LEAST(floor((ST_X(p.m) - ST_XMin(bounds.env)) / {CELL})::int, {CELLS - 1}) AS col,
       LEAST(floor((ST_YMax(bounds.env) - ST_Y(p.m)) / {CELL})::int, {CELLS - 1}) AS row
FROM case_file c
CROSS JOIN bounds
CROSS JOIN LATERAL (SELECT ST_Transform(c.geom, 3857) AS m) p
WHERE {{visible}} AND {OPEN_CASE}
  AND c.geom && bounds.env4326
  AND ST_X(p.m) >= ST_XMin(bounds.env) AND ST_X(p.m) < ST_XMax(bounds.env)
  AND ST_Y(p.m) > ST_YMin(bounds.env) AND ST_Y(p.m) <= ST_YMax(bounds.env)
"""

#: The cells with their counts, as MVT squares.
DENSITY_TILE = f"""
WITH bounds AS ({TILE_BOUNDS}),
cells AS (SELECT col, row, count(*) AS n FROM ({CASES_IN_TILE}) k GROUP BY col, row)
SELECT ST_AsMVT(t.*, '{COLLECTION}', {EXTENT}, 'geom')
FROM (
  SELECT cells.n AS count,
         ST_AsMVTGeom(
           ST_MakeEnvelope(ST_XMin(bounds.env) + cells.col * {CELL},
                           ST_YMax(bounds.env) - (cells.row + 1) * {CELL},
                           ST_XMin(bounds.env) + (cells.col + 1) * {CELL},
                           ST_YMax(bounds.env) - cells.row * {CELL}, 3857),
           bounds.env, {EXTENT}, {BUFFER}, true) AS geom
  FROM cells CROSS JOIN bounds
  ORDER BY cells.row, cells.col
) t
"""


@dataclass(frozen=True)
class DensityTile:
    address: TileAddress
    data: bytes

    @property
    def etag(self) -> str:
        """Of the bytes: a revalidation answers 304 while the counts stay the same."""
        return '"' + hashlib.sha256(self.data).hexdigest()[:32] + '"'


def density_tile(conn: Connection, *, principal: Principal, z: str, x: str, y: str) -> DensityTile:
    """Counts of the open cases ``principal`` may see per cell of tile ``z/x/y`` (empty bytes:
    none there). Roles that see no cases (planners, administrators) are refused."""
    address = parse_address(z, x, y)
    visible, params = access.visibility(principal)
    if visible.strip().upper() == "FALSE":
        raise Forbidden(f"the {principal.role.value} role sees no cases, so no case density")
    row = conn.execute(
        text(DENSITY_TILE.format(visible=visible)),
        params | {"z": address.z, "x": address.x, "y": address.y},
    ).scalar_one()
    return DensityTile(address, bytes(row or b""))
