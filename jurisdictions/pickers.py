"""What the administrator's forms offer: the agencies, their field units, the towns,
communities and estates of the active boundaries (with their parents and companies), and the
contacts published for one area. Reads only; the writes are :mod:`jurisdictions.catalog`'s."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, text

from jurisdictions.published_contacts import InvalidContact

ACTIVE_AREAS = text("""
SELECT b.layer, b.agency, b.code, b.name, b.parent_code, b.property_company
FROM boundary b JOIN generation_period p
  ON p.generation_id = b.generation_id AND p.valid_to IS NULL
ORDER BY b.layer, b.agency, b.code""")

#: The layers an area contact may be published for, broadest first.
AREA_LAYERS = ("town", "community", "property_area", "agency_unit")


def scope_choices(conn: Connection) -> dict[str, Any]:
    """Agencies (code, Chinese name), and per layer the active areas as ``{code, name,
    parent_code}`` (agency units with their agency, estates with their company); the
    property companies named by estates."""
    agencies = [
        dict(r)
        for r in conn.execute(
            text("SELECT code, name_zh, kinds FROM agency ORDER BY party NULLS LAST, code")
        ).mappings()
    ]
    areas: dict[str, list[dict[str, Any]]] = {layer: [] for layer in AREA_LAYERS}
    for r in conn.execute(ACTIVE_AREAS).mappings():
        item = {"code": r["code"], "name": r["name"], "parent_code": r["parent_code"]}
        if r["layer"] == "agency_unit":
            item["agency"] = r["agency"]
        if r["layer"] == "property_area":
            item["company"] = r["property_company"] or ""
        areas.setdefault(r["layer"], []).append(item)
    companies = sorted({a["company"] for a in areas["property_area"] if a["company"]})
    return {"agencies": agencies, "areas": areas, "companies": companies}


def list_contacts(
    conn: Connection, *, scope_layer: str = "", scope_code: str = ""
) -> list[dict[str, Any]]:
    """The contacts published for one area (``""``/``""``: the district-wide ones), by agency,
    with the agency's Chinese name."""
    if scope_layer not in ("", *AREA_LAYERS) or (scope_layer == "") != (scope_code == ""):
        raise InvalidContact(
            f"an area is a layer ({', '.join(AREA_LAYERS)}) with a code, or neither",
            reason="bad_scope",
        )
    rows = conn.execute(
        text("""SELECT c.id, c.agency, a.name_zh AS agency_name, c.kind, c.scope_layer,
                       c.scope_code, c.office, c.person, c.phone, c.hours, c.updated_at
                FROM contact c JOIN agency a ON a.code = c.agency
                WHERE c.scope_layer = :l AND c.scope_code = :c
                ORDER BY a.party NULLS LAST, c.agency, c.kind"""),
        {"l": scope_layer, "c": scope_code},
    )
    return [dict(r) for r in rows.mappings()]


def contact_counts(conn: Connection) -> dict[str, int]:
    """How many contacts each area has (``layer:code`` → count), for the area list."""
    rows = conn.execute(
        text("""SELECT scope_layer || ':' || scope_code AS k, count(*) AS n FROM contact
                GROUP BY 1""")
    )
    return {str(r.k): int(r.n) for r in rows}
