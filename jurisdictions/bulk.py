"""Re-resolve every stored point of a table, writing back only what changed.

:func:`owners` is the one bulk re-resolve: activating a boundary generation runs it over the
open cases (:func:`jurisdictions.generations.activate` → ``incidents.territory``), and
:func:`reresolve_table` runs it over any table of points and writes the owners back. The points
are read with one COPY and resolved by the in-process index of the generations (the same
answers, tie-breaks on shared borders included, as :mod:`jurisdictions.service`); the owners
come back as a temporary table, and only rows whose owners differ are written.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import Connection, bindparam, text
from sqlalchemy.dialects.postgresql import JSONB

from jurisdictions.index import AreaIndex
from jurisdictions.service import index_at, territory_of

IDENT = re.compile(r"^[a-z_][a-z0-9_]*(\.[a-z_][a-z0-9_]*)?$")

#: The points to resolve: id, x, y (COPY text: floats written exactly, NULL as \\N).
POINTS = """COPY (SELECT t.{id}, ST_X(t.{geom}), ST_Y(t.{geom}), t.town_code, t.community_code,
    t.property_area_code, t.agency_units::text FROM {table} t WHERE ({where}))
TO STDOUT WITH (FORMAT csv)"""
#: Their current owners, as read: town, community, property area, units (jsonb as text).
OWNED = ("town", "community", "pa", "units")

#: One row per point whose owners differ from its stored ones: the new owners (NULLs and
#: ``{}`` for a point no area covers any more), and whether some layer had several candidates.
OWNERS = """
CREATE TEMP TABLE _shudi_owners ON COMMIT DROP AS
SELECT p.pid, a.pa, a.community, a.town, a.units, a.on_border
FROM _shudi_points p JOIN _shudi_answers a ON a.answer = p.answer
"""

WRITE_BACK = """
UPDATE {table} t
SET town_code = o.town, community_code = o.community, property_area_code = o.pa,
    agency_units = o.units
FROM _shudi_owners o
WHERE t.{id} = o.pid
  AND (t.town_code, t.community_code, t.property_area_code, t.agency_units)
      IS DISTINCT FROM (o.town, o.community, o.pa, o.units)
