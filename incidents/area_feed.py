"""An Atom feed per area (town, community, estate): what an owners' committee follows.

One entry per public case of the area, newest change first, with only what the track page
shows anyone: the type in plain words, the status, the public replies (phone and ID numbers
masked), the times and the ~100 m public position (the 0.001° grid of Open311 and the public
map). No tracking code, no reporter's data, no staff note; hidden cases and sensitive types
(drugs, vice …) are left out, as in every public listing.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from xml.etree import ElementTree as ET

from sqlalchemy import Connection, text

from incidents import public_text
from incidents.exceptions import AreaNotFound
from incidents.open311 import STATUS_NOTES
from jurisdictions.exceptions import UnknownLayer
from jurisdictions.service import latest_area_name

ATOM = "http://www.w3.org/2005/Atom"
GEORSS = "http://www.georss.org/georss"
LAYERS = {"town": "town_code", "community": "community_code", "property_area": "property_area_code"}
#: The most recently changed cases in one feed.
LIMIT = 200
EPOCH = datetime(2000, 1, 1, tzinfo=UTC)


def _area(conn: Connection, layer: str, code: str) -> str:
    if layer not in LAYERS:
        raise UnknownLayer(f"no area layer {layer!r}; one of {', '.join(LAYERS)}")
    name = latest_area_name(conn, layer=layer, code=code)
    if name is None:
        raise AreaNotFound(f"no {layer} {code}")
    return name


def area_entries(conn: Connection, *, layer: str, code: str) -> dict[str, Any]:
    """The area's name and its public cases (newest change first), each with its public
    events; a CaseNotFound for an unknown layer or area."""
    name = _area(conn, layer, code)
    column = LAYERS[layer]
    cases = conn.execute(
        text(f"""SELECT c.id, c.status, vt.name_zh AS type_name, vt.name_en AS type_name_en,
                    c.created_at, c.updated_at,
                    round(c.lon::numeric, 3)::float8 AS lon,
                    round(c.lat::numeric, 3)::float8 AS lat,
                    c.routing->'territory'->'community'->>'name' AS community_name
                 FROM case_file c JOIN violation_type vt ON vt.code = c.type_code
                 WHERE c.{column} = :code AND NOT c.hidden AND NOT vt.sensitive
                 ORDER BY c.updated_at DESC, c.id DESC LIMIT :n"""),
        {"code": code, "n": LIMIT},
    ).mappings()
    entries = [dict(c) for c in cases]
    events = conn.execute(
        text("""SELECT case_id, at, public_reply FROM case_event
                WHERE case_id = ANY(:ids) AND public AND coalesce(public_reply, '') <> ''
                ORDER BY id"""),
        {"ids": [e["id"] for e in entries]},
    ).all()
    replies: dict[int, list[tuple[datetime, str]]] = {}
    for ev in events:
        replies.setdefault(ev.case_id, []).append((ev.at, public_text.mask(ev.public_reply)))
    for e in entries:
        e["replies"] = replies.get(e["id"], [])
        e["status_zh"] = STATUS_NOTES.get(e["status"], e["status"])
    return {"layer": layer, "code": code, "name": name, "entries": entries}


def _iso(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _sub(parent: ET.Element, tag: str, value: str = "", **attrs: str) -> ET.Element:
    el = ET.SubElement(parent, f"{{{ATOM}}}{tag}", attrs)
    if value:
        el.text = value
    return el


def area_atom(conn: Connection, *, layer: str, code: str, base_url: str) -> bytes:
    """The Atom document (RFC 4287) of an area's public cases, UTF-8."""
    area = area_entries(conn, layer=layer, code=code)
    base = base_url.rstrip("/")
    # a tag URI's authority is a DNS name (RFC 4151): no port, no credentials
    host = base.split("://", 1)[-1].split("/", 1)[0].rsplit("@", 1)[-1].split(":", 1)[0]
    host = host or "shudi.invalid"
    ET.register_namespace("", ATOM)
    ET.register_namespace("georss", GEORSS)
    feed = ET.Element(f"{{{ATOM}}}feed")
    _sub(feed, "id", f"tag:{host},2026:area/{layer}/{code}")
    _sub(feed, "title", f"{area['name']} 案件动态")
    _sub(feed, "subtitle", "公开信息：类型、状态、公开答复、时间与约百米的位置。")
    updated = max((e["updated_at"] for e in area["entries"]), default=EPOCH)
    _sub(feed, "updated", _iso(updated))
    author = _sub(feed, "author")
    _sub(author, "name", "属地 Shudi")
    _sub(feed, "link", rel="self", href=f"{base}/feeds/areas/{layer}/{code}.atom")
    for e in area["entries"]:
        entry = _sub(feed, "entry")
        _sub(entry, "id", f"tag:{host},2026:case/{e['id']}")
        _sub(entry, "title", f"{e['type_name']}：{e['status_zh']}")
        _sub(entry, "published", _iso(e["created_at"]))
        _sub(entry, "updated", _iso(e["updated_at"]))
        _sub(entry, "category", term=e["status"], label=e["status_zh"])
        lines = [f"类型：{e['type_name']}（{e['type_name_en'] or ''}）", f"状态：{e['status_zh']}"]
        if e["community_name"]:
            lines.append(f"社区：{e['community_name']}")
        lines += [f"{_iso(at)} 答复：{reply}" for at, reply in e["replies"]]
        _sub(entry, "content", "\n".join(lines), type="text")
        if e["lat"] is not None and e["lon"] is not None:
            point = ET.SubElement(entry, f"{{{GEORSS}}}point")
            point.text = f"{e['lat']:.3f} {e['lon']:.3f}"
    return bytes(ET.tostring(feed, encoding="utf-8", xml_declaration=True))
