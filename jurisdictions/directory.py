"""The public responsibility directory (三(二)): every party responsible at a place, with its
duties there and whom to call. It carries no resident data."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, text

from jurisdictions import catalog, published_contacts
from jurisdictions.exceptions import JurisdictionError
from jurisdictions.service import Resolution, resolve_one, resolve_points


class PropertyAreaNotFound(JurisdictionError):
    """No active property management area with that code."""

    code = "property_area_not_found"


def _acting_unit(code: str, res: Resolution) -> dict[str, Any] | None:
    """Who acts for the party at this place (its field unit, the town, the estate's company)."""
    pa = res.property_area
    if code == "property_company":
        if pa is None:
            return None
        if pa.property_company:
            return {"code": pa.code, "name": pa.property_company}
        return {
            "code": res.town.code if res.town else "",
            "name": "简易物业管理（由镇/街道组织实施）",
            "note": "no property company: the town runs simple property management (9.2)",
        }
    place = {"town_government": res.town, "community_committee": res.community}.get(code)
    if place is None:
        place = res.agency_units.get(code)
    return {"code": place.code, "name": place.name} if place else None


#: Numbers every directory shows, day and night.
EMERGENCY_NUMBERS: tuple[dict[str, str], ...] = (
    {"number": "110", "name_zh": "报警（公安）", "name_en": "Police"},
    {"number": "119", "name_zh": "火警、抢险救援", "name_en": "Fire and rescue"},
    {"number": "120", "name_zh": "急救", "name_en": "Ambulance"},
    {"number": "96333", "name_zh": "电梯应急救援（电梯困人）", "name_en": "Lift rescue"},
    {"number": "12345", "name_zh": "市民服务热线（24小时）", "name_en": "Citizens' hotline (24 h)"},
)
#: Whom a resident calls first about a place: the estate's company, the community, the town.
CALL_FIRST = ("property_company", "community_committee", "town_government")


def _call_order(agencies: list[dict[str, Any]], first_agency: str | None) -> list[dict[str, Any]]:
    """Parties by who to call first: the estate's company, the community, the town, then the
    agency handling the chosen type, then the others in the order of the text."""
    lead = [*CALL_FIRST, *([first_agency] if first_agency else [])]
    rank = {code: i for i, code in enumerate(dict.fromkeys(lead))}
    return sorted(agencies, key=lambda a: rank.get(a["code"], len(rank)))


def directory_at(
    conn: Connection, *, res: Resolution, type_code: str | None = None
) -> dict[str, Any]:
    """The directory for a resolved place; with ``type_code``, that type's agency is listed
    right after the estate's company, the community and the town."""
    first_agency = catalog.get_type(conn, code=type_code).agency if type_code else None
    types = catalog.list_types(conn, reportable=True)
    handles: dict[str, list[dict[str, str]]] = {}
    for t in types:
        handles.setdefault(t["agency"], []).append(
            {"code": t["code"], "name_zh": t["name_zh"], "name_en": t["name_en"]}
        )
    scopes = [
        ("property_area", res.property_area.code if res.property_area else ""),
        ("community", res.community.code if res.community else ""),
        ("town", res.town.code if res.town else ""),
    ]
    scopes += [("agency_unit", unit.code) for unit in res.agency_units.values()]
    contacts = published_contacts.contacts_for(conn, scopes=scopes)
    utilities = published_contacts.utility_contacts_for(conn, scopes=scopes)
    agencies = catalog.list_agencies(conn)
    kinds = {k["code"]: k for a in agencies for k in a.get("kinds") or []}
    parties = []
    for agency in _call_order(agencies, first_agency):
        code = agency["code"]
        parties.append(
            {
                "agency": code,
                "party": agency["party"],
                "name_zh": agency["name_zh"],
                "name_en": agency["name_en"],
                "duties_zh": agency["duties_zh"],
                "duties_en": agency["duties_en"],
                "acting_unit": _acting_unit(code, res),
                "handles": handles.get(code, []),
                "contact": contacts.get(code),
            }
        )
    place = res.as_dict()
    return {
        "place": {
            k: place[k]
            for k in ("point", "town", "community", "property_area", "agency_units", "generation")
        },
        "parties": parties,
        "utilities": [
            {
                "kind": code,
                "name_zh": kind["name_zh"],
                "name_en": kind["name_en"],
                "name": utilities[code]["office"],
                **utilities[code],
            }
            for code, kind in kinds.items()
            if code in utilities
        ],
        "emergency": list(EMERGENCY_NUMBERS),
    }


def directory_for_point(
    conn: Connection,
    *,
    lon: Any,
    lat: Any,
    crs: str = "wgs84",
    at: datetime | None = None,
    type_code: str | None = None,
) -> dict[str, Any]:
    """The directory at a point."""
    res = resolve_one(conn, lon=lon, lat=lat, crs=crs, at=at)
    return directory_at(conn, res=res, type_code=type_code)


def directory_for_property_area(
    conn: Connection, *, code: str, type_code: str | None = None
) -> dict[str, Any]:
    """The directory of an active property management area (at a point inside it)."""
    row = conn.execute(
        text("""
        SELECT ST_X(p) AS x, ST_Y(p) AS y FROM (
          SELECT ST_PointOnSurface(b.geom) AS p FROM boundary b
          JOIN generation_period g ON g.generation_id = b.generation_id AND g.valid_to IS NULL
          WHERE b.layer = 'property_area' AND b.code = :code) s"""),
        {"code": code},
    ).first()
    if row is None:
        raise PropertyAreaNotFound(f"no active property management area {code!r}", area=code)
    (res,) = resolve_points(conn, lons=[row.x], lats=[row.y])
    if res.property_area is None or res.property_area.code != code:
        raise PropertyAreaNotFound(f"property management area {code!r} cannot be located")
    return directory_at(conn, res=res, type_code=type_code)
