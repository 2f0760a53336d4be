"""JSON answers serialised with orjson, for the routes whose answers are large (layers, feeds,
batches); shared by every package's router."""

from __future__ import annotations

import orjson
from fastapi import Response


def json_response(payload: object, status_code: int = 200) -> Response:
    """Serialise with orjson (fast for large answers)."""
    return Response(orjson.dumps(payload), status_code=status_code, media_type="application/json")
