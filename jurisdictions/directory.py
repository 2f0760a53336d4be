"""The public responsibility directory (三(二)): every party responsible at a place, with its
duties there and whom to call. It carries no resident data."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, text

from jurisdictions import catalog
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


def directory_at(conn: Connection, *, res: Resolution) -> dict[str, Any]:
    """The directory for a resolved place."""
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
    contacts = catalog.contacts_for(conn, scopes=scopes)
    parties = []
    for agency in catalog.list_agencies(conn):
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
    }


def directory_for_point(
    conn: Connection, *, lon: Any, lat: Any, crs: str = "wgs84", at: datetime | None = None
) -> dict[str, Any]:
    """The directory at a point."""
    return directory_at(conn, res=resolve_one(conn, lon=lon, lat=lat, crs=crs, at=at))


def directory_for_property_area(conn: Connection, *, code: str) -> dict[str, Any]:
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
    return directory_at(conn, res=res)
