"""Declare in the OpenAPI document the error answers each route really gives.

The routes raise domain errors that ``api/error_responses.py`` maps to statuses; FastAPI cannot see
them, so they are listed here, in one place, and added to the document's operations with the
shared :class:`api.schemas.ErrorOut` body. Some are declared on every operation they can reach:

* 422 (invalid request) and 503 (database unavailable or busy, with ``Retry-After``) on all;
* 400 (a body that cannot be parsed) and 413 (a body over its cap) on those that take a body;
* 401 on those that need a logged-in user (the ones with a ``security`` requirement).

:data:`ERRORS` adds what one operation raises beyond that (404 of an unknown case, 409 of a
transition not allowed now...). Open311 routes answer in their own error shape and declare it
themselves. ``tests/fuzz`` checks the document against the real answers.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from api.openapi_inputs import add_inputs
from api.schemas import ErrorOut

DESCRIPTIONS = {
    400: "The body cannot be parsed, a required header is missing, or (OGC API) a query "
    "parameter is unknown or has a bad value",
    401: "Not logged in, or the token has expired",
    403: "The role may not do this",
    404: "No such object, or one the user may not see",
    409: "Not possible in the object's current state",
    412: "The object changed since it was read (If-Match)",
    413: "The request body, or a batch, is too large",
    422: "Invalid input",
    428: "An If-Match header is required",
    429: "Too many requests; retry after Retry-After seconds",
    503: "The database is unavailable or busy; retry after Retry-After seconds",
}
RETRY_AFTER = {
    "Retry-After": {"description": "Seconds to wait before retrying", "schema": {"type": "string"}}
}
#: Statuses an operation raises beyond the common ones, by ``"METHOD path"``.
ERRORS: dict[str, tuple[int, ...]] = {
    "POST /api/v1/resolve/batch": (413,),
    "GET /api/v1/layers/{layer}.geojson": (404,),
    "GET /api/v1/directory/{property_area_code}": (404,),
    "POST /api/v1/reports": (401, 403, 409, 429),
    "GET /api/v1/cases/{case_id}": (404,),
    "GET /api/v1/cases/{case_id}/events": (404,),
    "GET /api/v1/cases/{case_id}/photos": (404,),
    "GET /api/v1/cases/{case_id}/photos/{photo_id}": (404,),
    "POST /api/v1/cases/{case_id}/transitions": (403, 404, 409, 412, 428),
    "POST /api/v1/tasks/{task_id}/done": (404,),
    "POST /api/v1/staff/refusals": (403,),
    "POST /api/v1/cases/{case_id}/reporter-disclosure": (403, 404),
    "GET /api/v1/track/{tracking_code}": (404,),
    "GET /api/v1/track/{tracking_code}/photos/{photo_id}": (404,),
    "GET /api/v1/cases/{case_id}/messages": (404,),
    "GET /api/v1/notify/status": (403,),
    "POST /api/v1/track/{tracking_code}/optout": (404,),
    "GET /api/v1/track/{tracking_code}/survey": (404,),
    "POST /api/v1/track/{tracking_code}/survey": (404, 409),
    "POST /api/v1/tasks/{task_id}/visit": (403, 404, 409),
    "GET /api/v1/cases/{case_id}/followups": (404,),
    "POST /api/v1/cases/{case_id}/rating-exclusion": (403, 404, 409),
    "GET /api/v1/rating-exclusions": (403,),
    "POST /api/v1/rating-exclusions/{exclusion_id}/review": (403, 404, 409),
    "POST /api/v1/tasks/{task_id}/report-in": (403, 404, 409, 422),
    "POST /api/v1/tasks/{task_id}/rating": (403, 404),
    "GET /api/v1/cases/{case_id}/report-ins": (404,),
    "GET /api/v1/report-ins/late": (403,),
    "GET /api/v1/joint-tasks/overdue": (403,),
    "GET /api/v1/assessment/report-ins": (403,),
    "POST /api/v1/follows": (404,),
    "POST /api/v1/follows/confirm": (404,),
    "POST /api/v1/follows/{token}/stop": (404,),
    "GET /feeds/areas/{layer}/{code}.atom": (404,),
    "POST /api/v1/track/{tracking_code}": (404, 409, 429),
    "GET /api/v1/bans": (403,),
    "POST /api/v1/bans": (403,),
    "DELETE /api/v1/bans/{ban_id}": (403, 404),
    "POST /api/v1/auth/token": (401, 429),
    "GET /api/v1/users": (403,),
    "POST /api/v1/users": (403,),
    "PUT /api/v1/users/{username}/access": (403, 404),
    "GET /api/v1/contacts": (403,),
    "PUT /api/v1/contacts": (403, 404),
    "DELETE /api/v1/contacts/{contact_id}": (403, 404),
    "POST /api/v1/boundaries/uploads": (403, 404),
    "GET /api/v1/boundaries/generations": (403,),
    "GET /api/v1/boundaries/generations/{generation_id}/compare": (403, 404),
    "GET /api/v1/boundaries/generations/{generation_id}.geojson": (403, 404),
    "POST /api/v1/boundaries/generations/{generation_id}/activate": (403, 404),
    "POST /api/v1/users/{username}/disable": (403, 404),
    "POST /api/v1/users/{username}/enable": (403, 404),
    "POST /api/v1/users/{username}/password": (403, 404),
    "DELETE /api/v1/users/{username}/sessions": (403, 404),
    "GET /api/v1/apikeys": (403,),
    "POST /api/v1/apikeys/{key_id}/revoke": (403, 404),
    "POST /api/v1/meetings": (403, 404),
    "GET /api/v1/meetings": (403,),
    "GET /api/v1/meetings/{meeting_id}": (403, 404),
    "GET /api/v1/meetings/{meeting_id}/agenda": (403, 404),
    "POST /api/v1/meetings/{meeting_id}/record": (403, 404, 409),
    "POST /api/v1/meetings/actions/{action_id}/done": (403, 404, 409),
    "GET /api/v1/hotspots": (403,),
    "GET /api/v1/hotspots.{kind}": (403,),
    "GET /api/v1/hotspots/cells/{cell}": (403,),
    "POST /api/v1/hotspots/cells/{cell}/agenda": (403,),
    "GET /api/v1/hotspots/density.{kind}": (403,),
    "GET /api/v1/assessment": (403,),
    "GET /api/v1/assessment/cases": (403,),
    "GET /ogc": (400,),
    "GET /ogc/conformance": (400,),
    "GET /ogc/collections": (400,),
    "GET /ogc/collections/{collection_id}": (400, 403, 404),
    "GET /ogc/collections/{collection_id}/items": (400, 403, 404),
    "GET /ogc/collections/{collection_id}/items/{feature_id}": (400, 403, 404),
    "GET /tiles/case_density/{z}/{x}/{y}.mvt": (400, 403, 404),
    "GET /tiles/{collection}/{z}/{x}/{y}.mvt": (400, 404),
}
#: Paths that answer errors in a shape of their own and declare them themselves.
OWN_ERRORS = ("/open311/",)
BODY_METHODS = {"post", "put", "patch"}
REF = "#/components/schemas/ErrorOut"


def statuses(method: str, path: str, operation: dict[str, Any]) -> list[int]:
    """Every error status an operation can answer with the shared error body."""
    found = {422, 503}
    if method in BODY_METHODS:
        found |= {400, 413}
    if operation.get("security"):
        found.add(401)
    found.update(ERRORS.get(f"{method.upper()} {path}", ()))
    return sorted(found)


def add_errors(document: dict[str, Any]) -> dict[str, Any]:
    """Declare the error answers in an OpenAPI ``document`` (changed in place and returned)."""
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    schemas["ErrorOut"] = ErrorOut.model_json_schema(ref_template="#/components/schemas/{model}")
    for path, operations in document.get("paths", {}).items():
        if path.startswith(OWN_ERRORS):
            continue
        for method, operation in operations.items():
            responses = operation.setdefault("responses", {})
            for status in statuses(method, path, operation):
                declared = responses.get(str(status), {})
                if declared and "HTTPValidationError" not in str(declared):
                    continue  # the route declares its own body for this status
                entry: dict[str, Any] = {
                    "description": DESCRIPTIONS[status],
                    "content": {"application/json": {"schema": {"$ref": REF}}},
                }
                if status in (429, 503):
                    entry["headers"] = RETRY_AFTER
                responses[str(status)] = entry
    if "HTTPValidationError" not in str(document.get("paths")):
        schemas.pop("HTTPValidationError", None)
        schemas.pop("ValidationError", None)
    return document


def install(app: FastAPI) -> None:
    """Make ``app.openapi()`` return the document with the error answers declared."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = add_errors(
                add_inputs(
                    get_openapi(
                        title=app.title,
                        version=app.version,
                        openapi_version=app.openapi_version,
                        summary=app.summary,
                        description=app.description,
                        routes=app.routes,
                    )
                )
            )
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
