"""Role × endpoint × field: every response body scanned for what its reader may not see.

Cases are planted with reporters whose names and phones occur nowhere else, a staff note
quoting a phone, a resident's description quoting one, and positions 20–40 m off the public
0.001° grid. Then every role (and an anonymous caller) asks every GET endpoint and page —
JSON, GeoJSON, HTML, Open311 JSON and XML, the meeting's PDF and XLSX, the assessment's
exports, the hot-spot CSV — and each body (XLSX unzipped, PDF text extracted) is searched:

* a planted phone (reporter's, in a note, in a description) or a reporter's name: only the
  dispatcher may read them (a handler only once the dispatcher reveals them, which this
  matrix does not do; tests/security/test_leak_findings.py does);
* a planted position to 4 decimals (≈ 10 m): only staff who handle or coordinate cases; never
  the planner, the administrator (maps at 3 decimals) or the public.

The scan prints what it read per endpoint and role and fails when it read nothing, when an
endpoint was never answered with a body, or when its positive controls (the dispatcher does
see the phone and the position) find nothing — a scanner that cannot see cannot pass.
"""

from __future__ import annotations

import io
import re
import zipfile
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pypdf import PdfReader
from sqlalchemy import Connection, text
from support import app_client

from abuse import service as abuse
from accounts.service import Principal, create_api_key, issue_token
from incidents import open311, reminders, service
from incidents.intake import Report, create_case
from jurisdictions import catalog
from meetings import service as meetings
from notify import unit_contacts

# Reporters and numbers planted once each (never produced by the code under test).
REPORTERS = {
    "property": ("欧阳明月", "13911110001"),
    "drugs": ("司马青云", "13922220002"),
    "open311": ("上官飞燕", "13933330003"),
}
NOTE_PHONE = "13944440004"  # a dispatcher's note: "已联系举报人，电话…"
TEXT_PHONE = "13955550005"  # a resident's description: "请回电…"
DUTY_PHONE = "13966660006"  # a unit's duty mobile (督办 reminders go to it): masked everywhere
PHONES = [p for _, p in REPORTERS.values()] + [NOTE_PHONE, TEXT_PHONE, DUTY_PHONE]
NAMES = [n for n, _ in REPORTERS.values()]
#: Positions 20–40 m off the 0.001° grid (public answers show 120.002, 30.002 …).
PLACES = {
    "property": (120.002371, 30.002413),  # P111, 甲物业: the company handles it
    "drugs": (120.031637, 30.015271),  # T2 / PS2: a sensitive type
    "open311": (120.002634, 30.012183),  # P112, filed by an Open311 client
}
#: Where the caller's own point is echoed (resolve, directory): a grid point, not a case.
QUERY_POINT = (120.002, 30.002)
MAY_READ_PERSONAL = {"dispatcher"}
#: Endpoints whose purpose is personal data for one more role: the ban list (a banned phone
#: number) is kept by dispatchers and administrators (abuse/router.py).
ALSO_PERSONAL = {"/api/v1/bans": {"admin"}}
MAY_READ_POSITIONS = {  # roles that handle or coordinate cases; not planner, admin, public
    "dispatcher",
    "police_ps1",
    "police_ps2",
    "urban",
    "housing",
    "town_t1",
    "town_t2",
    "community_c11",
    "community_c21",
    "company_jia",
    "company_yi",
}


def _position_patterns() -> list[re.Pattern[str]]:
    """A planted value to 5 decimals or more (≈ 1 m), or rounded to 4 (≈ 10 m)."""
    out = []
    for lon, lat in PLACES.values():
        for value in (lon, lat):
            out.append(re.compile(re.escape(f"{value:.6f}"[:-1])))
            out.append(re.compile(re.escape(f"{value:.4f}") + r"(?!\d)"))
    return out


POSITIONS = _position_patterns()
UNICODE_ESCAPE = re.compile(r"\\u([0-9a-fA-F]{4})")
DIGIT_GAP = re.compile(r"(?<=\d)[\s-](?=\d)")


