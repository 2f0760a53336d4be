"""Which collections the OGC API offers, and what each one is.

* ``town``, ``community``, ``property_area`` and ``agency_unit-<agency>`` (one per agency with
  units): a boundary layer. Its items are the active generation's; ``generation=N`` reads any
  generation of the layer and ``datetime`` the generations valid then (public).
* ``places`` (the gazetteer's addresses and points of interest) and ``roads`` (its roads),
  when a gazetteer is loaded (public).
* ``cases``: staff only, each role's own cases (``incidents.access``), no personal data.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, text

from accounts.service import Principal
from incidents import access
from incidents.queries import CASE_ROWS
from ogc import crs
from ogc.exceptions import CollectionNotFound

AGENCY_PREFIX = "agency_unit-"
BOUNDARY_QUERYABLES = ("code", "name", "parent_code")
PLACE_QUERYABLES = ("code", "name", "kind")
CASE_QUERYABLES = ("status", "type", "agency", "town", "community", "property_area")
LAYER_TITLES = {
    "town": ("镇/街道", "Towns and subdistricts"),
    "community": ("社区居委会/村委会", "Community and village committees"),
    "property_area": ("物业管理区域", "Property management areas (estates)"),
}


@dataclass(frozen=True)
class Collection:
    """One collection: its id, titles, extent and what its items may be filtered by."""

    id: str
    kind: str  # boundary | places | roads | cases
    title: str
    description: str
    geometry: str  # the OGC geometry type of every item
    queryables: tuple[str, ...]
    bbox: tuple[float, float, float, float] | None = None  # CRS84
    interval: tuple[datetime | None, datetime | None] | None = None
    layer: str = ""
    agency: str = ""
    active_generation: int | None = None
    generations: list[dict[str, Any]] = field(default_factory=list)


#: Every boundary generation, with its layer's key, periods and extent.
BOUNDARY_GENERATIONS = text("""
SELECT g.id, g.layer, g.agency, g.feature_count, g.created_at,
       COALESCE(a.name_zh, '') AS agency_name, COALESCE(a.name_en, '') AS agency_name_en,
       bool_or(p.id IS NOT NULL AND p.valid_to IS NULL) AS active,
       COALESCE(json_agg(json_build_object('from', p.valid_from, 'to', p.valid_to)
                         ORDER BY p.valid_from) FILTER (WHERE p.id IS NOT NULL), '[]') AS periods,
       min(p.valid_from) AS first_from,
       CASE WHEN :extent THEN (SELECT ST_Extent(b.geom)::box2d::text FROM boundary b
                               WHERE b.generation_id = g.id) END AS extent
FROM boundary_generation g
LEFT JOIN generation_period p ON p.generation_id = g.id
LEFT JOIN agency a ON a.code = g.agency
GROUP BY g.id, a.name_zh, a.name_en
ORDER BY g.layer, g.agency, g.id
""")

#: The gazetteer's points and lines (rows of a dataset, not names of boundaries).
GAZETTEER = text("""
SELECT (GeometryType(p.geom) = 'POINT') AS points, ST_Extent(p.geom)::box2d::text AS extent
FROM place p WHERE p.dataset IS NOT NULL
GROUP BY 1
""")
#: Whether the gazetteer has points / lines, without their extent (for items requests).
GAZETTEER_KINDS = text("""
SELECT points, NULL AS extent FROM (VALUES (true), (false)) k(points)
WHERE EXISTS (SELECT 1 FROM place p WHERE p.dataset IS NOT NULL
              AND (GeometryType(p.geom) = 'POINT') = k.points)
""")

#: The extent in space and time of the cases a role sees (``{where}``: its visibility).
CASE_EXTENT = """
SELECT ST_Extent(c.geom)::box2d::text AS extent, min(c.created_at) AS first,
       max(c.created_at) AS last
