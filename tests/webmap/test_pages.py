"""The public pages over real HTTP: a uvicorn server on 127.0.0.1 with a database of its own,
the HTML as served, and a phone-sized Chromium with no way off the machine (``browser_page``).
"""

from __future__ import annotations

import io
import json
import re
import sys
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from PIL import Image
from sqlalchemy import create_engine, text
from support import IN_P111, load_mini

from accounts.service import create_user
from gis.coords import from_wgs84
from jurisdictions import catalog, published_contacts
from webmap import assets

ROOT = Path(__file__).resolve().parents[2]
SHUDI = str(Path(sys.executable).with_name("shudi"))
PASSWORD = "correct horse battery"
PHONE = (390, 844)
Shot = Callable[[Any, str], Path]
OUTSIDE = (120.06, 30.01)  # east of 乙镇, outside the mini district
KEY = "shudi.report.idempotency-key"


@pytest.fixture(scope="module")
def site_db(module_scratch_db_url: str) -> str:
    eng = create_engine(module_scratch_db_url)
    with eng.begin() as conn:
        load_mini(conn)
        catalog.sync_taxonomy(conn)
        published_contacts.set_contact(
            conn,
            agency="urban_management",
            person="赵六",
            phone="0571-8765 4321",
            office="西城管中队",
            scope_layer="town",
            scope_code="T1",
        )
        create_user(conn, username="disp", password=PASSWORD, role="dispatcher")
    eng.dispose()
    return module_scratch_db_url


def config(html: str) -> dict[str, Any]:
    m = re.search(r'<script type="application/json" id="shudi-config">(.*?)</script>', html, re.S)
    assert m, "no page configuration"
    return dict(json.loads(m.group(1)))


def a_type(base: str, agency: str = "urban_management") -> dict[str, Any]:
    types = httpx.get(
        f"{base}/api/v1/violation-types", params={"agency": agency, "reportable": True}
    ).json()
    return dict(next(t for t in types if t["scope"] != "dispute"))  # residents: no mediation


def file_report(base: str, **over: object) -> dict[str, Any]:
    body = {"lon": IN_P111[0], "lat": IN_P111[1], "type": a_type(base)["code"]} | over
    r = httpx.post(
        f"{base}/api/v1/reports", json=body, headers={"Idempotency-Key": uuid.uuid4().hex}
    )
    assert r.status_code == 201, r.text
    return dict(r.json())


# --- the HTML as served -----------------------------------------------------------------------


def test_report_page_is_chinese_offline_and_embeds_the_types(server: str) -> None:
    r = httpx.get(f"{server}/report")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    html = r.text
    assert '<html lang="zh-CN">' in html and 'name="viewport"' in html
    assert assets.remote_urls(html) == []
    cfg = config(html)
    api = httpx.get(f"{server}/api/v1/violation-types", params={"reportable": True}).json()
    # every reportable type but the mediation ones (never offered to residents)
    offered = {t["code"] for t in api if t["scope"] != "dispute"}
    assert {t["code"] for t in cfg["types"]} == offered and len(cfg["types"]) == len(offered)
    assert [c["name_zh"] for c in cfg["categories"]][:3] == ["噪音", "违建", "群租"]
    assert html.count('class="tile"') == 12
    assert cfg["crs"] == "wgs84" and cfg["crsLabel"] == "WGS-84"
    assert '"code": "T1"' in html  # the towns come with the page; the communities come
    assert '"code": "C11"' not in html  # from their vector tiles (issue 18), pinned:
    assert re.fullmatch(
        r"/tiles/community/\{z\}/\{x\}/\{y\}\.mvt\?generation=\d+", cfg["tiles"]["community"]
    )
    assert [b["layer"] for b in cfg["boundaryTiles"]] == ["community"]
    for url in re.findall(r'(?:src|href)="(/static/[^"]+)"', html):
        assert httpx.get(server + url).status_code == 200, url
    english = httpx.get(f"{server}/report", params={"lang": "en"}).text
    assert '<html lang="en">' in english and "Report a problem" in english


