"""An in-process spatial index of a set of boundary generations, and its answer (:class:`Area`).

Generations never change once imported (a change is a new generation), so an index built for
a set of generation ids stays correct for as long as that set is the active one: each lookup
first asks the database which generations are valid (one small query), then answers from the
index for that set, building it on first use. Points on a shared border are covered by both
neighbours, as with PostGIS's ``ST_Covers``; polygons are prepared, so a lookup costs a tree
probe and an indexed point-in-polygon test, without a round trip per point.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import shapely
from pyproj import Geod
from shapely import STRtree
from sqlalchemy import Connection, bindparam, text
from sqlalchemy.dialects.postgresql import ARRAY, INTEGER

from jurisdictions.models import Layer


@dataclass(frozen=True)
class Area:
    """One boundary as a lookup answer."""

    id: int
    generation_id: int
    layer: str
    agency: str
    code: str
    name: str
    name_en: str
    kind: str | None
    parent_code: str | None
    property_company: str | None
    owners_committee: bool | None

    def brief(self) -> dict[str, Any]:
        """The fields an API answer shows for this layer."""
        out: dict[str, Any] = {"code": self.code, "name": self.name}
        if self.layer == Layer.town:
            out["kind"] = self.kind
        elif self.layer == Layer.property_area:
            out["property_company"] = self.property_company or ""
            out["owners_committee"] = bool(self.owners_committee)
        return out


LOAD = text("""
SELECT id, generation_id, layer, agency, code, name, name_en, kind, parent_code,
       property_company, owners_committee, ST_AsBinary(geom) AS wkb
FROM boundary WHERE generation_id = ANY(:gens) ORDER BY id
""").bindparams(bindparam("gens", type_=ARRAY(INTEGER)))

CACHE_SIZE = 4
_cache: OrderedDict[tuple[int, ...], AreaIndex] = OrderedDict()
_lock = threading.Lock()


#: Above this many points, probe with the polygons over a tree of the points (faster in bulk).
POLYGON_DRIVEN_FROM = 64
EARTH = Geod(ellps="WGS84")


@dataclass(frozen=True)
class AreaIndex:
    """The areas of a set of generations, with an STRtree over their prepared polygons."""

    key: tuple[int, ...]
    areas: list[Area]
    geoms: np.ndarray
    tree: STRtree
    towns: np.ndarray  # indexes into areas/geoms of the town layer
    town_tree: STRtree  # over pieces of the towns' borders, in a frame scaled by ``scale`` in x
    piece_town: np.ndarray  # town index (into areas/geoms) of each piece
    scale: float

    def covering(self, xs: np.ndarray, ys: np.ndarray) -> list[tuple[int, ...]]:
        """For each point, the indexes of every area that covers it (borders included)."""
        points = shapely.points(xs, ys)
        if len(points) >= POLYGON_DRIVEN_FROM:
            area_idx, point_idx = STRtree(points).query(self.geoms, predicate="intersects")
        else:
            point_idx, area_idx = self.tree.query(points, predicate="intersects")
        order = np.lexsort((area_idx, point_idx))
        areas = area_idx[order].tolist()
        bounds = np.searchsorted(point_idx[order], np.arange(len(points) + 1)).tolist()
        return [tuple(areas[bounds[i] : bounds[i + 1]]) for i in range(len(points))]

    def nearest_towns(self, xs: np.ndarray, ys: np.ndarray) -> list[tuple[Area, float] | None]:
        """For each point, the nearest town and the geodesic distance in metres to its border.

        The town is chosen in a frame scaled by cos(latitude) at the district, which is
        locally equidistant; the distance is then measured on the ellipsoid.
        """
        if not len(self.towns) or not len(xs):
            return [None] * len(xs)
        points = shapely.points(xs, ys)
        scaled = shapely.points(xs * self.scale, ys)
        _, picked = self.town_tree.query_nearest(scaled, all_matches=False)
        picks = self.piece_town[picked]
        starts = shapely.get_coordinates(
            shapely.get_point(shapely.shortest_line(self.geoms[picks], points), 0)
        )
        _, _, metres = EARTH.inv(xs, ys, starts[:, 0], starts[:, 1])
        return [
            (self.areas[int(i)], float(m))
            for i, m in zip(picks, np.atleast_1d(metres), strict=True)
        ]


#: Vertices per piece of a town border: short pieces make nearest-town queries cheap.
PIECE_VERTICES = 32


def _border_pieces(
    geoms: np.ndarray, towns: np.ndarray, scale: float
) -> tuple[np.ndarray, np.ndarray]:
    """The towns' rings cut into short lines (scaled in x), and each piece's town index."""
    pieces, owners = [], []
    for town in towns.tolist():
        for ring in shapely.get_rings(shapely.get_parts(geoms[town])):
            coords = shapely.get_coordinates(ring) * [scale, 1.0]
            for start in range(0, len(coords) - 1, PIECE_VERTICES - 1):
                pieces.append(shapely.linestrings(coords[start : start + PIECE_VERTICES]))
                owners.append(town)
    return np.asarray(pieces), np.asarray(owners, dtype=int)


def _build(conn: Connection, key: tuple[int, ...]) -> AreaIndex:
    rows = conn.execute(LOAD, {"gens": list(key[1:])}).mappings().all()
    geoms = shapely.from_wkb([bytes(r["wkb"]) for r in rows]) if rows else np.array([])
    shapely.prepare(geoms)
    # one probe per polygon builds GEOS's lazy point-in-area index now, under the lock,
    # instead of concurrently in request threads
    first = shapely.get_point(shapely.get_exterior_ring(shapely.get_geometry(geoms, 0)), 0)
    shapely.intersects(geoms, first)
    areas = [Area(**{k: v for k, v in r.items() if k != "wkb"}) for r in rows]
    towns = np.array([i for i, a in enumerate(areas) if a.layer == "town"], dtype=int)
    lat = float(np.mean(shapely.bounds(geoms[towns])[:, [1, 3]])) if len(towns) else 0.0
    scale = float(np.cos(np.radians(lat)))
    pieces, owners = _border_pieces(geoms, towns, scale)
    town_tree = STRtree(pieces)
    return AreaIndex(
        key=key,
        areas=areas,
        geoms=np.asarray(geoms),
        tree=STRtree(geoms),
        towns=towns,
        town_tree=town_tree,
        piece_town=owners,
        scale=scale,
    )


def area_index(conn: Connection, *, generation_ids: Sequence[int], database: int) -> AreaIndex:
    """The index for these generations of ``database`` (its identity: generation ids are
    unique within one database only), built once per process and kept (LRU of 4)."""
    key = (database, *sorted(generation_ids))
    with _lock:
        hit = _cache.get(key)
        if hit is not None:
            _cache.move_to_end(key)
            return hit
        index = _build(conn, key)
        _cache[key] = index
        while len(_cache) > CACHE_SIZE:
            _cache.popitem(last=False)
        return index


def clear() -> None:
    """Forget every index (tests; a database restored from a backup)."""
    with _lock:
        _cache.clear()
