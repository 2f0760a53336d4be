"""The planner's hot-spot map (``/map/hotspots``) in Chromium over real HTTP: log in, see the Gi*
layer with its legend, switch to density, step through months, export the current layer
(``browser_page`` fails the test if anything tried to leave the machine)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from hotspot_cases import plant
from sqlalchemy import create_engine
from support import live_server, load_mini, type_of

from accounts.service import create_user
from jurisdictions import catalog

ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "correct horse battery"
Shot = Callable[[Any, str], Path]


@pytest.fixture(scope="module")
def server(module_scratch_db_url: str, vendor_files: None) -> Iterator[str]:
    eng = create_engine(module_scratch_db_url)
    with eng.begin() as conn:
        load_mini(conn)
        catalog.sync_taxonomy(conn)
        plant(conn, type_of(conn, agency="urban_management"))
        create_user(conn, username="plan", password=PASSWORD, role="planner")
        create_user(
            conn, username="cw", password=PASSWORD, role="community_worker", community_code="C11"
        )
    eng.dispose()
    with live_server(module_scratch_db_url, SHUDI_BASEMAP="none") as base:
        yield base


def test_only_analysts_get_the_map(server: str) -> None:
    r = httpx.get(f"{server}/map/hotspots")
    assert r.status_code == 303 and r.headers["location"] == "/login?next=/map/hotspots"
    with httpx.Client(base_url=server) as client:
        client.post("/login", data={"username": "cw", "password": PASSWORD, "next": "/"})
        denied = client.get("/map/hotspots")
    assert denied.status_code == 403 and "无权查看热点分析" in denied.text


def test_planner_maps_hot_spots_density_and_months_and_exports(
    server: str, browser_page: Any, screenshot: Shot
) -> None:
    page = browser_page
    page.set_viewport_size({"width": 1400, "height": 860})
    page.goto(f"{server}/map/hotspots")
    page.wait_for_url("**/login?next=/map/hotspots")
    page.fill('input[name="username"]', "plan")
    page.fill('input[name="password"]', PASSWORD)
    page.click('button[type="submit"]')
    page.wait_for_url("**/map/hotspots")

    # Gi* on H3 res 8 (the first grid) by default: cells drawn, the ArcGIS classes in the legend
    page.wait_for_function("() => Shudi.hotspots && Shudi.hotspots.cells() > 0", timeout=30_000)
    assert page.evaluate("() => Shudi.hotspots.current().method") == "gi_star"
    legend = page.inner_text("#hs-legend")
    assert "热点（置信度 99%）" in legend and "冷点（置信度 99%）" in legend
    assert "600 件案件" in page.inner_text("#hs-status")
    assert page.locator(".leaflet-control-layers-overlays label").count() == 1
    screenshot(page, "hotspots-gi-star")

    # the density surface: an image overlay, its own layer in the control
    page.select_option("#hs-method", "kde")
    page.wait_for_function("() => Shudi.hotspots.hasImage()", timeout=30_000)
    assert page.locator(".leaflet-control-layers-overlays label").count() == 2
    assert page.locator('[data-export="csv"].disabled').count() == 1  # cell maps only
    screenshot(page, "hotspots-density")

    # one month at a time: the slider sends from/to
    page.select_option("#hs-method", "count")
    page.wait_for_function("() => Shudi.hotspots.current().method === 'count'")
    page.check("#hs-by-month")
    page.wait_for_function("() => Shudi.hotspots.current().params.from !== undefined")
    month = page.evaluate("() => Shudi.hotspots.current().params.from")
    assert month.startswith("2026-02-01")  # the last month holding cases
    assert page.inner_text("#hs-month-label") == "2026-02"

    # export the current layer as it is drawn
    href = page.get_attribute('[data-export="csv"]', "href")
    assert href.startswith("/api/v1/hotspots.csv?") and "method=count" in href
    got = page.evaluate("(u) => fetch(u).then(r => r.text().then(t => [r.status, t]))", href)
    assert got[0] == 200 and got[1].lstrip("\ufeff").startswith("cell,")


LATIN_ALLOWED = {"English", "GeoJSON", "GeoPackage", "CSV", "PNG", "GeoTIFF", "FDR", "Leaflet"}


def log_in(page: Any, server: str) -> None:
    page.goto(f"{server}/login?next=/map/hotspots")
    page.fill('input[name="username"]', "plan")
    page.fill('input[name="password"]', PASSWORD)
    page.click('button[type="submit"]')
    page.wait_for_url("**/map/hotspots")
    page.wait_for_function("() => Shudi.hotspots && Shudi.hotspots.cells() > 0", timeout=30_000)


def test_planner_reads_the_map_in_chinese_and_opens_a_cells_cases(
    server: str, browser_page: Any, screenshot: Shot, module_scratch_db_url: str
) -> None:
    import re

    import h3
    from hotspot_cases import CLUSTER
    from sqlalchemy import text

    page = browser_page
    page.set_viewport_size({"width": 1400, "height": 900})
    log_in(page, server)

    # filters list names from the catalogue, never codes (codes are lower_snake_case)
    for select in ("#hs-type", "#hs-agency", "#hs-grid", "#hs-method"):
        labels = page.eval_on_selector_all(f"{select} option", "os => os.map(o => o.text)")
        assert labels and not [t for t in labels if re.search(r"[a-z]+_[a-z]+", t)], labels
    assert "区城管局" in " ".join(  # the unit the specification names
        page.eval_on_selector_all("#hs-agency option", "os => os.map(o => o.text)")
    )
    # the explanation of the method, of confidence and of FDR, and the stated minimum
    explain = page.inner_text("#hs-explain")
    assert "置信度 95%" in explain and "错误发现率" in explain and "少于 30 件" in explain

    # a real click on the cluster's H3 cell lists exactly the cases inside it
    cell = h3.latlng_to_cell(CLUSTER[1], CLUSTER[0], 9)
    point = page.evaluate(
        """(cell) => {
          const c = Shudi.hotspots.current();
          let hit = null;
          Shudi.map.eachLayer(l => {
            if (l.feature && l.feature.properties.cell === cell) hit = l;
          });
          const p = Shudi.map.latLngToContainerPoint(hit.getBounds().getCenter());
          const box = Shudi.map.getContainer().getBoundingClientRect();
          return [box.left + p.x, box.top + p.y, c.method];
        }""",
        cell,
    )
    page.mouse.move(point[0], point[1])
    tip = page.locator(".leaflet-tooltip").inner_text()
    assert "热点（置信度" in tip and "件" in tip and "Gi" not in tip
    page.mouse.click(point[0], point[1])
    page.wait_for_selector('[data-testid="cell-cases"] a[data-case-id]', timeout=30_000)
    ids = {
        int(i)
        for i in page.eval_on_selector_all(
            '[data-testid="cell-cases"] a', "as => as.map(a => a.dataset.caseId)"
        )
    }
    eng = create_engine(module_scratch_db_url)
    with eng.connect() as conn:
        rows = conn.execute(text("SELECT id, lon, lat FROM case_file")).all()
    eng.dispose()
    inside = {r.id for r in rows if h3.latlng_to_cell(r.lat, r.lon, 9) == cell}
    assert ids == inside and len(inside) > 30
    first = page.locator('[data-testid="cell-cases"] a').first
    assert re.fullmatch(r"/cases/\d+", first.get_attribute("href") or "")
    page.click("#hs-to-agenda")
    page.wait_for_function(
        "() => document.querySelector('#hs-cell').innerText.includes('已加入')", timeout=30_000
    )
    screenshot(page, "hotspots-cell-cases")

    # keyboard focus is visible: the control reached with Tab carries the page's outline
    page.focus("#hs-method")
    page.keyboard.press("Tab")
    style = page.evaluate(
        "() => { const s = getComputedStyle(document.activeElement);"
        " return [document.activeElement.id, s.outlineStyle, s.outlineWidth]; }"
    )
    assert style == ["hs-grid", "solid", "3px"], style

    # no Latin words outside the allow-list (the user's own name aside)
    words = set(re.findall(r"[A-Za-z][A-Za-z*']+", page.inner_text("body"))) - {"plan"}
    assert words <= LATIN_ALLOWED, words - LATIN_ALLOWED

    # an empty result clears the map and says so in Chinese
    runs = page.evaluate("() => Shudi.hotspots.runs()")
    page.select_option("#hs-agency", "public_security")
    page.click('#hs-form button[type="submit"]')
    page.wait_for_function(
        f"() => Shudi.hotspots.runs() > {runs} && Shudi.hotspots.idle()", timeout=30_000
    )
    assert page.evaluate("() => Shudi.hotspots.layerCount()") == 0
    assert page.evaluate("() => Shudi.hotspots.current()") is None
    assert "地图已清空" in page.inner_text("#hs-status")
    screenshot(page, "hotspots-empty")

    # zoom to the chosen town: the map's view lies within the town's extent
    page.select_option("#hs-agency", "")
    page.select_option("#hs-town", "T2")
    page.wait_for_function("() => Shudi.map.getCenter().lng > 120.02", timeout=10_000)
