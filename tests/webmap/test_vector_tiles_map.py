"""The maps draw the large boundary layers from the app's vector tiles (``/tiles/...mvt``).

A uvicorn server on 127.0.0.1 with the mini district and Debian's Chromium (``browser_page``
fails the test if anything tried to leave the machine): the directory draws the communities and,
at street zoom, the estates' outlines from ``.mvt`` requests and never asks for their GeoJSON;
the dispatch map's community layer comes from tiles, with the name under the pointer; on a
GCJ-02 basemap (tiles are not shifted) the pages keep GeoJSON.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import create_engine
from support import live_server, load_mini

from accounts.service import create_user
from jurisdictions import catalog

PASSWORD = "correct horse battery"
TILE = re.compile(r"/tiles/(?P<c>[a-z_-]+)/\d+/\d+/\d+\.mvt\?generation=(?P<g>\d+)$")
#: Latin words a Chinese page may show (as tests/webmap/test_resident_flow.py's scan).
ALLOWED_LATIN = {"English", "WGS", "GCJ", "BD", "CGCS", "Leaflet", "km", "m", "Tab"}


@pytest.fixture(scope="module")
def site_db(module_scratch_db_url: str) -> dict[str, Any]:
    eng = create_engine(module_scratch_db_url)
    with eng.begin() as conn:
        gens = load_mini(conn)
        catalog.sync_taxonomy(conn)
        create_user(conn, username="disp", password=PASSWORD, role="dispatcher")
    eng.dispose()
    return {"url": module_scratch_db_url, "gens": gens}


@pytest.fixture(scope="module")
def site(site_db: dict[str, Any], vendor_files: None) -> Iterator[str]:
    with live_server(site_db["url"], SHUDI_BASEMAP="none") as base:
        yield base


def record(page: Any) -> list[tuple[str, int]]:
    """(path and query, status) of every answer the page gets from the server."""
    seen: list[tuple[str, int]] = []
    page.on(
        "response",
        lambda r: seen.append((re.sub(r"^https?://[^/]+", "", r.url), r.status)),
    )
    return seen


def latin_words(page: Any, own: tuple[str, ...] = ()) -> list[str]:
    """Latin words on a Chinese page but the allowed ones and ``own`` (the user's name)."""
    text = page.evaluate("() => document.body.innerText")
    for value in own:
        text = text.replace(value, " ")
    return [m.group() for m in re.finditer(r"[A-Za-z]{2,}", text) if m.group() not in ALLOWED_LATIN]


def test_directory_draws_communities_and_estates_from_tiles(
    site: str, site_db: dict[str, Any], browser_page: Any
) -> None:
    page = browser_page
    seen = record(page)
    page.goto(f"{site}/directory")
    page.wait_for_function("() => window.Shudi && Shudi.tileLayers && Shudi.tileLayers.community")
    page.wait_for_function("() => Shudi.tileCodes(Shudi.tileLayers.community).length === 4")
    assert page.evaluate("() => Shudi.tileCodes(Shudi.tileLayers.community)") == [
        "C11",
        "C12",
        "C21",
        "C22",
    ]
    assert page.locator("path.area-community").count() >= 4
    tiles = [(TILE.search(u), s) for u, s in seen if "/tiles/" in u]
    assert tiles and all(m and s in (200, 204) for m, s in tiles), seen
    assert {m.group("c") for m, _ in tiles if m} == {"community"}
    assert {int(m.group("g")) for m, _ in tiles if m} == {site_db["gens"]["community"]}
    assert not any("community.geojson" in u for u, _ in seen)
    # the page itself no longer carries the communities' GeoJSON
    assert "甲一社区" not in page.content().split('id="shudi-config"')[0]

    # street zoom: the estates' outlines, from their tiles too
    page.evaluate("() => Shudi.map.setView([30.0025, 120.0025], 16, {animate: false})")
    page.wait_for_function(
        "() => ShudiOrient.outlines() && Shudi.tileCodes(ShudiOrient.outlines()).includes('P111')"
    )
    assert any("/tiles/property_area/16/" in u and s == 200 for u, s in seen)
    assert not any("property_area.geojson" in u for u, _ in seen)
    # a tap on a drawn area still reaches the map (the tiles are not clickable)
    page.mouse.click(
        *page.evaluate(
            "() => { const p = Shudi.map.latLngToContainerPoint([30.002, 120.002]);"
            " const r = Shudi.map.getContainer().getBoundingClientRect();"
            " return [r.left + p.x, r.top + p.y]; }"
        )
    )
    page.wait_for_selector('[data-testid="directory"] .party')
    assert latin_words(page) == []


def test_dispatch_map_switches_community_tiles_with_names(site: str, browser_page: Any) -> None:
    page = browser_page
    seen = record(page)
    page.set_viewport_size({"width": 1400, "height": 860})
    page.goto(f"{site}/map/dispatch")
    page.wait_for_url("**/login?next=/map/dispatch")
    page.fill('input[name="username"]', "disp")
    page.fill('input[name="password"]', PASSWORD)
    page.click('button[type="submit"]')
    page.wait_for_url("**/map/dispatch")
    page.wait_for_function("() => window.Shudi && Shudi.dispatch")
    # towns: GeoJSON, labelled — fetched after the map is made, so wait for them to be drawn
    page.wait_for_function("() => document.querySelectorAll('path.area-town').length >= 2")
    assert page.locator("path.area-town").count() == 2
    assert not any("/tiles/community/" in u for u, _ in seen)  # off: nothing fetched
    page.locator(".leaflet-control-layers-overlays label", has_text="社区").click()
    page.wait_for_function("() => Shudi.tileCodes(Shudi.dispatch.overlays.community).length === 4")
    assert any(TILE.search(u) and "/tiles/community/" in u for u, _ in seen)
    assert not any("community.geojson" in u for u, _ in seen)
    # the community's name follows the pointer, as it did with GeoJSON
    page.evaluate("() => Shudi.map.setView([30.01, 120.02], 15, {animate: false})")
    page.wait_for_timeout(300)
    x, y = page.evaluate(
        "() => { const p = Shudi.map.latLngToContainerPoint([30.015, 120.035]);"
        " const r = Shudi.map.getContainer().getBoundingClientRect();"
        " return [r.left + p.x, r.top + p.y]; }"
    )
    page.mouse.move(x, y)
    page.mouse.move(x + 3, y + 2)
    tip = page.wait_for_selector(".leaflet-tooltip.area-tip")
    assert tip.inner_text() == "乙二社区"  # C22 (east of the side panel)
    assert latin_words(page, own=("disp",)) == []
    page.locator(".leaflet-control-layers-overlays label", has_text="社区").click()
    page.wait_for_function("() => document.querySelectorAll('path.area-community').length === 0")


@pytest.fixture(scope="module")
def gcj_site(site_db: dict[str, Any], vendor_files: None) -> Iterator[str]:
    env = {
        "SHUDI_BASEMAP": "local",
        "SHUDI_BASEMAP_URL": "/tiles/{z}/{x}/{y}.png",
        "SHUDI_BASEMAP_CRS": "gcj02",
    }
    with live_server(site_db["url"], **env) as base:
        yield base


def test_gcj02_basemap_keeps_geojson(gcj_site: str, browser_page: Any) -> None:
    page = browser_page
    seen = record(page)
    page.goto(f"{gcj_site}/directory")
    page.wait_for_function("() => window.Shudi && Shudi.cfg.crs === 'gcj02'")
    page.wait_for_selector("path.leaflet-interactive, path")
    assert "tiles" not in page.evaluate("() => Shudi.cfg")
    page.evaluate("() => Shudi.map.setView([30.0025, 120.0025], 16, {animate: false})")
    page.wait_for_function("() => ShudiOrient.outlines()")
    assert not any("/tiles/" in u and ".mvt" in u for u, _ in seen)
    assert any("property_area.geojson" in u for u, _ in seen)
