"""Finding a place on a phone, the map's own names and roads, and a tile package served by
the app: the sample district (with its gazetteer) on a server whose basemap is an MBTiles file
the test builds, in a 390 px Chromium that may reach nothing but 127.0.0.1."""

from __future__ import annotations

import io
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from PIL import Image
from sqlalchemy import create_engine

from console.demo import load_sample_district
from webmap.basemaps import basemap_from_settings

PHONE = {"width": 390, "height": 844}
HAS_LABEL = "([css, name]) => [...document.querySelectorAll(css)].some(e => e.textContent === name)"
COLOURS = {0: (200, 30, 30), 1: (30, 160, 30), 2: (30, 30, 200)}  # one colour per zoom


def png(z: int, x: int, y: int) -> bytes:
    """A 256 px tile: the zoom's colour, with x and y written into its first pixels."""
    img = Image.new("RGB", (256, 256), COLOURS[z])
    img.putpixel((0, 0), (x, y, 0))
    out = io.BytesIO()
    img.save(out, format="PNG")
    return out.getvalue()


def make_mbtiles(path: Path, fmt: str = "png") -> Path:
    """An MBTiles 1.3 file of zooms 0-2, rows in TMS order (row 0 at the south)."""
    db = sqlite3.connect(path)
    db.executescript(
        "CREATE TABLE metadata (name text, value text);"
        "CREATE TABLE tiles (zoom_level integer, tile_column integer, tile_row integer,"
        " tile_data blob);"
    )
    meta = {"name": "测试底图", "format": fmt, "minzoom": "0", "maxzoom": "2",
            "attribution": "测试底图 (test)"}  # fmt: skip
    db.executemany("INSERT INTO metadata VALUES (?, ?)", meta.items())
    for z in range(3):
        for x in range(2**z):
            for y in range(2**z):
                db.execute(
                    "INSERT INTO tiles VALUES (?, ?, ?, ?)", (z, x, 2**z - 1 - y, png(z, x, y))
                )
    db.commit()
    db.close()
    return path


