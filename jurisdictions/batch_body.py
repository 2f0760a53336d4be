"""The body of ``POST /api/v1/resolve/batch`` read straight into a numpy array.

Pydantic validates 10,000 ``[lon, lat]`` pairs into as many Python tuples, which the lookup
then turns back into an array; most bodies are plain JSON numbers, and for those
:func:`parse_batch` reads the JSON once (orjson) and checks it as a whole instead. Anything
else — a string or ``true`` where a number goes, a pair of three, an empty list, NaN, a
timestamp, a key missing — goes through :class:`~jurisdictions.schemas.BatchIn` exactly as
before, so a body is accepted or refused as before, with the same errors.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np
import orjson

from gis.coords import CoordSystem
from jurisdictions.schemas import BatchIn

_CRS = {c.value: c for c in CoordSystem}
#: numpy kinds of an array of JSON numbers and booleans
_NUMERIC = frozenset("fiub")


@dataclass(frozen=True)
class BatchRequest:
    """A batch to resolve: ``points`` is an (n, 2) float array of ``[lon, lat]``."""

    points: np.ndarray
    crs: CoordSystem
    at: datetime | None


def _fast(body: bytes) -> BatchRequest | None:
    """The request, if the body is a JSON object whose ``points`` is a non-empty list of
    pairs of JSON numbers (or booleans), ``crs`` (if given) one of the names and ``at``
    absent or null; None for anything else (left to the full validation)."""
    try:
        data: Any = orjson.loads(body)
    except orjson.JSONDecodeError:
        return None
    if not isinstance(data, dict) or data.get("at") is not None:
        return None
    crs = _CRS.get(data.get("crs", "wgs84")) if isinstance(data.get("crs", ""), str) else None
    points = data.get("points")
    if crs is None or not isinstance(points, list) or not points:
        return None
    try:  # numbers (and true/false, which pydantic reads as 1 and 0) make a numeric array;
        array = np.array(points)  # a string, null or object makes another kind, ragged fails
    except (TypeError, ValueError, OverflowError):
        return None
    if array.dtype.kind not in _NUMERIC or array.ndim != 2 or array.shape[1] != 2:
        return None
    return BatchRequest(points=array.astype(float, copy=False), crs=crs, at=None)


def parse_batch(body: bytes) -> BatchRequest:
    """The batch of a request body; raises pydantic's ``ValidationError`` for a bad one."""
    fast = _fast(body)
    if fast is not None:
        return fast
    valid = BatchIn.model_validate_json(body)
    points = np.asarray(valid.points, dtype=float).reshape(-1, 2)
    return BatchRequest(points=points, crs=valid.crs, at=valid.at)
