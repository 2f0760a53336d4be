"""Open311 GeoReport v2 under ``/open311/v2/``: XML (the spec's required format) and JSON.

The format is the path's suffix (``services.xml``, ``requests/12.json``); another suffix is a
404. Errors take the spec's shape, ``[{"code": 400, "description": "..."}]`` or
``<errors><error><code>400</code><description>…</description></error></errors>``, with 400,
403 (``api_key``) or 404 — unlike the rest of the API, so they are made here, by the route
class, from the domain errors the service raises. ``api/error_responses.py`` is not involved.

Endpoints (``{f}`` is ``xml`` or ``json``):

* ``GET discovery.{f}`` — Service Discovery;
* ``GET services.{f}`` — the reportable violation types (``lat``/``long`` narrow them to a
  point: ``[]`` outside the district; ``lang=en`` gives English names);
* ``GET services/{code}.{f}`` — a service definition (no attributes yet);
* ``POST requests.{f}`` — form-encoded; ``api_key`` (403), ``service_code`` (400 unknown),
  ``lat`` and ``long`` (an address alone is 400), ``description`` ≤ 4000 …;
* ``GET requests.{f}`` — ``service_request_id``, ``service_code``, ``start_date``/``end_date``
  (at most 90 days apart, default the last 90 days), ``status``, ``page``/``page_size`` (50 by
  default, 100 at most), ``extensions=true`` (``extended_attributes``);
* ``GET requests/{id}.{f}`` and ``GET tokens/{token}.{f}`` (the token is the tracking code).

Choices where the spec leaves room:

* a request is routed by its point, so ``lat`` and ``long`` are required: ``address_string``
  or ``address_id`` alone is a 400 (``address_string`` with a point is kept as the address);
* an unknown ``service_code`` in a POST is a 400 (an argument, not the resource asked for);
  ``GET services/{code}`` of an unknown code is a 404;
* ``services`` at a point outside the district is ``[]``; inside, every service applies;
* ``media_url`` is never fetched: it is kept after the description and answered as
  ``media_url``; ``email``, ``device_id``, ``account_id``, ``jurisdiction_id`` and
  ``attribute[…]`` are accepted and not stored (the description is public, the e-mail is not);
* ``first_name``/``last_name`` → the reporter's name (张 + 三 → 张三), kept with the phone
  apart from the case and never answered;
* dates without an offset are Beijing time; answers are in ``+08:00``; ``lang=en`` gives
  English service names and groups;
* ``extended_attributes.notes`` are the public events with their public replies (the field
  ``public_reply`` of a workflow action); staff notes are never answered, nor are residents'
  words (ratings, disputes); ``status_notes`` ends with the latest public reply;
* phone and ID numbers in any answered text are masked (:mod:`incidents.public_text`);
* cases of sensitive types (``violation_type.sensitive``: drugs, vice …) are in no answer:
  ``GET requests`` leaves them out, ``GET requests/{id}`` is a 404.

A path under ``/open311/v2/`` that is none of these is a 404 in the spec's shape (also for a
POST to a GET-only resource).
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Callable, Coroutine
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Depends, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from sqlalchemy import Connection
from starlette.exceptions import HTTPException as StarletteHTTPException

from abuse import exceptions as abx
from accounts import exceptions as ax
from incidents import open311, open311_requests
from incidents.exceptions import CaseNotFound
from shudi.database import db_connection
from shudi.exceptions import DomainError

Conn = Annotated[Connection, Depends(db_connection, scope="function")]
MEDIA_TYPES = {"xml": "text/xml; charset=utf-8", "json": "application/json; charset=utf-8"}
#: XML element of a list's items, by the list's element (the spec's Spark convention).
ITEMS = {
    "services": "service",
    "service_requests": "request",
    "errors": "error",
    "endpoints": "endpoint",
    "formats": "format",
    "attributes": "attribute",
    "values": "value",
    "notes": "note",
}
XML_INVALID = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
MAX_FORM_FIELDS = 200
NUL_IN_TEXT = "cannot contain NUL (0x00) characters"


def _xml_text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    return XML_INVALID.sub("", str(value))


def _element(parent: ET.Element, name: str, value: Any) -> None:
    el = ET.SubElement(parent, name)
    _fill(el, name, value)


def _fill(el: ET.Element, name: str, value: Any) -> None:
    if isinstance(value, dict):
        for key, item in value.items():
            _element(el, key, item)
    elif isinstance(value, list):
        for item in value:
            _element(el, ITEMS.get(name, "item"), item)
    else:
        el.text = _xml_text(value)


def to_xml(root: str, payload: Any) -> bytes:
    """The payload as the spec's XML: UTF-8, with the declaration, no namespace."""
    el = ET.Element(root)
    _fill(el, root, payload)
    body = ET.tostring(el, encoding="unicode")
    return ('<?xml version="1.0" encoding="UTF-8"?>\n' + body).encode()


def render(payload: Any, fmt: str, root: str, status_code: int = 200) -> Response:
    """``payload`` as JSON, or as XML under the element ``root``."""
    body = orjson.dumps(payload) if fmt == "json" else to_xml(root, payload)
    return Response(body, status_code=status_code, media_type=MEDIA_TYPES[fmt])


def error_response(status_code: int, description: str, fmt: str) -> Response:
    """The spec's error list with one error whose code is the HTTP status."""
    return render([{"code": status_code, "description": description}], fmt, "errors", status_code)