def test_track_page_shows_no_personal_data(server: str) -> None:
    case = file_report(server, phone="13912345678", contact_name="王小明", description="楼顶加建")
    code = case["tracking_code"]
    r = httpx.get(f"{server}/track/{code}")
    assert r.status_code == 200 and '<html lang="zh-CN">' in r.text
    assert code in r.text and "已上报，待受理" in r.text and "群众上报" in r.text
    assert "13912345678" not in r.text and "王小明" not in r.text
    assert 'id="rate"' not in r.text and 'id="dispute"' not in r.text  # not allowed yet
    assert assets.remote_urls(r.text) == []
    missing = httpx.get(f"{server}/track/NOSUCHCODE00")
    assert missing.status_code == 404 and "未找到该查询码对应的案件" in missing.text
    jump = httpx.get(f"{server}/track", params={"code": code.lower()})
    assert jump.status_code == 303 and jump.headers["location"] == f"/track/{code}"


def test_estate_directory_is_rendered_on_the_server(server: str) -> None:
    r = httpx.get(f"{server}/directory/P111")
    assert r.status_code == 200 and '<html lang="zh-CN">' in r.text
    assert r.text.count('<li class="party"') == 12
    assert "金桂苑" in r.text and "甲物业服务有限公司" in r.text
    assert 'href="tel:057187654321"' in r.text and "赵六" in r.text
    assert assets.remote_urls(r.text) == []
    assert httpx.get(f"{server}/directory/NOPE").status_code == 404


def test_gcj02_basemap_shifts_the_boundaries(gcj_server: str) -> None:
    html = httpx.get(f"{gcj_server}/report").text
    assert config(html)["crs"] == "gcj02"
    assert assets.remote_urls(html) == []
    drawn = [
        json.loads(m)
        for m in re.findall(r"geo_json_\w+_add\((\{.*?\})\);\n", html, re.S)
        if '"T1"' in m
    ]
    assert drawn, "the town layer is not on the page"
    ring = next(f for f in drawn[0]["features"] if f["properties"]["code"] == "T1")
    corners = {(round(x, 9), round(y, 9)) for x, y in ring["geometry"]["coordinates"][0]}
    x, y = from_wgs84(120.0, 30.0, "gcj02")
    assert (round(x, 9), round(y, 9)) in corners and (120.0, 30.0) not in corners


# --- in the browser ---------------------------------------------------------------------------

PIN_JS = """([lon, lat, crs]) => {
  const m = window.shudiMap;
  const ll = crs === Shudi.cfg.crs ? L.latLng(lat, lon) : L.latLng(Shudi.onMap({lon, lat, crs}));
  Shudi.reveal(ll, 17);
  const p = m.latLngToContainerPoint(ll), r = m.getContainer().getBoundingClientRect();
  const x = p.x + r.left, y = p.y + r.top;
  return [x, y, !!document.elementFromPoint(x, y).closest('.folium-map')];
}"""


def drop_pin(page: Any, lon: float, lat: float, crs: str = "wgs84") -> None:
    """Tap the map at the pixel of a position (``crs``: the system it is given in)."""
    x, y, on_map = page.evaluate(PIN_JS, [lon, lat, crs])
    assert on_map, "the point is hidden behind the sheet"
    page.mouse.click(x, y)


def open_page(page: Any, url: str, size: tuple[int, int] = PHONE) -> None:
    page.set_viewport_size({"width": size[0], "height": size[1]})
    page.goto(url)
    page.wait_for_function("() => window.shudiMap && window.Shudi")
    assert page.locator('[data-testid="map"]').count() == 1  # the stable hooks of the issue


def pick_type(page: Any, vtype: dict[str, Any]) -> None:
    page.fill('[data-testid="type"]', vtype["name_zh"][:6])
    page.locator(f'.type-option[data-code="{vtype["code"]}"]').click()
    page.wait_for_selector(".handler-name")


def photo(tmp_path: Path) -> Path:
    buf = io.BytesIO()
    Image.new("RGB", (64, 48), (200, 80, 40)).save(buf, "JPEG")
    path = tmp_path / "photo.jpg"
    path.write_bytes(buf.getvalue())
    return path


