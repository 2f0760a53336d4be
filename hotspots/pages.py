"""The planner's hot-spot map page (``/map/hotspots``). Thin: data from the services, HTML from
:mod:`webmap.pages.hotspots`, libraries localised to ``/static/vendor``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import Connection

from accounts.router import page_principal
from accounts.service import Principal
from hotspots import service
from hotspots.access import ANALYST_ROLES
from jurisdictions import boundary_tiles, catalog
from jurisdictions import service as territory
from jurisdictions.exceptions import NoActiveGeneration, TooManyFeatures
from shudi.database import db_connection
from shudi.settings import get_settings
from webmap.assets import localize
from webmap.basemaps import Basemap, basemap_from_settings
from webmap.pages import hotspots as page
from webmap.pages.common import TILED_LAYERS, lang_of

page_router = APIRouter(include_in_schema=False, tags=["pages"])
Conn = Annotated[Connection, Depends(db_connection, scope="function")]
BOUNDARY_ZOOM = 14


def _basemap() -> Basemap:
    s = get_settings()
    local = s.basemap.strip().lower() == "local"
    return basemap_from_settings(
        s.basemap, s.basemap_url, s.tianditu_key, s.basemap_crs if local else None
    )


def _tiles(conn: Connection, basemap: Basemap) -> dict[str, str]:
    """The active layers' vector tile URLs (none on a GCJ-02 basemap: the maps keep GeoJSON)."""
    return {} if basemap.shifts else boundary_tiles.tile_urls(conn)


def _boundaries(conn: Connection, tiles: Mapping[str, str]) -> dict[str, Any]:
    out = {}
    for layer in ("town", "community"):
        if layer in tiles and layer in TILED_LAYERS:
            continue  # drawn from its vector tiles
        try:
            text = territory.layer_geojson(
                conn, layer=layer, zoom=BOUNDARY_ZOOM, cap=get_settings().layer_max_features
            )
        except (NoActiveGeneration, TooManyFeatures):
            continue
        out[layer] = orjson.loads(text)
    return out


@page_router.get(page.PATH, response_model=None)
def hotspot_map(
    request: Request,
    conn: Conn,
    lang: Annotated[str | None, Query(description="`en` for English")] = None,
) -> Response:
    """The hot-spot map for planners (and administrators, dispatchers); others get a 403 page
    and a visitor who is not logged in is sent to the log-in page."""
    language = lang_of(lang)
    principal = page_principal(
        request, conn, here=page.PATH + ("?lang=en" if language == "en" else "")
    )
    if not isinstance(principal, Principal):
        return principal
    user = {
        "username": principal.username,
        "role": principal.role.value,
        "town_code": principal.town_code,
    }
    if principal.role not in ANALYST_ROLES:
        html = page.render_hotspots_forbidden(user=user, lang=language)
        return HTMLResponse(localize(html), status_code=403)
    basemap = _basemap()
    tiles = _tiles(conn, basemap)
    html = page.render_hotspots(
        basemap=basemap,
        boundaries=_boundaries(conn, tiles),
        tiles=tiles,
        types=catalog.list_types(conn),
        agencies=catalog.list_agencies(conn),
        months=service.case_months(conn),
        user=user,
        min_count=get_settings().hotspot_min_count,
        min_cases=get_settings().hotspot_min_cases,
        lang=language,
    )
    return HTMLResponse(
        localize(html, allow=basemap.tile_urls), headers={"Cache-Control": "no-cache"}
    )
