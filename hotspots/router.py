"""HTTP route of hot-spot analysis. Thin: the service reads and caches, ``analysis`` computes.

The route is a plain ``def``: FastAPI runs it in its thread pool, so a long analysis never
blocks the event loop.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Response
from sqlalchemy import Connection

from accounts.service import Principal
from hotspots import export, readable, service
from hotspots.access import analyst, scoped
from hotspots.analysis import png_bounds
from hotspots.schemas import HotspotQuery
from shudi.database import db_connection
from shudi.read_replica import read_db
from shudi.settings import get_settings

router = APIRouter(prefix="/api/v1", tags=["hotspots"])
Conn = Annotated[Connection, Depends(db_connection, scope="function")]
#: Analyses read the cases from a replica when it is fresh enough (shudi.read_replica.ReadRouter)
#: and store their answers on the primary.
ReadConn = Annotated[Connection, Depends(read_db, scope="function")]


def _answer(conn: Connection, reads: Connection, query: HotspotQuery) -> service.Outcome:
    settings = get_settings()
    outcome = service.hotspots(
        reads,
        writer=conn,
        query=query,
        min_count=settings.hotspot_min_count,
        processes=settings.hotspot_processes,
        memory_mb=settings.hotspot_memory_mb,
        timeout_s=settings.hotspot_timeout_s,
    )
    answer = readable.small_sample(outcome.answer, min_cases=settings.hotspot_min_cases)
    return service.Outcome(answer, cached=outcome.cached, stamp=outcome.stamp)


@router.get(
    "/hotspots",
    response_model=None,
    responses={
        200: {
            "description": "Cells with their statistics (GeoJSON), or a density surface "
            "(JSON with a PNG and its bounds; the PNG itself with format=png).",
            "content": {"application/geo+json": {}, "application/json": {}, "image/png": {}},
        }
    },
)
def hotspots(
    conn: Conn,
    reads: ReadConn,
    who: Annotated[Principal, Depends(analyst)],
    query: Annotated[HotspotQuery, Query()],
) -> Response:
    """Cases aggregated per cell with a hot-spot statistic (GeoJSON), or a density surface
    (JSON with a PNG and its bounds, or the PNG itself with ``format=png``)."""
    query = scoped(who, query)
    outcome = _answer(conn, reads, query)
    headers = {
        "X-Hotspot-Cache": "hit" if outcome.cached else "miss",
        "Cache-Control": "private, no-store",
    }
    if outcome.answer.media_type == "image/png":
        headers["X-Hotspot-Bounds"] = png_bounds(outcome.answer.body)
    return Response(outcome.answer.body, media_type=outcome.answer.media_type, headers=headers)


@router.get(
    "/hotspots.{kind}",
    response_model=None,
    responses={
        200: {
            "description": "The cells as a download.",
            "content": {media: {} for media in export.MEDIA_TYPES.values()},
        }
    },
)
def hotspots_file(
    conn: Conn,
    reads: ReadConn,
    who: Annotated[Principal, Depends(analyst)],
    kind: Literal["geojson", "gpkg", "csv"],
    query: Annotated[HotspotQuery, Query()],
) -> Response:
    """The same cells as a download: GeoJSON, GeoPackage or CSV (cell maps, not the density)."""
    query = scoped(who, query)
    outcome = _answer(conn, reads, query)
    name = f"hotspots-{query.method.value}-{query.grid.replace(':', '-')}.{kind}"
    return Response(
        export.convert(outcome.answer.body, kind),
        media_type=export.MEDIA_TYPES[kind],
        headers={
            "Content-Disposition": f'attachment; filename="{name}"',
            "Cache-Control": "private, no-store",
        },
    )


@router.get("/hotspots/cells/{cell}")
def hotspot_cell_cases(
    conn: Conn,
    who: Annotated[Principal, Depends(analyst)],
    cell: str,
    query: Annotated[HotspotQuery, Query()],
) -> dict[str, Any]:
    """The cases inside one cell of the analysis ``query`` (id, type, status, report time),
    limited to the caller's scope (a coordinator: its own town)."""
    settings = get_settings()
    return readable.cell_cases(
        conn,
        query=scoped(who, query),
        cell=cell,
        min_count=settings.hotspot_min_count,
        processes=settings.hotspot_processes,
    )


@router.get(
    "/hotspots/density.{kind}",
    response_model=None,
    responses={200: {"content": {"image/png": {}, "image/tiff": {}}}},
)
def hotspot_density_file(
    conn: Conn,
    who: Annotated[Principal, Depends(analyst)],
    kind: Literal["png", "tif"],
    query: Annotated[HotspotQuery, Query()],
) -> Response:
    """The density surface as a download: PNG (the map's picture) or GeoTIFF (cases per km²)."""
    query = scoped(who, query)
    body = readable.density_file(
        conn, query=query, min_count=get_settings().hotspot_min_count, kind=kind
    )
    return Response(
        body,
        media_type="image/png" if kind == "png" else "image/tiff",
        headers={
            "Content-Disposition": f'attachment; filename="hotspots-density.{kind}"',
            "Cache-Control": "private, no-store",
        },
    )
