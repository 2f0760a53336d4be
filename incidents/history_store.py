"""Storing imported cases in bulk: COPY into temporary tables, then one INSERT … SELECT into
``case_file`` and one into ``case_event``, all in the caller's transaction.

Three temporary tables are filled by COPY: the fixed-width values of each row (binary COPY,
built with numpy, no per-row Python), its texts (key and description, CSV) and the distinct
routes (large JSON, one per territory and type, sent once rather than once per case); the
database joins them. Case ids come from ``case_file``'s own sequence as a default of the
temporary table, so they never collide with live intake.
"""

from __future__ import annotations

import csv
import io
import json
import secrets
import struct
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import Connection, text
from sqlalchemy.exc import DBAPIError

from gis.coords import CoordSystem
from incidents import store as case_store
from incidents.history_deadlines import URGENCIES
from incidents.intake import TRACKING_ALPHABET, TRACKING_LENGTH
from incidents.models import STATUSES
from incidents.placement import TERRITORIAL

CHANNEL = "import"
LOCK = "SELECT pg_advisory_xact_lock(hashtext('shudi.cases_import'))"
COPY_CHUNK = 100_000
NO_TIME = np.iinfo(np.int64).min  # a missing time in the binary rows (NULL in SQL)
CRS_CODES = tuple(c.value for c in CoordSystem)
#: Fixed-width row values: (column, SQL type, numpy big-endian type).
FIXED = (
    ("n", "integer", ">i4"),
    ("line", "integer", ">i4"),
    ("route_id", "integer", ">i4"),
    ("status", "smallint", ">i2"),
    ("crs", "smallint", ">i2"),
    ("lon", "float8", ">f8"),
    ("lat", "float8", ">f8"),
    ("reported_at", "bigint", ">i8"),
    ("closed_at", "bigint", ">i8"),
    ("resolved_at", "bigint", ">i8"),
    ("respond_due_at", "bigint", ">i8"),
    ("stop_due_at", "bigint", ">i8"),
    ("due_at", "bigint", ">i8"),
    ("urgency", "smallint", ">i2"),
    ("tracking_code", "text", f"S{TRACKING_LENGTH}"),
)
ROUTES = ("type_code", "scope", *TERRITORIAL)  # a route's columns of ``case_file``
ROUTE_COLUMNS = ("route_id", *ROUTES)

STAGING = f"""
CREATE TEMP TABLE _history_row (
    id bigint NOT NULL DEFAULT nextval('{{seq}}'),
    {", ".join(f"{name} {sql}" for name, sql, _ in FIXED)}
) ON COMMIT DROP;
CREATE TEMP TABLE _history_text (n integer, key text, description text, basis text)
    ON COMMIT DROP;
CREATE TEMP TABLE _history_route (
    route_id integer PRIMARY KEY, {", ".join(f"{c} {case_store.sql_type(c)}" for c in ROUTES)}
) ON COMMIT DROP;
"""


def _stamp(column: str) -> str:
    """An integer microseconds column as timestamptz (NULL for :data:`NO_TIME`)."""
    return f"(timestamptz 'epoch' + NULLIF({column}, {NO_TIME}) * interval '1 microsecond')"


def _pick(column: str, values: tuple[str, ...]) -> str:
    return f"(ARRAY[{', '.join(repr(v) for v in values)}])[{column} + 1]"


INSERT_CASES = case_store.insert_select(
    case_store.CASE,
    values={
        "id": "s.id",
        "tracking_code": "s.tracking_code",
        "type_code": "r.type_code",
        "scope": "r.scope",
        "urgency": _pick("s.urgency", URGENCIES),
        "status": _pick("s.status", STATUSES),
        "channel": f"'{CHANNEL}'",
        "description": "COALESCE(t.description, '')",
        "address_text": "''",
        "input_crs": _pick("s.crs", CRS_CODES),
        "lon": "s.lon",
        "lat": "s.lat",
        "geom": "ST_SetSRID(ST_MakePoint(s.lon, s.lat), 4326)",
        **{c: f"r.{c}" for c in TERRITORIAL},
        "handler_name": "COALESCE(r.handler_name, '')",
        "created_at": _stamp("s.reported_at"),
        "updated_at": f"COALESCE({_stamp('s.closed_at')}, {_stamp('s.resolved_at')}, "
        f"{_stamp('s.reported_at')})",
        "respond_due_at": _stamp("s.respond_due_at"),
        "stop_due_at": _stamp("s.stop_due_at"),
        "due_at": _stamp("s.due_at"),
        "deadline_basis": "COALESCE(t.basis, '')",
        "resolved_at": _stamp("s.resolved_at"),
        "closed_at": _stamp("s.closed_at"),
    },
    # area by area: index pages stay hot
    source="""FROM (SELECT * FROM _history_row ORDER BY route_id) s
    JOIN _history_route r USING (route_id) JOIN _history_text t USING (n)""",
)