def count_cases(db_url: str, description: str) -> int:
    eng = create_engine(db_url)
    with eng.connect() as conn:
        n = conn.execute(
            text("SELECT count(*) FROM case_file WHERE description = :d"), {"d": description}
        ).scalar_one()
    eng.dispose()
    return int(n)


def test_resident_reports_a_problem(
    server: str, site_db: str, browser_page: Any, screenshot: Shot, tmp_path: Path
) -> None:
    page = browser_page
    open_page(page, f"{server}/report")
    drop_pin(page, *IN_P111)
    page.wait_for_selector('[data-testid="owner"] .place-list')
    place = page.inner_text('[data-testid="owner"]')
    for name in ("甲街道", "甲一社区", "金桂苑", "甲物业服务有限公司"):
        assert name in place
    assert re.search(r"WGS-84 120\.00\d{4}, 30\.00\d{4}", place)
    vtype = a_type(server)
    pick_type(page, vtype)
    lon, lat = IN_P111
    route = httpx.get(
        f"{server}/api/v1/route", params={"lon": lon, "lat": lat, "type": vtype["code"]}
    ).json()
    assert route["handler"]["name"] in page.inner_text(".handler-name")
    assert "（三（" not in page.inner_text("#route")  # no clause numbers until tapped
    page.click("#route details summary")
    assert route["reasons"][0]["zh"] in page.inner_text("#route")
    description = f"楼顶加建 {uuid.uuid4().hex[:8]}"
    page.fill('[data-testid="description"]', description)
    page.set_input_files("#photos", str(photo(tmp_path)))
    page.fill('[data-testid="phone"]', "13800000000")
    page.fill("#contact_name", "张三")
    screenshot(page, "report")
    page.click('[data-testid="submit"]')
    page.wait_for_selector("#done:not([hidden])")
    code = page.inner_text('[data-testid="tracking-code"]').strip()
    assert re.fullmatch(r"[A-Z0-9]{8,32}", code)
    screenshot(page, "report-done")
    assert httpx.get(f"{server}/api/v1/track/{code}").status_code == 200
    assert count_cases(site_db, description) == 1
    assert page.evaluate(f"() => sessionStorage.getItem('{KEY}')") is None  # next form, new key
    page.click("#track-link")
    page.wait_for_url(f"**/track/{code}")
    assert "已上报，待受理" in page.inner_text("#status") and "13800000000" not in page.content()
    screenshot(page, "track")


def test_double_tap_files_one_case_and_reload_keeps_the_key(
    server: str, site_db: str, browser_page: Any
) -> None:
    page = browser_page
    open_page(page, f"{server}/report")
    key = page.evaluate(f"() => sessionStorage.getItem('{KEY}')")
    page.reload()
    page.wait_for_function("() => window.Shudi")
    assert page.evaluate(f"() => sessionStorage.getItem('{KEY}')") == key
    drop_pin(page, *IN_P111)
    page.wait_for_selector('[data-testid="owner"] .place-list')
    pick_type(page, a_type(server))
    description = f"双击测试 {uuid.uuid4().hex[:8]}"
    page.fill('[data-testid="description"]', description)
    page.dblclick("#submit")
    page.evaluate("() => document.getElementById('report-form').requestSubmit()")
    page.wait_for_selector("#done:not([hidden])")
    page.wait_for_timeout(1500)
    assert count_cases(site_db, description) == 1


def test_a_pin_outside_the_district_says_so(
    server: str, browser_page: Any, screenshot: Shot
) -> None:
    page = browser_page
    open_page(page, f"{server}/report")
    drop_pin(page, *OUTSIDE)
    page.wait_for_selector("#place .error")
    text_ = page.inner_text("#place")
    assert "不在本区服务范围内" in text_ and "乙镇" in text_
    assert not re.search(r"\bT\d\b|outside|service area", text_)  # no codes, no English
    page.click("#submit")
    said = page.inner_text('[data-testid="error"]')
    assert "不在本区服务范围内" in said and "请先在地图上选择问题位置" not in said
    screenshot(page, "report-outside")


