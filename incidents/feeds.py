"""Map feeds of cases: the compact live feed of the dispatch map, GeoJSON, heat points.

Every feed selects through :func:`incidents.access.visibility` and rounds positions as
:data:`incidents.access.COORDINATE_DIGITS` allows; none carries personal data.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import Connection, text

from accounts.service import Principal
from incidents import access
from incidents.exceptions import InvalidSince

#: Columns of :func:`map_feed` (one list each, a case per index); the ``CODED`` ones are
#: indexes into the answer's ``keys`` lists, ``due`` is epoch seconds (or null).
MAP_COLUMNS = ("id", "lon", "lat", "status", "agency", "type", "town", "due", "overdue", "version")
CODED = frozenset({"status", "agency", "type", "town"})
#: Decimal places of the map feed's positions: 5 ≈ 1 m, plenty to draw a marker (a case's
#: exact position is in ``GET /api/v1/cases/{id}``); fewer where the role's rules say so.
MAP_DIGITS = 5
#: At most this many cases in one answer (the most recently changed are kept).
MAP_CAP = 150_000
#: An answer's ``now`` is a cursor, ``x:<transaction id>``: the oldest transaction still
#: running when the answer was made. Passed back as ``since``, it brings every case written by
#: that transaction or a later one (``case_file.changed_xid``), so no change is missed however
#: long its transaction ran; one may come twice (clients replace by id). A timestamp ``since``
#: (``updated_at`` after it) is still accepted, for clients that keep their own clock.
CURSOR = re.compile(r"^x:(\d{1,20})$")
CURSOR_SQL = "SELECT 'x:' || pg_snapshot_xmin(pg_current_snapshot())"


@dataclass(frozen=True)
class Since:
    """Where a feed answer continues from: a transaction-id cursor or a time."""

    xid: int | None = None
    at: datetime | None = None

    @classmethod
    def parse(cls, value: str | datetime | Since | None) -> Since | None:
        """A ``since`` parameter: ``x:N`` from an answer, or an ISO time with its offset."""
        if isinstance(value, Since):
            return value
        if value is None or value == "":
            return None
        if isinstance(value, datetime):
            return cls(at=value)
        m = CURSOR.match(value)
        if m:
            return cls(xid=int(m.group(1)))
        try:
            at = datetime.fromisoformat(value)
        except ValueError:
            at = None
        if at is None or at.tzinfo is None:
            raise InvalidSince(
                f"since {value!r} is neither an answer's `now` (x:N) nor a time with its offset"
            )
        return cls(at=at)

    def condition(self) -> tuple[str, dict[str, Any]]:
        """The SQL condition on ``case_file c`` and its parameters."""
        if self.xid is not None:
            return "c.changed_xid >= CAST(:since_xid AS xid8)", {"since_xid": str(self.xid)}
        return "c.updated_at > :since_at", {"since_at": self.at}


def _since(value: str | datetime | Since | None) -> tuple[Since | None, str, dict[str, Any]]:
    since = Since.parse(value)
    if since is None:
        return None, f"NOT {GONE}", {}
    cond, params = since.condition()
    return since, cond, params


OVERDUE = """(c.due_at IS NOT NULL AND c.due_at < now()
              AND c.status NOT IN ('resolved', 'closed', 'rejected'))"""
#: Cases a live map drops: closed or rejected (merged cases are closed). Hidden cases stay on
#: staff maps, as in the staff list (hidden means: from public views).
GONE = "(c.status IN ('closed', 'rejected') OR c.merged_into IS NOT NULL)"

#: One JSON text (parsed by orjson): psycopg2 turning ~500,000 array elements of a full
#: load into Python objects cost as much as the query itself. ``now``, the cursor, comes from
#: the statement's own snapshot: every transaction whose rows the answer does not show is
#: at or after its ``xmin``, so the next answer brings them (one round trip, not two).
MAP_FEED = f"""
SELECT json_build_object(
       'now', ({CURSOR_SQL}),
       'n', count(*),
       'id', array_agg(f.id) FILTER (WHERE NOT f.gone),
       'lon', array_agg(round(f.lon * :scale) / :scale) FILTER (WHERE NOT f.gone),
       'lat', array_agg(round(f.lat * :scale) / :scale) FILTER (WHERE NOT f.gone),
       'status', array_agg(f.status) FILTER (WHERE NOT f.gone),
       'agency', array_agg(f.handler_party) FILTER (WHERE NOT f.gone),
       'type', array_agg(f.type_code) FILTER (WHERE NOT f.gone),
       'town', array_agg(f.town_code) FILTER (WHERE NOT f.gone),
       'due', array_agg(f.due) FILTER (WHERE NOT f.gone),
       'overdue', array_agg(f.overdue::int) FILTER (WHERE NOT f.gone),
       'version', array_agg(f.version) FILTER (WHERE NOT f.gone),
       'gone', array_agg(f.id) FILTER (WHERE f.gone))::text
