"""The one writer of ``case_file`` and ``case_event``: every INSERT and UPDATE of a case or its
history is built here, its column names and JSON columns taken from the table definitions in
:mod:`incidents.models` (never retyped), and checked against them.

Bulk writes from staging tables (the history import, the retention job) give
:func:`insert_select` an expression per column and run the statement with :func:`write_from`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from functools import lru_cache
from typing import Any, Concatenate, ParamSpec

from sqlalchemy import Column, Connection, Table, TextClause, bindparam, text
from sqlalchemy.dialects import postgresql
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Dialect

from accounts.service import Principal
from incidents.models import Case, CaseEvent, CaseReporter
from shudi.listen import announce

CASE: Table = Case.__table__  # type: ignore[assignment]
EVENT: Table = CaseEvent.__table__  # type: ignore[assignment]
REPORTER: Table = CaseReporter.__table__  # type: ignore[assignment]
P = ParamSpec("P")
#: Columns the database keeps: never written by a statement of ours.
DERIVED = frozenset({"id", "geom", "changed_xid"})
#: ``geom`` follows ``lon`` and ``lat`` in every write.
GEOM = "ST_SetSRID(ST_MakePoint(:lon, :lat), 4326)"
#: Notified after every transaction that wrote cases (the live maps listen: incidents/live.py).
CHANGED = "shudi_case_changed"


def _columns(table: Table, names: Iterable[str]) -> list[Column[Any]]:
    cols = list(names)
    unknown = [n for n in cols if n not in table.c or n in DERIVED]
    if unknown:
        raise ValueError(f"{table.name} has no writable columns {unknown}")
    return [table.c[n] for n in cols]


def _json(table: Table, names: Iterable[str]) -> list[str]:
    return [n for n in names if n in table.c and isinstance(table.c[n].type, JSONB)]


def _sql_type(col: Column[Any]) -> str:
    return str(col.type.compile(dialect=_dialect()))


def sql_type(column: str) -> str:
    """The SQL type of a ``case_file`` column (for staging tables and record types)."""
    return _sql_type(CASE.c[column])


@lru_cache(maxsize=1)
def _dialect() -> Dialect:
    return postgresql.dialect()  # type: ignore[no-untyped-call]


@lru_cache(maxsize=32)
def _insert_case(
    case_keys: tuple[str, ...],
    reporter_keys: tuple[str, ...],
    event_keys: tuple[str, ...],
    also: tuple[str, ...] = (),
) -> TextClause:
    """The case, its reporter and its first event in one statement (one round trip), with
    ``also``: other modules' INSERTs of rows that follow the new case (``SELECT … FROM c``)."""
    case_cols = [c.name for c in _columns(CASE, case_keys)]
    reporter_cols = [c.name for c in _columns(REPORTER, reporter_keys)]
    event_cols = [c.name for c in _columns(EVENT, event_keys)]
    values = [f":{n}" for n in case_cols] + ([GEOM] if "lon" in case_cols else [])
    sql = f"""
WITH c AS (
  INSERT INTO {CASE.name} ({", ".join(case_cols + (["geom"] if "lon" in case_cols else []))})
  VALUES ({", ".join(values)})
  RETURNING id
), reporter AS (
  INSERT INTO {REPORTER.name} (case_id, {", ".join(reporter_cols)})
  SELECT id, {", ".join(":reporter_" + n for n in reporter_cols)} FROM c
), event AS (
  INSERT INTO {EVENT.name} (case_id, {", ".join(event_cols)})
  SELECT id, {", ".join(":event_" + n for n in event_cols)} FROM c
){"".join(f", also_{i} AS ({sql})" for i, sql in enumerate(also))}
SELECT id FROM c"""
    jsons = _json(CASE, case_cols) + ["event_" + n for n in _json(EVENT, event_cols)]
    return text(sql).bindparams(*(bindparam(n, type_=JSONB) for n in jsons))


def insert_case(
    conn: Connection,
    *,
    case: Mapping[str, Any],
    reporter: Mapping[str, Any],
    event: Mapping[str, Any],
    also: Mapping[str, Mapping[str, Any]] | None = None,
) -> int:
    """Store a new case (``geom`` from ``lon``, ``lat``), its reporter (sealed contact
    details) and its first event (without ``case_id``); the case's id. ``also``: rows of
    other tables that follow the case, in the same statement — each an ``INSERT … SELECT …
    FROM c`` (``c``: the new case's ``id``) with its parameters (names of its own)."""
    stmt = _insert_case(tuple(case), tuple(reporter), tuple(event), tuple(also or ()))
    params = dict(case) | {f"reporter_{k}": v for k, v in reporter.items()}
    params |= {f"event_{k}": v for k, v in event.items()}
    for extra in (also or {}).values():
        params |= extra
    announce(conn, CHANGED)
    return int(conn.execute(stmt, params).scalar_one())


