"""One map from domain errors to HTTP statuses, and the JSON error body ``{code, message}``."""

from __future__ import annotations

import logging
from typing import Any

import psycopg2
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DataError, DBAPIError, OperationalError, PendingRollbackError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.exceptions import HTTPException as StarletteHTTPException

from abuse import exceptions as abx
from accounts import exceptions as ax
from assessment import exceptions as asx
from hotspots import exceptions as hx
from incidents import exceptions as ix
from jurisdictions import catalog, directory, published_contacts
from jurisdictions import exceptions as jx
from meetings import exceptions as mx
from notify import exceptions as nx
from ogc import exceptions as ogx
from shudi.database import (
    DatabaseBusy,
    DatabaseUnavailable,
    QueryTimeout,
    connection_lost,
    database_error,
)
from shudi.exceptions import DomainError

log = logging.getLogger("shudi.api")

STATUS: dict[type[DomainError], int] = {
    abx.RateLimited: 429,
    abx.Banned: 403,
    abx.InvalidBan: 422,
    abx.BanNotFound: 404,
    abx.InvalidLimit: 500,
    jx.InvalidCoordinates: 422,
    jx.OutsideServiceArea: 422,
    jx.UnknownLayer: 404,
    jx.GenerationNotFound: 404,
    jx.NoActiveGeneration: 404,
    jx.BoundaryImportRejected: 422,
    jx.TooManyFeatures: 422,
    jx.TooManyPoints: 413,
    jx.InvalidTile: 400,
    jx.TileOutOfRange: 404,
    jx.UnknownCollection: 404,
    catalog.UnknownViolationType: 422,
    catalog.UnknownAgency: 404,
    published_contacts.InvalidContact: 422,
    published_contacts.ContactNotFound: 404,
    catalog.InvalidQuery: 422,
    directory.PropertyAreaNotFound: 404,
    ax.AccountError: 422,
    ax.NotAuthenticated: 401,
    ax.Forbidden: 403,
    ax.LoginThrottled: 429,
    ax.UserNotFound: 404,
    ix.AreaNotFound: 404,
    ix.CaseNotFound: 404,
    ix.InvalidTransition: 409,
    ix.EvidenceRequired: 409,
    ix.TransitionForbidden: 403,
    ix.MissingField: 422,
    ix.VersionMismatch: 412,
    ix.PreconditionRequired: 428,
    ix.IdempotencyKeyMissing: 400,
    ix.IdempotencyKeyReused: 422,
    ix.IdempotencyKeyInFlight: 409,
    ix.InvalidReport: 422,
    ix.InvalidSince: 422,
    ix.TaskNotFound: 404,
    ix.NotYourPlace: 403,
    ix.TooFarToReportIn: 422,
    ix.InvalidExportFilter: 422,
    ix.FollowupNotOpen: 409,
    ix.ExclusionNotFound: 404,
    hx.InvalidHotspotQuery: 422,
    hx.NotEnoughData: 422,
    hx.AnalysisUnavailable: 503,
    asx.AssessmentError: 422,
    DatabaseUnavailable: 503,
    DatabaseBusy: 503,
    QueryTimeout: 503,
    mx.MeetingNotFound: 404,
    mx.ActionNotFound: 404,
    mx.UnknownTown: 404,
    mx.InvalidMeeting: 422,
    mx.MeetingAlreadyHeld: 409,
    mx.ActionAlreadyDone: 409,
    mx.MeetingForbidden: 403,
    nx.CaseUnknown: 404,
    nx.MessageNotFound: 404,
    nx.FollowError: 422,
    nx.FollowNotFound: 404,
    nx.FollowRateLimited: 429,
    nx.FollowNotConfirmed: 422,
    nx.UnitContactNotFound: 404,
    nx.DigestError: 422,
    nx.TemplateError: 422,
    nx.ChannelConfigError: 500,
    ogx.InvalidParameter: 400,
    ogx.CollectionNotFound: 404,
    ogx.FeatureNotFound: 404,
    ogx.CollectionForbidden: 403,
}


def error_body(code: str, message: str, **details: Any) -> dict[str, Any]:
    """The one error shape of the API."""
    return {"code": code, "message": message, **details}


def _status_for(exc: DomainError) -> int:
    for cls in type(exc).__mro__:
        if cls in STATUS:
            return STATUS[cls]
    return 400


