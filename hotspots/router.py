"""HTTP route of hot-spot analysis. Thin: the service reads and caches, ``analysis`` computes.

The route is a plain ``def``: FastAPI runs it in its thread pool, so a long analysis never
blocks the event loop.
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Response
from sqlalchemy import Connection

from accounts.exceptions import Forbidden
from accounts.models import Role
from accounts.router import CurrentPrincipal
from accounts.service import Principal
from hotspots import export, service
from hotspots.analysis import png_bounds
from hotspots.schemas import HotspotQuery
from shudi.database import db_connection
from shudi.settings import get_settings

router = APIRouter(prefix="/api/v1", tags=["hotspots"])
Conn = Annotated[Connection, Depends(db_connection, scope="function")]

#: Who may run analyses: they see aggregates only, never cases or people. A town coordinator
#: analyses its own town only.
ANALYST_ROLES = frozenset({Role.planner, Role.admin, Role.dispatcher, Role.town_coordinator})


def analyst(principal: CurrentPrincipal) -> Principal:
    """The current user, when its role may run hot-spot analyses; 403 otherwise."""
    if principal.role not in ANALYST_ROLES:
        raise Forbidden(
            "hot-spot analysis is for planners, administrators, dispatchers and town coordinators"
        )
    return principal


def scoped(principal: Principal, query: HotspotQuery) -> HotspotQuery:
    """The query limited to what ``principal`` may analyse (a coordinator: its own town)."""
    if principal.role is not Role.town_coordinator:
        return query
    if query.town not in (None, principal.town_code):
        raise Forbidden("a town coordinator analyses its own town only")
    return query.model_copy(update={"town": principal.town_code})


def _answer(conn: Connection, query: HotspotQuery) -> service.Outcome:
    settings = get_settings()
    return service.hotspots(
        conn,
        query=query,
        min_count=settings.hotspot_min_count,
        processes=settings.hotspot_processes,
        memory_mb=settings.hotspot_memory_mb,
        timeout_s=settings.hotspot_timeout_s,
    )


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
    who: Annotated[Principal, Depends(analyst)],
    query: Annotated[HotspotQuery, Query()],
) -> Response:
    """Cases aggregated per cell with a hot-spot statistic (GeoJSON), or a density surface
    (JSON with a PNG and its bounds, or the PNG itself with ``format=png``)."""
    query = scoped(who, query)
    outcome = _answer(conn, query)
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
    who: Annotated[Principal, Depends(analyst)],
    kind: Literal["geojson", "gpkg", "csv"],
    query: Annotated[HotspotQuery, Query()],
) -> Response:
    """The same cells as a download: GeoJSON, GeoPackage or CSV (cell maps, not the density)."""
    query = scoped(who, query)
    outcome = _answer(conn, query)
    name = f"hotspots-{query.method.value}-{query.grid.replace(':', '-')}.{kind}"
    return Response(
        export.convert(outcome.answer.body, kind),
        media_type=export.MEDIA_TYPES[kind],
        headers={
            "Content-Disposition": f'attachment; filename="{name}"',
            "Cache-Control": "private, no-store",
        },
    )
