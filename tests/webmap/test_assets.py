"""Map pages need no internet: vendored front-end files, localized pages, basemaps, and Chromium.

The vendor folder is the real one (`make install` fetched it; fetched here if absent). The fetch
logic's own tests use a stand-in `npm` that hands out prepared tarballs, so no test needs the
network; the browser tests fail if the page tries any host but 127.0.0.1.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import io
import json
import os
import random
import subprocess
import sys
import tarfile
import threading
import time
from collections.abc import Callable, Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import folium
import pytest
import shapely
from folium import plugins

from gis.coords import from_wgs84
from webmap import assets, basemaps

ROOT = Path(__file__).resolve().parents[2]
CENTER = (120.155, 30.274)  # lon, lat: 清溪区's neighbourhood is made up; any Chinese city works


@pytest.fixture(scope="module")
def vendor() -> Path:
    """The real vendor folder, fetched if `make install` has not done it."""
    if not assets.is_current():
        run = subprocess.run(
            [sys.executable, "-m", "webmap.assets", "fetch"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=False,
        )
        assert run.returncode == 0, run.stderr
    return assets.vendor_dir()


def _run_cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "webmap.assets", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )


# --- the real vendor folder -----------------------------------------------------------------


def test_vendor_folder_verified_and_second_fetch_is_instant(vendor: Path) -> None:
    assert assets.check() == []
    started = time.monotonic()
    again = _run_cli("fetch")
    took = time.monotonic() - started
    assert again.returncode == 0, again.stderr
    assert "up to date" in again.stdout
    assert took < 10  # a Python start-up and a stat of each file; no npm
    ok = _run_cli("check")
    n = len(assets.load_manifest().files)
    assert ok.returncode == 0 and f"{n} files OK" in ok.stdout


def test_manifest_pins_exact_versions_and_sha512() -> None:
    manifest = assets.load_manifest()
    npm = {p.name: p for p in manifest.packages if p.source == "npm"}
    expected = {
        "leaflet": "1.9.3",
        "jquery": "3.7.1",
        "bootstrap": "5.2.2",
        "@fortawesome/fontawesome-free": "6.2.0",
        "leaflet.markercluster": "1.1.0",
        "leaflet-realtime": "2.2.0",
        "drmonty-leaflet-awesome-markers": "2.0.2",
        "leaflet.locatecontrol": "0.66.2",
        "@neos21/bootstrap3-glyphicons": "1.0.7",
        "swagger-ui-dist": "5.36.0",  # /docs (api/docs.py)
        "redoc": "2.5.4",  # /redoc
        "leaflet.vectorgrid": "1.3.0",  # boundaries from /tiles/...mvt (issue 18)
    }
    assert {name: p.version for name, p in npm.items()} == expected
    for p in npm.values():
        assert p.integrity and p.integrity.startswith("sha512-")
        assert len(base64.b64decode(p.integrity.removeprefix("sha512-"))) == 64
    fonts = [f.dest for p in npm.values() for f in p.files if "/webfonts/" in f.dest]
    assert len(fonts) == 8  # Font Awesome's woff2 and ttf, all four families


def test_every_cdn_url_folium_emits_for_our_plugins_is_replaced() -> None:
    emitted = set()
    for cls in (
        folium.Map,
        plugins.MarkerCluster,
        plugins.FastMarkerCluster,
        plugins.HeatMap,
        plugins.Realtime,
        plugins.LocateControl,
    ):
        emitted |= {url for _, url in (*cls.default_js, *cls.default_css)}
    assert emitted <= set(assets.url_map())


def test_check_reports_a_changed_file(tmp_path: Path, vendor: Path) -> None:
    manifest = assets.load_manifest()
    copy = tmp_path / "vendor"
    for f in manifest.files:
        (copy / f.dest).parent.mkdir(parents=True, exist_ok=True)
        (copy / f.dest).write_bytes((vendor / f.dest).read_bytes())
    (copy / assets.STAMP_NAME).write_bytes((vendor / assets.STAMP_NAME).read_bytes())
    assert assets.check(copy) == []
    leaflet_js = copy / "leaflet@1.9.3/dist/leaflet.js"
    leaflet_js.write_bytes(leaflet_js.read_bytes() + b"\n// changed")
    (copy / "jquery@3.7.1/dist/jquery.min.js").unlink()
    problems = assets.check(copy)
    assert problems == [
        "leaflet@1.9.3/dist/leaflet.js: sha256 differs from assets.json",
        "jquery@3.7.1/dist/jquery.min.js: missing",
    ]
    bad = _run_cli("check", "--dest", str(copy))
    assert bad.returncode == 1 and "2 problem(s)" in bad.stderr


# --- fetch logic, with a stand-in npm ----------------------------------------------------------


def _tarball(files: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tf:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
    return buf.getvalue()


FAKE_NPM = """#!{python}
# Stand-in for `npm pack SPEC... --pack-destination DIR --json`: copies prepared tarballs.
import json, shutil, sys
from pathlib import Path
args = sys.argv[1:]
assert args[0] == "pack", args
dest = Path(args[args.index("--pack-destination") + 1])
specs = [a for a in args[1:] if not a.startswith("--") and Path(a) != dest]
with open({calls!r}, "a") as log:
    log.write(" ".join(args) + "\\n")
