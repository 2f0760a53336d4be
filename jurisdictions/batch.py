"""Many points at once: the batch endpoint, the CLI and bulk jobs share this path.

The answer is written as JSON bytes directly: the points are resolved by the in-process index
(:func:`jurisdictions.service.index_at`) into answer ids, each distinct answer's JSON is encoded
once and kept with the index, and each point's entry is its coordinates followed by those
bytes. Points outside every town are told the nearest town (one vectorised lookup for all).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import numpy as np
import orjson
from sqlalchemy import Connection

from gis.coords import CoordSystem, looks_swapped, to_wgs84
from jurisdictions.index import AreaIndex
from jurisdictions.service import Resolution, index_at, outside_error, territory_of


def _error(code: str, message: str, **details: Any) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, **details}}


def _numbers(values: np.ndarray) -> list[bytes]:
    """Each float as JSON text, as orjson writes it."""
    return orjson.dumps(values.tolist())[1:-1].split(b",") if len(values) else []


def _tails(index: AreaIndex, gens: dict[str, int], ids: np.ndarray) -> dict[int, bytes]:
    """For each answer id with a town, ``,"generation":…}``: the entry's JSON after its
    point (answers without a town are errors)."""
    tails: dict[int, bytes] = {}
    for answer in np.unique(ids).tolist():
        key = ("batch-json", answer)
        if key not in index.memo:
            res = territory_of(index, gens, answer)
            index.memo[key] = b"," + orjson.dumps(res.territory())[1:] if res.inside else None
        tail = index.memo[key]
        if tail is not None:
            tails[answer] = tail  # type: ignore[assignment]
    return tails


#: Stand-ins for a point's numbers in an outside error's template (see :func:`_outside`).
_LON, _LAT, _METRES = 111.111111, 22.222222, 333333.3


def _template(gens: dict[str, int], near: Any) -> list[bytes] | None:
    """The outside error's JSON for the nearest town ``near`` (an Area), cut where the point's
    lon, lat and distance go: the message is :func:`outside_error`'s own, written once per
    town with stand-in numbers. None if the stand-ins do not cut it cleanly."""
    res = Resolution(lon=_LON, lat=_LAT, generations=gens)
    if near is not None:
        res.nearest = {"layer": "town", "code": near.code, "name": near.name, "distance_m": _METRES}
    err = outside_error(res)
    text = orjson.dumps(_error(err.code, err.message, nearest=res.nearest))
    where = f"({_LON:.6f}, {_LAT:.6f})".encode()
    head, _, rest = text.partition(where)
    if near is None:
        return [head, rest] if rest and where not in rest else None
    parts = rest.split(f"{_METRES:.0f} m away".encode())
    if len(parts) != 2 or where in rest:
        return None
    middle, tail = parts
    tail_parts = tail.split(repr(_METRES).encode())
    if len(tail_parts) != 2:
        return None
    return [head, middle, b" m away" + tail_parts[0], tail_parts[1]]


def _outside(
    gens: dict[str, int],
    i: int,
    raw: tuple[float, float],
    store: tuple[float, float],
    near: Any,
    templates: dict[object, list[bytes] | None],
) -> bytes:
    """The entry of a point that no town covers (or given latitude first)."""
    x, y = raw
    if looks_swapped(x, y):
        return orjson.dumps(
            _error(
                "invalid_coordinates",
                f"point {i}: ({x}, {y}) lies outside China but "
                f"({y}, {x}) does not: give longitude first",
            )
        )
    town = near[0] if near is not None else None
    key = town.code if town is not None else None
    if key not in templates:
        templates[key] = _template(gens, town)
    cut = templates[key]
    where = f"({store[0]:.6f}, {store[1]:.6f})".encode()
    if cut is not None and town is None:
        return cut[0] + where + cut[1]
    if cut is not None:
        metres = round(near[1], 1)
        return (
            cut[0]
            + where
            + cut[1]
            + f"{metres:.0f}".encode()
            + cut[2]
            + repr(metres).encode()
            + cut[3]
        )
    res = Resolution(lon=store[0], lat=store[1], generations=gens)
    if near is not None:
        res.nearest = {
            "layer": "town",
            "code": near[0].code,
            "name": near[0].name,
            "distance_m": round(near[1], 1),
        }
    err = outside_error(res)
    return orjson.dumps(_error(err.code, err.message, nearest=res.nearest))


def resolve_batch_json(
    conn: Connection,
    *,
    points: Sequence[tuple[float, float]] | np.ndarray,
    crs: CoordSystem | str = CoordSystem.WGS84,
    at: datetime | None = None,
) -> bytes:
    """Resolve ``[lon, lat]`` points into the JSON of ``POST /api/v1/resolve/batch``
    (``{"generation": …, "results": […]}``); each result is a resolution or its own error."""
    raw = np.asarray(points, dtype=float).reshape(-1, 2)
    x, y = raw[:, 0], raw[:, 1]
    with np.errstate(invalid="ignore"):
        ok = np.isfinite(x) & np.isfinite(y) & (np.abs(x) <= 180) & (np.abs(y) <= 90)
    wx, wy = to_wgs84(x[ok], y[ok], CoordSystem(crs))
    wx, wy = np.asarray(wx, dtype=float), np.asarray(wy, dtype=float)
    gens, index = index_at(conn, at=at)
    ids = index.answer_ids(wx, wy) if index is not None else np.zeros(len(wx), dtype=np.int64)
    tails = _tails(index, gens, ids) if index is not None else {}
    out_at = np.flatnonzero(~np.isin(ids, list(tails)))
    nearest: list[Any] = [None] * len(out_at)
    empty = ids[out_at] == 0  # covered by nothing at all: told the nearest town
    if index is not None and empty.any():
        for k, near in zip(
            np.flatnonzero(empty).tolist(),
            index.nearest_towns(wx[out_at[empty]], wy[out_at[empty]]),
            strict=True,
        ):
            nearest[k] = near
    lons, lats = _numbers(wx), _numbers(wy)
    entries: list[bytes] = [
        b'{"point":{"lon":' + lon + b',"lat":' + lat + b"}" + tails.get(a, b"")
        for lon, lat, a in zip(lons, lats, ids.tolist(), strict=True)
    ]
    if len(out_at) or not ok.all():
        positions = np.flatnonzero(ok)
        templates: dict[object, list[bytes] | None] = {}
        for k, near in zip(out_at.tolist(), nearest, strict=True):
            i = int(positions[k])
            entries[k] = _outside(
                gens,
                i,
                (float(x[i]), float(y[i])),
                (float(wx[k]), float(wy[k])),
                near,
                templates,
            )
        for i in np.flatnonzero(~ok).tolist():  # in order, so positions stay right
            bad = _error(
                "invalid_coordinates", f"point {i}: ({x[i]}, {y[i]}) is not a longitude, latitude"
            )
            entries.insert(i, orjson.dumps(bad))
    head = orjson.dumps(gens if len(wx) else {})
    return b'{"generation":' + head + b',"results":[' + b",".join(entries) + b"]}"


def resolve_batch(
    conn: Connection,
    *,
    points: Sequence[tuple[float, float]] | np.ndarray,
    crs: CoordSystem | str = CoordSystem.WGS84,
    at: datetime | None = None,
) -> dict[str, Any]:
    """:func:`resolve_batch_json` as data (the CLI; tests)."""
    data: dict[str, Any] = orjson.loads(resolve_batch_json(conn, points=points, crs=crs, at=at))
    return data
