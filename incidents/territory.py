"""Keeping open cases' territory current when a new boundary generation is activated.

Run by :func:`jurisdictions.generations.activate` (every activation, in its transaction).
Closed cases keep the owners they were handled by; every open case whose town, community,
property area, field unit or handler changes is re-routed and gets a ``boundary_change`` event.

Set-based: the open cases are resolved in the database by :func:`jurisdictions.bulk.owners`
(the measured bulk re-resolve, over the partial GiST index of open cases); each distinct
(areas, type) pair is routed once, from one representative point; the changed cases are
updated and their events written in one statement each.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, text

from incidents import store
from incidents.models import OPEN_STATUSES, STATUSES
from incidents.placement import placed
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

OPEN_CASES = text(f"""
SELECT c.id, c.type_code, c.status, c.lon, c.lat, {", ".join("c." + k for k in TRACKED)},
       c.handler_name, c.routing, o.town, o.community, o.pa, o.units, o.on_border
FROM _shudi_owners o JOIN case_file c ON c.id = o.pid
WHERE o.town IS NOT NULL
ORDER BY c.id
""")


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
    rows = conn.execute(OPEN_CASES).all()
    conn.execute(text("DROP TABLE _shudi_owners"))
    if not rows:
        return {"open": looked_at, "changed": 0}
    resolutions = _resolutions(conn, rows)
    agencies = catalog.agencies_by_code(conn)
    types: dict[str, Any] = {}
    routed: dict[tuple[int, str], dict[str, Any]] = {}
    updates: list[dict[str, Any]] = []
    events: list[dict[str, Any]] = []
    for row in rows:
        res = resolutions[row.id]
        if not res.inside:  # moved out of every town: keep it and let a dispatcher decide
            continue
        if row.type_code not in types:
            types[row.type_code] = catalog.get_type(conn, code=row.type_code)
        key = (id(res), row.type_code)
        if key not in routed:
            routed[key] = placed(res, vtype=types[row.type_code], agencies=agencies).columns
        cols = dict(routed[key])
        decided = ("referrals", "escalations")
        if any(row.routing.get(k) for k in decided) or row.status == "joint":
            # a referral, escalation or joint enforcement decided by people is not undone by a map
            cols |= {k: getattr(row, k) for k in ("handler_party", "handler_unit_code")}
            cols["handler_name"] = row.handler_name
            cols["routing"] = row.routing | {"territory": cols["routing"]["territory"]}
        elif row.routing.get("correction_orders"):  # the town's order stays on record
            orders = row.routing["correction_orders"]
            cols["routing"] = cols["routing"] | {"correction_orders": orders}
        diff = {k: [getattr(row, k), cols[k]] for k in TRACKED if getattr(row, k) != cols[k]}
        if not diff:
            continue
        updates.append({k: v for k, v in cols.items() if k not in ("lon", "lat")} | {"id": row.id})
        events.append(
            store.event_row(
                case_id=row.id,
                actor=None,
                role="system",
                action="boundary_change",
                from_status=row.status,
                to_status=row.status,
                data={"changed": diff, "generations": res.generations},
                public=False,
            )
        )
    if updates:
        store.update_cases(conn, rows=updates)
        store.add_events(conn, rows=events)
    return {"open": looked_at, "changed": len(updates)}