def test_my_location_is_wgs84(server: str, browser_page: Any) -> None:
    page = browser_page
    page.context.grant_permissions(["geolocation"], origin=server)
    page.context.set_geolocation({"longitude": IN_P111[0], "latitude": IN_P111[1]})
    open_page(page, f"{server}/report")
    page.click("#locate")
    page.wait_for_selector('[data-testid="owner"] .place-list')
    assert "WGS-84 120.002000, 30.002000" in page.inner_text("#place")
    assert "金桂苑" in page.inner_text("#place")


def test_gcj02_basemap_clicks_and_positions(
    gcj_server: str, browser_page: Any, screenshot: Shot
) -> None:
    page = browser_page
    page.context.grant_permissions(["geolocation"], origin=gcj_server)
    page.context.set_geolocation({"longitude": IN_P111[0], "latitude": IN_P111[1]})
    open_page(page, f"{gcj_server}/report")
    gx, gy = from_wgs84(IN_P111[0], IN_P111[1], "gcj02")
    js = page.evaluate("([x, y]) => Shudi.wgs84ToGcj02(x, y)", list(IN_P111))
    assert js == pytest.approx([gx, gy], abs=1e-9)
    drop_pin(page, gx, gy, "gcj02")  # where 金桂苑 is drawn on GCJ-02 tiles
    page.wait_for_selector('[data-testid="owner"] .place-list')
    assert "GCJ-02 120.00" in page.inner_text("#place") and "金桂苑" in page.inner_text("#place")
    page.click("#locate")  # the phone's position is WGS-84: sent as such, drawn shifted
    page.wait_for_function("() => document.querySelector('#place').innerText.includes('WGS-84')")
    pin = page.evaluate(
        "() => { let p; shudiMap.eachLayer(l => { if (l.getLatLng) p = l; });"
        " return [p.getLatLng().lng, p.getLatLng().lat]; }"
    )
    assert pin == pytest.approx([gx, gy], abs=1e-9)
    screenshot(page, "report-gcj02")


def test_directory_lists_every_party(server: str, browser_page: Any, screenshot: Shot) -> None:
    page = browser_page
    open_page(page, f"{server}/directory")
    drop_pin(page, *IN_P111)
    page.wait_for_selector('[data-testid="directory"] .party')
    assert page.locator("#directory .party").count() == 12
    panel = page.inner_text("#directory")
    assert "金桂苑" in panel and "甲物业服务有限公司" in panel and "0571-8765 4321" in panel
    assert page.locator('#directory a[href="tel:057187654321"]').count() == 1
    screenshot(page, "directory")
    open_page(page, f"{server}/directory/P111")
    assert page.locator("#directory .party").count() == 12
    screenshot(page, "directory-estate")


def _close_case(base: str, case_id: int) -> None:
    token = httpx.post(
        f"{base}/api/v1/auth/token", data={"username": "disp", "password": PASSWORD}
    ).json()["access_token"]
    auth = {"Authorization": f"Bearer {token}"}
    steps = [
        {"action": "accept"},
        {"action": "dispatch"},
        {"action": "start"},
        {"action": "resolve", "note": "已拆除"},
        {"action": "verify", "outcome": "fixed"},
    ]
    for step in steps:
        etag = httpx.get(f"{base}/api/v1/cases/{case_id}", headers=auth).headers["etag"]
        r = httpx.post(
            f"{base}/api/v1/cases/{case_id}/transitions",
            json=step,
            headers=auth | {"If-Match": etag},
        )
        assert r.status_code == 200, r.text


def test_resident_rates_a_closed_case(server: str, browser_page: Any, screenshot: Shot) -> None:
    case = file_report(server, description="占道经营")
    _close_case(server, case["id"])
    page = browser_page
    page.set_viewport_size({"width": PHONE[0], "height": PHONE[1]})
    page.goto(f"{server}/track/{case['tracking_code']}")
    assert "已结案" in page.inner_text("#status") and "问题已解决" in page.content()
    page.click('#rate button[data-satisfaction="satisfied"]')
    page.wait_for_selector("text=您的评价")
    assert httpx.get(f"{server}/api/v1/track/{case['tracking_code']}").json()["satisfaction"] == (
        "satisfied"
    )
    page.fill("#dispute-note", "问题依旧")
    page.click("#dispute-form button")
    page.wait_for_function("() => document.getElementById('status').textContent === '重新办理'")
    screenshot(page, "track-reopened")
