"""Point → territory: which town, community, property area and agency units cover a point.

All SQL of the lookups lives here, built from small named pieces. A lookup asks the database
which generations are valid at the time asked for, then tests the points against those
generations' polygons in :mod:`jurisdictions.index` (generations are immutable, so the index
of a set of generations never goes stale). Coverage includes the border, as ``ST_Covers`` does:
a point on a shared border belongs to every neighbour; the owner is then the lowest code, chosen
so that the chosen community is the parent of the chosen property area and the chosen town the
parent of the chosen community where the data allows it. Points outside the district get the
nearest town, with the geodesic distance to its border.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

import numpy as np
from sqlalchemy import Connection, text

from gis.coords import CoordinateError, CoordSystem, looks_swapped, to_wgs84, validate_lonlat
from jurisdictions.exceptions import InvalidCoordinates, OutsideServiceArea
from jurisdictions.index import Area, AreaIndex, area_index
from jurisdictions.models import Layer

#: The generations valid at ``:at`` (NULL = now), one per layer and agency.
GENERATIONS_AT = """
SELECT generation_id, layer, agency,
       (SELECT oid FROM pg_database WHERE datname = current_database()) AS db
FROM generation_period
WHERE CASE WHEN CAST(:at AS timestamptz) IS NULL THEN valid_to IS NULL
           ELSE valid_from <= CAST(:at AS timestamptz)
                AND (valid_to IS NULL OR valid_to > CAST(:at AS timestamptz)) END
"""


@dataclass
class Resolution:
    """Whose territory a point is in."""

    lon: float
    lat: float
    generations: dict[str, int]
    town: Area | None = None
    community: Area | None = None
    property_area: Area | None = None
    agency_units: dict[str, Area] = field(default_factory=dict)
    candidates: dict[str, list[str]] = field(default_factory=dict)
    nearest: dict[str, Any] | None = None
    body: dict[str, Any] | None = field(default=None, repr=False, compare=False)

    @property
    def ambiguous(self) -> bool:
        return bool(self.candidates)

    @property
    def inside(self) -> bool:
        return self.town is not None

    def as_dict(self) -> dict[str, Any]:
        """The JSON shape of ``GET /api/v1/resolve``."""
        return {"point": {"lon": self.lon, "lat": self.lat}, **(self.body or self.territory())}

    def territory(self) -> dict[str, Any]:
        """Everything of the answer but the point (the same for every point of one area set)."""
        return {
            "generation": self.generations,
            "town": self.town.brief() if self.town else None,
            "community": self.community.brief() if self.community else None,
            "property_area": self.property_area.brief() if self.property_area else None,
            "agency_units": {k: v.brief() for k, v in sorted(self.agency_units.items())},
            "ambiguous": self.ambiguous,
            "candidates": self.candidates,
        }


def generation_key(layer: str, agency: str) -> str:
    """``town``, ``community`` … or ``agency_unit:<agency>`` for one agency's units."""
    return f"{layer}:{agency}" if agency else layer


def generations_at(conn: Connection, *, at: datetime | None = None) -> dict[str, int]:
    """The generation of each layer valid at ``at`` (now when None)."""
    rows = conn.execute(text(GENERATIONS_AT), {"at": at}).all()
    return {generation_key(r.layer, r.agency): r.generation_id for r in rows}


def to_store_coordinates(
    lon: Any, lat: Any, crs: str | CoordSystem = CoordSystem.WGS84
) -> tuple[float, float]:
    """Validate one input point and convert it to the store's WGS-84/CGCS2000 lon, lat."""
    try:
        system = CoordSystem(crs)
    except ValueError as exc:
        allowed = ", ".join(c.value for c in CoordSystem)
        raise InvalidCoordinates(
            f"unknown coordinate system {crs!r}; use one of {allowed}"
        ) from exc
    try:
        x, y = float(lon), float(lat)
        validate_lonlat(x, y)
    except (TypeError, ValueError, CoordinateError) as exc:
        raise InvalidCoordinates(f"bad coordinates ({lon}, {lat}): {exc}") from exc
    if looks_swapped(x, y):
        raise InvalidCoordinates(
            f"({x}, {y}) lies outside China but ({y}, {x}) does not: "
            "give longitude first, then latitude"
        )
    wx, wy = to_wgs84(x, y, system)
    return float(wx), float(wy)


def _pick(cands: list[Area], preferred: set[str | None]) -> Area:
    return min(cands, key=lambda a: (a.code not in preferred, a.code))


