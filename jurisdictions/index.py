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
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import shapely
from pyproj import Geod
from shapely import STRtree
from sqlalchemy import Connection, bindparam, text
from sqlalchemy.dialects.postgresql import ARRAY, INTEGER

from jurisdictions.grid import NEAR_BORDER, CellGrid, build_grid
from jurisdictions.models import Layer
from jurisdictions.nearest import NearestBorder, build_nearest


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
_building: dict[tuple[int, ...], threading.Lock] = {}


#: From this many points on, :meth:`AreaIndex.covering` uses the grid.
GRID_FROM = 16
#: Above this many points, probe with the polygons over a tree of the points (faster in bulk).
POLYGON_DRIVEN_FROM = 64
EARTH = Geod(ellps="WGS84")


@dataclass(frozen=True)
class AreaIndex:
    """The areas of a set of generations, with an STRtree over their prepared polygons and a
    cell grid (:mod:`jurisdictions.grid`) answering most points without a polygon test.

    An *answer* is the set of areas covering a point, as a tuple of indexes into ``areas``;
    answers are numbered as they are met (``combos``; 0 is the empty answer, outside every
    area), so a batch is resolved into an array of answer ids.
    """

    key: tuple[int, ...]
    areas: list[Area]
    geoms: np.ndarray
    tree: STRtree
    towns: np.ndarray  # indexes into areas/geoms of the town layer
    town_tree: STRtree  # over pieces of the towns' borders, in a frame scaled by ``scale`` in x
    piece_town: np.ndarray  # town index (into areas/geoms) of each piece
    scale: float
    combos: list[tuple[int, ...]] = field(default_factory=lambda: [()])
    combo_ids: dict[tuple[int, ...], int] = field(default_factory=lambda: {(): 0})
    grid: list[CellGrid] = field(default_factory=list)  # empty or one grid (set once built)
    near: list[NearestBorder] = field(default_factory=list)  # likewise
    #: What callers derive from an answer id and keep with the index (e.g. encoded JSON).
    memo: dict[object, object] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def answer_ids(self, xs: np.ndarray, ys: np.ndarray) -> np.ndarray:
        """For each point, the id of the set of areas covering it (``combos[id]``): the grid's
        cell where it is far from every border, the exact test otherwise."""
        xs, ys = np.asarray(xs, dtype=float), np.asarray(ys, dtype=float)
        if not self.grid:
            return self._exact_ids(xs, ys)
        ids = self.grid[0].lookup(xs, ys, outside=0)
        near = np.flatnonzero(ids == NEAR_BORDER)
        if len(near):
            ids[near] = self._exact_ids(xs[near], ys[near])
        return ids

    def covering(self, xs: np.ndarray, ys: np.ndarray) -> list[tuple[int, ...]]:
        """For each point, the indexes of every area that covers it (borders included); a few
        points (a single-point lookup) go straight to the exact test, cheaper than the grid's
        array set-up for them."""
        if len(xs) < GRID_FROM:
            return self._exact(np.asarray(xs, dtype=float), np.asarray(ys, dtype=float))
        combos = self.combos
        return [combos[i] for i in self.answer_ids(xs, ys).tolist()]

    def _exact_ids(self, xs: np.ndarray, ys: np.ndarray) -> np.ndarray:
        found = self._exact(xs, ys)
        known = self.combo_ids
        missing = {c for c in found if c not in known}
        if missing:
            with self._lock:
                for combo in sorted(missing):
                    if combo not in known:
                        self.combos.append(combo)
                        known[combo] = len(self.combos) - 1
        return np.fromiter((known[c] for c in found), dtype=np.int64, count=len(found))

    def _exact(self, xs: np.ndarray, ys: np.ndarray) -> list[tuple[int, ...]]:
        """The exact test: every area whose polygon covers the point (borders included)."""
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
        """For each point, the nearest town and the geodesic distance in metres to its border
        (:meth:`nearest_town_ids` as areas)."""
        if not len(self.towns) or not len(xs):
            return [None] * len(xs)
        picks, metres = self.nearest_town_ids(xs, ys)
        areas = self.areas
        return [(areas[i], m) for i, m in zip(picks.tolist(), metres.tolist(), strict=True)]

    def nearest_town_ids(self, xs: np.ndarray, ys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """For each point, the index (into ``areas``) of the nearest town and the geodesic
        distance in metres to its border; the index is -1 when there are no towns.

        The town is chosen in a frame scaled by cos(latitude) at the district, which is
        locally equidistant; the distance is then measured on the ellipsoid.
        """
        xs, ys = np.asarray(xs, dtype=float), np.asarray(ys, dtype=float)
        if not len(self.towns) or not len(xs):
            return np.full(len(xs), -1, dtype=np.intp), np.zeros(len(xs))
        picks = np.zeros(len(xs), dtype=np.intp)
        qx, qy = np.zeros(len(xs)), np.zeros(len(xs))
        far = np.ones(len(xs), dtype=bool)
        if self.near:  # near the district: the candidates of the point's coarse cell
            on, town, nx, ny = self.near[0].nearest(xs * self.scale, ys)
            picks[on], qx[on], qy[on], far = town, nx, ny, ~on
        if far.any():  # farther away: the tree of border pieces
            scaled = shapely.points(xs[far] * self.scale, ys[far])
            _, picked = self.town_tree.query_nearest(scaled, all_matches=False)
            picks[far] = self.piece_town[picked]
            # the nearest point of the nearest piece (a short line)
            pieces = self.town_tree.geometries.take(picked)
            lines = shapely.shortest_line(pieces, scaled)
            starts = shapely.get_coordinates(shapely.get_point(lines, 0))
            qx[far], qy[far] = starts[:, 0], starts[:, 1]
        _, _, metres = EARTH.inv(xs, ys, qx / self.scale, qy)  # back in lon/lat
        return picks, np.atleast_1d(np.asarray(metres, dtype=float))


#: Vertices per piece of a town border: short pieces make nearest-town queries cheap.
PIECE_VERTICES = 4


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
    index = AreaIndex(
        key=key,
        areas=areas,
        geoms=np.asarray(geoms),
        tree=STRtree(geoms),
        towns=towns,
        town_tree=town_tree,
        piece_town=owners,
        scale=scale,
    )
    grid = build_grid(index.geoms, index._exact_ids)
    if grid is not None:
        index.grid.append(grid)
    near = build_nearest(index.geoms, towns, scale)
    if near is not None:
        index.near.append(near)
    return index


def area_index(conn: Connection, *, generation_ids: Sequence[int], database: int) -> AreaIndex:
    """The index for these generations of ``database`` (its identity: generation ids are
    unique within one database only), built once per process and kept (LRU of 4).

    A build (about a second for the sample district) holds only its own key's lock, so
    lookups against the other indexes go on meanwhile."""
    key = (database, *sorted(generation_ids))
    with _lock:
        hit = _cache.get(key)
        if hit is not None:
            _cache.move_to_end(key)
            return hit
        building = _building.setdefault(key, threading.Lock())
    with building:
        with _lock:
            hit = _cache.get(key)
        if hit is not None:
            return hit
        index = _build(conn, key)
        with _lock:
            _cache[key] = index
            _building.pop(key, None)
            while len(_cache) > CACHE_SIZE:
                _cache.popitem(last=False)
        return index


def clear() -> None:
    """Forget every index (tests; a database restored from a backup)."""
    with _lock:
        _cache.clear()