@lru_cache(maxsize=64)
def _update_case(keys: tuple[str, ...]) -> TextClause:
    names = [c.name for c in _columns(CASE, keys)]
    sets = [f"{n} = :{n}" for n in names] + ["version = version + 1", "updated_at = :now"]
    if "lon" in names:
        sets.append(f"geom = {GEOM}")
    stmt = text(f"UPDATE {CASE.name} SET {', '.join(sets)} WHERE id = :id")
    return stmt.bindparams(*(bindparam(n, type_=JSONB) for n in _json(CASE, names)))


def update_case(conn: Connection, *, case_id: int, cols: Mapping[str, Any], now: Any) -> None:
    """Set ``cols`` on one case, count its version up and stamp ``updated_at``."""
    announce(conn, CHANGED)
    conn.execute(_update_case(tuple(cols)), dict(cols) | {"id": case_id, "now": now})


@lru_cache(maxsize=8)
def _move_cases(
    placement_keys: tuple[str, ...],
    values: tuple[tuple[str, str], ...],
    tracked: tuple[str, ...],
    data: str,
) -> TextClause:
    record = ", ".join(
        ["route int"] + [f"{c.name} {_sql_type(c)}" for c in _columns(CASE, placement_keys)]
    )
    cols = [c.name for c in _columns(CASE, [n for n, _ in values])]
    new = ", ".join(f"({expr}) AS new_{name}" for name, expr in values)
    old = ", ".join(f"c.{n} AS old_{n}" for n in tracked)
    diffs = ", ".join(f"('{n}', to_jsonb(n.old_{n}), to_jsonb(n.new_{n}))" for n in tracked)
    sets = ", ".join(f"{n} = d.new_{n}" for n in cols)
    ev_cols = [c.name for c in EVENT.c if c.name not in DERIVED and c.name != "at"]
    ev_values = {
        "case_id": "d.id",
        "from_status": "d.status",
        "to_status": "d.status",
        "data": data,
    }
    ev_exprs = ", ".join(ev_values.get(n, f":ev_{n}") for n in ev_cols)
    stmt = text(f"""
WITH p AS (SELECT * FROM jsonb_to_recordset(:placements) AS p({record})),
m AS (SELECT unnest(CAST(:cases AS bigint[])) AS id, unnest(CAST(:routes AS int[])) AS route),
n AS (
  SELECT c.id, c.status, p.route, {old}, {new}
  FROM m JOIN {CASE.name} c ON c.id = m.id JOIN p ON p.route = m.route
),
d AS (
  SELECT n.*, (SELECT jsonb_object_agg(k, jsonb_build_array(o, v))
               FROM (VALUES {diffs}) AS x(k, o, v) WHERE o IS DISTINCT FROM v) AS changed
  FROM n
),
u AS (
  UPDATE {CASE.name} c SET {sets}, version = c.version + 1, updated_at = now()
  FROM d WHERE c.id = d.id AND d.changed IS NOT NULL
  RETURNING c.id
)
INSERT INTO {EVENT.name} ({", ".join(ev_cols)})
SELECT {ev_exprs}
FROM d JOIN u ON u.id = d.id JOIN p ON p.route = d.route
ORDER BY d.id""")
    jsons = ["placements"] + ["ev_" + n for n in _json(EVENT, ev_cols) if n not in ev_values]
    return stmt.bindparams(*(bindparam(n, type_=JSONB) for n in jsons))


def move_cases(
    conn: Connection,
    *,
    placements: Sequence[Mapping[str, Any]],
    cases: Sequence[int],
    routes: Sequence[int],
    values: Mapping[str, str],
    tracked: Sequence[str],
    event: Mapping[str, Any],
    data: str,
) -> int:
    """Give many cases new columns in one statement, each case with one event, set-based
    (for the re-resolve on a boundary activation): case ``cases[i]`` takes the placement
    whose ``route`` is ``routes[i]`` (``placements``: rows of ``route`` and ``case_file``
    columns). ``values`` gives each written column as SQL over ``c`` (the case as stored)
    and ``p`` (its placement); only the cases where some ``tracked`` column changes are
    written (``version`` counted up, ``updated_at`` stamped), and each of them gets one event:
    ``event`` (a row of :func:`event_row`) with ``case_id``, ``from_status`` = ``to_status``
    = the case's status and ``data`` = the SQL ``data`` over ``p`` and ``changed`` (jsonb:
    ``{column: [old, new]}`` of the tracked columns that changed). Events are written in case
    order; how many cases were written."""
    if not cases:
        return 0
    announce(conn, CHANGED)
    keys = tuple(k for k in placements[0] if k != "route")
    stmt = _move_cases(keys, tuple(values.items()), tuple(tracked), data)
    params: dict[str, Any] = {
        "placements": [dict(p) for p in placements],
        "cases": [int(c) for c in cases],
        "routes": [int(r) for r in routes],
    }
    given = ("case_id", "from_status", "to_status", "data")
    params |= {f"ev_{k}": v for k, v in event.items() if k not in given}
    return int(conn.execute(stmt, params).rowcount)


