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
    assert "热点 99%" in legend and "冷点 99%" in legend and "H3 grid_disk k=1" in legend
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
