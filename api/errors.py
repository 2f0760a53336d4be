"""One map from domain errors to HTTP statuses, and the JSON error body ``{code, message}``."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.exceptions import HTTPException as StarletteHTTPException

from accounts import exceptions as ax
from incidents import exceptions as ix
from jurisdictions import catalog, directory
from jurisdictions import exceptions as jx
from shudi.errors import DomainError

log = logging.getLogger("shudi.api")

STATUS: dict[type[DomainError], int] = {
    jx.InvalidCoordinates: 422,
    jx.OutsideServiceArea: 422,
    jx.UnknownLayer: 404,
    jx.GenerationNotFound: 404,
    jx.NoActiveGeneration: 404,
    jx.BoundaryImportRejected: 422,
    jx.TooManyFeatures: 422,
    jx.TooManyPoints: 413,
    catalog.UnknownViolationType: 422,
    catalog.UnknownAgency: 404,
    catalog.InvalidContact: 422,
    directory.PropertyAreaNotFound: 404,
    ax.AccountError: 422,
    ax.NotAuthenticated: 401,
    ax.Forbidden: 403,
    ix.CaseNotFound: 404,
    ix.InvalidTransition: 409,
    ix.TransitionForbidden: 403,
    ix.MissingField: 422,
    ix.VersionMismatch: 412,
    ix.PreconditionRequired: 428,
    ix.IdempotencyKeyMissing: 400,
    ix.IdempotencyKeyReused: 422,
    ix.IdempotencyKeyInFlight: 409,
    ix.InvalidReport: 422,
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
    return JSONResponse(error_body(exc.code, exc.message, **details), status_code=_status_for(exc))


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
    code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
    return JSONResponse(
        error_body(code, str(exc.detail)),
        status_code=exc.status_code,
        headers=getattr(exc, "headers", None),
    )


async def _unavailable(_request: Request, exc: Exception) -> JSONResponse:
    log.warning("database unavailable: %s", exc)
    return JSONResponse(
        error_body("database_unavailable", "the database is not answering; try again shortly"),
        status_code=503,
        headers={"Retry-After": "5"},
    )


def install(app: FastAPI) -> None:
    """Register the handlers on ``app``."""
    app.add_exception_handler(DomainError, _domain)
    app.add_exception_handler(RequestValidationError, _validation)
    app.add_exception_handler(StarletteHTTPException, _http)
    app.add_exception_handler(OperationalError, _unavailable)
    app.add_exception_handler(PoolTimeout, _unavailable)
