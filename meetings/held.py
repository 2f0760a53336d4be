"""Whether each town held its joint meeting (三（一）: 联席会议一般每月召开一次).

A month counts once it is over (China time) and once the town is in the system: from the month
of its first case or first meeting on — a month before a town's first case or meeting says
nothing about its meetings. A month is met by any meeting (regular or extraordinary) held in it.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import Connection, text

from incidents.queries import CASE_ROWS
from jurisdictions.active import ACTIVE_BOUNDARIES

MONTHS = text(f"""
WITH towns AS (
  SELECT b.code FROM {ACTIVE_BOUNDARIES} b
  WHERE b.layer = 'town' AND (CAST(:town AS text) IS NULL OR b.code = :town)
), months AS (
  SELECT m::date AS month, (m + interval '1 month')::date AS next
  FROM generate_series(CAST(:first AS date), CAST(:until AS date), interval '1 month') m
  WHERE (m + interval '1 month')::date <= CAST(:until AS date)
)
SELECT t.code, mo.month,
       EXISTS (SELECT 1 FROM meeting x WHERE x.town_code = t.code AND x.status = 'held'
               AND x.held_on >= mo.month AND x.held_on < mo.next) AS held
FROM towns t CROSS JOIN months mo
WHERE EXISTS (SELECT 1 FROM {CASE_ROWS} WHERE c.town_code = t.code
              AND c.created_at < (mo.next::timestamp AT TIME ZONE 'Asia/Shanghai'))
   OR EXISTS (SELECT 1 FROM meeting x WHERE x.town_code = t.code AND x.month < mo.next)
ORDER BY t.code, mo.month
""")


def meeting_months(
    conn: Connection, *, first: date, until: date, town: str | None = None
) -> dict[str, dict[str, list[date]]]:
    """Per town, the months from ``first`` (a first day) that ended by ``until`` and count:
    ``{"counted": [...], "missed": [...]}`` (missed: no joint meeting held in the month)."""
    out: dict[str, dict[str, list[date]]] = {}
    rows = conn.execute(MONTHS, {"first": first.replace(day=1), "until": until, "town": town})
    for r in rows:
        entry = out.setdefault(str(r.code), {"counted": [], "missed": []})
        entry["counted"].append(r.month)
        if not r.held:
            entry["missed"].append(r.month)
    return out
