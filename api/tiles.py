"""``/tiles/basemap/{z}/{x}/{y}``: the district's own tile package (``SHUDI_BASEMAP=file:PATH``,
:mod:`webmap.tiles`), so that the maps need no tile server and no internet."""

from __future__ import annotations

from fastapi import APIRouter, Response
from fastapi.concurrency import run_in_threadpool

from shudi.settings import get_settings
from webmap.tiles import TilePackageError, open_package

router = APIRouter(include_in_schema=False, tags=["pages"])
CACHE = "public, max-age=86400"


@router.get("/tiles/basemap/{z}/{x}/{y}")
async def basemap_tile(z: int, x: int, y: str) -> Response:
    """One tile of the package (``y`` may carry an extension: ``3.png``); 404 when the
    package has no tile there or no package is configured."""
    setting = get_settings().basemap.strip()
    row = y.split(".", 1)[0]
    if not setting.lower().startswith("file:") or not row.isdigit():
        return Response(status_code=404)
    try:
        package = open_package(setting[len("file:") :].strip())
    except TilePackageError:
        return Response(status_code=404)
    data = await run_in_threadpool(package.tile, z, x, int(row))
    if data is None:
        return Response(status_code=404, headers={"Cache-Control": CACHE})
    return Response(data, media_type=package.media_type, headers={"Cache-Control": CACHE})