"""

TEMPS = ("_shudi_points", "_shudi_answers", "_shudi_owners")


@dataclass(frozen=True)
class BulkResult:
    """How many points were looked at and how many changed owner."""

    points: int
    changed: int
    generations: dict[str, int]


def _names(table: str, id_column: str, geom_column: str) -> dict[str, str]:
    for name in (table, id_column, geom_column):
        if not IDENT.match(name):
            raise ValueError(f"not a plain SQL identifier: {name!r}")
    return {"table": table, "id": id_column, "geom": geom_column}


def owners(
    conn: Connection,
    *,
    table: str,
    id_column: str = "id",
    geom_column: str = "geom",
    where: str = "true",
    at: datetime | None = None,
) -> tuple[int, dict[str, int]]:
    """Resolve ``table``'s points (those matching ``where``) against the generations valid at
    ``at``, into the temporary table ``_shudi_owners`` (pid, pa, community, town, units,
    on_border) that lives until the transaction ends; returns how many points were looked at
    and the generations used.

    The points are read with one COPY and resolved by the in-process index of those
    generations (:func:`jurisdictions.service.index_at`, loaded from the database), so the
    owners and their tie-breaks on shared borders are the single-point resolver's own; the
    answers go back with one binary COPY (point id, answer id) and a table of the few distinct
    answers.

    The stored owners (``town_code``, ``community_code``, ``property_area_code``,
    ``agency_units``, as in ``case_file``) are read with the points and compared in the same
    pass, so ``_shudi_owners`` holds only the points whose owners change.

    ``where`` is trusted SQL over the table's alias ``t`` (written by the caller, never taken
    from input), e.g. the predicate of a partial GiST index on the points.
    """
    names = _names(table, id_column, geom_column) | {"where": where}
    gens, index = index_at(conn, at=at)
    for temp in TEMPS:
        conn.execute(text(f"DROP TABLE IF EXISTS {temp}"))
    raw: Any = conn.connection.dbapi_connection
    buf = io.BytesIO()
    with raw.cursor() as cur:
        cur.copy_expert(POINTS.format(**names), buf)
    buf.seek(0)
    pts = pd.read_csv(
        buf,
        header=None,
        names=["id", "x", "y", *OWNED],
        dtype={"id": np.int64, "x": np.float64, "y": np.float64} | dict.fromkeys(OWNED, str),
        na_values=[""],  # CSV NULL (codes are never empty)
        keep_default_na=False,
        engine="c",
    )
    xs, ys = pts["x"].to_numpy(), pts["y"].to_numpy()
    ids = index.answer_ids(xs, ys) if index is not None and len(pts) else np.zeros(len(pts), int)
    conn.execute(
        text("""CREATE TEMP TABLE _shudi_answers (answer int PRIMARY KEY, pa text,
                community text, town text, units jsonb, on_border bool) ON COMMIT DROP""")
    )
    conn.execute(text("CREATE TEMP TABLE _shudi_points (pid bigint, answer int) ON COMMIT DROP"))
    answers = [_answer(index, gens, a) for a in np.unique(ids).tolist()]
    if answers:
        conn.execute(INSERT_ANSWERS, answers)
        # the owners as stored would show them (jsonb's own text for the units)
        sql = "SELECT answer, town, community, pa, units::text AS units FROM _shudi_answers"
        want = {r.answer: r for r in conn.execute(text(sql))}
        size = int(ids.max()) + 1
        differs = np.zeros(len(pts), dtype=bool)
        for column in OWNED:
            wanted = np.empty(size, dtype=object)
            for answer, row in want.items():
                wanted[answer] = getattr(row, column)
            stored = pts[column].to_numpy(dtype=object, na_value=None)
            differs |= stored != wanted[ids]
        _copy_pairs(raw, pts["id"].to_numpy()[differs], ids[differs])
    conn.execute(text(OWNERS))
    conn.execute(text("ANALYZE _shudi_owners"))
    conn.execute(text("DROP TABLE _shudi_points, _shudi_answers"))
    return len(pts), gens


def _answer(index: AreaIndex | None, gens: dict[str, int], answer: int) -> dict[str, Any]:
    """The owners of one answer id (none for 0: covered by nothing)."""
    if answer == 0 or index is None:
        return {"answer": answer, "pa": None, "community": None, "town": None, "units": {},
                "on_border": False}  # fmt: skip
    res = territory_of(index, gens, answer)
    return {
        "answer": answer,
        "pa": res.property_area.code if res.property_area else None,
        "community": res.community.code if res.community else None,
        "town": res.town.code if res.town else None,
        "units": {k: v.code for k, v in res.agency_units.items()},
        "on_border": any(k in res.candidates for k in OWNER_LAYERS),
    }


#: The layers whose several candidates make a point "on a border" in ``_shudi_owners``.
OWNER_LAYERS = ("property_area", "community", "town")

INSERT_ANSWERS = text("""
INSERT INTO _shudi_answers (answer, pa, community, town, units, on_border)
VALUES (:answer, :pa, :community, :town, :units, :on_border)
""").bindparams(bindparam("units", type_=JSONB))


def _copy_pairs(raw: Any, pids: np.ndarray, answers: np.ndarray) -> None:
    """COPY (pid, answer) rows into ``_shudi_points`` in PostgreSQL's binary format."""
    rows = np.empty(
        len(pids),
        dtype=[("n", ">i2"), ("l1", ">i4"), ("pid", ">i8"), ("l2", ">i4"), ("answer", ">i4")],
    )
    rows["n"], rows["l1"], rows["pid"], rows["l2"], rows["answer"] = 2, 8, pids, 4, answers
    data = b"PGCOPY\n\xff\r\n\x00" + b"\x00" * 8 + rows.tobytes() + b"\xff\xff"
    with raw.cursor() as cur:
        cur.copy_expert(
            "COPY _shudi_points (pid, answer) FROM STDIN WITH (FORMAT binary)", io.BytesIO(data)
        )


def reresolve_table(
    conn: Connection,
    *,
    table: str,
    id_column: str = "id",
    geom_column: str = "geom",
    at: datetime | None = None,
) -> BulkResult:
    """Re-resolve ``table``'s points (Point, EPSG:4326) and write back the owners of the rows
    whose owners changed (no other row is written). The table needs ``town_code``,
    ``community_code``, ``property_area_code`` (text) and ``agency_units`` (jsonb) columns, as
    ``case_file`` has them. Runs in the caller's transaction.
    """
    names = _names(table, id_column, geom_column) | {"where": "true"}
    points, gens = owners(conn, table=table, id_column=id_column, geom_column=geom_column, at=at)
    changed = conn.execute(text(WRITE_BACK.format(**names))).rowcount
    conn.execute(text("DROP TABLE _shudi_owners"))
    return BulkResult(points=points, changed=changed, generations=gens)
