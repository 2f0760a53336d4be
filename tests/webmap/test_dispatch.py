"""The dispatcher's live map (``/map/dispatch``) over real HTTP: a uvicorn server on 127.0.0.1
with a scratch database, the HTML as served, and a desktop-sized Chromium that logs in through
``/login`` and watches a report filed through the API appear without a reload
(``browser_page`` fails the test if anything tried to leave the machine).
"""

from __future__ import annotations

import re
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import create_engine, text
from support import IN_P111, IN_P112, IN_T2, load_mini

from accounts.service import create_user
from gis.coords import from_wgs84
from jurisdictions import catalog
from webmap import assets

ROOT = Path(__file__).resolve().parents[2]
SHUDI = str(Path(sys.executable).with_name("shudi"))
PASSWORD = "correct horse battery"
DESKTOP = (1400, 860)
PHONE = (390, 844)
Shot = Callable[[Any, str], Path]
LIVE_WITHIN_S = 5.0


@pytest.fixture(scope="module")
def site_db(module_scratch_db_url: str) -> str:
    eng = create_engine(module_scratch_db_url)
    with eng.begin() as conn:
        load_mini(conn)
        catalog.sync_taxonomy(conn)
        create_user(conn, username="disp", password=PASSWORD, role="dispatcher")
        create_user(
            conn, username="town1", password=PASSWORD, role="town_coordinator", town_code="T1"
        )
        create_user(conn, username="plan", password=PASSWORD, role="planner")
    eng.dispose()
    return module_scratch_db_url


@contextmanager
def logged_in(base: str, username: str) -> Iterator[httpx.Client]:
    """An HTTP client with the session cookie of ``username`` (logged in through /login)."""
    with httpx.Client(base_url=base) as client:
        r = client.post("/login", data={"username": username, "password": PASSWORD, "next": "/"})
        assert r.status_code == 303, r.text
        yield client


def bearer(base: str, username: str = "disp") -> dict[str, str]:
    r = httpx.post(f"{base}/api/v1/auth/token", data={"username": username, "password": PASSWORD})
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


def a_type(base: str, agency: str) -> str:
    types = httpx.get(
        f"{base}/api/v1/violation-types", params={"agency": agency, "reportable": True}
    ).json()
    return str(types[0]["code"])


def file_report(base: str, where: tuple[float, float], agency: str, **over: Any) -> dict:
    body = {"lon": where[0], "lat": where[1], "type": a_type(base, agency)} | over
    r = httpx.post(
        f"{base}/api/v1/reports", json=body, headers={"Idempotency-Key": uuid.uuid4().hex}
    )
    assert r.status_code == 201, r.text
    return dict(r.json())


def open_features(base: str) -> dict[int, dict[str, Any]]:
    fc = httpx.get(f"{base}/api/v1/cases.geojson", headers=bearer(base)).json()
    return {int(f["id"]): f["properties"] for f in fc["features"]}


def make_overdue(db_url: str, case_id: int) -> None:
    eng = create_engine(db_url)
    with eng.begin() as conn:
        conn.execute(
            text("UPDATE case_file SET due_at = now() - interval '1 day' WHERE id = :i"),
            {"i": case_id},
        )
    eng.dispose()


# --- the HTML as served -----------------------------------------------------------------------


def test_only_dispatchers_and_town_coordinators_get_the_map(server: str) -> None:
    r = httpx.get(f"{server}/map/dispatch")
    assert r.status_code == 303 and r.headers["location"] == "/login?next=/map/dispatch"
    with logged_in(server, "plan") as planner:
        denied = planner.get("/map/dispatch")
        assert denied.status_code == 403 and '<html lang="zh-CN">' in denied.text
        assert "无权访问调度地图" in denied.text and assets.remote_urls(denied.text) == []
        assert planner.get("/map/dispatch/heat.json").status_code == 403
    assert httpx.get(f"{server}/map/dispatch/heat.json").status_code == 401
    with logged_in(server, "town1") as town:
        assert town.get("/map/dispatch").status_code == 200
    file_report(server, IN_P111, "urban_management")
    with logged_in(server, "disp") as disp:
        r = disp.get("/map/dispatch")
        assert r.status_code == 200 and '<html lang="zh-CN">' in r.text
        assert assets.remote_urls(r.text) == []
        m = re.search(r'<script type="application/json" id="shudi-config">(.*?)</script>', r.text)
        assert m and '"page":"dispatch"' in m.group(1)
        assert "MarkerCluster.Default.css" in r.text and "leaflet_heat.min.js" in r.text
        assert 'data-testid="map"' in r.text and 'data-testid="case-list"' in r.text
        for url in re.findall(r'(?:src|href)="(/static/[^"]+)"', r.text):
            assert disp.get(url).status_code == 200, url
        heat = disp.get("/map/dispatch/heat.json").json()
        assert heat["days"] == 30 and heat["points"]
        lat, lon, n = heat["points"][0]
        assert 29.9 < lat < 30.1 and 119.9 < lon < 120.1 and n >= 1
        assert "Dispatch map" in disp.get("/map/dispatch", params={"lang": "en"}).text


