"""Placing historical rows: the boundary generations valid at each row's date, the areas that
cover it, and the routing of each distinct (type, territory) pair — memoised.

Dates are split at every start and end of a generation's validity period; each piece is
resolved against the generations valid in it, with the in-process polygon index of that set
(polygon-driven for a large batch). A row dated before every layer had a generation is placed
with the first complete set (the boundaries as of the moment every layer first had one),
and counted. Rows that no town covers are bad rows, with the nearest town named.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import Connection, text

from incidents import placement as placing
from incidents.exceptions import HistoryImportRejected
from jurisdictions import catalog
from jurisdictions.generations import list_generations
from jurisdictions.index import area_index
from jurisdictions.service import Resolution, generations_at, outside_error, resolve_points

CHUNK = 200_000  # points per index probe (the progress bar's step)
Progress = Callable[[str, int, int | None], None]


@dataclass
class Placement:
    """Per row a route id (-1: outside the district); the routes; why outside rows failed."""

    route_ids: np.ndarray
    routes: list[dict[str, Any]]
    outside: dict[int, str] = field(default_factory=dict)
    before_boundaries: int = 0
    sets: list[dict[str, Any]] = field(default_factory=list)


def _breakpoints(conn: Connection) -> tuple[np.ndarray, int]:
    """Every start and end of a validity period (ns since the epoch, UTC), and the moment
    every layer first had a generation."""
    starts: dict[str, list[datetime]] = {}
    points: set[datetime] = set()
    for gen in list_generations(conn):
        key = f"{gen['layer']}:{gen['agency']}" if gen["agency"] else gen["layer"]
        for period in gen["periods"]:
            start = datetime.fromisoformat(period["from"])
            starts.setdefault(key, []).append(start)
            points.add(start)
            if period["to"]:
                points.add(datetime.fromisoformat(period["to"]))
    if not starts:
        raise HistoryImportRejected(
            "no boundary generation has ever been active: import and activate boundaries first"
        )
    complete = max(min(s) for s in starts.values())
    stamps = np.array(sorted(pd.Timestamp(p).value for p in points), dtype=np.int64)
    return stamps, int(pd.Timestamp(complete).value)


def _database(conn: Connection) -> int:
    return int(
        conn.execute(
            text("SELECT oid FROM pg_database WHERE datname = current_database()")
        ).scalar_one()
    )


def _cover(
    conn: Connection,
    gens: Mapping[str, int],
    xs: np.ndarray,
    ys: np.ndarray,
    tick: Callable[[int], None],
) -> list[tuple[int, ...]]:
    index = area_index(conn, generation_ids=list(gens.values()), database=_database(conn))
    combos: list[tuple[int, ...]] = []
    for start in range(0, len(xs), CHUNK):
        combos += index.covering(xs[start : start + CHUNK], ys[start : start + CHUNK])
        tick(min(len(xs), start + CHUNK))
    return combos


def place_rows(
    conn: Connection,
    *,
    lon: np.ndarray,
    lat: np.ndarray,
    when: pd.Series,
    type_codes: np.ndarray,
    progress: Progress | None = None,
) -> Placement:
    """Resolve and route every row as of its date (see the module docstring)."""
    note = progress or (lambda _stage, _done, _total: None)
    n = len(lon)
    stamps, complete = _breakpoints(conn)
    t = when.to_numpy(dtype="datetime64[ns]").astype(np.int64)
    early = t < complete
    bucket = np.searchsorted(stamps, np.maximum(t, complete), side="right") - 1
    resolutions: list[Resolution] = []  # one per (generation set, covering areas)
    combo_of_row = np.full(n, -1, dtype=np.int64)
    outside: dict[int, str] = {}
    sets: list[dict[str, Any]] = []
    done = 0
    groups: dict[tuple[tuple[str, int], ...], tuple[datetime, list[int]]] = {}
    for b in np.unique(bucket).tolist():
        at = pd.Timestamp(int(stamps[b]), tz=UTC).to_pydatetime()
        gens = generations_at(conn, at=at)
        groups.setdefault(tuple(sorted(gens.items())), (at, []))[1].append(b)
    for key, (at, buckets) in groups.items():
        rows = np.flatnonzero(np.isin(bucket, buckets))
        gens = dict(key)
        sets.append({"generations": gens, "from": at, "rows": len(rows)})

        def tick(k: int, base: int = done) -> None:
            note("resolving", base + k, n)

        combos = _cover(conn, gens, lon[rows], lat[rows], tick)
        done += len(rows)
        local: dict[tuple[int, ...], int] = {}
        ids = np.fromiter((local.setdefault(c, len(local)) for c in combos), np.int64, len(rows))
        first = np.unique(ids, return_index=True)[1]  # a representative row per combo
        reps = resolve_points(
            conn, lons=lon[rows][first], lats=lat[rows][first], at=at, with_nearest=False
        )
        out_ids = [i for i, res in enumerate(reps) if not res.inside]
        inside = ~np.isin(ids, out_ids)
        combo_of_row[rows[inside]] = ids[inside] + len(resolutions)
        resolutions += reps
        gone = rows[~inside]
        if len(gone):
            near = resolve_points(conn, lons=lon[gone], lats=lat[gone], at=at)
            outside |= {int(i): outside_error(r).message for i, r in zip(gone, near, strict=True)}
    route_ids, routes = _route_all(conn, combo_of_row, type_codes, resolutions, note)
    return Placement(route_ids, routes, outside, int(early[combo_of_row >= 0].sum()), sets)


def _route_all(
    conn: Connection,
    combo_of_row: np.ndarray,
    type_codes: np.ndarray,
    resolutions: list[Resolution],
    note: Progress,
) -> tuple[np.ndarray, list[dict[str, Any]]]:
    """Route each distinct (territory, type) pair once; a route id per row."""
    route_ids = np.full(len(combo_of_row), -1, dtype=np.int64)
    placed = combo_of_row >= 0
    if not placed.any():
        return route_ids, []
    type_idx, type_list = pd.factorize(pd.Series(type_codes[placed]))
    pair = combo_of_row[placed] * len(type_list) + type_idx
    uniq, inverse = np.unique(pair, return_inverse=True)
    route_ids[placed] = inverse
    vtypes = {code: catalog.get_type(conn, code=code) for code in type_list}
    agencies = catalog.agencies_by_code(conn)
    routes = []
    for i, p in enumerate(uniq.tolist()):
        res = resolutions[p // len(type_list)]
        vtype = vtypes[type_list[p % len(type_list)]]
        where = placing.placed(res, vtype=vtype, agencies=agencies)
        cols = where.columns | {"routing": where.routing.model_dump_json()}  # as text
        routes.append({"route_id": i, "type_code": vtype.code, "scope": vtype.scope} | cols)
        if i % 500 == 0:
            note("routing", i, len(uniq))
    note("routing", len(uniq), len(uniq))
    return route_ids, routes
