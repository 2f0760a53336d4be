"""HTTP routes of place search: ``GET /api/v1/places`` and the roads layer."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Annotated

import orjson
from fastapi import APIRouter, Depends, Query, Response
from fastapi.concurrency import run_in_threadpool
from sqlalchemy import Connection

from jurisdictions.bbox import parse_bbox
from jurisdictions.service import simplify_tolerance
from places import layers, search
from shudi.database import reader_factory

router = APIRouter(prefix="/api/v1", tags=["places"])
Opener = Annotated[Callable[[], AbstractContextManager[Connection]], Depends(reader_factory)]


@router.get(
    "/places",
    response_class=Response,
    responses={200: {"content": {"application/geo+json": {}}}},
)
async def find_places(
    opener: Opener,
    q: Annotated[
        str,
        Query(
            max_length=100,
            description="A name, part of a name, pinyin or pinyin initials (`tey`, 天鹅).",
        ),
    ],
    limit: Annotated[int, Query(ge=1, le=search.MAX_LIMIT)] = 10,
) -> Response:
    """Estates, communities, towns, roads, addresses and POIs for a search, best first: a
    GeoJSON FeatureCollection of label points whose properties carry ``code``, ``name``,
    ``kind`` (estate, community, town, road, address, poi), ``context`` (社区 · 镇/街道) and
    ``rank``; each feature's ``bbox`` is the place's extent."""

    def work() -> bytes:
        with opener() as conn:
            found = search.search(conn, q=q, limit=limit)
        return orjson.dumps(search.as_feature_collection(found))

    return Response(await run_in_threadpool(work), media_type="application/geo+json")


@router.get(
    "/places/roads.geojson",
    response_class=Response,
    responses={200: {"content": {"application/geo+json": {}}}},
)
async def roads(
    opener: Opener,
    bbox: Annotated[str | None, Query(description="xmin,ymin,xmax,ymax in WGS-84")] = None,
    zoom: Annotated[int | None, Query(ge=0, le=22)] = None,
) -> Response:
    """The gazetteer's roads with their names (WGS-84), for the maps."""
    box = parse_bbox(bbox) if bbox else None

    def work() -> str:
        with opener() as conn:
            return layers.roads_geojson(conn, bbox=box, tolerance=simplify_tolerance(zoom))

    return Response(await run_in_threadpool(work), media_type="application/geo+json")


@router.get("/places/labels.json")
async def labels(opener: Opener) -> Response:
    """The names the maps write, with where: towns, communities and estates (WGS-84)."""

    def work() -> bytes:
        with opener() as conn:
            return orjson.dumps(layers.labels(conn))

    return Response(await run_in_threadpool(work), media_type="application/json")