def _assemble(lon: float, lat: float, gens: dict[str, int], areas: list[Area]) -> Resolution:
    by_layer: dict[str, list[Area]] = defaultdict(list)
    for area in areas:
        by_layer[generation_key(area.layer, area.agency)].append(area)
    res = Resolution(lon=lon, lat=lat, generations=gens)
    for key, cands in by_layer.items():
        if len(cands) > 1:
            res.candidates[key] = sorted(a.code for a in cands)
    if by_layer[Layer.property_area]:
        res.property_area = _pick(by_layer[Layer.property_area], set())
    if by_layer[Layer.community]:
        parent = {res.property_area.parent_code} if res.property_area else set()
        res.community = _pick(by_layer[Layer.community], parent)
    if by_layer[Layer.town]:
        parent = {res.community.parent_code} if res.community else set()
        res.town = _pick(by_layer[Layer.town], parent)
    for key, cands in by_layer.items():
        if key.startswith(Layer.agency_unit + ":"):
            res.agency_units[key.split(":", 1)[1]] = _pick(cands, set())
    return res


def index_at(
    conn: Connection, *, at: datetime | None = None
) -> tuple[dict[str, int], AreaIndex | None]:
    """The generations valid at ``at`` (asked of the database on every call, so an index is
    never used for a set of generations that is no longer the valid one) and their in-process
    index (None when no generation is valid then)."""
    rows = conn.execute(text(GENERATIONS_AT), {"at": at}).all()
    gens = {generation_key(r.layer, r.agency): r.generation_id for r in rows}
    if not gens:
        return gens, None
    return gens, area_index(conn, generation_ids=list(gens.values()), database=rows[0].db)


def territory_of(index: AreaIndex, gens: dict[str, int], answer: int) -> Resolution:
    """The resolution (without its point) of one answer id of ``index``."""
    return _assemble(0.0, 0.0, gens, [index.areas[i] for i in index.combos[answer]])


def resolve_points(
    conn: Connection,
    *,
    lons: Sequence[float] | np.ndarray,
    lats: Sequence[float] | np.ndarray,
    at: datetime | None = None,
    with_nearest: bool = True,
) -> list[Resolution]:
    """Resolve store-coordinate points (WGS-84) against the generations valid at ``at``."""
    gens, index = index_at(conn, at=at)
    xs = np.asarray(lons, dtype=float)
    ys = np.asarray(lats, dtype=float)
    if index is None or not len(xs):
        return [
            Resolution(lon=float(x), lat=float(y), generations=gens)
            for x, y in zip(xs.tolist(), ys.tolist(), strict=True)
        ]
    combos = index.covering(xs, ys)
    shared: dict[tuple[int, ...], Resolution] = {}  # one assembly per set of covering areas
    out = []
    for x, y, combo in zip(xs.tolist(), ys.tolist(), combos, strict=True):
        if combo not in shared:
            first = _assemble(0.0, 0.0, gens, [index.areas[i] for i in combo])
            shared[combo] = replace(first, body=first.territory())
        res = Resolution.__new__(Resolution)  # a cheap copy: ~10,000 per batch
        res.__dict__ = {**shared[combo].__dict__, "lon": x, "lat": y}
        out.append(res)
    outside = [i for i, combo in enumerate(combos) if not combo]
    if with_nearest and outside:
        for i, near in zip(outside, index.nearest_towns(xs[outside], ys[outside]), strict=True):
            if near is not None:
                out[i].nearest = {
                    "layer": "town",
                    "code": near[0].code,
                    "name": near[0].name,
                    "distance_m": round(near[1], 1),
                }
    return out


def resolve_one(
    conn: Connection, *, lon: Any, lat: Any, crs: str = "wgs84", at: datetime | None = None
) -> Resolution:
    """Resolve one input point; raise :class:`OutsideServiceArea` when no town covers it."""
    x, y = to_store_coordinates(lon, lat, crs)
    (res,) = resolve_points(conn, lons=[x], lats=[y], at=at)
    if not res.inside:
        raise outside_error(res)
    return res


def outside_error(res: Resolution) -> OutsideServiceArea:
    """The error for a point that no town covers, naming the nearest town."""
    where = f"({res.lon:.6f}, {res.lat:.6f})"
    if res.nearest:
        msg = (
            f"{where} is outside the service area; the nearest town is "
            f"{res.nearest['name']} ({res.nearest['code']}), "
            f"{res.nearest['distance_m']:.0f} m away"
        )
    else:
        msg = f"{where} is outside the service area (no town boundaries are loaded)"
    return OutsideServiceArea(msg, nearest=res.nearest)