def readable(body: bytes, media: str) -> str | None:
    """The text of a body: XLSX unzipped, PDF text, JSON escapes undone; None for images."""
    if media.startswith("image/"):
        return None
    if body[:2] == b"PK":  # XLSX, GeoPackage as zip …
        with zipfile.ZipFile(io.BytesIO(body)) as z:
            return "\n".join(z.read(n).decode("utf-8", "replace") for n in z.namelist())
    if body[:5] == b"%PDF-":
        reader = PdfReader(io.BytesIO(body))
        return "\n".join(page.extract_text() or "" for page in reader.pages)
    if body[:16].startswith(b"SQLite format 3"):
        return body.decode("latin-1")
    decoded = body.decode("utf-8", "replace")
    return UNICODE_ESCAPE.sub(lambda m: chr(int(m.group(1), 16)), decoded)


def findings(content: str) -> dict[str, list[str]]:
    squeezed = DIGIT_GAP.sub("", content)
    return {
        "phone": [p for p in PHONES if p in squeezed],
        "name": [n for n in NAMES if n in content],
        "position": sorted({m.group(0) for pat in POSITIONS for m in pat.finditer(content)}),
    }


def _kind(template: str, media: str) -> str:
    if template.startswith("/open311/"):
        return "open311 " + ("xml" if "xml" in media else "json")
    for name in ("pdf", "sheet", "csv", "html"):
        if name in media:
            return {"sheet": "xlsx"}.get(name, name)
    return "json"


@pytest.fixture
def client(conn: Connection, world: dict) -> Iterator[TestClient]:
    with app_client(conn) as c:
        yield c


def _plant(conn: Connection, world: dict[str, Principal]) -> dict[str, Any]:
    d = world["dispatcher"]
    property_type = catalog.list_types(conn, reportable=True, scope="property_service")[0]["code"]
    urban = catalog.list_types(conn, reportable=True, agency="urban_management")[0]["code"]
    ids: dict[str, int] = {}
    codes: dict[str, str] = {}
    for key, type_code in (("property", property_type), ("drugs", "drugs_vice")):
        name, phone = REPORTERS[key]
        lon, lat = PLACES[key]
        made = create_case(
            conn,
            report=Report(
                lon=lon,
                lat=lat,
                type=type_code,
                description=f"楼道堆物，请回电{TEXT_PHONE}",
                address_text=f"3幢502 电话{TEXT_PHONE}",
                contact_name=name,
                phone=phone,
            ),
        )
        ids[key], codes[key] = made.id, made.tracking_code
    name, phone = REPORTERS["open311"]
    key = create_api_key(conn, name="matrix client")
    posted = open311.submit(
        conn,
        form={
            "api_key": key,
            "service_code": urban,
            "lat": str(PLACES["open311"][1]),
            "long": str(PLACES["open311"][0]),
            "description": f"路边违停，电话 {TEXT_PHONE}",
            "address_string": "老街小区东门",
            "first_name": name[2:],
            "last_name": name[:2],
            "phone": phone,
        },
    )
    ids["open311"] = int(posted[0]["service_request_id"])
    codes["open311"] = str(
        conn.execute(
            text("SELECT tracking_code FROM case_reporter WHERE case_id = :c"),
            {"c": ids["open311"]},
        ).scalar_one()
    )
    for cid in ids.values():
        version = service.get_case(conn, case_id=cid, principal=d)["version"]
        service.transition(
            conn,
            case_id=cid,
            principal=d,
            action="accept",
            payload={"note": f"已联系举报人，电话{NOTE_PHONE}", "public_reply": "已受理"},
            if_match=version,
        )
    conn.execute(  # overdue: on the town's meeting agenda
        text("UPDATE case_file SET due_at = now() - interval '1 day' WHERE id = ANY(:i)"),
        {"i": list(ids.values())},
    )
    conn.execute(
        text("""INSERT INTO case_photo (case_id, content, mime, width, height, sha256)
                VALUES (:c, 'x', 'image/jpeg', 1, 1, 'x')"""),
        {"c": ids["property"]},
    )
    photo = conn.execute(
        text("SELECT id FROM case_photo WHERE case_id = :c"), {"c": ids["property"]}
    ).scalar_one()
    for cid in ids.values():  # 督办: the overdue cases' units are reminded, by duty mobile too
        row = conn.execute(
            text("SELECT handler_party, handler_unit_code FROM case_file WHERE id = :c"),
            {"c": cid},
        ).one()
        unit = row.handler_unit_code or ""
        unit_contacts.add_contact(conn, party=row.handler_party, unit_code=unit, contact=DUTY_PHONE)
    assert reminders.send_reminders(conn)
    abuse.add_ban(conn, kind="phone", value=REPORTERS["drugs"][1], reason="恶意举报")
    meeting = meetings.prepare(conn, town="T1", month=None, principal=None)
    types = {"property": property_type, "drugs": "drugs_vice", "open311": urban}
    return {"ids": ids, "codes": codes, "photo": photo, "meeting": meeting["id"], "types": types}


