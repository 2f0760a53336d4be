"""HTTP routes of the jurisdictions domain: thin wrappers over the service layer."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError
from sqlalchemy import Connection

from gis.coords import CoordSystem
from jurisdictions import batch, catalog, directory, generations, service
from jurisdictions.answer_gzip import gzip_answer
from jurisdictions.batch_body import parse_batch
from jurisdictions.bbox import parse_bbox
from jurisdictions.exceptions import TooManyPoints
from jurisdictions.schemas import BatchIn, BatchOut, GenerationOut, PointErrorOut, ResolveOut
from shudi.database import db_connection, db_reader, reader_factory
from shudi.read_replica import read_db
from shudi.responses import json_response
from shudi.settings import get_settings

router = APIRouter(prefix="/api/v1", tags=["jurisdictions"])
Conn = Annotated[Connection, Depends(db_connection, scope="function")]
#: Read-only lookups run without a transaction around them.
Reader = Annotated[Connection, Depends(db_reader, scope="function")]
#: Boundary layers tolerate a replica's lag (shudi.read_replica.ReadRouter): after an activation
#: a replica serves the old generation for at most SHUDI_READ_MAX_LAG_S.
ReadConn = Annotated[Connection, Depends(read_db, scope="function")]
#: For the hottest route: the route opens the connection in its own thread-pool call.
Opener = Annotated[Callable[[], AbstractContextManager[Connection]], Depends(reader_factory)]


@router.get(
    "/resolve",
    response_model=ResolveOut,
    responses={422: {"model": PointErrorOut, "description": "outside or bad coordinates"}},
)
async def resolve(
    opener: Opener,
    lon: Annotated[float, Query(description="Longitude (x) in `crs`.")],
    lat: Annotated[float, Query(description="Latitude (y) in `crs`.")],
    crs: CoordSystem = CoordSystem.WGS84,
    at: datetime | None = None,
) -> Response:
    """Whose territory (属地) a point is in: town, community, property area, agency units."""

    def work() -> dict[str, Any]:
        with opener() as conn:
            return service.resolve_one(conn, lon=lon, lat=lat, crs=crs, at=at).as_dict()

    return json_response(await run_in_threadpool(work))


#: Answers from this size on are gzip-compressed when the client accepts it (as the app's
#: GZip middleware does).
GZIP_FROM = 2048


def _batch_body_schema() -> dict[str, Any]:
    schema = BatchIn.model_json_schema(ref_template="#/components/schemas/{model}")
    schema.pop("$defs", None)  # CoordSystem is in the components already (GET /resolve)
    return {"required": True, "content": {"application/json": {"schema": schema}}}


@router.post(
    "/resolve/batch",
    response_model=BatchOut,
    openapi_extra={"requestBody": _batch_body_schema()},
)
async def resolve_batch(request: Request, opener: Opener) -> Response:
    """Resolve many points in one call; a bad or outside point gets its own error entry."""
    # The body is read straight from its bytes into an array (plain numbers), or validated by
    # pydantic's JSON parser (anything else): several times faster for 10,000 points than the
    # default parse into Python objects first.
    try:
        body = parse_batch(await request.body())
    except ValidationError as exc:
        errors = exc.errors(include_url=False)
        raise RequestValidationError([{**e, "loc": ("body", *e["loc"])} for e in errors]) from None
    cap = get_settings().batch_max_points
    if len(body.points) > cap:
        raise TooManyPoints(f"{len(body.points)} points in one batch; at most {cap}", cap=cap)

    gzip = "gzip" in request.headers.get("accept-encoding", "")

    def work() -> Response:
        with opener() as conn:
            answer = batch.resolve_batch_json(conn, points=body.points, crs=body.crs, at=body.at)
        if not gzip or len(answer) < GZIP_FROM:
            return Response(answer, media_type="application/json")
        # compressed here, in the worker thread, with zlib-ng (about 8x faster than the
        # GZip middleware's zlib on these answers, which it then passes through as they are),
        # a large answer in two halves at once
        return Response(
            gzip_answer(answer),
            media_type="application/json",
            headers={"Content-Encoding": "gzip", "Vary": "Accept-Encoding"},
        )

    return await run_in_threadpool(work)


@router.get("/layers", response_model=list[GenerationOut])
def list_layers(conn: ReadConn) -> Response:
    """Every boundary generation with its counts and validity periods."""
    return json_response(generations.list_generations(conn))


@router.get(
    "/layers/{layer}.geojson",
    response_class=Response,
    responses={200: {"content": {"application/geo+json": {}}}},
)
def layer_geojson(
    conn: ReadConn,
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


@router.get("/agencies", tags=["linkage"])
def list_agencies(conn: Conn) -> Response:
    """The parties of the linkage mechanism with their duties (section 二 of the text)."""
    return json_response(catalog.list_agencies(conn))


@router.get("/violation-types", tags=["linkage"])
def list_violation_types(
    conn: Conn,
    reportable: bool | None = None,
    agency: str | None = None,
    scope: str | None = None,
    q: Annotated[
        str | None,
        Query(max_length=200, description="A word or a whole sentence in everyday Chinese."),
    ] = None,
    audience: Annotated[
        str,
        Query(
            description="`resident` (default): with `q`, never mediation types or "
            "non-reportable duties; `staff`: every type."
        ),
    ] = "resident",
) -> Response:
    """The violation taxonomy: who handles what, citing the text (``source_ref``), with each
    type's plain name, categories and numbers to call first; with ``q``, the matching types
    best first."""
    return json_response(
        catalog.search_types(
            conn, q=q, audience=audience, reportable=reportable, agency=agency, scope=scope
        )
    )


@router.get("/directory", tags=["linkage"])
def directory_here(
    conn: Conn,
    lon: float,
    lat: float,
    crs: CoordSystem = CoordSystem.WGS84,
    type: Annotated[
        str | None, Query(description="A violation type: its agency is listed early.")
    ] = None,
) -> Response:
    """Every party responsible at this place by who to call first (the estate's company, the
    community, the town, the agency of ``type``), its utilities and the emergency numbers."""
    return json_response(
        directory.directory_for_point(conn, lon=lon, lat=lat, crs=crs, type_code=type)
    )


@router.get("/directory/{property_area_code}", tags=["linkage"])
def directory_of_estate(conn: Conn, property_area_code: str, type: str | None = None) -> Response:
    """The responsibility directory of one property management area."""
    return json_response(
        directory.directory_for_property_area(conn, code=property_area_code, type_code=type)
    )