# --- in the browser ---------------------------------------------------------------------------

LAYER_LABEL = ".leaflet-control-layers-overlays label"


def community_paths(page: Any) -> int:
    return int(page.locator("path.area-community").count())


def listed(page: Any) -> list[dict[str, str]]:
    """The side list's rows by their stable hooks (``case-row`` with the case id and code)."""
    return list(
        page.eval_on_selector_all(
            '[data-testid="case-list"] [data-testid="case-row"]',
            "els => els.map(e => ({id: e.dataset.caseId, code: e.dataset.trackingCode, "
            "agency: e.dataset.agency}))",
        )
    )


def log_in(page: Any, base: str, size: tuple[int, int] = DESKTOP) -> None:
    """Open the map, get sent to /login, log in as the dispatcher, come back to the map."""
    page.set_viewport_size({"width": size[0], "height": size[1]})
    page.goto(f"{base}/map/dispatch")
    page.wait_for_url("**/login?next=/map/dispatch")
    page.fill('input[name="username"]', "disp")
    page.fill('input[name="password"]', PASSWORD)
    page.click('button[type="submit"]')
    page.wait_for_url("**/map/dispatch")
    page.wait_for_function("() => window.Shudi && Shudi.dispatch && Shudi.dispatch.count() > 0")


def test_dispatcher_watches_cases_live(
    server: str, site_db: str, browser_page: Any, screenshot: Shot
) -> None:
    police = file_report(server, IN_T2, "public_security", description="夜间噪音")
    stall = file_report(server, IN_P112, "urban_management", description="占道经营")
    late = file_report(server, IN_P111, "urban_management", description="楼顶加建")
    make_overdue(site_db, late["id"])
    page = browser_page
    log_in(page, server)

    # The open cases are all on the map: markers or clusters, the overdue one ringed.
    expected = open_features(server)
    page.wait_for_function(f"() => Shudi.dispatch.shown() === {len(expected)}")
    assert page.evaluate("() => Shudi.dispatch.count()") == len(expected)
    assert page.locator(".case-marker, .marker-cluster").count() > 0
    page.wait_for_selector("#case-list li")
    assert {int(x["id"]) for x in listed(page)} == set(expected)
    assert page.locator(f'#case-list li[data-id="{late["id"]}"] .case-item.late').count() == 1
    assert "已超期" in page.inner_text(f'#case-list li[data-id="{late["id"]}"]')

    # A report filed now shows up within 5 s, without a reload.
    page.evaluate("() => { window.notReloaded = true; }")
    started = time.monotonic()
    new = file_report(server, IN_P111, "urban_management", description="新上报")
    page.wait_for_function(f"() => Shudi.dispatch.has({new['id']})", timeout=LIVE_WITHIN_S * 1000)
    page.wait_for_selector(f'#case-list li[data-id="{new["id"]}"]', timeout=1000)
    assert time.monotonic() - started < LIVE_WITHIN_S
    assert page.evaluate("() => window.notReloaded") is True

    # A rejected case leaves the map.
    case = f"{server}/api/v1/cases/{stall['id']}"
    etag = httpx.get(case, headers=bearer(server)).headers["etag"]
    r = httpx.post(
        f"{case}/transitions",
        json={"action": "reject", "note": "不属于受理范围"},
        headers=bearer(server) | {"If-Match": etag},
    )
    assert r.status_code == 200, r.text
    page.wait_for_function(
        f"() => !Shudi.dispatch.has({stall['id']})", timeout=LIVE_WITHIN_S * 1000
    )
    gone = f'#case-list li[data-id="{stall["id"]}"]'
    page.wait_for_selector(gone, state="detached", timeout=2000)  # the list follows

    # Filters narrow the list (and the map).
    everything = listed(page)
    agency = open_features(server)[police["id"]]["agency"]
    assert agency != open_features(server)[new["id"]]["agency"]
    page.select_option("#f-agency", agency)
    page.wait_for_function(
        "n => document.querySelectorAll('#case-list li').length !== n", arg=len(everything)
    )
    assert {x["agency"] for x in listed(page)} == {agency}
    assert str(police["id"]) in {x["id"] for x in listed(page)}
    page.select_option("#f-agency", "")
    page.check("#f-overdue")
    page.wait_for_function(
        "id => { const rows = document.querySelectorAll('#case-list li'); "
        "return rows.length === 1 && rows[0].dataset.caseId === String(id); }",
        arg=late["id"],
    )
    assert listed(page)[0]["code"] == late["tracking_code"]
    page.click('#filters button[type="reset"]')
    page.wait_for_function(
        "n => document.querySelectorAll('#case-list li').length === n", arg=len(everything)
    )

    # The list holds the cases in view, by deadline: sooner first, none without one first.
    dues = page.eval_on_selector_all("#case-list li", "els => els.map(e => e.dataset.due)")
    stamps = [datetime.fromisoformat(d) for d in dues if d]
    assert stamps == sorted(stamps) and dues[: len(stamps)] == [d for d in dues if d]
    assert listed(page)[0]["id"] == str(late["id"])  # overdue since yesterday: first
    page.evaluate("() => shudiMap.setView([30.019, 120.039], 18, {animate: false})")
    page.wait_for_function("() => document.querySelectorAll('#case-list li').length === 0")
    assert "没有" in page.inner_text("#view-head")
    page.evaluate("() => Shudi.dispatch.home()")
    page.wait_for_function(
        "n => document.querySelectorAll('#case-list li').length === n", arg=len(everything)
    )

    # Layers: communities on and off; the heat map draws.
    assert community_paths(page) == 0
    assert page.locator("path.area-town").count() == 2  # towns are on from the start
    page.locator(LAYER_LABEL, has_text="社区").click()
    # the four communities, drawn from their vector tiles (an area is a path in each tile)
    page.wait_for_function("() => Shudi.tileCodes(Shudi.dispatch.overlays.community).length === 4")
    assert page.locator("path.area-community").count() >= 4
    assert page.evaluate("() => shudiMap.hasLayer(Shudi.dispatch.overlays.community)")
    page.locator(LAYER_LABEL, has_text="热力图").click()
    page.wait_for_function("() => Shudi.dispatch.heat._latlngs.length > 0")
    screenshot(page, "dispatch")
    page.locator(LAYER_LABEL, has_text="社区").click()
    page.wait_for_function("() => document.querySelectorAll('path.area-community').length === 0")
    assert not page.evaluate("() => shudiMap.hasLayer(Shudi.dispatch.overlays.community)")

    # A listed case: the map zooms to it and opens its popup.
    page.click(f'#case-list li[data-id="{new["id"]}"] button')
    popup = page.wait_for_selector(f'.case-popup[data-id="{new["id"]}"]')
    assert "甲一社区" in popup.inner_text() and "区城管局" in popup.inner_text()
    assert popup.query_selector(f'a[href="/cases/{new["id"]}"]') is not None
    page.wait_for_timeout(400)  # the popup fades in
    screenshot(page, "dispatch-popup")