def _endpoints(p: dict[str, Any]) -> list[tuple[str, str]]:
    """(template, url) for every GET endpoint and page, with real values filled in."""
    out: list[tuple[str, str]] = []
    lon, lat = QUERY_POINT
    add = out.append
    for path in (
        "/api/v1/layers",
        "/api/v1/layers/town.geojson",
        "/api/v1/layers/property_area.geojson",
        "/api/v1/agencies",
        "/api/v1/violation-types",
        "/api/v1/directory/P111",
        "/api/v1/auth/me",
        "/api/v1/cases",
        "/api/v1/cases.geojson",
        "/api/v1/cases/feed",
        "/ogc/collections",
        "/ogc/collections/cases",
        "/ogc/collections/cases/items?limit=1000",
        "/ogc/collections/property_area/items",
        "/api/v1/bans",
        "/api/v1/meetings",
        "/api/v1/hotspots?method=count&grid=h3:9",
        "/api/v1/hotspots.csv?method=count&grid=h3:9",
        "/api/v1/assessment",
        "/api/v1/assessment?format=xlsx",
        "/api/v1/assessment?format=pdf",
        "/api/v1/assessment/cases?kind=town&unit=T1&figure=received",
        "/report",
        "/track",
        "/directory",
        "/directory/P111",
        "/map/dispatch",
        "/map/dispatch/heat.json",
        "/map/hotspots",
        "/assessment",
        "/assessment/map",
        "/login",
        "/follow",
        "/api/v1/joint-tasks/overdue",
        "/api/v1/report-ins/late",
    ):
        add((path if "format=" in path else path.split("?")[0], path))
    add(("/api/v1/resolve", f"/api/v1/resolve?lon={lon}&lat={lat}"))
    add(("/api/v1/directory", f"/api/v1/directory?lon={lon}&lat={lat}"))
    add(("/api/v1/route", f"/api/v1/route?lon={lon}&lat={lat}&type=drugs_vice"))
    for key, cid in p["ids"].items():
        x, y = PLACES[key]
        dupes = f"/api/v1/reports/duplicates?lon={x}&lat={y}&type={p['types'][key]}"
        add(("/api/v1/reports/duplicates", dupes))
        for tpl in (
            "/api/v1/cases/{id}",
            "/api/v1/cases/{id}/events",
            "/api/v1/cases/{id}/photos",
            "/api/v1/cases/{id}/messages",  # the outbox: residents' and units' (masked)
            "/cases/{id}",
        ):
            add((tpl, tpl.replace("{id}", str(cid))))
        code = p["codes"][key]
        add(("/api/v1/track/{code}", f"/api/v1/track/{code}"))
        add(("/track/{code}", f"/track/{code}"))
        for fmt in ("json", "xml"):
            add((f"/open311/v2/requests/{{id}}.{fmt}", f"/open311/v2/requests/{cid}.{fmt}"))
            add((f"/open311/v2/tokens/{{code}}.{fmt}", f"/open311/v2/tokens/{code}.{fmt}"))
    pid, cid = p["photo"], p["ids"]["property"]
    add(("/api/v1/cases/{id}/photos/{photo}", f"/api/v1/cases/{cid}/photos/{pid}"))
    for fmt in ("json", "xml"):
        add((f"/open311/v2/requests.{fmt}", f"/open311/v2/requests.{fmt}?extensions=true"))
        add((f"/open311/v2/services.{fmt}", f"/open311/v2/services.{fmt}"))
        add((f"/open311/v2/discovery.{fmt}", f"/open311/v2/discovery.{fmt}"))
        add(
            (
                f"/open311/v2/services/{{code}}.{fmt}",
                f"/open311/v2/services/drugs_vice.{fmt}",
            )
        )
    m = p["meeting"]
    add(("/api/v1/meetings/{id}/agenda", f"/api/v1/meetings/{m}/agenda"))
    add(("/meetings/{id}", f"/meetings/{m}"))
    for fmt in ("json", "html", "pdf", "xlsx"):
        add((f"/api/v1/meetings/{{id}}?format={fmt}", f"/api/v1/meetings/{m}?format={fmt}"))
    return out