FROM {cases} WHERE {where}
"""


def _box(extent: str | None) -> tuple[float, float, float, float] | None:
    """``BOX(x1 y1,x2 y2)`` → ``(x1, y1, x2, y2)``."""
    if not extent:
        return None
    inner = extent[extent.index("(") + 1 : extent.rindex(")")]
    (x1, y1), (x2, y2) = (tuple(map(float, c.split())) for c in inner.split(","))
    return x1, y1, x2, y2


def _boundary_collections(conn: Connection, *, extent: bool = True) -> list[Collection]:
    keys: dict[tuple[str, str], list[Any]] = {}
    for row in conn.execute(BOUNDARY_GENERATIONS, {"extent": extent}).mappings():
        keys.setdefault((row["layer"], row["agency"]), []).append(row)
    found = []
    for (layer, agency), rows in keys.items():
        active = next((r for r in rows if r["active"]), None)
        if agency:
            cid = AGENCY_PREFIX + agency
            zh, en = rows[0]["agency_name"] or agency, rows[0]["agency_name_en"] or agency
            title, description = f"{zh}辖区", f"Field units of {en} ({agency})"
        else:
            cid = layer
            title, description = LAYER_TITLES.get(layer, (layer, layer))
        found.append(
            Collection(
                id=cid,
                kind="boundary",
                title=title,
                description=f"{description}: the active generation; generation=N reads any "
                "of those listed in 'generations', datetime the generations valid then",
                geometry="multipolygon",
                queryables=BOUNDARY_QUERYABLES,
                bbox=_box(active["extent"]) if active else None,
                interval=(
                    min((r["first_from"] for r in rows if r["first_from"]), default=None),
                    None,
                ),
                layer=layer,
                agency=agency,
                active_generation=active["id"] if active else None,
                generations=[
                    {
                        "id": r["id"],
                        "active": bool(r["active"]),
                        "features": r["feature_count"],
                        "imported": r["created_at"],
                        "periods": r["periods"],
                    }
                    for r in rows
                ],
            )
        )
    order = ("town", "community", "property_area", "agency_unit")
    return sorted(found, key=lambda c: (order.index(c.layer) if c.layer in order else 9, c.id))


def _gazetteer_collections(conn: Connection, *, extent: bool = True) -> list[Collection]:
    found = []
    for row in conn.execute(GAZETTEER if extent else GAZETTEER_KINDS).mappings():
        points = bool(row["points"])
        found.append(
            Collection(
                id="places" if points else "roads",
                kind="places" if points else "roads",
                title="地名地址（门牌、兴趣点）" if points else "道路",
                description=(
                    "The gazetteer's addresses and points of interest"
                    if points
                    else "The gazetteer's roads"
                ),
                geometry="point" if points else "linestring",
                queryables=PLACE_QUERYABLES,
                bbox=_box(row["extent"]),
            )
        )
    return sorted(found, key=lambda c: c.id)


def cases_collection(conn: Connection, principal: Principal, *, extent: bool = True) -> Collection:
    """The ``cases`` collection as ``principal`` sees it (its extent is that of its cases,
    computed only when ``extent``)."""
    where, params = access.visibility(principal)
    row: Any = {"extent": None, "first": None, "last": None}
    if extent:
        row = (
            conn.execute(text(CASE_EXTENT.format(cases=CASE_ROWS, where=where)), params)
            .mappings()
            .one()
        )
    return Collection(
        id="cases",
        kind="cases",
        title="案件",
        description="Reported cases the logged-in user may see: place, type, status, handler "
        "and times (no reporter, no description). datetime selects by reporting time.",
        geometry="point",
        queryables=CASE_QUERYABLES,
        bbox=_box(row["extent"]),
        interval=(row["first"], row["last"]),
    )


def sees_cases(principal: Principal | None) -> bool:
    """Does this caller get a ``cases`` collection (a staff role that sees cases at their exact
    place)? Roles whose maps show places coarsened (planners, administrators:
    ``access.COORDINATE_DIGITS``) get none: a feature service gives exact points."""
    return (
        principal is not None
        and principal.role not in access.COORDINATE_DIGITS
        and access.visibility(principal)[0] != "FALSE"
    )


def collections(conn: Connection, principal: Principal | None) -> list[Collection]:
    """Every collection this caller may know of: the public ones, and ``cases`` for staff."""
    found = _boundary_collections(conn) + _gazetteer_collections(conn)
    if principal is not None and sees_cases(principal):
        found.append(cases_collection(conn, principal))
    return found


def public_collection(conn: Connection, collection_id: str, *, extent: bool = True) -> Collection:
    """A public collection by id (without its extent, which costs a scan, unless
    ``extent``); :class:`CollectionNotFound` otherwise."""
    if collection_id in ("places", "roads"):
        candidates = _gazetteer_collections(conn, extent=extent)
    else:
        candidates = _boundary_collections(conn, extent=extent)
    for found in candidates:
        if found.id == collection_id:
            return found
    raise CollectionNotFound(f"no collection {collection_id!r}; see /ogc/collections")


GK_LON = text("""
SELECT (ST_XMin(e) + ST_XMax(e)) / 2 FROM (
  SELECT ST_Extent(b.geom) AS e FROM boundary b
  JOIN generation_period p ON p.generation_id = b.generation_id AND p.valid_to IS NULL
  WHERE b.layer = 'town') x
""")


def district_gk_epsg(conn: Connection) -> int | None:
    """The district's Gauss-Krüger zone: that of the centre of its active towns (None before
    any town is imported)."""
    lon = conn.execute(GK_LON).scalar_one_or_none()
    return crs.gauss_kruger_epsg(float(lon)) if lon is not None else None