TOWN_VERTICES_JS = """() => {
  const t1 = Shudi.dispatch.overlays.town.getLayers().find(l => l.feature.properties.code === 'T1');
  return t1.getLatLngs().flat(3).map(ll => [ll.lng, ll.lat]);
}"""


def test_gcj02_basemap_shifts_markers_layers_and_heat_on_a_phone(
    gcj_server: str, browser_page: Any, screenshot: Shot
) -> None:
    case = file_report(gcj_server, IN_P111, "urban_management", description="GCJ-02")
    page = browser_page
    log_in(page, gcj_server, PHONE)
    assert page.evaluate("() => Shudi.cfg.crs") == "gcj02"
    gx, gy = from_wgs84(IN_P111[0], IN_P111[1], "gcj02")
    page.wait_for_function(f"() => Shudi.dispatch.has({case['id']})")
    ll = page.evaluate(f"() => Shudi.dispatch.position({case['id']})")
    assert [ll["lng"], ll["lat"]] == pytest.approx([gx, gy], abs=1e-6)
    page.wait_for_function("() => Shudi.dispatch.overlays.town.getLayers().length === 2")
    corners = page.evaluate(TOWN_VERTICES_JS)
    cx, cy = from_wgs84(120.0, 30.0, "gcj02")
    assert any(
        x == pytest.approx(cx, abs=1e-7) and y == pytest.approx(cy, abs=1e-7) for x, y in corners
    )
    assert not any(x == 120.0 and y == 30.0 for x, y in corners)
    heat = page.evaluate("() => fetch(Shudi.cfg.heatUrl).then(r => r.json())")
    hx, hy = from_wgs84(round(IN_P111[0], 4), round(IN_P111[1], 4), "gcj02")
    assert any(p[:2] == pytest.approx([hy, hx], abs=1e-9) for p in heat["points"])
    # A phone: the panel is a bottom sheet, the layer control folded, the map still in sight.
    assert page.locator(".leaflet-control-layers-expanded").count() == 0
    sheet = page.locator("#sheet").bounding_box()
    assert sheet["y"] > PHONE[1] * 0.45 and sheet["width"] == PHONE[0]
    page.wait_for_selector("#case-list li")
    screenshot(page, "dispatch-phone")


