"""Named pieces of SQL over cases for other packages' queries: what a case's columns mean is
said here, next to the one writer (:mod:`incidents.store`), and other packages compose these
pieces rather than spell the case tables out again.

Parameters ``:start`` and ``:end`` bound a period (``[start, end)``); ``:as_of`` is the moment
the state of each case is taken at.
"""

from __future__ import annotations

from sqlalchemy import Connection, text

from accounts.service import Principal
from incidents import access
from incidents.store import CASE

#: The case rows, each called ``c`` (as in every piece below): ``FROM {CASE_ROWS}``.
CASE_ROWS = f"{CASE.name} c"
#: The case rows with their violation type, called ``vt``.
TYPED_CASE_ROWS = f"{CASE_ROWS} JOIN violation_type vt ON vt.code = c.type_code"

#: Cases that count (``c`` is ``case_file``): not merged into another case as a duplicate.
COUNTED = "c.merged_into IS NULL"
#: Cases shown in analyses and public views: counted and not hidden by a dispatcher.
SHOWN = f"NOT c.hidden AND {COUNTED}"
#: Cases still being worked on (not resolved, closed or rejected).
UNFINISHED = "c.status NOT IN ('resolved', 'closed', 'rejected')"

#: Cases received in the period: reported in ``[start, end)``, duplicates merged into another
#: case left out.
RECEIVED_COHORT = f"""cohort AS (
  SELECT c.id AS case_id, c.created_at, c.town_code, c.community_code, c.property_area_code,
         c.agency_units, c.routing->'handler'->>'party' AS routed_party, c.handler_party,
         c.handler_unit_code, c.respond_due_at, c.due_at, c.lon, c.lat
  FROM {CASE_ROWS}
  WHERE c.created_at >= :start AND c.created_at < :end AND {COUNTED})"""

#: Their events up to ``as_of`` (the ``report`` event is the case's ``created_at``); ``{cases}``
#: is ``cohort`` while the facts are made, the facts table afterwards.
COHORT_EVENTS = """ev AS (
  SELECT e.id, e.case_id, e.at, e.action, e.from_status, e.to_status, e.data, e.actor_id
  FROM case_event e JOIN {cases} k ON k.case_id = e.case_id
  WHERE e.at < :as_of AND e.action <> 'report')"""

#: Columns of ``case_file`` that no case view shows (the point's geometry is ``lon``, ``lat``).
UNSHOWN = frozenset({"geom", "created_by", "changed_xid"})

#: What the staff's case views read: the case's columns (from the table definition), its
#: type's name and whether it is overdue (``c`` is ``case_file``, ``vt`` its ``violation_type``).
CASE_FIELDS = f"""{", ".join("c." + col.name for col in CASE.c if col.name not in UNSHOWN)},
    vt.name_zh AS type_name,
    (c.due_at IS NOT NULL AND c.due_at < now() AND {UNFINISHED}) AS overdue"""


#: A case's version, the ``If-Match`` its next change needs.
VERSION = text(f"SELECT c.version FROM {CASE_ROWS} WHERE c.id = :id")


def case_version(conn: Connection, *, case_id: int) -> int:
    """The current version of case ``case_id`` (for a change sent with ``If-Match``)."""
    return int(conn.execute(VERSION, {"id": case_id}).scalar_one())


def visible_case_ids(conn: Connection, *, ids: list[int], principal: Principal) -> list[int]:
    """The ids among ``ids`` of the cases ``principal`` may see (``access.visibility``), in
    order."""
    where, params = access.visibility(principal)
    rows = conn.execute(
        text(f"SELECT c.id FROM {CASE_ROWS} WHERE c.id = ANY(:ids) AND {where} ORDER BY 1"),
        params | {"ids": ids},
    )
    return [int(r.id) for r in rows]
