"""HTTP routes of the OGC API – Features under ``/ogc`` (thin: parse, authorise, call, shape).

Public collections need no log-in; ``cases`` needs a staff bearer token or session cookie
(401 without one, 403 for a role that sees no cases). A token that is sent must be valid,
even for public collections (401), as on every other route.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Depends, Request, Response
from fastapi.concurrency import run_in_threadpool
from sqlalchemy import Connection

from accounts.exceptions import NotAuthenticated
from accounts.router import SESSION_COOKIE, oauth2
from accounts.service import Principal, principal_for_token
from ogc import catalog, documents, items, params
from ogc.catalog import Collection
from ogc.exceptions import CollectionForbidden, InvalidParameter
from shudi.database import reader_factory

router = APIRouter(prefix="/ogc", tags=["ogc"])
Opener = Annotated[Callable[[], AbstractContextManager[Connection]], Depends(reader_factory)]
Token = Annotated[str | None, Depends(oauth2)]

#: What the documents (landing page, conformance, collections) take: ``f``, and ``generation``
#: because GDAL repeats the query of the URL it was given on every request
#: (``OAPIF:http://…/ogc/collections/town?generation=3`` reads generation 3).
PASSED_ON = ("f", "generation")
#: The GeoJSON answers (the error answers are declared with the others, in api/openapi.py).
GEOJSON_OK: dict[int | str, dict[str, Any]] = {200: {"content": {documents.GEOJSON: {}}}}


def _query_parameter(name: str, schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {
        "name": name,
        "in": "query",
        "required": False,
        "style": "form",
        "explode": False,
        "schema": schema,
        "description": description,
    }


#: The items query parameters, declared here (the route reads them from the query string
#: itself so that unknown ones and bad values are 400s, not FastAPI's 422).
ITEMS_PARAMETERS = [
    _query_parameter(
        "limit",
        {
            "type": "integer",
            "minimum": 1,
            "maximum": params.MAX_LIMIT,
            "default": params.DEFAULT_LIMIT,
        },
        "Features per page; follow the 'next' link for more",
    ),
    _query_parameter("offset", {"type": "integer", "minimum": 0, "default": 0}, "Skip so many"),
    _query_parameter(
        "bbox",
        {"type": "array", "minItems": 4, "maxItems": 4, "items": {"type": "number"}},
        "Lower corner, upper corner, in bbox-crs's axis order (CRS84: lon,lat)",
    ),
    _query_parameter("bbox-crs", {"type": "string", "format": "uri"}, "The CRS of bbox"),
    _query_parameter(
        "datetime",
        {"type": "string"},
        "An RFC 3339 instant or interval (start/end, '..' open): boundary layers → the "
        "generations valid then; cases → reported then",
    ),
    _query_parameter("crs", {"type": "string", "format": "uri"}, "The CRS of the answer"),
    _query_parameter(
        "generation", {"type": "integer", "minimum": 1}, "Boundary layers: one generation"
    ),
    *(
        _query_parameter(name, {"type": "string"}, "Equal to (comma-separated: any of)")
        for name in sorted(
            set(catalog.BOUNDARY_QUERYABLES)
            | set(catalog.PLACE_QUERYABLES)
            | set(catalog.CASE_QUERYABLES)
        )
    ),
]
CRS_PARAMETER = [ITEMS_PARAMETERS[5]]


def _base(request: Request) -> str:
    return str(request.base_url).rstrip("/") + "/ogc"


def _json(body: Any, media: str = documents.JSON, crs_uri: str | None = None) -> Response:
    content = body if isinstance(body, bytes) else orjson.dumps(body)
    headers = {"Content-Crs": f"<{crs_uri}>"} if crs_uri else None
    return Response(content, media_type=media, headers=headers)


def _token(request: Request, token: str | None) -> str | None:
    return token or request.cookies.get(SESSION_COOKIE)


def _principal(conn: Connection, token: str | None) -> Principal | None:
    return principal_for_token(conn, token=token) if token else None


def _collection(
    conn: Connection, collection_id: str, principal: Principal | None, *, extent: bool = False
) -> Collection:
    """The collection asked for, as this caller may see it (cases: 401/403 for others); its
    extent (a scan) only for the collection document."""
    if collection_id != "cases":
        return catalog.public_collection(conn, collection_id, extent=extent)
    if principal is None:
        raise NotAuthenticated("cases are for logged-in staff: send a bearer token")
    if not catalog.sees_cases(principal):
        raise CollectionForbidden(f"the role {principal.role.value} sees no cases")
    return catalog.cases_collection(conn, principal, extent=extent)


def _plain(request: Request) -> dict[str, str]:
    query = dict(request.query_params)
    if any("\x00" in k or "\x00" in v for k, v in query.items()):
        raise InvalidParameter("a query parameter holds a NUL character")
    return query


@router.get("")
async def landing(request: Request) -> Response:
    """The landing page: links to the API definition, the conformance classes and the
    collections. JSON only."""
    params.check_known(_plain(request), PASSED_ON)
    params.check_format(request.query_params)
    return _json(documents.landing(_base(request)))


@router.get("/conformance")
async def conformance(request: Request) -> Response:
    """The conformance classes: Core, GeoJSON, OpenAPI 3.0, CRS by reference (no HTML)."""
    params.check_known(_plain(request), PASSED_ON)
    params.check_format(request.query_params)
    return _json(documents.conformance())


@router.get("/collections")
async def collections(request: Request, opener: Opener, token: Token = None) -> Response:
    """The collections: boundary layers, the gazetteer, and ``cases`` for staff who see
    cases."""
    query = _plain(request)
    params.check_known(query, PASSED_ON)
    params.check_format(query)
    bearer = _token(request, token)

    def work() -> dict[str, Any]:
        with opener() as conn:
            principal = _principal(conn, bearer)
            found = catalog.collections(conn, principal)
            return documents.collections(_base(request), found, catalog.district_gk_epsg(conn))

    return _json(await run_in_threadpool(work))


@router.get("/collections/{collection_id}")
async def collection(
    request: Request, collection_id: str, opener: Opener, token: Token = None
) -> Response:
    """One collection: its extent, CRSs, property filters and (boundary layers) generations."""
    query = _plain(request)
    params.check_known(query, PASSED_ON)
    params.check_format(query)
    bearer = _token(request, token)

    def work() -> dict[str, Any]:
        with opener() as conn:
            found = _collection(conn, collection_id, _principal(conn, bearer), extent=True)
            return documents.collection(_base(request), found, catalog.district_gk_epsg(conn))

    return _json(await run_in_threadpool(work))


@router.get(
    "/collections/{collection_id}/items",
    responses=GEOJSON_OK,
    openapi_extra={"parameters": ITEMS_PARAMETERS},
)
async def collection_items(
    request: Request, collection_id: str, opener: Opener, token: Token = None
) -> Response:
    """The features, a page at a time (``limit``/``offset``, ``next`` link), filtered by
    ``bbox``, ``datetime`` and properties, in ``crs`` (``Content-Crs`` says which)."""
    query = _plain(request)
    bearer = _token(request, token)

    def work() -> tuple[bytes, str]:
        with opener() as conn:
            principal = _principal(conn, bearer)
            found = _collection(conn, collection_id, principal)
            asked = params.parse_items(
                query,
                queryables=found.queryables,
                generations=found.kind == "boundary",
                gk_epsg=catalog.district_gk_epsg(conn),
            )
            page, matched = items.read_items(
                conn, collection=found, query=asked, principal=principal
            )
        body = documents.items(
            _base(request),
            found,
            query,
            page,
            matched=matched,
            limit=asked.limit,
            offset=asked.offset,
        )
        return body, asked.out_crs.uri

    body, crs_uri = await run_in_threadpool(work)
    return _json(body, documents.GEOJSON, crs_uri)


@router.get(
    "/collections/{collection_id}/items/{feature_id}",
    responses=GEOJSON_OK,
    openapi_extra={"parameters": CRS_PARAMETER},
)
async def collection_item(
    request: Request, collection_id: str, feature_id: str, opener: Opener, token: Token = None
) -> Response:
    """One feature (of any generation, for a boundary layer) in ``crs``."""
    query = _plain(request)
    bearer = _token(request, token)

    def work() -> tuple[bytes, str]:
        with opener() as conn:
            principal = _principal(conn, bearer)
            found = _collection(conn, collection_id, principal)
            out = params.parse_feature(query, gk_epsg=catalog.district_gk_epsg(conn))
            body = items.read_feature(
                conn, collection=found, feature_id=feature_id, out=out, principal=principal
            )
        return documents.feature(_base(request), found, body), out.uri

    body, crs_uri = await run_in_threadpool(work)
    return _json(body, documents.GEOJSON, crs_uri)