out = []
for spec in specs:
    name, version = spec.rsplit("@", 1)
    fname = name.lstrip("@").replace("/", "-") + "-" + version + ".tgz"
    src = Path({store!r}) / fname
    if not src.exists():
        print("npm error code E404", file=sys.stderr)
        print("npm error 404 Not Found - " + spec, file=sys.stderr)
        sys.exit(1)
    shutil.copy(src, dest / fname)
    out.append({{"name": name, "version": version, "filename": fname}})
print(json.dumps(out))
"""


@pytest.fixture
def fake_npm(tmp_path: Path) -> dict[str, Any]:
    store = tmp_path / "tarballs"
    store.mkdir()
    calls = tmp_path / "npm-calls.log"
    npm = tmp_path / "bin" / "npm"
    npm.parent.mkdir()
    npm.write_text(FAKE_NPM.format(python=sys.executable, store=str(store), calls=str(calls)))
    npm.chmod(0o755)
    js, css = b"window.Lib = 1;\n", b".lib{color:red}\n"
    raw = _tarball({"package/dist/lib.js": js, "package/dist/lib.css": css})
    (store / "scope-lib-1.2.3.tgz").write_bytes(raw)
    integrity = "sha512-" + base64.b64encode(hashlib.sha512(raw).digest()).decode()
    manifest = {
        "packages": [
            {
                "source": "npm",
                "name": "@scope/lib",
                "version": "1.2.3",
                "integrity": integrity,
                "files": [
                    {
                        "from": "package/dist/lib.js",
                        "to": "@scope/lib@1.2.3/dist/lib.js",
                        "sha256": hashlib.sha256(js).hexdigest(),
                        "replaces": ["https://cdn.example.org/lib@1.2.3/lib.js"],
                    },
                    {
                        "from": "package/dist/lib.css",
                        "to": "@scope/lib@1.2.3/dist/lib.css",
                        "sha256": hashlib.sha256(css).hexdigest(),
                        "replaces": [],
                    },
                ],
            }
        ]
    }
    path = tmp_path / "assets.json"
    path.write_text(json.dumps(manifest))
    return {"npm": str(npm), "manifest_path": path, "manifest": manifest, "calls": calls}


def test_fetch_extracts_verifies_and_is_idempotent(
    tmp_path: Path, fake_npm: dict[str, Any]
) -> None:
    manifest = assets.load_manifest(fake_npm["manifest_path"])
    dest = tmp_path / "vendor"
    assert assets.fetch(dest, manifest=manifest, npm=fake_npm["npm"]) is True
    assert (dest / "@scope/lib@1.2.3/dist/lib.js").read_bytes() == b"window.Lib = 1;\n"
    stamp = json.loads((dest / assets.STAMP_NAME).read_text())
    assert stamp["manifest_sha256"] == manifest.sha256
    assert assets.check(dest, manifest) == []
    # Second run: nothing to do, npm not even called.
    assert assets.fetch(dest, manifest=manifest, npm=fake_npm["npm"]) is False
    assert len(fake_npm["calls"].read_text().splitlines()) == 1
    # A deleted file makes it fetch again; the folder is replaced whole.
    (dest / "@scope/lib@1.2.3/dist/lib.css").unlink()
    (dest / "stray.txt").write_text("left over")
    assert assets.fetch(dest, manifest=manifest, npm=fake_npm["npm"]) is True
    assert assets.check(dest, manifest) == [] and not (dest / "stray.txt").exists()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".vendor-")] == []


def test_fetch_rejects_a_tarball_that_does_not_match_the_manifest(
    tmp_path: Path, fake_npm: dict[str, Any]
) -> None:
    data = fake_npm["manifest"]
    data["packages"][0]["integrity"] = "sha512-" + base64.b64encode(b"\0" * 64).decode()
    fake_npm["manifest_path"].write_text(json.dumps(data))
    manifest = assets.load_manifest(fake_npm["manifest_path"])
    dest = tmp_path / "vendor"
    with pytest.raises(assets.AssetError, match=r"@scope/lib@1\.2\.3: tarball sha512 mismatch"):
        assets.fetch(dest, manifest=manifest, npm=fake_npm["npm"])
    assert not dest.exists()


def test_fetch_rejects_a_file_whose_sha256_differs(
    tmp_path: Path, fake_npm: dict[str, Any]
) -> None:
    data = fake_npm["manifest"]
    data["packages"][0]["files"][0]["sha256"] = "0" * 64
    fake_npm["manifest_path"].write_text(json.dumps(data))
    manifest = assets.load_manifest(fake_npm["manifest_path"])
    with pytest.raises(
        assets.AssetError, match=r"sha256 mismatch for @scope/lib@1\.2\.3/dist/lib\.js"
    ):
        assets.fetch(tmp_path / "vendor", manifest=manifest, npm=fake_npm["npm"])


def test_fetch_reports_npm_errors_and_missing_npm(tmp_path: Path, fake_npm: dict[str, Any]) -> None:
    data = fake_npm["manifest"]
    data["packages"][0]["version"] = "9.9.9"
    for f in data["packages"][0]["files"]:
        f["to"] = f["to"].replace("1.2.3", "9.9.9")
    fake_npm["manifest_path"].write_text(json.dumps(data))
    manifest = assets.load_manifest(fake_npm["manifest_path"])
    with pytest.raises(assets.AssetError, match=r"npm pack failed \(exit 1\): code E404; 404"):
        assets.fetch(tmp_path / "v1", manifest=manifest, npm=fake_npm["npm"])
    with pytest.raises(assets.AssetError, match="not found on PATH"):
        assets.fetch(tmp_path / "v2", manifest=manifest, npm="no-such-npm-here")


def test_cli_without_npm_fails_with_one_line(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "PATH"}
    env["PATH"] = str(tmp_path)  # no npm there
    run = _run_cli("fetch", "--dest", str(tmp_path / "vendor"), "--force", env=env)
    assert run.returncode == 1
    assert run.stderr.count("\n") == 1 and run.stderr.startswith("webmap.assets: error: 'npm'")


def test_manifest_refuses_paths_outside_the_package_folder(tmp_path: Path) -> None:
    bad = {
        "packages": [
            {
                "source": "repo",
                "name": "x",
                "version": "1",
                "files": [{"from": "a.css", "to": "x@1/../../escape.css", "sha256": "0" * 64}],
            }
        ]
    }
    path = tmp_path / "assets.json"
    path.write_text(json.dumps(bad))
    with pytest.raises(assets.AssetError, match="unsafe path"):
        assets.load_manifest(path)


# --- localize / remote_urls --------------------------------------------------------------------


def _district_map(basemap: basemaps.Basemap, n_points: int = 1000) -> folium.Map:
    """A map with the plugins the app uses: clusters, heat map, live layer, locate, icons."""
    rng = random.Random(7)
    lon0, lat0 = CENTER
    points = [
        (lon0 + rng.uniform(-0.05, 0.05), lat0 + rng.uniform(-0.04, 0.04)) for _ in range(n_points)
    ]
    m = basemaps.new_map(basemap, lon=lon0, lat=lat0, zoom=12)
    shown = [basemap.from_wgs84(x, y) for x, y in points]
    cluster = plugins.MarkerCluster(name="cases").add_to(m)
    for x, y in shown:
        folium.Marker([y, x]).add_to(cluster)
    plugins.FastMarkerCluster([[y, x] for x, y in shown[:50]], name="fast").add_to(m)
    plugins.HeatMap([[y, x, 1.0] for x, y in shown], name="heat").add_to(m)
    plugins.Realtime("live.geojson", interval=60_000).add_to(m)
    plugins.LocateControl().add_to(m)
    x, y = basemap.from_wgs84(*CENTER)
    folium.Marker([y, x], icon=folium.Icon(icon="info-sign")).add_to(m)  # glyphicon
    folium.Marker([y + 0.01, x], icon=folium.Icon(icon="house", prefix="fa")).add_to(m)
    lons, lats = [p[0] for p in shown], [p[1] for p in shown]
    m.fit_bounds([[min(lats), min(lons)], [max(lats), max(lons)]])
    return m


def test_localize_leaves_no_remote_url_for_basemap_none(vendor: Path) -> None:
    m = _district_map(basemaps.NONE, n_points=20)
    raw = m.get_root().render()
    before = assets.remote_urls(raw)
    assert len(before) >= 14 and set(before) <= set(assets.url_map())
    page = assets.localize(raw)
    assert assets.remote_urls(page) == []
    used = {u for u in assets.url_map().values() if u in page}
    assert len(used) == len(before)
    for url in used:
        assert (vendor / url.removeprefix(assets.URL_PREFIX + "/")).is_file(), url
    fresh = _district_map(basemaps.NONE, n_points=20)
    assert assets.remote_urls(basemaps.render_page(fresh, basemaps.NONE)) == []


def test_remote_urls_refuses_unvendored_plugins_and_untrusted_tiles() -> None:
    m = basemaps.new_map(basemaps.NONE, lon=CENTER[0], lat=CENTER[1])
    plugins.Fullscreen().add_to(m)  # not in assets.json
    with pytest.raises(assets.RemoteResourceError, match=r"leaflet\.fullscreen@3\.0\.0"):
        basemaps.render_page(m, basemaps.NONE)
    osm_map = basemaps.new_map(basemaps.OSM, lon=CENTER[0], lat=CENTER[1])
    raw = osm_map.get_root().render()
    assert basemaps.OSM_URL in assets.remote_urls(assets.localize(raw, strict=False))
    page = basemaps.render_page(osm_map, basemaps.OSM)  # the configured template is allowed
    assert "openstreetmap.org/copyright" in page  # attribution links are not loads
    html = '<img src="//evil.example.com/x.png"><a href="https://ok.example.com/">x</a>'
    assert assets.remote_urls(html) == ["//evil.example.com/x.png"]


def test_localize_matches_whole_urls_only() -> None:
    url = "https://cdn.jsdelivr.net/npm/leaflet@1.9.3/dist/leaflet.js"
    out = assets.localize(f'<script src="{url}"></script><script src="{url}.map">', strict=False)
    assert '<script src="/static/vendor/leaflet@1.9.3/dist/leaflet.js">' in out
    assert f"{url}.map" in out
    assert assets.localize(f'<script src="{url}">', prefix="/app/static/vendor/", strict=False) == (
        '<script src="/app/static/vendor/leaflet@1.9.3/dist/leaflet.js">'
    )


# --- basemaps ----------------------------------------------------------------------------------


def test_basemap_settings() -> None:
    assert basemaps.basemap_from_settings(None, None, None) is basemaps.NONE
    assert basemaps.basemap_from_settings(" OSM ", None, "unused-key").kind == "osm"
    tdt = basemaps.basemap_from_settings("tianditu", None, "k&ey")
    assert tdt.coordinate_system == "cgcs2000" and not tdt.shifts
    assert [layer.overlay for layer in tdt.layers] == [False, True]
    assert "vec_w" in tdt.tile_urls[0] and "cva_w" in tdt.tile_urls[1]
    assert all(u.endswith("&tk=k%26ey") for u in tdt.tile_urls)
    amap = basemaps.basemap_from_settings("amap", None, None, "wgs84")  # crs: local's only
    assert amap.coordinate_system == "gcj02" and amap.shifts
    assert "webrd0{s}.is.autonavi.com" in amap.tile_urls[0]
    loc = basemaps.basemap_from_settings("local", "/tiles/{z}/{x}/{y}.png", None, "GCJ02")
    assert loc.coordinate_system == "gcj02" and loc.tile_urls == ("/tiles/{z}/{x}/{y}.png",)
    local_wgs = basemaps.basemap_from_settings(
        "local", "http://127.0.0.1:8080/{z}/{x}/{y}.png", None
    )
    assert local_wgs.coordinate_system == "wgs84"
    bad: list[tuple[Any, ...]] = [
        ("baidu", None, None),
        ("tianditu", None, ""),
        ("local", None, None),
        ("local", "http://127.0.0.1/tiles.png", None),
        ("local", "file:///srv/{z}/{x}/{y}.png", None),
        ("local", "/t/{z}/{x}/{y}.png", None, "bd09"),
        ("osm", "http://127.0.0.1/{z}/{x}/{y}.png", None),
    ]
    for args in bad:
        with pytest.raises(ValueError):
            basemaps.basemap_from_settings(*args)


def test_gcj02_basemap_shifts_overlays_and_clicks_back() -> None:
    amap = basemaps.AMAP
    lon, lat = CENTER
    gx, gy = amap.from_wgs84(lon, lat)
    assert (gx, gy) == from_wgs84(lon, lat, "gcj02")
    assert 300 < abs(gx - lon) * 96_000 + abs(gy - lat) * 111_000 < 1_000  # a few hundred metres
    back = amap.to_wgs84(gx, gy)
    assert abs(back[0] - lon) < 1e-9 and abs(back[1] - lat) < 1e-9
    ring = [[lon, lat], [lon + 0.01, lat], [lon + 0.01, lat + 0.01], [lon, lat]]
    fc: dict[str, Any] = {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "properties": {"name": "网格一"},
                "geometry": {"type": "Polygon", "coordinates": [ring]},
            },
            {
                "type": "Feature",
                "properties": {},
                "geometry": {"type": "Point", "coordinates": [lon, lat, 12.0]},
            },
            {"type": "Feature", "properties": {}, "geometry": None},
        ],
    }
    shifted = amap.shift_geojson(fc)
    assert fc["features"][0]["geometry"]["coordinates"][0][0] == [lon, lat]  # input untouched
    assert shifted["features"][0]["properties"] == {"name": "网格一"}
    assert shifted["features"][0]["geometry"]["coordinates"][0][0] == [gx, gy]
    assert shifted["features"][1]["geometry"]["coordinates"] == [gx, gy, 12.0]
    poly = amap.shift_geometry(shapely.Polygon(ring))
    assert poly.exterior.coords[0] == (gx, gy)
    for wgs in (basemaps.NONE, basemaps.OSM, basemaps.tianditu("k")):
        assert wgs.from_wgs84(lon, lat) == (lon, lat)
        assert wgs.shift_geojson(fc) == fc
    # The map's centre is shifted too.
    m = basemaps.new_map(amap, lon=lon, lat=lat)
    assert m.location == [gy, gx]


def test_new_map_always_sets_the_zoom_range() -> None:
    for basemap in (basemaps.NONE, basemaps.OSM, basemaps.AMAP, basemaps.tianditu("k")):
        html = basemaps.new_map(basemap, lon=CENTER[0], lat=CENTER[1]).get_root().render()
        assert f'"maxZoom": {basemap.max_zoom}' in html
    with pytest.raises(TypeError):
        basemaps.new_map(basemaps.NONE, lon=CENTER[0], lat=CENTER[1], tiles="OpenStreetMap")


# --- in Chromium -------------------------------------------------------------------------------


def _tile_png() -> bytes:
    from PIL import Image, ImageDraw

    img = Image.new("RGB", (256, 256), (236, 232, 220))
    draw = ImageDraw.Draw(img)
    draw.rectangle([0, 0, 255, 255], outline=(180, 170, 150))
    draw.line([0, 128, 255, 128], fill=(250, 200, 90), width=6)
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()


class _QuietHandler(SimpleHTTPRequestHandler):
    """Files of the site; any /tiles/Z/X/Y.png is one generated tile (a local tile server)."""

    tile = b""

    def do_GET(self) -> None:
        if self.path.startswith("/tiles/") and self.path.endswith(".png"):
            self.send_response(200)
            self.send_header("Content-Type", "image/png")
            self.send_header("Content-Length", str(len(self.tile)))
            self.end_headers()
            self.wfile.write(self.tile)
            return
        super().do_GET()

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def local_site(tmp_path: Path, vendor: Path) -> Iterator[tuple[str, Path]]:
    """A tiny HTTP server on 127.0.0.1 serving tmp_path, with /static/vendor linked in."""
    (tmp_path / "static").mkdir()
    (tmp_path / "static" / "vendor").symlink_to(vendor, target_is_directory=True)
    _QuietHandler.tile = _QuietHandler.tile or _tile_png()
    handler = functools.partial(_QuietHandler, directory=str(tmp_path))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", tmp_path
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def test_localized_page_runs_offline_in_chromium(
    browser_page: Any,
    blocked_requests: list[str],
    local_site: tuple[str, Path],
    screenshot: Callable[[Any, str], Path],
) -> None:
    base, root = local_site
    m = _district_map(basemaps.NONE, n_points=1000)
    (root / "index.html").write_text(basemaps.render_page(m, basemaps.NONE))
    lon, lat = CENTER
    live = {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "properties": {"id": 1},  # leaflet-realtime's default feature id
                "geometry": {"type": "Point", "coordinates": [lon, lat]},
            }
        ],
    }
    (root / "live.geojson").write_text(json.dumps(live))

    page = browser_page
    errors: list[str] = []
    bad_responses: list[str] = []
    fonts: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)

    def on_response(response: Any) -> None:
        if response.status >= 400:
            bad_responses.append(f"{response.status} {response.url}")
        if response.url.endswith((".woff2", ".woff", ".ttf")):
            fonts.append(response.url.rsplit("/", 1)[1])

    page.on("response", on_response)
    page.goto(f"{base}/index.html", wait_until="load")
    page.wait_for_selector(".marker-cluster", timeout=15_000)
    page.evaluate("document.fonts.ready.then(() => true)")
    page.wait_for_function(  # Realtime fetched live.geojson from the same origin
        "Object.keys(window).filter(k => k.startsWith('realtime_'))"
        ".some(k => window[k].getFeature(1) !== undefined)",
        timeout=10_000,
    )

    assert page.evaluate("typeof window.L === 'object' && L.version") == "1.9.3"
    panes = page.evaluate(
        "Array.from(document.querySelectorAll('.folium-map .leaflet-pane'))"
        ".map(e => e.className.split(' ').find(c => c.endsWith('-pane') && c !== 'leaflet-pane'))"
    )
    assert {"leaflet-map-pane", "leaflet-overlay-pane", "leaflet-marker-pane"} <= set(panes)
    assert page.evaluate("document.querySelectorAll('.leaflet-tile').length") == 0  # basemap none
    clusters = page.evaluate(
        "Array.from(document.querySelectorAll('.marker-cluster')).map(e => +e.innerText)"
    )
    assert len(clusters) >= 3 and sum(clusters) >= 500
    cluster_layers = page.evaluate(
        "Object.keys(window).filter(k => k.startsWith('marker_cluster_'))"
        ".map(k => window[k].getLayers().length)"
    )
    assert 1000 in cluster_layers
    assert page.evaluate("document.querySelectorAll('canvas.leaflet-heatmap-layer').length") == 1
    assert (
        page.evaluate("document.querySelectorAll('.awesome-marker .glyphicon-info-sign').length")
        == 1
    )
    assert page.evaluate("document.querySelectorAll('.leaflet-control-locate').length") == 1
    assert any(f.startswith("glyphicons-halflings-regular") for f in fonts), fonts
    assert any(f.startswith("fa-solid-900") for f in fonts), fonts
    assert bad_responses == []
    assert errors == []
    assert blocked_requests == []
    shot = screenshot(page, "webmap-offline-basemap-none")
    assert shot.stat().st_size > 10_000


def test_browser_guard_blocks_and_records_remote_requests(
    browser_page: Any, blocked_requests: list[str], local_site: tuple[str, Path]
) -> None:
    base, root = local_site
    (root / "leak.html").write_text(
        '<!doctype html><img src="https://tile.openstreetmap.org/1/1/1.png">'
        '<img src="data:image/gif;base64,R0lGODlhAQABAAAAACw=">'
    )
    browser_page.goto(f"{base}/leak.html", wait_until="load")
    assert blocked_requests == ["https://tile.openstreetmap.org/1/1/1.png"]
    blocked_requests.clear()  # seen and expected: do not fail this test at teardown


def test_local_tile_server_basemap_in_chromium(
    browser_page: Any,
    blocked_requests: list[str],
    local_site: tuple[str, Path],
    screenshot: Callable[[Any, str], Path],
) -> None:
    base, root = local_site
    basemap = basemaps.basemap_from_settings(
        "local", f"{base}/tiles/{{z}}/{{x}}/{{y}}.png", None, "gcj02"
    )
    m = _district_map(basemap, n_points=200)
    (root / "index.html").write_text(basemaps.render_page(m, basemap))
    (root / "live.geojson").write_text('{"type": "FeatureCollection", "features": []}')
    page = browser_page
    page.goto(f"{base}/index.html", wait_until="load")
    page.wait_for_selector(".leaflet-tile-loaded", timeout=15_000)
    assert page.evaluate("document.querySelectorAll('.leaflet-tile-loaded').length") >= 4
    assert page.evaluate("document.querySelectorAll('.marker-cluster').length") >= 1
    assert blocked_requests == []
    screenshot(page, "webmap-local-tiles-gcj02")
