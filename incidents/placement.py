"""Placement: where a case is and who handles it — the one path from a point to the case's
territorial columns and routing.

A point is converted and validated once (:func:`store_point`, any supported CRS → the store's
WGS-84/CGCS2000 lon, lat); :func:`place` resolves it against the boundary generations valid
at a time (now by default) and hands the resolution to :func:`placed`, the per-(areas, type)
mapping that routes it and assembles the columns. Intake, Open311, the location and type
corrections and the route preview call :func:`place`; the set-based re-resolve on activation
and the vectorised history import resolve in bulk and call :func:`placed` once per distinct
(areas, type) pair.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from gis.coords import CoordSystem
from jurisdictions import catalog
from jurisdictions.handler_rules import Routing, route
from jurisdictions.service import Resolution, outside_error, resolve_points, to_store_coordinates

#: The columns of ``case_file`` that follow from the place and the type (besides lon, lat).
TERRITORIAL = (
    "town_code",
    "community_code",
    "property_area_code",
    "property_company",
    "agency_units",
    "handler_party",
    "handler_unit_code",
    "handler_name",
    "routing",
    "generations",
)


@dataclass(frozen=True)
class StorePoint:
    """A validated point in store coordinates; ``crs`` is the system it was given in."""

    lon: float
    lat: float
    crs: CoordSystem = CoordSystem.WGS84


def store_point(lon: Any, lat: Any, crs: str | CoordSystem = CoordSystem.WGS84) -> StorePoint:
    """Validate an input point and convert it to store coordinates (the only conversion on
    the intake path); :class:`~jurisdictions.exceptions.InvalidCoordinates` when it is bad."""
    x, y = to_store_coordinates(lon, lat, crs)
    return StorePoint(x, y, CoordSystem(crs))


@dataclass(frozen=True)
class Placement:
    """A resolved, routed point: the resolution, the routing and the case columns."""

    resolution: Resolution
    routing: Routing
    columns: dict[str, Any]

    @property
    def handler_name(self) -> str:
        return str(self.columns["handler_name"])

    @property
    def reasons_zh(self) -> list[str]:
        return [r.zh for r in self.routing.reasons]


def placed(res: Resolution, *, vtype: Any, agencies: Mapping[str, Any]) -> Placement:
    """Route a resolution for a violation type and assemble the case's columns (``lon``,
    ``lat`` and :data:`TERRITORIAL`); ``routing`` as JSON-ready data."""
    outcome = route(resolution=res, vtype=vtype, agencies=agencies)
    unit = outcome.handler.unit or {}
    pa = res.property_area
    columns = {
        "lon": res.lon,
        "lat": res.lat,
        "town_code": res.town.code if res.town else None,
        "community_code": res.community.code if res.community else None,
        "property_area_code": pa.code if pa else None,
        "property_company": (pa.property_company or None) if pa else None,
        "agency_units": {k: v.code for k, v in res.agency_units.items()},
        "handler_party": outcome.handler.party,
        "handler_unit_code": unit.get("code"),
        "handler_name": f"{outcome.handler.name} {unit.get('name', '')}".strip(),
        "routing": outcome.model_dump(mode="json"),
        "generations": res.generations,
    }
    return Placement(res, outcome, columns)


def place(
    conn: Connection,
    *,
    point: StorePoint,
    vtype: Any,
    agencies: Mapping[str, Any],
    at: datetime | None = None,
) -> Placement:
    """Resolve a store point as of ``at`` (now when None) and place it for ``vtype``;
    :class:`~jurisdictions.exceptions.OutsideServiceArea` when no town covers it."""
    (res,) = resolve_points(conn, lons=[point.lon], lats=[point.lat], at=at)
    if not res.inside:
        raise outside_error(res)
    return placed(res, vtype=vtype, agencies=agencies)


def preview(
    conn: Connection,
    *,
    lon: Any,
    lat: Any,
    crs: str | CoordSystem,
    type_code: str,
    at: datetime | None = None,
) -> Routing:
    """What would happen to a report of ``type_code`` here (``GET /api/v1/route``)."""
    vtype, agencies = catalog.type_and_agencies(conn, code=type_code)
    point = store_point(lon, lat, crs)
    return place(conn, point=point, vtype=vtype, agencies=agencies, at=at).routing