#: Domain errors of the other packages that Open311 requests can meet, and their status.
STATUS: tuple[tuple[type[Exception], int], ...] = (
    (CaseNotFound, 404),
    (abx.RateLimited, 429),
    (abx.Banned, 403),
    (ax.NotAuthenticated, 403),
    (ax.Forbidden, 403),
    (DomainError, 400),  # coordinates, outside the district, invalid report …
)


def _fmt_of(request: Request) -> str:
    suffix = request.url.path.rsplit(".", 1)[-1]
    return suffix if suffix in MEDIA_TYPES else "xml"


def _as_error(exc: Exception) -> tuple[int, str] | None:
    if isinstance(exc, open311.Open311Error):
        return exc.status, exc.message
    if isinstance(exc, RequestValidationError):
        parts = [
            f"{'.'.join(str(p) for p in e.get('loc', ())[1:]) or 'request'}: {e.get('msg')}"
            for e in exc.errors()[:5]
        ]
        return 400, "; ".join(parts) or "invalid request"
    if isinstance(exc, StarletteHTTPException):
        return (404 if exc.status_code == 404 else 400), str(exc.detail)
    if isinstance(exc, ValueError) and NUL_IN_TEXT in str(exc):  # psycopg2 refuses NUL in text
        return 400, "text must not contain NUL (0x00) characters"
    for cls, status in STATUS:
        if isinstance(exc, cls):
            assert isinstance(exc, DomainError)
            return status, exc.message
    return None


class Open311Route(APIRoute):
    """Answers errors in the spec's shape, in the format the path asks for (XML otherwise).

    Writes are done in a savepoint by the service, so a refused request leaves nothing behind
    even though the connection's transaction itself ends normally.
    """

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def route(request: Request) -> Response:
            try:
                return await handler(request)
            except Exception as exc:
                found = _as_error(exc)
                if found is None:
                    raise
                return error_response(*found, _fmt_of(request))

        return route


#: The spec's error list, for the OpenAPI document.
ERROR_SCHEMA = {
    "type": "array",
    "items": {
        "type": "object",
        "properties": {"code": {"type": "integer"}, "description": {"type": "string"}},
        "required": ["code", "description"],
    },
}
BOTH_FORMATS = {
    "application/json": {"schema": ERROR_SCHEMA},
    "text/xml": {"schema": {"type": "string"}},
}
RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"content": {"text/xml": {"schema": {"type": "string"}}}},
    400: {"description": "Invalid arguments (the spec's error list)", "content": BOTH_FORMATS},
    403: {"description": "A missing or unknown api_key", "content": BOTH_FORMATS},
    404: {"description": "An unknown format, resource or id", "content": BOTH_FORMATS},
}
router = APIRouter(
    prefix="/open311/v2", tags=["open311"], route_class=Open311Route, responses=RESPONSES
)


def _format(fmt: str) -> str:
    if fmt not in MEDIA_TYPES:
        raise open311.NotFound(f"unknown format {fmt!r}; use xml or json")
    return fmt


def _params(request: Request) -> dict[str, str]:
    """Query arguments; one given several times is joined with commas (as the spec allows)."""
    q = request.query_params
    return {k: ",".join(q.getlist(k)) for k in q}


@router.get("/discovery.{fmt}")
def discovery(request: Request, fmt: str) -> Response:
    """Service Discovery: where the GeoReport v2 endpoint is and what it speaks."""
    return render(open311.discovery(str(request.base_url)), _format(fmt), "discovery")


@router.get("/services.{fmt}")
def services(request: Request, conn: Conn, fmt: str) -> Response:
    """Reportable violation types as services (``lat``/``long``, ``lang=en``)."""
    kind = _format(fmt)
    return render(open311.services(conn, params=_params(request)), kind, "services")


@router.get("/services/{service_code}.{fmt}")
def service_definition(conn: Conn, service_code: str, fmt: str) -> Response:
    """A service's definition: its extra attributes (none yet)."""
    kind = _format(fmt)
    return render(open311.service_definition(conn, code=service_code), kind, "service_definition")


@router.post("/requests.{fmt}")
async def post_request(request: Request, conn: Conn, fmt: str) -> Response:
    """File a service request (form-encoded, with ``api_key``); committed before the answer."""
    kind = _format(fmt)
    form = await request.form(max_files=0, max_fields=MAX_FORM_FIELDS)
    fields = _params(request) | {k: v for k, v in form.items() if isinstance(v, str)}
    client_ip = request.client.host if request.client else None

    body = await run_in_threadpool(lambda: open311.submit(conn, form=fields, ip=client_ip))
    return render(body, kind, "service_requests")


@router.get("/requests.{fmt}")
def get_requests(request: Request, conn: Conn, fmt: str) -> Response:
    """Service requests: by id, or filtered by type, dates and status, newest first."""
    kind = _format(fmt)
    return render(
        open311_requests.list_requests(conn, params=_params(request)), kind, "service_requests"
    )


@router.get("/requests/{request_id}.{fmt}")
def get_request(request: Request, conn: Conn, request_id: str, fmt: str) -> Response:
    """One service request (a list of one)."""
    kind = _format(fmt)
    found = open311_requests.get_request(conn, request_id=request_id, params=_params(request))
    return render(found, kind, "service_requests")


@router.get("/tokens/{token}.{fmt}")
def token(conn: Conn, token: str, fmt: str) -> Response:
    """The service request id for a token (the tracking code given when it was filed)."""
    kind = _format(fmt)
    return render(open311_requests.token(conn, token=token), kind, "service_requests")


@router.api_route("/{rest:path}", methods=["GET", "POST"], include_in_schema=False)
def not_found(rest: str) -> Response:
    """Anything else under /open311/v2/."""
    raise open311.NotFound(f"no Open311 resource {rest!r}")