def event_row(
    *,
    case_id: int,
    actor: Principal | None,
    action: str,
    from_status: str | None,
    to_status: str | None,
    note: str = "",
    data: Mapping[str, Any] | None = None,
    public: bool = True,
    role: str | None = None,
    public_reply: str = "",
) -> dict[str, Any]:
    """One event's columns (``role`` names a non-user actor: system)."""
    return {
        "case_id": case_id,
        "actor_id": actor.user_id if actor else None,
        "actor_role": role or (actor.role.value if actor else "resident"),
        "actor_label": actor.label if actor else "",
        "action": action,
        "from_status": from_status,
        "to_status": to_status,
        "note": note,
        "data": dict(data or {}),
        "public": public,
        "public_reply": public_reply if public else "",
    }


@lru_cache(maxsize=1)
def _add_events() -> TextClause:
    cols = [c for c in EVENT.c if c.name not in DERIVED and c.name != "at"]
    record = ", ".join(f"{c.name} {_sql_type(c)}" for c in cols)
    names = ", ".join(c.name for c in cols)
    return text(f"""
INSERT INTO {EVENT.name} ({names})
SELECT {names} FROM jsonb_to_recordset(:rows) AS r({record}) ORDER BY r.case_id""").bindparams(
        bindparam("rows", type_=JSONB)
    )


@lru_cache(maxsize=1)
def _add_event() -> TextClause:
    cols = [c.name for c in EVENT.c if c.name not in DERIVED and c.name != "at"]
    return text(
        f"INSERT INTO {EVENT.name} ({', '.join(cols)}) VALUES ({', '.join(':' + n for n in cols)})"
    ).bindparams(*(bindparam(n, type_=JSONB) for n in _json(EVENT, cols)))


def _one_event(build: Callable[P, dict[str, Any]]) -> Callable[Concatenate[Connection, P], None]:
    def add_event(conn: Connection, /, *args: P.args, **kwargs: P.kwargs) -> None:
        """Append one event to a case's history (the arguments of :func:`event_row`).

        ``note`` is the staff's; ``public_reply`` is what the public may read (public events
        only)."""
        conn.execute(_add_event(), build(*args, **kwargs))

    return add_event


add_event = _one_event(event_row)


def add_events(conn: Connection, *, rows: Sequence[Mapping[str, Any]]) -> None:
    """Append many events (rows of :func:`event_row`) in one statement, in case order."""
    if rows:
        conn.execute(_add_events(), {"rows": [dict(r) for r in rows]})


def insert_select(
    table: Table, *, values: Mapping[str, str], source: str, before: str = "", after: str = ""
) -> str:
    """``INSERT INTO table (columns) SELECT expressions source`` — for bulk writes from
    staging tables — with every column checked against ``table`` (``before``: a ``WITH``
    clause; ``after``: what follows the INSERT, e.g. ``)`` and the main SELECT of a CTE)."""
    cols = list(values)
    unknown = [n for n in cols if n not in table.c or n == "changed_xid"]
    if unknown:
        raise ValueError(f"{table.name} has no writable columns {unknown}")
    exprs = ",\n    ".join(values[c] for c in cols)
    return f"""{before}INSERT INTO {table.name} ({", ".join(cols)})
SELECT {exprs}
{source}{after}"""


def write_from(conn: Connection, statement: str, params: Mapping[str, Any]) -> int:
    """Run a bulk write built by :func:`insert_select`; its row count (or its scalar)."""
    announce(conn, CHANGED)
    result = conn.execute(text(statement), dict(params))
    return int(result.scalar_one()) if result.returns_rows else int(result.rowcount)


def add_photos(
    conn: Connection,
    *,
    case_id: int,
    photos: Sequence[Any],
    stage: str = "report",
    added_by: int | None = None,
) -> list[int]:
    """Store a case's photos (already re-encoded, without metadata) at ``stage``: ``report``
    (sent with the report), ``before`` / ``after`` (the handler's 处置前后, ``added_by``); their
    ids, in order."""
    return [
        int(
            conn.execute(
                text("""INSERT INTO case_photo (case_id, content, mime, width, height, sha256,
                            taken_at, stage, added_by)
                        VALUES (:c, :b, :m, :w, :h, :s, :t, :stage, :by) RETURNING id"""),
                {
                    "c": case_id,
                    "b": photo.content,
                    "m": photo.mime,
                    "w": photo.width,
                    "h": photo.height,
                    "s": photo.sha256,
                    "t": photo.taken_at,
                    "stage": stage,
                    "by": added_by,
                },
            ).scalar_one()
        )
        for photo in photos
    ]
