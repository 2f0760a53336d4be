"""Many points at once: the batch endpoint, the CLI and bulk jobs share this path."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import numpy as np
from sqlalchemy import Connection

from gis.coords import CoordSystem, looks_swapped, to_wgs84
from jurisdictions.service import outside_error, resolve_points


def _error(code: str, message: str, **details: Any) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, **details}}


def resolve_batch(
    conn: Connection,
    *,
    points: Sequence[tuple[float, float]],
    crs: CoordSystem | str = CoordSystem.WGS84,
    at: datetime | None = None,
) -> dict[str, Any]:
    """Resolve ``[lon, lat]`` points; each result is a resolution or its own error."""
    raw = np.asarray(points, dtype=float).reshape(-1, 2)
    x, y = raw[:, 0], raw[:, 1]
    ok = np.isfinite(x) & np.isfinite(y) & (np.abs(x) <= 180) & (np.abs(y) <= 90)
    wx, wy = to_wgs84(x[ok], y[ok], CoordSystem(crs))
    resolved = resolve_points(conn, lons=wx, lats=wy, at=at)
    results: list[dict[str, Any]] = []
    it = iter(resolved)
    generation: dict[str, int] = resolved[0].generations if resolved else {}
    for i in range(len(raw)):
        if not ok[i]:
            results.append(
                _error(
                    "invalid_coordinates",
                    f"point {i}: ({x[i]}, {y[i]}) is not a longitude, latitude",
                )
            )
            continue
        res = next(it)
        if res.inside:
            results.append(res.as_dict())
        elif looks_swapped(float(x[i]), float(y[i])):
            results.append(
                _error(
                    "invalid_coordinates",
                    f"point {i}: ({x[i]}, {y[i]}) lies outside China but "
                    f"({y[i]}, {x[i]}) does not: give longitude first",
                )
            )
        else:
            err = outside_error(res)
            results.append(_error(err.code, err.message, nearest=res.nearest))
    return {"generation": generation, "results": results}
