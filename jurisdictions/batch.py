"""Many points at once: the batch endpoint, the CLI and bulk jobs share this path.

The answer is written as JSON bytes directly, with no Python loop per point: the points are
resolved by the in-process index (:func:`jurisdictions.service.index_at`) into answer ids;
each distinct answer's JSON is encoded once and kept with the index; the coordinates are
written as text in one call for the whole array; and the answer is one join of those pieces
(per point: its coordinates, then its answer's bytes). Points outside every town are told the
nearest town (one vectorised lookup for all), their message written from a template per town
cut where the point's numbers go.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime
from itertools import chain, repeat
from typing import Any

import numpy as np
import orjson
from sqlalchemy import Connection

from gis.coords import CoordSystem, looks_swapped_array, to_wgs84
from jurisdictions.index import AreaIndex
from jurisdictions.service import Resolution, index_at, outside_error, territory_of

#: A point's entry up to its longitude, and between its longitude and latitude.
_HEAD = b',{"point":{"lon":'
_MID = b',"lat":'


def _error(code: str, message: str, **details: Any) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, **details}}


def _numbers(values: np.ndarray) -> list[bytes]:
    """Each float as JSON text, as orjson writes it (``null`` where not finite)."""
    if not len(values):
        return []
    text = orjson.dumps(np.ascontiguousarray(values), option=orjson.OPT_SERIALIZE_NUMPY)
    return text[1:-1].split(b",")


def _tail_table(index: AreaIndex, gens: dict[str, int], ids: np.ndarray) -> np.ndarray:
    """Per answer id met in ``ids``: ``},"generation":…}``, the entry's JSON after its point,
    or None for an answer without a town (an error). An object array indexed by answer id."""
    table = np.full(int(ids.max()) + 1 if len(ids) else 1, None, dtype=object)
    for answer in np.flatnonzero(np.bincount(ids)).tolist() if len(ids) else []:
        key = ("batch-tail", answer)
        if key not in index.memo:
            res = territory_of(index, gens, answer)
            index.memo[key] = b"}," + orjson.dumps(res.territory())[1:] if res.inside else None
        table[answer] = index.memo[key]
    return table


#: Stand-ins for a point's numbers in an outside error's template (see :func:`_template`).
_LON, _LAT, _METRES = 111.111111, 22.222222, 333333.3


def _template(gens: dict[str, int], near: Any) -> bytes | None:
    """The outside error's JSON for the nearest town ``near`` (an Area, or None when there is
    none) as a ``%`` template of the point's lon, lat and distance (``%.6f``, ``%.6f``,
    ``%.0f``, ``%r``; lon and lat only without a town): the message is
    :func:`outside_error`'s own, written once per town with stand-in numbers and cut where
    they are. None if the stand-ins do not cut it cleanly."""
    res = Resolution(lon=_LON, lat=_LAT, generations=gens)
    if near is not None:
        res.nearest = {"layer": "town", "code": near.code, "name": near.name, "distance_m": _METRES}
    err = outside_error(res)
    text = orjson.dumps(_error(err.code, err.message, nearest=res.nearest)).replace(b"%", b"%%")
    where = f"({_LON:.6f}, {_LAT:.6f})".encode()
    head, _, rest = text.partition(where)
    if near is None:
        return head + b"(%.6f, %.6f)" + rest if rest and where not in rest else None
    parts = rest.split(f"{_METRES:.0f} m away".encode())
    if len(parts) != 2 or where in rest:
        return None
    middle, tail = parts
    tail_parts = tail.split(repr(_METRES).encode())
    if len(tail_parts) != 2:
        return None
    return b"%.0f m away".join((head + b"(%.6f, %.6f)" + middle, b"%r".join(tail_parts)))


def _slow_outside(gens: dict[str, int], lon: float, lat: float, near: Any, metres: float) -> bytes:
    """An outside error written out in full (when its template could not be cut)."""
    res = Resolution(lon=lon, lat=lat, generations=gens)
    if near is not None:
        res.nearest = {"layer": "town", "code": near.code, "name": near.name, "distance_m": metres}
    err = outside_error(res)
    return orjson.dumps(_error(err.code, err.message, nearest=res.nearest))


def _outside_entries(
    index: AreaIndex | None,
    gens: dict[str, int],
    wx: np.ndarray,
    wy: np.ndarray,
    empty: np.ndarray,
) -> list[bytes]:
    """The error entries of points (store coordinates) that no town covers: the nearest town
    for those covered by nothing at all (``empty``), none for the others."""
    picks = np.full(len(wx), -1, dtype=np.intp)
    metres = np.zeros(len(wx))
    if index is not None and empty.any():
        picks[empty], metres[empty] = index.nearest_town_ids(wx[empty], wy[empty])
    xs, ys, ms = wx.tolist(), wy.tolist(), list(map(round, metres.tolist(), repeat(1)))
    areas = index.areas if index is not None else []
    memo = index.memo if index is not None else {}
    entries: list[bytes] = [b""] * len(wx)
    for pick in np.unique(picks).tolist():
        near = areas[pick] if pick >= 0 else None
        key = ("batch-outside", near.code if near is not None else None)
        if key not in memo:
            memo[key] = _template(gens, near)
        template: bytes | None = memo[key]  # type: ignore[assignment]
        at = np.flatnonzero(picks == pick).tolist()
        if template is None:
            for k in at:
                entries[k] = _slow_outside(gens, xs[k], ys[k], near, ms[k])
            continue
        args: Iterator[tuple[Any, ...]]
        if near is None:
            args = zip(map(xs.__getitem__, at), map(ys.__getitem__, at), strict=True)
        else:
            m = list(map(ms.__getitem__, at))
            args = zip(map(xs.__getitem__, at), map(ys.__getitem__, at), m, m, strict=True)
        for k, entry in zip(at, map(template.__mod__, args), strict=True):
            entries[k] = entry
    return entries


def _swapped_entry(i: int, x: float, y: float) -> bytes:
    return orjson.dumps(
        _error(
            "invalid_coordinates",
            f"point {i}: ({x}, {y}) lies outside China but ({y}, {x}) does not: "
            "give longitude first",
        )
    )


def _invalid_entry(i: int, x: float, y: float) -> bytes:
    return orjson.dumps(
        _error("invalid_coordinates", f"point {i}: ({x}, {y}) is not a longitude, latitude")
    )


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
    n = len(raw)
    with np.errstate(invalid="ignore"):
        ok = np.isfinite(x) & np.isfinite(y) & (np.abs(x) <= 180) & (np.abs(y) <= 90)
    every = bool(ok.all())
    wx, wy = to_wgs84(x if every else x[ok], y if every else y[ok], CoordSystem(crs))
    wx, wy = np.asarray(wx, dtype=float), np.asarray(wy, dtype=float)
    gens, index = index_at(conn, at=at)
    ids = index.answer_ids(wx, wy) if index is not None else np.zeros(len(wx), dtype=np.int64)
    table = _tail_table(index, gens, ids) if index is not None else np.full(1, None, object)
    # everything below is over all n points: a point not ok gets its own entry
    if not every:
        full = np.full(n, np.nan)
        full[ok], wx = wx, full
        full = np.full(n, np.nan)
        full[ok], wy = wy, full
        full_ids = np.zeros(n, dtype=np.int64)
        full_ids[ok], ids = ids, full_ids
    tails = table[ids]
    inside = np.array([t is not None for t in table.tolist()], dtype=bool)[ids] & ok
    lons, lats = _numbers(wx), _numbers(wy)
    heads, mids, tails_list = [_HEAD] * n, [_MID] * n, tails.tolist()
    special = np.flatnonzero(~inside)
    if len(special):
        entries: dict[int, bytes] = {}
        outside = special[ok[special]]
        swapped = looks_swapped_array(x[outside], y[outside])
        for i in outside[swapped].tolist():
            entries[i] = _swapped_entry(i, float(x[i]), float(y[i]))
        rest = outside[~swapped]
        found = _outside_entries(index, gens, wx[rest], wy[rest], ids[rest] == 0)
        entries.update(zip(rest.tolist(), found, strict=True))
        for i in special[~ok[special]].tolist():
            entries[i] = _invalid_entry(i, float(x[i]), float(y[i]))
        for i, entry in entries.items():
            heads[i], lons[i], mids[i], lats[i], tails_list[i] = b",", entry, b"", b"", b""
    if n:
        heads[0] = heads[0][1:]  # no comma before the first entry
    head = orjson.dumps(gens if ok.any() else {})
    return b"".join(
        chain(
            (b'{"generation":', head, b',"results":['),
            chain.from_iterable(zip(heads, lons, mids, lats, tails_list, strict=True)),
            (b"]}",),
        )
    )


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