LAYER_FEATURES = text("""
SELECT json_build_object(
  'type', 'FeatureCollection',
  'generation', CAST(:gen AS int),
  'features', COALESCE(json_agg(f.feature ORDER BY f.code), '[]'::json))::text
FROM (
  SELECT b.code, json_build_object(
    'type', 'Feature', 'id', b.code,
    'geometry', ST_AsGeoJSON(
        CASE WHEN CAST(:tol AS float8) > 0
             THEN ST_SimplifyPreserveTopology(b.geom, CAST(:tol AS float8)) ELSE b.geom END,
        7)::json,
    'properties', json_strip_nulls(json_build_object(
        'code', b.code, 'name', b.name, 'name_en', NULLIF(b.name_en, ''), 'layer', b.layer,
        'agency', NULLIF(b.agency, ''), 'kind', b.kind, 'parent_code', b.parent_code,
        'property_company', b.property_company, 'owners_committee', b.owners_committee,
        'households', b.households))) AS feature
  FROM boundary b
  WHERE b.generation_id = :gen
    AND (CAST(:xmin AS float8) IS NULL
         OR b.geom && ST_MakeEnvelope(:xmin, :ymin, :xmax, :ymax, 4326))
  ORDER BY b.code
  LIMIT :cap
) f
""")

LAYER_COUNT = text("""
SELECT count(*) FROM boundary b
WHERE b.generation_id = :gen
  AND (CAST(:xmin AS float8) IS NULL OR b.geom && ST_MakeEnvelope(:xmin, :ymin, :xmax, :ymax, 4326))
""")


def simplify_tolerance(zoom: int | None) -> float:
    """Half a screen pixel at web-map ``zoom``, in degrees (0 = no simplification)."""
    if zoom is None or zoom >= 18:
        return 0.0
    return 360.0 / (256 * 2.0**zoom) / 2


def layer_geojson(
    conn: Connection,
    *,
    layer: str,
    agency: str = "",
    bbox: tuple[float, float, float, float] | None = None,
    at: datetime | None = None,
    zoom: int | None = None,
    cap: int = 5000,
) -> str:
    """A layer's boundaries valid at ``at`` as GeoJSON text, simplified for ``zoom``."""
    from jurisdictions.exceptions import NoActiveGeneration, TooManyFeatures

    key = generation_key(layer, agency)
    gen = generations_at(conn, at=at).get(key)
    if gen is None:
        raise NoActiveGeneration(f"layer {key} has no active generation at that time")
    xmin, ymin, xmax, ymax = bbox if bbox else (None, None, None, None)
    params = {"gen": gen, "xmin": xmin, "ymin": ymin, "xmax": xmax, "ymax": ymax}
    count = conn.execute(LAYER_COUNT, params).scalar_one()
    if count > cap:
        raise TooManyFeatures(
            f"{count} features of {key} in that view, more than {cap}; zoom in or pass a bbox",
            count=count,
            cap=cap,
        )
    return str(
        conn.execute(
            LAYER_FEATURES, params | {"tol": simplify_tolerance(zoom), "cap": cap}
        ).scalar_one()
    )


AREA_NAMES = text("""
SELECT b.code, b.name FROM boundary b
WHERE b.generation_id = ANY(CAST(:gens AS int[])) AND b.layer = ANY(CAST(:layers AS text[]))
""")


def area_names(
    conn: Connection, *, layers: tuple[str, ...] = ("town", "community")
) -> dict[str, str]:
    """Code → name of the active areas of ``layers`` (for lists that show places by name)."""
    active = generations_at(conn)
    gens = [active[k] for k in layers if k in active]
    if not gens:
        return {}
    rows = conn.execute(AREA_NAMES, {"gens": gens, "layers": list(layers)})
    return {str(r.code): str(r.name) for r in rows}


LATEST_NAME = text("""SELECT name FROM boundary WHERE layer = :l AND code = :c
                      ORDER BY generation_id DESC LIMIT 1""")


def latest_area_name(conn: Connection, *, layer: str, code: str) -> str | None:
    """The name of area ``code`` of ``layer`` in its latest generation (active or not), or None
    when no generation has it (the public feeds and follows of an area name it so)."""
    name = conn.execute(LATEST_NAME, {"l": layer, "c": code}).scalar()
    return None if name is None else str(name)
