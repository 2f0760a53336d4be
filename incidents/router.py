"""HTTP routes of cases: intake, reading, transitions, tracking. Thin: the service decides."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from datetime import datetime
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Depends, Header, Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from sqlalchemy import Connection

from accounts.exceptions import NotAuthenticated
from accounts.models import Role
from accounts.router import SESSION_COOKIE, CurrentPrincipal, oauth2, request_token
from accounts.service import Principal, principal_for_token
from gis.coords import CoordSystem
from incidents import disclosure, feeds, intake, messages, placement, service
from incidents.listing import CaseListQuery
from incidents.request_body import FORMS, parse_json, read_filing
from incidents.schemas import DisclosureIn, ReportIn, ResidentActionIn, TransitionIn
from jurisdictions.bbox import parse_bbox
from jurisdictions.handler_rules import Routing
from notify.schemas import MessageOut
from shudi.database import db_connection, reader_factory, writer_factory
from shudi.read_replica import read_db, read_factory
from shudi.responses import json_response

router = APIRouter(prefix="/api/v1", tags=["cases"])
Conn = Annotated[Connection, Depends(db_connection, scope="function")]
#: Reads that tolerate a replica's lag (shudi.read_replica.ReadRouter): the live feeds, and the
#: listings of roles that change no case (planners), which need not see their own writes.
ReadConn = Annotated[Connection, Depends(read_db, scope="function")]
LAG_TOLERANT_LISTERS = frozenset({Role.planner})
SinceQ = Annotated[
    str | None,
    Query(
        max_length=64,
        description="The previous answer's `now` (a cursor, `x:N`), or a time with its offset.",
    ),
]


def _json(payload: Any, status_code: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(
        orjson.dumps(payload, default=str),
        status_code=status_code,
        media_type="application/json",
        headers=headers,
    )


ConnectionFactory = Callable[[], AbstractContextManager[Connection]]
#: The hot reads open their connections inside their one thread-pool call (the factories
#: are async dependencies: no thread hop each, no BEGIN/COMMIT for what writes nothing).
Reader = Annotated[ConnectionFactory, Depends(reader_factory)]
Reads = Annotated[ConnectionFactory, Depends(read_factory)]
Writer = Annotated[ConnectionFactory, Depends(writer_factory)]


async def bearer_token(
    request: Request, token: Annotated[str | None, Depends(oauth2)] = None
) -> str:
    """The request's token (bearer or session cookie), 401 without one: checked by the route
    in its thread-pool call (:func:`accounts.service.principal_for_token`)."""
    return request_token(request, token)


BearerToken = Annotated[str, Depends(bearer_token)]


def _dumps(payload: Any) -> bytes:
    return orjson.dumps(payload, default=str)


def _raw_json(body: bytes, headers: dict[str, str] | None = None) -> Response:
    return Response(body, media_type="application/json", headers=headers)


@router.post("/reports", status_code=201)
async def submit_report(
    request: Request,
    reader: Annotated[ConnectionFactory, Depends(reader_factory)],
    writer: Annotated[ConnectionFactory, Depends(writer_factory)],
    token: Annotated[str | None, Depends(oauth2)] = None,
    idempotency_key: Annotated[str | None, Header()] = None,
) -> Response:
    """File a report (anonymous residents, or staff channels); 201 once it is committed.

    In this order, each step before any more expensive one: a token (header or session
    cookie) is checked — an unknown one is a 401, never a pass; a request without a valid
    staff token is counted against the address's rate limit and ban (one autocommitted
    statement); then the body is read and :func:`incidents.intake.submit` files it (the phone
    and map-cell limits and the phone ban, photos decoded, the case stored with its answer in
    one transaction). An anonymous JSON report (small, within the body limit) is read first
    and then parsed, limited and filed in one thread-pool call, its address counted in the
    same statement as its phone and map cell (:func:`incidents.intake.submit_json`; a body
    that does not parse is counted against the address before it is refused).
    """
    token = token or request.cookies.get(SESSION_COOKIE)
    client_ip = request.client.host if request.client else None
    if token is None and not request.headers.get("content-type", "").startswith(FORMS):
        # an anonymous JSON report (small, within the body limit): read, then parsed, limited
        # and filed in one thread-pool call, the address counted with the phone and the cell
        raw = await request.body()
        status_code, body = await run_in_threadpool(
            lambda: intake.submit_json(
                reader=reader,
                writer=writer,
                raw=raw,
                parse=lambda b: parse_json(b, ReportIn),
                idempotency_key=idempotency_key,
                ip=client_ip,
            )
        )
        return _json(body.as_json(), status_code=status_code)

    def authenticate() -> Principal:
        assert token
        with reader() as conn:
            return principal_for_token(conn, token=token)

    actor = await run_in_threadpool(authenticate) if token else None
    if actor is None:  # only a valid staff token exempts a request from limits and bans

        def by_address() -> None:
            with reader() as conn:
                intake.admit(conn, ip=client_ip, idempotency_key=idempotency_key)

        await run_in_threadpool(by_address)
    report, files = await read_filing(request, ReportIn)
    status_code, body = await run_in_threadpool(
        lambda: intake.submit(
            reader=reader,
            writer=writer,
            report=report,
            actor=actor,
            files=files,
            idempotency_key=idempotency_key,
        )
    )
    return _json(body.as_json(), status_code=status_code)


@router.get("/reports/duplicates")
def likely_duplicates(
    conn: Conn, lon: float, lat: float, type: str, crs: str = "wgs84"
) -> Response:
    """Open cases of this type nearby: offered before submitting (no personal data).

    Public: found and measured from each case's public position (the 0.001° grid of the
    public map and Open311), ``distance_m`` to 10 m; sensitive types are never listed."""
    point = placement.store_point(lon, lat, crs)
    rows = intake.likely_duplicates(conn, lon=point.lon, lat=point.lat, type_code=type, public=True)
    return json_response(
        [
            {
                "status": r["status"],
                "created_at": r["created_at"].isoformat(),
                "distance_m": int(round(r["distance_m"], -1)),
            }
            for r in rows
        ]
    )


@router.get("/route", response_model=Routing, tags=["linkage"])
def route(
    conn: Conn,
    lon: float,
    lat: float,
    type: Annotated[str, Query(description="A violation type code.")],
    crs: CoordSystem = CoordSystem.WGS84,
    at: datetime | None = None,
) -> Response:
    """What would happen to a report of ``type`` here: handler, territory, reasons."""
    outcome = placement.preview(conn, lon=lon, lat=lat, crs=crs, type_code=type, at=at)
    return json_response(outcome.model_dump(mode="json"))


@router.get("/cases")
async def list_cases(
    request: Request,
    reader: Reader,
    reads: Reads,
    token: BearerToken,
    query: Annotated[CaseListQuery, Query()],
) -> Response:
    """Cases this principal may see, filtered and paged (at most 500 a page)."""

    def work() -> bytes:
        with reader() as conn:
            principal = principal_for_token(conn, token=token)
            if principal.role not in LAG_TOLERANT_LISTERS:
                return _dumps(service.list_cases(conn, principal=principal, query=query))
        with reads() as replica:
            return _dumps(service.list_cases(replica, principal=principal, query=query))

    return _raw_json(await run_in_threadpool(work))


@router.get(
    "/cases.geojson",
    response_class=Response,
    responses={200: {"content": {"application/geo+json": {}}}},
)
def cases_geojson(
    reads: ReadConn, principal: CurrentPrincipal, since: SinceQ = None, bbox: str | None = None
) -> Response:
    """Open cases as GeoJSON with their details; with ``since``, every case changed since
    (poll with the answer's ``now``)."""
    body = feeds.cases_geojson(
        reads, principal=principal, since=since, bbox=parse_bbox(bbox) if bbox else None
    )
    return Response(body, media_type="application/geo+json")


@router.get("/cases/feed")
async def cases_feed(
    reader: Reader, reads: Reads, token: BearerToken, since: SinceQ = None, bbox: str | None = None
) -> Response:
    """The live map's compact feed: one row per open case (id, position, status, agency, type,
    town, deadline, overdue, version); with ``since``, the changes since and the ids gone."""
    box = parse_bbox(bbox) if bbox else None

    def work() -> bytes:
        with reader() as conn:  # the token on the primary; the feed where lag is tolerated
            principal = principal_for_token(conn, token=token)
        with reads() as conn:
            return _dumps(feeds.map_feed(conn, principal=principal, since=since, bbox=box))

    return _raw_json(await run_in_threadpool(work), headers={"Cache-Control": "no-store"})


@router.get("/cases/{case_id}")
async def get_case(writer: Writer, token: BearerToken, case_id: int) -> Response:
    """One case with its tasks and the actions allowed now; ``ETag`` is its version."""

    def work() -> tuple[bytes, int]:
        with writer() as conn:  # a transaction: opening the reporters is recorded
            principal = principal_for_token(conn, token=token, act=True)
            case = service.get_case(conn, case_id=case_id, principal=principal)
            return _dumps(case), int(case["version"])

    body, version = await run_in_threadpool(work)
    return _raw_json(body, headers={"ETag": f'"{version}"'})


@router.get("/cases/{case_id}/events")
def case_events(conn: Conn, principal: CurrentPrincipal, case_id: int) -> Response:
    """The append-only history of a case."""
    return _json(service.events(conn, case_id=case_id, principal=principal))


@router.get("/cases/{case_id}/photos")
def case_photos(conn: Conn, principal: CurrentPrincipal, case_id: int) -> Response:
    """The photos of a case (re-encoded on intake; no EXIF, no location)."""
    return _json(service.photos(conn, case_id=case_id, principal=principal))


@router.get("/cases/{case_id}/messages", response_model=list[MessageOut], tags=["notify"])
def case_messages(conn: Conn, principal: CurrentPrincipal, case_id: int) -> list[dict[str, Any]]:
    """The messages a case caused and their delivery state (recipients masked)."""
    return messages.case_messages(conn, case_id=case_id, principal=principal)


@router.get("/cases/{case_id}/photos/{photo_id}")
def case_photo(conn: Conn, principal: CurrentPrincipal, case_id: int, photo_id: int) -> Response:
    """One photo's bytes."""
    content, mime = service.photo(conn, case_id=case_id, photo_id=photo_id, principal=principal)
    return Response(content, media_type=mime, headers={"Cache-Control": "private, max-age=3600"})


def _version(if_match: str | None) -> int | None:
    if if_match is None:
        return None
    try:
        return int(if_match.strip().removeprefix("W/").strip('"'))
    except ValueError:
        return -1


@router.post("/cases/{case_id}/transitions")
def transition(
    conn: Conn,
    principal: CurrentPrincipal,
    case_id: int,
    body: TransitionIn,
    if_match: Annotated[str | None, Header()] = None,
) -> Response:
    """Take a workflow action; needs ``If-Match`` (428 without it, 412 when stale)."""
    payload = body.model_dump(exclude_none=True, mode="json")
    case = service.transition(
        conn,
        case_id=case_id,
        principal=principal,
        action=payload.pop("action"),
        payload=payload,
        if_match=_version(if_match),
    )
    return _json(case, headers={"ETag": f'"{case["version"]}"'})


@router.post("/cases/{case_id}/reporter-disclosure")
def reporter_disclosure(
    conn: Conn, principal: CurrentPrincipal, case_id: int, body: DisclosureIn
) -> Response:
    """The dispatcher reveals the reporters to the case's handler (or withholds them again);
    recorded as an event. Handlers never see reporters otherwise."""
    return _json(
        disclosure.set_disclosure(
            conn, case_id=case_id, principal=principal, reveal=body.reveal, note=body.note
        )
    )


@router.get("/track/{tracking_code}")
async def track(reader: Reader, tracking_code: str) -> Response:
    """The resident's view of a case: status and public events, no personal data."""

    def work() -> bytes:
        with reader() as conn:
            return _dumps(service.track(conn, tracking_code=tracking_code))

    return _raw_json(await run_in_threadpool(work))


@router.get(
    "/track/{tracking_code}/photos/{photo_id}",
    response_class=Response,
    responses={200: {"content": {"image/jpeg": {}, "image/png": {}}}},
)
def track_photo(conn: Conn, tracking_code: str, photo_id: int) -> Response:
    """A photo of the tracked case, for its tracking page (the code is the key)."""
    content, mime = service.track_photo(conn, tracking_code=tracking_code, photo_id=photo_id)
    return Response(content, media_type=mime, headers={"Cache-Control": "private, max-age=3600"})


@router.post("/track/{tracking_code}")
def resident_action(conn: Conn, tracking_code: str, body: ResidentActionIn) -> Response:
    """Rate the result (回访) or dispute it, with the tracking code."""
    payload = body.model_dump(exclude_none=True)
    return _json(
        service.resident_action(
            conn, tracking_code=tracking_code, action=payload.pop("action"), payload=payload
        )
    )


_ = NotAuthenticated
