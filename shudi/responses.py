"""JSON answers serialised with orjson, for the routes whose answers are large (layers, feeds,
batches); shared by every package's router."""

from __future__ import annotations

from typing import Any

import orjson
from fastapi import Response


def json_response(payload: object, status_code: int = 200) -> Response:
    """Serialise with orjson (fast for large answers)."""
    return Response(orjson.dumps(payload), status_code=status_code, media_type="application/json")


def json_answer(
    payload: Any, status_code: int = 200, headers: dict[str, str] | None = None
) -> Response:
    """As :func:`json_response`, with any value orjson cannot serialise (a ``Decimal``, …)
    written as its ``str``: the routers that answer rows as they come from the database."""
    return Response(
        orjson.dumps(payload, default=str),
        status_code=status_code,
        media_type="application/json",
        headers=headers,
    )
