"""Vector tiles (Mapbox Vector Tile 2.1, Web Mercator XYZ): ``/tiles/{collection}/{z}/{x}/{y}.mvt``.

* Boundary collections (public): ``town``, ``community``, ``property_area``,
  ``agency_unit-<agency>`` (:mod:`jurisdictions.boundary_tiles`) — the active generation, or
  ``?generation=N`` for that generation of the collection. ``ETag`` names the generation and
  the tile; ``Cache-Control``: ``public, max-age=60`` for the active generation (revalidated
  with ``If-None-Match`` → 304 without drawing; a new generation changes the ETag), and
  ``public, max-age=31536000, immutable`` for a named generation, which never changes.
* ``case_density`` (staff only, each role's own cases; :mod:`incidents.density_tiles`): open
  cases counted per cell; ``private, max-age=15``.

An empty tile (nothing of the collection there) is answered **204 No Content**, with the same
caching headers. A client that takes gzip gets the tile gzip-compressed (``Content-Encoding:
gzip``, ``Vary: Accept-Encoding``, its own ``ETag`` ending ``-gzip"``).

Errors are JSON ``{code, message}``: 400 ``invalid_tile`` (z, x, y not whole numbers, z > 22),
404 ``tile_out_of_range`` (x or y off the zoom's grid), 404 ``unknown_collection``, 404
``no_active_generation`` / ``generation_not_found``, 401 for the density layer without a
log-in, 403 for roles that see no cases.
"""

from __future__ import annotations

import gzip as gz
from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from sqlalchemy import Connection

from accounts.router import CurrentPrincipal
from incidents import density_tiles
from jurisdictions import boundary_tiles
from shudi.database import db_reader, reader_factory

router = APIRouter(tags=["tiles"])
Opener = Annotated[Callable[[], AbstractContextManager[Connection]], Depends(reader_factory)]
Reader = Annotated[Connection, Depends(db_reader, scope="function")]
MEDIA_TYPE = "application/vnd.mapbox-vector-tile"
ACTIVE_CACHE = "public, max-age=60"
PINNED_CACHE = "public, max-age=31536000, immutable"
DENSITY_CACHE = "private, max-age=15"
TILE_RESPONSES: dict[int | str, dict] = {
    200: {"content": {MEDIA_TYPE: {}}, "description": "the tile"},
    204: {"description": "an empty tile: nothing of the collection there"},
    304: {"description": "the tile the client holds (If-None-Match) is current"},
}


def _gzip_ok(request: Request) -> bool:
    return "gzip" in (request.headers.get("accept-encoding") or "").lower()


def _etag(etag: str, gzip: bool) -> str:
    """The ETag of one encoding (``"…-gzip"`` for the compressed bytes)."""
    return f'{etag[:-1]}-gzip"' if gzip else etag


def _tile_response(
    request: Request, data: bytes, etag: str, cache: str, packed: bytes | None = None
) -> Response:
    """200 with the tile (``packed``: its gzip bytes, sent when the client takes gzip), 204
    when it is empty, 304 when the client's copy is this one."""
    gzip = bool(data) and _gzip_ok(request)
    headers = {"ETag": _etag(etag, gzip), "Cache-Control": cache, "Vary": "Accept-Encoding"}
    if headers["ETag"] in _if_none_match(request):
        return Response(status_code=304, headers=headers)
    if not data:
        return Response(status_code=204, headers=headers)
    if gzip:
        headers["Content-Encoding"] = "gzip"
        body = packed if packed is not None else gz.compress(data, 6, mtime=0)
        return Response(body, media_type=MEDIA_TYPE, headers=headers)
    return Response(data, media_type=MEDIA_TYPE, headers=headers)


def _if_none_match(request: Request) -> set[str]:
    raw = request.headers.get("if-none-match") or ""
    return {t.strip().removeprefix("W/") for t in raw.split(",") if t.strip()}


@router.get(
    "/tiles/case_density/{z}/{x}/{y}.mvt", response_class=Response, responses=TILE_RESPONSES
)
def density_tile(
    request: Request, conn: Reader, principal: CurrentPrincipal, z: str, x: str, y: str
) -> Response:
    """Open cases the caller may see, counted per cell of the tile (staff only)."""
    tile = density_tiles.density_tile(conn, principal=principal, z=z, x=x, y=y)
    response = _tile_response(request, tile.data, tile.etag, DENSITY_CACHE)
    response.headers["Vary"] = "Accept-Encoding, Cookie, Authorization"
    return response


@router.get(
    "/tiles/{collection}/{z}/{x}/{y}.mvt", response_class=Response, responses=TILE_RESPONSES
)
async def boundary_tile(
    request: Request,
    opener: Opener,
    collection: str,
    z: str,
    x: str,
    y: str,
    generation: Annotated[
        int | None, Query(ge=1, description="That generation (immutable) instead of the active")
    ] = None,
) -> Response:
    """A boundary collection's tile: ``code``, ``name`` and ``parent_code`` of each area."""
    seen = _if_none_match(request)
    gzip = _gzip_ok(request)

    def work() -> tuple[boundary_tiles.BoundaryTile, bytes | None, bytes | None]:
        with opener() as conn:
            tile = boundary_tiles.tile_key(
                conn, collection=collection, z=z, x=x, y=y, generation=generation
            )
            if _etag(tile.etag, gzip) in seen:  # the client's copy is current: not drawn
                return tile, None, None
            data = boundary_tiles.render(conn, tile)
        return tile, data, boundary_tiles.gzipped(tile, data) if gzip and data else None

    tile, data, packed = await run_in_threadpool(work)
    cache = PINNED_CACHE if tile.pinned else ACTIVE_CACHE
    if data is None:
        etag = _etag(tile.etag, gzip)
        headers = {"ETag": etag, "Cache-Control": cache, "Vary": "Accept-Encoding"}
        return Response(status_code=304, headers=headers)
    return _tile_response(request, data, tile.etag, cache, packed)
