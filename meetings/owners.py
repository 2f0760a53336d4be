"""The parties and units a town's meeting can name, and the actions a unit owns.

* :func:`party_units` — for the attendee picker: per party of 三（一）, the units of that
  party the town has (its government, its communities, the companies of its estates, the
  agencies and their field units whose areas reach into it);
* :func:`owner_units` — for an action's owner: the agencies, the field units reaching into the
  town, and the town itself (the ``owner_kind`` / ``owner_code`` / ``owner_agency`` the minutes
  take);
* :func:`owned_actions` — the actions a user's unit owns (its work list), open ones first.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, text

from accounts.service import Principal
from meetings import access
from meetings.service import ACTIVE, town_name

#: The parties whose units are the agency itself and its field units.
AGENCY_PARTIES = (
    "public_security",
    "market_regulation",
    "urban_management",
    "environmental_protection",
    "housing_construction",
    "housing_service_center",
    "planning",
    "price_bureau",
    "utility",
)

FIELD_UNITS = text(f"""
SELECT b.agency, b.code, b.name {ACTIVE}
WHERE b.layer = 'agency_unit' AND EXISTS (
  SELECT 1 FROM boundary t JOIN generation_period tg
    ON tg.generation_id = t.generation_id AND tg.valid_to IS NULL
  WHERE t.layer = 'town' AND t.code = :town
    AND ST_Intersects(t.geom, b.geom) AND NOT ST_Touches(t.geom, b.geom))
ORDER BY b.agency, b.code
""")

COMMUNITIES = text(f"""
SELECT b.code, b.name {ACTIVE}
WHERE b.layer = 'community' AND b.parent_code = :town ORDER BY b.code
""")

COMPANIES = text(f"""
SELECT DISTINCT b.property_company AS name {ACTIVE}
WHERE b.layer = 'property_area' AND b.property_company IS NOT NULL
  AND b.property_company <> ''
  AND b.parent_code IN (SELECT c.code FROM boundary c JOIN generation_period cg
        ON cg.generation_id = c.generation_id AND cg.valid_to IS NULL
        WHERE c.layer = 'community' AND c.parent_code = :town)
ORDER BY 1
""")


def _agencies(conn: Connection) -> dict[str, str]:
    rows = conn.execute(text("SELECT code, name_zh FROM agency ORDER BY party NULLS LAST, code"))
    return {str(r.code): str(r.name_zh) for r in rows}


def party_units(conn: Connection, *, town: str) -> dict[str, list[str]]:
    """Party kind → the names of the town's units of that party (attendee picker); parties
    with no units on record (owners' committees, other invitees) map to an empty list."""
    from meetings.models import PARTY_KINDS

    agencies = _agencies(conn)
    out: dict[str, list[str]] = {p: [] for p in PARTY_KINDS}
    out["town_government"] = [town_name(conn, code=town)]
    out["community_committee"] = [
        f"{r.name}居委会" for r in conn.execute(COMMUNITIES, {"town": town})
    ]
    out["property_company"] = [str(r.name) for r in conn.execute(COMPANIES, {"town": town})]
    for party in AGENCY_PARTIES:
        if party in agencies:
            out[party] = [agencies[party]]
    for r in conn.execute(FIELD_UNITS, {"town": town}):
        if r.agency in out:
            out[str(r.agency)].append(f"{agencies.get(r.agency, r.agency)} {r.name}")
    return out


def owner_units(conn: Connection, *, town: str) -> list[dict[str, Any]]:
    """Who may own an action of the town's meeting: each agency, each field unit reaching into
    the town (after its agency), and the town; ``{kind, code, agency, name}``."""
    agencies = _agencies(conn)
    units: dict[str, list[dict[str, Any]]] = {}
    for r in conn.execute(FIELD_UNITS, {"town": town}):
        units.setdefault(str(r.agency), []).append(
            {
                "kind": "agency_unit",
                "code": str(r.code),
                "agency": str(r.agency),
                "name": f"{agencies.get(r.agency, r.agency)} {r.name}",
            }
        )
    out = [{"kind": "town", "code": town, "agency": None, "name": town_name(conn, code=town)}]
    for code, name in agencies.items():
        if code in ("town_government", "community_committee", "property_company"):
            continue  # not an owner kind of the minutes (the town stands for its government)
        out.append({"kind": "agency", "code": code, "agency": None, "name": name})
        out += units.get(code, [])
    return out


def owned_actions(
    conn: Connection, *, principal: Principal, open_only: bool = True, limit: int = 200
) -> list[dict[str, Any]]:
    """The meeting actions ``principal``'s unit owns (only held meetings have actions), open
    ones first by due date; each with its meeting and agenda item."""
    where, params = access.owner_clause(principal)
    rows = conn.execute(
        text(f"""SELECT a.id, a.meeting_id, a.title, a.owner_kind, a.owner_code, a.owner_agency,
                       a.owner_name, a.due_on, a.done_on, a.done_note, m.town_code,
                       to_char(m.month, 'YYYY-MM') AS month, m.kind AS meeting_kind,
                       m.held_on, i.title AS item_title, i.case_ids
                FROM meeting_action a JOIN meeting m ON m.id = a.meeting_id
                JOIN meeting_item i ON i.id = a.item_id
                WHERE {where} AND (NOT :open_only OR a.done_on IS NULL)
                ORDER BY a.done_on IS NOT NULL, a.due_on, a.id LIMIT :limit"""),
        params | {"open_only": open_only, "limit": limit},
    ).mappings()
    return [dict(r) | {"case_ids": list(r["case_ids"])} for r in rows]
