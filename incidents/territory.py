"""Keeping open cases' territory current when a new boundary generation is activated.

Closed cases keep the owners they were handled by; every open case whose town, community,
property area, field unit or handler changes is re-routed and gets a ``boundary_change`` event.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, bindparam, text
from sqlalchemy.dialects.postgresql import JSONB

from incidents.intake import add_event, case_columns
from incidents.models import OPEN_STATUSES
from jurisdictions import catalog
from jurisdictions.routing import route
from jurisdictions.service import resolve_points

TRACKED = (
    "town_code",
    "community_code",
    "property_area_code",
    "agency_units",
    "handler_party",
    "handler_unit_code",
)

UPDATE = text("""
UPDATE case_file SET town_code = :town_code, community_code = :community_code,
    property_area_code = :property_area_code, property_company = :property_company,
    agency_units = :agency_units, handler_party = :handler_party,
    handler_unit_code = :handler_unit_code, handler_name = :handler_name, routing = :routing,
    generations = :generations, version = version + 1, updated_at = now()
WHERE id = :id
""").bindparams(*(bindparam(n, type_=JSONB) for n in ("agency_units", "routing", "generations")))


def reresolve_open_cases(conn: Connection) -> dict[str, int]:
    """Re-resolve and re-route every open case against the active generations."""
    rows = (
        conn.execute(
            text(f"""SELECT id, type_code, lon, lat, status, {", ".join(TRACKED)}, handler_name,
                        routing FROM case_file WHERE status = ANY(:open) ORDER BY id"""),
            {"open": list(OPEN_STATUSES)},
        )
        .mappings()
        .all()
    )
    if not rows:
        return {"open": 0, "changed": 0}
    resolved = resolve_points(
        conn, lons=[r["lon"] for r in rows], lats=[r["lat"] for r in rows], with_nearest=False
    )
    agencies = catalog.agencies_by_code(conn)
    types: dict[str, Any] = {}
    changed = 0
    for row, res in zip(rows, resolved, strict=True):
        if not res.inside:  # moved out of every town: keep it and let a dispatcher decide
            continue
        vtype = types.get(row["type_code"]) or catalog.get_type(conn, code=row["type_code"])
        types[row["type_code"]] = vtype
        cols = case_columns(res, route(resolution=res, vtype=vtype, agencies=agencies))
        decided = ("referrals", "escalations")
        if any(row["routing"].get(k) for k in decided) or row["status"] == "joint":
            # a referral, escalation or joint enforcement decided by people is not undone by a map
            cols |= {k: row[k] for k in ("handler_party", "handler_unit_code", "handler_name")}
            cols["routing"] = row["routing"] | {"territory": cols["routing"]["territory"]}
        elif row["routing"].get("correction_orders"):  # the town's order stays on record
            cols["routing"]["correction_orders"] = row["routing"]["correction_orders"]
        diff = {k: (row[k], cols[k]) for k in TRACKED if row[k] != cols[k]}
        if not diff:
            continue
        conn.execute(UPDATE, cols | {"id": row["id"]})
        add_event(
            conn,
            case_id=row["id"],
            actor=None,
            action="boundary_change",
            from_status=row["status"],
            to_status=row["status"],
            public=False,
            role="system",
            data={"changed": {k: list(v) for k, v in diff.items()}, "generations": res.generations},
        )
        changed += 1
    return {"open": len(rows), "changed": changed}