def test_role_endpoint_field_matrix(
    conn: Connection, world: dict[str, Principal], client: TestClient
) -> None:
    endpoints = _endpoints(_plant(conn, world))
    roles: dict[str, dict[str, str]] = {"anonymous": {}}
    for name, who in world.items():
        token, _ = issue_token(conn, principal=who)
        # API clients send the token; pages read the session cookie
        roles[name] = {"Authorization": f"Bearer {token}", "Cookie": f"shudi_session={token}"}
    scanned: Counter[tuple[str, str]] = Counter()
    answered: Counter[str] = Counter()
    statuses: Counter[int] = Counter()
    leaks: list[str] = []
    controls: Counter[str] = Counter()
    kinds: Counter[str] = Counter()
    exports: dict[str, str] = {}  # what the town's coordinator read of each export
    images: Counter[str] = Counter()  # photo bytes: no text to scan (re-encoded, no EXIF)
    for role, headers in roles.items():
        for tpl, url in endpoints:
            r = client.get(url, headers=headers, follow_redirects=False)
            statuses[r.status_code] += 1
            assert r.status_code < 500, (role, url, r.text[:300])
            content = readable(r.content, r.headers.get("content-type", ""))
            if content is None:
                images[tpl] += 1
                continue
            scanned[(tpl, role)] += 1
            kinds[_kind(tpl, r.headers.get("content-type", ""))] += 1
            if role == "town_t1" and "format=" in tpl:
                exports[tpl] = content
            if r.status_code < 300:
                answered[tpl] += 1
            found = findings(content)
            for field, hits in found.items():
                allowed = (
                    MAY_READ_POSITIONS
                    if field == "position"
                    else MAY_READ_PERSONAL | ALSO_PERSONAL.get(tpl, set())
                )
                if hits and role not in allowed:
                    leaks.append(f"{role} {url} [{r.status_code}] {field}: {hits}")
                if hits and role == "dispatcher":
                    controls[field] += 1
    table = "\n".join(
        f"{tpl:55} "
        + " ".join(f"{role}={n}" for (t, role), n in sorted(scanned.items()) if t == tpl)
        for tpl in sorted({t for t, _ in scanned})
    )
    print("\n".join(leaks))
    print(
        f"\nscanned {sum(scanned.values())} bodies of {len({t for t, _ in scanned})} endpoints "
        f"for {len(roles)} roles; by kind {dict(kinds)}; statuses {dict(statuses)}; "
        f"leaks {len(leaks)}\n{table}"
    )
    assert sum(scanned.values()) > 0, "scanned nothing"
    never = sorted({tpl for tpl, _ in endpoints} - set(answered) - set(images))
    assert not never, f"never answered with a body: {never}"
    assert {role for _, role in scanned} == set(roles)
    # positive controls: the scanner does see what the dispatcher may see
    assert controls["phone"] and controls["name"] and controls["position"], controls
    # … and reads the exports' text (PDF, XLSX), not just their bytes: T1 is 甲街道
    for tpl in ("pdf", "xlsx"):
        for what in ("/api/v1/meetings/{id}", "/api/v1/assessment"):
            assert "甲街道" in exports[f"{what}?format={tpl}"], (what, tpl)
    assert not leaks, "\n".join(leaks)
