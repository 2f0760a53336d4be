"""HTTP routes of the jurisdictions domain: thin wrappers over the service layer."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import orjson
from fastapi import APIRouter, Depends, Query, Response
from sqlalchemy import Connection

from gis.coords import CoordSystem
from jurisdictions import batch, generations, service
from jurisdictions.exceptions import InvalidCoordinates, TooManyPoints
from jurisdictions.schemas import BatchIn, BatchOut, ErrorOut, GenerationOut, ResolveOut
from shudi.database import db_connection
from shudi.settings import get_settings

router = APIRouter(prefix="/api/v1", tags=["jurisdictions"])
Conn = Annotated[Connection, Depends(db_connection)]


def json_response(payload: object, status_code: int = 200) -> Response:
    """Serialise with orjson (fast for large answers)."""
    return Response(orjson.dumps(payload), status_code=status_code, media_type="application/json")


@router.get(
    "/resolve",
    response_model=ResolveOut,
    responses={422: {"model": ErrorOut, "description": "outside or bad coordinates"}},
)
def resolve(
    conn: Conn,
    lon: Annotated[float, Query(description="Longitude (x) in `crs`.")],
    lat: Annotated[float, Query(description="Latitude (y) in `crs`.")],
    crs: CoordSystem = CoordSystem.WGS84,
    at: datetime | None = None,
) -> Response:
    """Whose territory (属地) a point is in: town, community, property area, agency units."""
    return json_response(service.resolve_one(conn, lon=lon, lat=lat, crs=crs, at=at).as_dict())


@router.post("/resolve/batch", response_model=BatchOut)
def resolve_batch(conn: Conn, body: BatchIn) -> Response:
    """Resolve many points in one call; a bad or outside point gets its own error entry."""
    cap = get_settings().batch_max_points
    if len(body.points) > cap:
        raise TooManyPoints(f"{len(body.points)} points in one batch; at most {cap}", cap=cap)
    return json_response(batch.resolve_batch(conn, points=body.points, crs=body.crs, at=body.at))


@router.get("/layers", response_model=list[GenerationOut])
def list_layers(conn: Conn) -> Response:
    """Every boundary generation with its counts and validity periods."""
    return json_response(generations.list_generations(conn))


@router.get(
    "/layers/{layer}.geojson",
    response_class=Response,
    responses={200: {"content": {"application/geo+json": {}}}},
)
def layer_geojson(
    conn: Conn,
    layer: str,
    agency: str = "",
    bbox: Annotated[str | None, Query(description="xmin,ymin,xmax,ymax in WGS-84")] = None,
    at: datetime | None = None,
    zoom: Annotated[int | None, Query(ge=0, le=22)] = None,
) -> Response:
    """A layer's boundaries (valid at ``at``) as GeoJSON, simplified for ``zoom``."""
    lay, agency = generations.check_layer(layer, agency)
    body = service.layer_geojson(
        conn,
        layer=lay.value,
        agency=agency,
        bbox=parse_bbox(bbox) if bbox else None,
        at=at,
        zoom=zoom,
        cap=get_settings().layer_max_features,
    )
    return Response(body, media_type="application/geo+json")


def parse_bbox(raw: str) -> tuple[float, float, float, float]:
    """``xmin,ymin,xmax,ymax`` → a tuple, with a clear error for anything else."""
    try:
        xmin, ymin, xmax, ymax = (float(v) for v in raw.split(","))
    except ValueError as exc:
        raise InvalidCoordinates(f"bbox must be xmin,ymin,xmax,ymax; got {raw!r}") from exc
    if not (-180 <= xmin < xmax <= 180 and -90 <= ymin < ymax <= 90):
        raise InvalidCoordinates(f"bbox {raw!r} is empty or out of range (lon first, then lat)")
    return xmin, ymin, xmax, ymax