INSERT_EVENTS = case_store.insert_select(
    case_store.EVENT,
    values={
        "case_id": "s.id",
        "at": _stamp("s.reported_at"),
        "actor_role": "'system'",
        "actor_label": ":label",
        "action": "'import'",
        "from_status": "NULL",
        "to_status": _pick("s.status", STATUSES),
        "data": "jsonb_build_object('file', CAST(:file AS text), 'sha256', CAST(:sha AS text), "
        "'line', s.line, 'key', t.key)",
        "public": "false",
    },
    source="FROM _history_row s JOIN _history_text t USING (n)",
)


def begin(conn: Connection) -> None:
    """Serialise imports (held to the end of the transaction), so keys are checked safely,
    and lift the statement timeout of interactive work for this transaction."""
    conn.execute(text(LOCK))
    # a batch job: no interactive timeout, room to hash the routes in memory
    conn.execute(text("SET LOCAL statement_timeout = 0"))
    conn.execute(text("SET LOCAL work_mem = '256MB'"))
    try:  # temporary tables in memory; refused once a session has used temporary tables
        with conn.begin_nested():
            conn.execute(text("SET LOCAL temp_buffers = '512MB'"))
    except DBAPIError:
        pass


def imported_keys(conn: Connection) -> set[str]:
    """The idempotency keys of every case imported so far."""
    rows = conn.execute(
        text("SELECT data->>'key' FROM case_event WHERE action = 'import' AND data ? 'key'")
    )
    return {r[0] for r in rows}


def tracking_codes(n: int) -> np.ndarray:
    """``n`` distinct random tracking codes (bytes), as
    :func:`incidents.intake.new_tracking_code` makes them: the same alphabet and length, from
    the operating system's CSPRNG."""
    size = len(TRACKING_ALPHABET)
    limit = 256 - 256 % size  # reject bytes that would bias the modulo
    chars = np.frombuffer(TRACKING_ALPHABET.encode("ascii"), dtype=np.uint8)
    codes = np.empty(0, dtype=f"S{TRACKING_LENGTH}")
    while len(codes) < n:
        want = (n - len(codes)) * TRACKING_LENGTH
        raw = np.frombuffer(secrets.token_bytes(int(want * 1.2) + 64), dtype=np.uint8)
        raw = raw[raw < limit][: want - want % TRACKING_LENGTH]
        block = np.ascontiguousarray(chars[raw % size].reshape(-1, TRACKING_LENGTH))
        fresh = block.view(f"S{TRACKING_LENGTH}").ravel()
        codes = np.unique(np.concatenate([codes, fresh]))  # drops the (unlikely) repeats
    return np.random.default_rng(secrets.randbits(64)).permutation(codes)[:n]


def binary_rows(values: dict[str, np.ndarray]) -> bytes:
    """PostgreSQL binary COPY data for the :data:`FIXED` columns (all values present)."""
    n = len(values["n"])
    layout = [("count", ">i2")]
    for name, _, kind in FIXED:
        layout += [(f"{name}_len", ">i4"), (name, kind)]
    rows = np.empty(n, dtype=np.dtype(layout))
    rows["count"] = len(FIXED)
    for name, _, kind in FIXED:
        rows[f"{name}_len"] = np.dtype(kind).itemsize
        rows[name] = values[name]
    header = b"PGCOPY\n\xff\r\n\x00" + struct.pack(">ii", 0, 0)
    return header + rows.tobytes() + struct.pack(">h", -1)