# --- the case page the popup links to ---------------------------------------------------------


def png(width: int = 40, height: int = 30) -> bytes:
    from io import BytesIO

    from PIL import Image

    out = BytesIO()
    Image.new("RGB", (width, height), (200, 60, 40)).save(out, format="PNG")
    return out.getvalue()


def test_case_page_shows_the_case_and_takes_actions(
    server: str, browser_page: Any, screenshot: Shot
) -> None:
    r = httpx.post(
        f"{server}/api/v1/reports",
        data={
            "lon": str(IN_P111[0]),
            "lat": str(IN_P111[1]),
            "type": a_type(server, "urban_management"),
            "description": "楼顶违章搭建",
            "phone": "13900000000",
        },
        files=[("photos", ("roof.png", png(), "image/png"))],
        headers={"Idempotency-Key": uuid.uuid4().hex},
    )
    assert r.status_code == 201, r.text
    case = r.json()
    other = file_report(server, IN_T2, "public_security")
    path = f"/cases/{case['id']}"

    # Who may open it: as the API decides; others get a 404 page, strangers the log-in page.
    anonymous = httpx.get(f"{server}{path}")
    assert anonymous.status_code == 303 and anonymous.headers["location"] == f"/login?next={path}"
    with logged_in(server, "plan") as planner:
        denied = planner.get(path)
        assert denied.status_code == 404 and 'data-testid="error"' in denied.text
        assert "楼顶违章搭建" not in denied.text
    with logged_in(server, "town1") as town:
        mine = town.get(path)
        assert mine.status_code == 200 and "楼顶违章搭建" in mine.text
        assert "13900000000" not in mine.text  # personal data: dispatcher and handler only
        assert town.get(f"/cases/{other['id']}").status_code == 404  # another town's case
        assert assets.remote_urls(mine.text) == []

    page = browser_page
    page.goto(f"{server}{path}")
    page.wait_for_url(re.compile(r"/login\?next="))
    page.fill('input[name="username"]', "disp")
    page.fill('input[name="password"]', PASSWORD)
    page.click('button[type="submit"]')
    page.wait_for_url(f"**{path}")
    main = page.locator('[data-testid="case"]')
    assert main.get_attribute("data-status") == "reported"
    facts = page.inner_text('[data-testid="case-facts"]')
    assert "已上报，待受理" in facts and "甲街道" in facts and "区城管局" in facts
    assert "13900000000" in page.inner_text("main")  # the dispatcher sees the reporter
    assert "群众上报" in page.inner_text('[data-testid="events"]')
    page.wait_for_function("() => document.querySelector('.photos img').naturalWidth > 0")
    assert page.locator('[data-testid="action-accept"]').count() == 1
    assert page.locator('[data-testid="action-reject"] textarea[name="note"][required]').count()
    screenshot(page, "case")

    # An action goes through the API with If-Match; the page shows the new state.
    page.click('[data-testid="action-accept"] button[type="submit"]')
    page.wait_for_function(  # the page reloads: the case is missing while the new one loads
        "() => document.querySelector('[data-testid=case]')?.dataset.status === 'accepted'"
    )
    assert "受理" in page.inner_text('[data-testid="events"]')
    assert (
        httpx.get(f"{server}/api/v1/cases/{case['id']}", headers=bearer(server)).json()["status"]
        == "accepted"
    )

    # Someone else changes the case meanwhile: the stale form says so instead of overwriting.
    api = f"{server}/api/v1/cases/{case['id']}"
    etag = httpx.get(api, headers=bearer(server)).headers["etag"]
    r = httpx.post(
        f"{api}/transitions",
        json={"action": "comment", "note": "电话联系当事人"},
        headers=bearer(server) | {"If-Match": etag},
    )
    assert r.status_code == 200, r.text
    page.fill('[data-testid="action-dispatch"] textarea[name="note"]', "请尽快处理")
    page.click('[data-testid="action-dispatch"] button[type="submit"]')
    error = page.wait_for_selector("#action-error:not([hidden])")
    assert "已被他人更新" in error.inner_text()
    assert httpx.get(api, headers=bearer(server)).json()["status"] == "accepted"