async def _domain(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, DomainError)
    details = {k: v for k, v in exc.details.items() if k != "problems"}
    if "problems" in exc.details:
        details["problems"] = [
            {
                "kind": p.kind,
                "codes": list(p.codes),
                "message": p.message,
                "location": p.location,
                "severity": p.severity,
            }
            for p in exc.details["problems"]
        ]
    retry = exc.details.get("retry_after_s")
    return JSONResponse(
        error_body(exc.code, exc.message, **details),
        status_code=_status_for(exc),
        headers={"Retry-After": str(retry)} if retry is not None else None,
    )


async def _validation(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = exc.errors()
    parts = []
    for err in errors[:5]:
        where = ".".join(str(p) for p in err.get("loc", ()) if p not in ("query", "body", "path"))
        parts.append(f"{where or 'request'}: {err.get('msg', 'invalid')}")
    return JSONResponse(
        error_body(
            "invalid_request",
            "; ".join(parts) or "invalid request",
            errors=[{"loc": list(e.get("loc", ())), "msg": e.get("msg")} for e in errors],
        ),
        status_code=422,
    )


async def _http(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    code = {404: "not_found", 405: "method_not_allowed", 413: "payload_too_large"}.get(
        exc.status_code, "http_error"
    )
    return JSONResponse(
        error_body(code, str(exc.detail)),
        status_code=exc.status_code,
        headers=getattr(exc, "headers", None),
    )


#: Seconds a client should wait before retrying after a 503 of each kind.
RETRY_AFTER: dict[type[DomainError], int] = {
    DatabaseUnavailable: 5,
    DatabaseBusy: 2,
    QueryTimeout: 5,
}


async def _unavailable(_request: Request, exc: Exception) -> JSONResponse:
    """A pool time-out, or a driver error that means the connection to PostgreSQL is gone
    (whatever class the driver gives it: ``OperationalError``, ``InterfaceError`` "connection
    already closed", a ``DatabaseError`` with no message from libpq …) → 503 + Retry-After.
    Any other driver error is a bug and stays a 500."""
    if not isinstance(exc, PoolTimeout) and not connection_lost(exc):
        raise exc
    error = database_error(exc)
    log.warning("%s: %s", error.code, exc)
    return JSONResponse(
        error_body(error.code, error.message),
        status_code=_status_for(error),
        headers={"Retry-After": str(RETRY_AFTER[type(error)])},
    )


#: What psycopg2 says when a bound text holds a NUL, which PostgreSQL text cannot store.
NUL_IN_TEXT = "cannot contain NUL (0x00) characters"


async def _value(_request: Request, exc: Exception) -> JSONResponse:
    """A NUL character in any text input is invalid input (422); other ValueErrors are bugs."""
    if NUL_IN_TEXT not in str(exc):
        raise exc
    return JSONResponse(
        error_body("invalid_request", "text must not contain NUL (0x00) characters"),
        status_code=422,
    )


#: SQLSTATEs of values PostgreSQL cannot take (class 22), all caused by the request's input:
#: a time zone offset past ±15:59, a date or number out of range, text not in UTF-8.
INPUT_SQLSTATES = {
    "22003": "a number is out of range",
    "22007": "a date or time is not valid",
    "22008": "a date or time is out of range",
    "22009": "a time zone offset is out of range (at most ±15:59)",
    "22021": "text holds characters that are not valid UTF-8",
    "22P05": "text holds characters that cannot be stored",
}


async def _data(_request: Request, exc: Exception) -> JSONResponse:
    """A value the database cannot take is invalid input (422); other data errors are bugs."""
    assert isinstance(exc, DataError)
    if connection_lost(exc):
        return await _unavailable(_request, exc)
    reason = INPUT_SQLSTATES.get(getattr(exc.orig, "pgcode", None) or "")
    if reason is None:
        raise exc
    return JSONResponse(error_body("invalid_request", reason), status_code=422)


def install(app: FastAPI) -> None:
    """Register the handlers on ``app``."""
    app.add_exception_handler(ValueError, _value)
    app.add_exception_handler(DataError, _data)
    app.add_exception_handler(DomainError, _domain)
    app.add_exception_handler(RequestValidationError, _validation)
    app.add_exception_handler(StarletteHTTPException, _http)
    # the connection to PostgreSQL lost, whichever class says so (see ``connection_lost``)
    app.add_exception_handler(OperationalError, _unavailable)
    app.add_exception_handler(DBAPIError, _unavailable)
    app.add_exception_handler(PendingRollbackError, _unavailable)
    app.add_exception_handler(psycopg2.Error, _unavailable)
    app.add_exception_handler(PoolTimeout, _unavailable)