@pytest.fixture(scope="module")
def package(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_mbtiles(tmp_path_factory.mktemp("tiles") / "district.mbtiles")


@pytest.fixture(scope="module")
def sample_server(module_scratch_db_url: str, vendor_files: None, package: Path) -> Iterator[str]:
    from support import live_server

    eng = create_engine(module_scratch_db_url)
    with eng.begin() as conn:
        load_sample_district(conn, note=lambda _m: None)
    eng.dispose()
    with live_server(module_scratch_db_url, SHUDI_BASEMAP=f"file:{package}") as base:
        yield base


def test_tiles_are_read_through_the_app(sample_server: str, package: Path) -> None:
    for z, x, y in ((0, 0, 0), (1, 0, 1), (1, 1, 0), (2, 3, 1)):
        r = httpx.get(f"{sample_server}/tiles/basemap/{z}/{x}/{y}")
        assert r.status_code == 200 and r.headers["content-type"] == "image/png"
        img = Image.open(io.BytesIO(r.content)).convert("RGB")
        assert img.getpixel((0, 0)) == (x, y, 0)  # XYZ y, not the package's TMS row
        assert img.getpixel((100, 100)) == COLOURS[z]
    assert httpx.get(f"{sample_server}/tiles/basemap/3/0/0").status_code == 404
    assert httpx.get(f"{sample_server}/tiles/basemap/1/5/0").status_code == 404
    page = httpx.get(f"{sample_server}/report").text
    assert '"/tiles/basemap/{z}/{x}/{y}"' in page  # the tile layer, same origin


def test_a_bad_package_is_refused_in_one_line(tmp_path: Path) -> None:
    vector = make_mbtiles(tmp_path / "vector.mbtiles", fmt="pbf")
    with pytest.raises(ValueError, match="vector tiles"):
        basemap_from_settings(f"file:{vector}", None, None)
    junk = tmp_path / "junk.mbtiles"
    junk.write_bytes(b"not a database" * 100)
    with pytest.raises(ValueError, match="not an MBTiles file"):
        basemap_from_settings(f"file:{junk}", None, None)
    with pytest.raises(ValueError, match="no tile package"):
        basemap_from_settings(f"file:{tmp_path / 'missing.mbtiles'}", None, None)


def test_find_an_estate_by_initials_on_a_phone(
    sample_server: str, browser_page: Any, screenshot: Any
) -> None:
    page = browser_page
    tiles: list[str] = []
    page.on("request", lambda req: tiles.append(req.url) if "/tiles/" in req.url else None)
    page.set_viewport_size(PHONE)
    page.goto(f"{sample_server}/report")
    page.wait_for_function("() => window.shudiMap && window.Shudi && window.ShudiPlaces")
    estate = httpx.get(
        f"{sample_server}/api/v1/places", params={"q": "天鹅雅苑", "limit": 1}
    ).json()["features"][0]
    lon, lat = estate["geometry"]["coordinates"]
    box = page.locator('[data-testid="place-q"]')
    box.fill("teyy")  # 天鹅雅苑: tiān é yǎ yuàn
    first = page.locator('[data-testid="place-results"] [role="option"]').first
    first.wait_for()
    assert first.locator(".place-name").inner_text() == "天鹅雅苑"
    assert box.get_attribute("aria-expanded") == "true"
    box.press("ArrowDown")
    assert first.get_attribute("aria-selected") == "true"
    box.press("Enter")
    page.wait_for_selector(".place-found")
    assert page.evaluate("() => window.shudiMap.getZoom()") >= 16
    inside = page.evaluate(
        """([lon, lat]) => {
      const m = window.shudiMap, p = m.latLngToContainerPoint([lat, lon]);
      const r = m.getContainer().getBoundingClientRect();
      const el = document.elementFromPoint(p.x + r.left, p.y + r.top);
      return p.x > 0 && p.y > 0 && p.x < r.width && p.y < r.height
        && !!el && !el.closest('#sheet');
    }""",
        [lon, lat],
    )
    assert inside, "the estate is not in view beside the sheet"
    # at street zoom the estate's outline and its name are drawn from the app's own data
    page.wait_for_function(HAS_LABEL, arg=[".orient-estate", "天鹅雅苑"])
    page.wait_for_function(
        "() => document.querySelectorAll('.leaflet-orient-roads-pane path').length > 20"
    )
    screenshot(page, "places-teyy-phone")
    # basemap and vector tiles (issue 18), all from the app itself
    assert tiles and all(u.startswith(f"{sample_server}/tiles/") for u in tiles)
    assert any(u.startswith(f"{sample_server}/tiles/basemap/") for u in tiles)


def test_town_and_community_names_farther_out(sample_server: str, browser_page: Any) -> None:
    page = browser_page
    page.set_viewport_size(PHONE)
    page.goto(f"{sample_server}/directory")
    page.wait_for_function("() => window.shudiMap && window.ShudiOrient")
    page.evaluate("() => window.shudiMap.setView([30.28, 120.2], 12, {animate: false})")
    page.wait_for_function(HAS_LABEL, arg=[".orient-town", "望江街道"])
    page.evaluate("() => window.shudiMap.setZoom(14, {animate: false})")
    page.wait_for_function("() => document.querySelectorAll('.orient-community').length > 0")
    assert page.locator(".orient-town").count() == 0


def test_every_public_map_page_has_the_box_and_a_place_link_opens_there(
    sample_server: str, browser_page: Any
) -> None:
    for path in ("/report", "/directory", "/report?lang=en"):
        html = httpx.get(f"{sample_server}{path}").text
        assert html.count("data-place-search") == 1 and "/static/pages/places.js" in html
        assert "/static/pages/orient.js" in html
    page = browser_page
    page.set_viewport_size(PHONE)
    # the case page's box leads staff to a map page at the place picked
    page.goto(f"{sample_server}/directory#place=120.2449638,30.2626583,17")
    page.wait_for_function("() => window.shudiMap && window.ShudiPlaces")
    assert page.evaluate("() => shudiMap.getZoom()") == 17
    shown = page.evaluate(
        """() => { const m = shudiMap, p = m.latLngToContainerPoint([30.2626583, 120.2449638]);
        const r = m.getContainer().getBoundingClientRect();
        const el = document.elementFromPoint(p.x + r.left, p.y + r.top);
        return !!el && !el.closest('#sheet') && p.x > 0 && p.y > 0; }"""
    )
    assert shown, "the place is not in view beside the sheet"