FROM (
  SELECT c.id, c.lon, c.lat, c.status, c.handler_party, c.type_code, c.town_code,
         floor(extract(epoch FROM c.due_at))::bigint AS due, {OVERDUE} AS overdue, c.version,
         {GONE} AS gone
  FROM case_file c
  WHERE {{where}} AND {{since}}
    AND (CAST(:xmin AS float8) IS NULL
         OR c.geom && ST_MakeEnvelope(:xmin, :ymin, :xmax, :ymax, 4326))
  {{order}}
  LIMIT :cap + 1
) f
"""
#: Changes come newest first (a truncated answer keeps the latest); a full load in any order.
SINCE_ORDER = "ORDER BY c.updated_at DESC, c.id"


def _bbox_params(bbox: tuple[float, float, float, float] | None) -> dict[str, float | None]:
    xmin, ymin, xmax, ymax = bbox or (None, None, None, None)
    return {"xmin": xmin, "ymin": ymin, "xmax": xmax, "ymax": ymax}


def map_feed(
    conn: Connection,
    *,
    principal: Principal,
    since: str | datetime | Since | None = None,
    bbox: tuple[float, float, float, float] | None = None,
    cap: int = MAP_CAP,
) -> dict[str, Any]:
    """Visible open cases (or, with ``since``, every case changed since), column by column.

    ``cases`` holds one list per :data:`MAP_COLUMNS` entry (case *i* is index *i* of each),
    codes replaced by their index in ``keys``; ``gone`` lists the ids to drop (closed,
    rejected, merged); ``now`` is the cursor to pass as the next ``since``.
    """
    where, params = access.visibility(principal)
    digits = min(MAP_DIGITS, access.COORDINATE_DIGITS.get(principal.role, 7))
    parsed, cond, since_params = _since(since)
    order = SINCE_ORDER if parsed is not None else ""
    result = conn.execute(
        text(MAP_FEED.format(where=where, order=order, since=cond)),
        params | since_params | _bbox_params(bbox) | {"cap": cap, "scale": 10.0**digits},
    )
    found = orjson.loads(result.scalar_one())
    truncated = found["n"] > cap  # then the last row is one too many (open or gone)
    gone: list[int] = found["gone"] or []
    cases: dict[str, list[Any]] = {}
    keys: dict[str, list[str | None]] = {}
    for name in MAP_COLUMNS:
        values = found[name] or []
        if truncated:
            values = values[: cap - len(gone)]
        if name in CODED:
            codes = dict.fromkeys(values)
            index = {code: i for i, code in enumerate(codes)}
            keys[name] = list(codes)
            values = [index[v] for v in values]
        cases[name] = values
    return {
        "now": found["now"],
        "truncated": truncated,
        "count": len(cases["id"]),
        "keys": keys,
        "cases": cases,
        "gone": gone,
    }


GEOJSON = """
SELECT json_build_object(
  'type', 'FeatureCollection', 'now', CAST(:cursor AS text),
  'truncated', count(*) > :cap,
  'features', COALESCE(json_agg(f.feature) FILTER (WHERE f.n <= :cap), '[]'::json))::text
