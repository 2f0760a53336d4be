"""Keeping open cases' territory current when a new boundary generation is activated.

Run by :func:`jurisdictions.generations.activate` (every activation, in its transaction).
Closed cases keep the owners they were handled by; every open case whose town, community,
property area, field unit or handler changes is re-routed and gets a ``boundary_change`` event.

Set-based: the open cases are resolved in the database by :func:`jurisdictions.bulk.owners`
(the measured bulk re-resolve, over the partial GiST index of open cases); each distinct
(areas, type) pair is routed once, from one representative point; the cases are then moved
in one statement (:func:`incidents.store.move_cases`): the few placements and each case's
placement number are sent, and the database works out, per case, what people decided that a
map does not undo, which tracked columns changed, the UPDATE and the ``boundary_change``
events (an unchanged case is not written).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, text

from incidents import store
from incidents.models import OPEN_STATUSES, STATUSES
from incidents.placement import TERRITORIAL, placed
from jurisdictions import bulk, catalog
from jurisdictions.service import Resolution, resolve_points

TRACKED = (
    "town_code",
    "community_code",
    "property_area_code",
    "agency_units",
    "handler_party",
    "handler_unit_code",
)
#: The predicate of the partial GiST index ``ix_case_file_open_geom`` (migration 0011).
OPEN = "t.status NOT IN ('closed', 'rejected')"

if set(STATUSES) - {"closed", "rejected"} != set(OPEN_STATUSES):  # pragma: no cover
    raise RuntimeError("OPEN no longer matches incidents.models.OPEN_STATUSES")

#: The open cases whose areas change (``_shudi_owners``: jurisdictions.bulk.owners).
MOVED = text("""
SELECT c.id, c.type_code, c.lon, c.lat, o.town, o.community, o.pa, o.units, o.on_border
FROM _shudi_owners o JOIN case_file c ON c.id = o.pid
WHERE o.town IS NOT NULL
ORDER BY c.id
""")

#: A referral, escalation or joint enforcement decided by people is not undone by a map
#: (the case keeps its handler and routing, the territory follows the map); a town's
#: correction order stays on record. SQL over ``c`` (the case) and ``p`` (its new placement).
_TRUTHY = "coalesce(c.routing -> '{k}' NOT IN ('null', 'false', '0', '\"\"', '[]', '{{}}'), false)"
DECIDED = (
    f"({_TRUTHY.format(k='referrals')} OR {_TRUTHY.format(k='escalations')} OR c.status = 'joint')"
)
ORDERED = _TRUTHY.format(k="correction_orders")
KEPT = ("handler_party", "handler_unit_code", "handler_name")
VALUES = (
    {k: f"p.{k}" for k in TERRITORIAL if k not in ("lon", "lat")}
    | {k: f"CASE WHEN {DECIDED} THEN c.{k} ELSE p.{k} END" for k in KEPT}
    | {
        "routing": f"""CASE WHEN {DECIDED}
        THEN c.routing || jsonb_build_object('territory', p.routing -> 'territory')
        WHEN {ORDERED}
        THEN p.routing || jsonb_build_object('correction_orders', c.routing -> 'correction_orders')
        ELSE p.routing END"""
    }
)
#: The ``boundary_change`` event of a moved case (its ``data``: SQL, see store.move_cases).
EVENT = store.event_row(
    case_id=0, actor=None, role="system", action="boundary_change", from_status=None,
    to_status=None, public=False,
)  # fmt: skip
EVENT_DATA = "jsonb_build_object('changed', changed, 'generations', p.generations)"


def _resolutions(conn: Connection, rows: Sequence[Any]) -> dict[int, Resolution]:
    """A resolution per case: one per distinct set of areas, from a representative point
    (a case whose areas the representative's resolution does not reproduce gets its own)."""
    groups: dict[tuple[Any, ...], list[Any]] = defaultdict(list)
    for r in rows:
        units = tuple(sorted((r.units or {}).items()))
        groups[(r.town, r.community, r.pa, units, r.on_border)].append(r)
    keys = list(groups)
    reps = [groups[k][0] for k in keys]
    resolved = resolve_points(
        conn, lons=[r.lon for r in reps], lats=[r.lat for r in reps], with_nearest=False
    )
    out: dict[int, Resolution] = {}
    odd: list[Any] = []
    for key, res in zip(keys, resolved, strict=True):
        town, community, pa, units, _ = key
        same = (
            (res.town.code if res.town else None) == town
            and (res.community.code if res.community else None) == community
            and (res.property_area.code if res.property_area else None) == pa
            and tuple(sorted((k, v.code) for k, v in res.agency_units.items())) == units
        )
        if same:
            out |= {r.id: res for r in groups[key]}
        else:
            odd += groups[key]
    if odd:
        own = resolve_points(
            conn, lons=[r.lon for r in odd], lats=[r.lat for r in odd], with_nearest=False
        )
        out |= {r.id: res for r, res in zip(odd, own, strict=True)}
    return out


def reresolve_open_cases(conn: Connection) -> dict[str, int]:
    """Re-resolve and re-route every open case against the active generations; how many open
    cases there are and how many changed owner (see the module docstring)."""
    looked_at, _ = bulk.owners(conn, table="case_file", where=OPEN)
    rows = conn.execute(MOVED).all()
    conn.execute(text("DROP TABLE _shudi_owners"))
    if not rows:
        return {"open": looked_at, "changed": 0}
    resolutions = _resolutions(conn, rows)
    agencies = catalog.agencies_by_code(conn)
    types: dict[str, Any] = {}
    route_of: dict[tuple[int, str], int] = {}
    placements: list[dict[str, Any]] = []
    cases: list[int] = []
    routes: list[int] = []
    for row in rows:
        res = resolutions[row.id]
        if not res.inside:  # moved out of every town: keep it and let a dispatcher decide
            continue
        key = (id(res), row.type_code)
        if key not in route_of:
            if row.type_code not in types:
                types[row.type_code] = catalog.get_type(conn, code=row.type_code)
            cols = placed(res, vtype=types[row.type_code], agencies=agencies).columns
            route_of[key] = len(placements)
            placements.append(
                {k: v for k, v in cols.items() if k not in ("lon", "lat")}
                | {"route": len(placements)}
            )
        cases.append(row.id)
        routes.append(route_of[key])
    changed = store.move_cases(
        conn,
        placements=placements,
        cases=cases,
        routes=routes,
        values=VALUES,
        tracked=TRACKED,
        event=EVENT,
        data=EVENT_DATA,
    )
    return {"open": looked_at, "changed": changed}