def _copy(conn: Connection, sql: str, data: io.IOBase) -> None:
    cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    try:
        cursor.copy_expert(sql, data)
    finally:
        cursor.close()


def _copy_csv(conn: Connection, table: str, columns: list[list[Any]]) -> None:
    names = {"_history_text": "n, key, description, basis"}.get(table, ", ".join(ROUTE_COLUMNS))
    rows = list(zip(*columns, strict=True))
    for start in range(0, len(rows), COPY_CHUNK):
        buf = io.StringIO()
        csv.writer(buf).writerows(rows[start : start + COPY_CHUNK])
        buf.seek(0)
        _copy(conn, f"COPY {table} ({names}) FROM STDIN WITH (FORMAT csv)", buf)


def store(
    conn: Connection,
    *,
    rows: pd.DataFrame,
    routes: list[dict[str, Any]],
    file: str,
    sha256: str,
    progress: Callable[[str, int, int | None], None],
) -> int:
    """Insert the cases and their ``import`` events; the number of cases stored.

    ``rows`` has ``line``, ``route_id``, ``status``, ``crs`` and ``urgency`` (as text),
    ``lon``, ``lat``, the times and deadlines as integer microseconds (:data:`NO_TIME` for
    none), ``key``, ``description`` and ``basis`` (of the deadline).
    """
    n = len(rows)
    seq = conn.execute(text("SELECT pg_get_serial_sequence('case_file', 'id')")).scalar_one()
    for statement in STAGING.format(seq=seq).split(";"):
        if statement.strip():
            conn.execute(text(statement))
    progress("copying", 0, n)
    values = {col: rows[col].to_numpy() for col in rows.columns}
    values |= {
        "n": np.arange(n),
        "status": pd.Categorical(rows["status"], categories=STATUSES).codes,
        "crs": pd.Categorical(rows["crs"], categories=CRS_CODES).codes,
        "urgency": pd.Categorical(rows["urgency"], categories=URGENCIES).codes,
        "tracking_code": tracking_codes(n),
    }
    fixed = "COPY _history_row ({}) FROM STDIN WITH (FORMAT binary)"
    fixed = fixed.format(", ".join(name for name, _, _ in FIXED))
    for start in range(0, n, COPY_CHUNK):
        part = {k: v[start : start + COPY_CHUNK] for k, v in values.items()}
        _copy(conn, fixed, io.BytesIO(binary_rows(part)))
        progress("copying", min(n, start + COPY_CHUNK), n)
    progress("copying texts", 0, None)
    texts = [list(range(n)), rows["key"].tolist(), rows["description"].tolist()]
    _copy_csv(conn, "_history_text", [*texts, rows["basis"].tolist()])
    progress("copying routes", 0, None)
    table = [[r[c] for r in routes] for c in ROUTE_COLUMNS]
    for i, col in enumerate(ROUTE_COLUMNS):
        if col in ("agency_units", "routing", "generations"):
            table[i] = [
                v if isinstance(v, str) else json.dumps(v, ensure_ascii=False) for v in table[i]
            ]
    _copy_csv(conn, "_history_route", table)
    progress("checking codes", 0, None)
    conn.execute(text("ANALYZE _history_row"))
    conn.execute(text("ANALYZE _history_text"))
    while True:  # a code already used by another case (about 1 in 10^12 per pair): draw again
        clash = conn.execute(
            text("""SELECT s.id FROM _history_row s
                    JOIN case_file c ON c.tracking_code = s.tracking_code""")
        ).scalars()
        ids = list(clash)
        if not ids:
            break
        for case_id, code in zip(ids, tracking_codes(len(ids)), strict=True):
            conn.execute(
                text("UPDATE _history_row SET tracking_code = :t WHERE id = :i"),
                {"t": code.decode(), "i": case_id},
            )
    progress("storing cases", 0, None)
    stored = case_store.write_from(conn, INSERT_CASES, {})
    progress("storing events", 0, None)
    case_store.write_from(
        conn, INSERT_EVENTS, {"label": f"import {file}"[:200], "file": file, "sha": sha256}
    )
    conn.execute(text("DROP TABLE _history_row, _history_text, _history_route"))
    return int(stored)