FROM (
  SELECT row_number() OVER (ORDER BY c.updated_at DESC, c.id) AS n,
    json_build_object('type', 'Feature', 'id', c.id,
      'geometry', json_build_object('type', 'Point', 'coordinates',
          json_build_array(round(c.lon::numeric, :digits), round(c.lat::numeric, :digits))),
      'properties', json_build_object(
        'id', c.id, 'status', c.status, 'type', c.type_code, 'type_name', vt.name_zh,
        'scope', c.scope, 'urgency', c.urgency, 'agency', c.handler_party,
        'handler', c.handler_name, 'town', c.town_code, 'community', c.community_code,
        'property_area', c.property_area_code,
        'address', CASE WHEN :sees_pii THEN c.address_text
                        ELSE regexp_replace(c.address_text, :number_re, '[号码已隐去]', 'g') END,
        'created_at', c.created_at, 'updated_at', c.updated_at, 'due_at', c.due_at,
        'overdue', (c.due_at IS NOT NULL AND c.due_at < now()
                    AND c.status NOT IN ('resolved', 'closed', 'rejected')))) AS feature
  FROM case_file c JOIN violation_type vt ON vt.code = c.type_code
  WHERE {where} AND {since}
    AND (CAST(:xmin AS float8) IS NULL
         OR c.geom && ST_MakeEnvelope(:xmin, :ymin, :xmax, :ymax, 4326))
) f
"""


def cases_geojson(
    conn: Connection,
    *,
    principal: Principal,
    since: str | datetime | Since | None = None,
    bbox: tuple[float, float, float, float] | None = None,
    cap: int = 100_000,
) -> str:
    """Visible open cases (or, with ``since``, every case changed since) as GeoJSON text.

    Every feature carries its details (type name, address, handler, times): for GIS clients
    and small areas; the dispatch map polls :func:`map_feed`. ``now`` in the answer is what to
    pass as the next ``since``.
    """
    where, params = access.visibility(principal)
    digits = access.COORDINATE_DIGITS.get(principal.role, 7)
    _, cond, since_params = _since(since)
    cursor = conn.execute(text(CURSOR_SQL)).scalar_one()
    return str(
        conn.execute(
            text(GEOJSON.format(where=where, since=cond)),
            params
            | since_params
            | _bbox_params(bbox)
            | {
                "cap": cap,
                "digits": digits,
                "cursor": cursor,
                "sees_pii": principal.role in access.SEES_PERSONAL_DATA,
                "number_re": NUMBER_RE,
            },
        ).scalar_one()
    )


#: Runs of 8 and more digits (spaces and dashes between): phone and ID numbers in an address
#: a resident typed, masked for those who may not see the reporters (:mod:`incidents.public_text`
#: does the same in Python).
NUMBER_RE = "[0-9+][0-9 ()-]{6,}[0-9Xx]"


HEAT = """
SELECT round(c.lon::numeric, :digits)::float8 AS lon, round(c.lat::numeric, :digits)::float8 AS lat,
       count(*) AS n
FROM case_file c
WHERE {where} AND NOT c.hidden AND c.merged_into IS NULL
  AND c.created_at >= now() - make_interval(days => :days)
GROUP BY 1, 2 ORDER BY 1, 2
"""


def heat_points(
    conn: Connection, *, principal: Principal, days: int = 30, digits: int = 4
) -> list[tuple[float, float, int]]:
    """Visible cases reported in the last ``days`` days as ``(lon, lat, count)`` per cell.

    Positions are rounded to ``digits`` decimals (4 ≈ 10 m; fewer where the role sees
    coarser maps) and the cases in one cell counted, so a heat map of 100,000 cases stays a
    small answer.
    """
    where, params = access.visibility(principal)
    digits = min(digits, access.COORDINATE_DIGITS.get(principal.role, 7))
    rows = conn.execute(
        text(HEAT.format(where=where)), params | {"days": days, "digits": digits}
    ).all()
    return [(float(r.lon), float(r.lat), int(r.n)) for r in rows]
