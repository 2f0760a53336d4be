"""The dispatcher's live map (``/map/dispatch``) with 1,000 / 10,000 / 100,000 open cases.

Target (product issue): usable — markers drawn — within 3 s, and at most 5 MB transferred, with
100,000 open cases, in headless Chromium.

Everything happens in a scratch database of its own (as :mod:`benchmarks.intake`: created on
the service's cluster, migrated, the sample district and the taxonomy loaded, dropped
afterwards), with :func:`benchmarks.intake.seed_cases` filing open cases until the next size is
reached (1,000, then 9,000 more, then 90,000 more). ``shudi serve`` runs on it on 127.0.0.1;
Debian's Chromium (Playwright, headless, no sandbox) logs in as a dispatcher and opens the map
in a fresh browser context each round (nothing cached). *Usable* is the moment the page's
script has put every case of the feed into the cluster layer, the cluster layer is drawn and
the side list is filled (``Shudi.dispatch.ready()``, ``performance.now()`` since navigation
start). *Bytes* are the response bodies as sent (compressed), with their headers, of every
request until then (Playwright's ``request.sizes()``).

Baseline in the same run: a bare Folium page with Leaflet.markercluster's ``FastMarkerCluster``
of the same points inlined (the fastest cluster layer measured in the field notes), from the
same server's vendored Leaflet; its *usable* is the first animation frame with a drawn cluster.
Then, briefly, the other design the issue names: server-side aggregation by zoom, timed as SQL
on the same 100,000 cases.
"""

from __future__ import annotations

import gzip
import statistics
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import orjson
from sqlalchemy import Engine, text

from benchmarks.common import (
    Result,
    Section,
    app_argv,
    code_version,
    database_url,
    free_port,
    log,
    server,
    shown,
)
from benchmarks.intake import load_district, scratch_database, seed_cases, service_database

SIZES = (1_000, 10_000, 100_000)
ROUNDS = 3
TARGET_S = 3.0
TARGET_MB = 5.0
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE localhost, EXCLUDE 127.0.0.1",
]
VIEWPORT = {"width": 1400, "height": 860}
USER, PASSWORD = "bench-dispatcher", "bench dispatcher password"
#: Open cases only, spread over the open states of the workflow.
OPEN_MIX = (
    ("reported", 0.15),
    ("accepted", 0.15),
    ("dispatched", 0.25),
    ("in_progress", 0.30),
    ("referred", 0.05),
    ("postponed", 0.05),
    ("resolved", 0.05),
)
READY_JS = """() => {
  const d = window.Shudi && Shudi.dispatch;
  return d && d.ready() !== null
    && document.querySelector('.marker-cluster, .case-marker') !== null
    && document.querySelector('[data-testid="case-row"]') !== null;
}"""
BASELINE_READY_JS = "() => document.querySelector('.marker-cluster, .leaflet-marker-icon')"
BASELINE_PATH = "/bench/fast-marker-cluster"
#: Server-side aggregation: a grid cell of ~60 px (markercluster's radius) at these zooms.
AGG_ZOOMS = (12, 14, 16)
AGGREGATE = """
SELECT json_agg(json_build_array(round(ST_X(p)::numeric, 5), round(ST_Y(p)::numeric, 5), n,
                                 late))::text
FROM (SELECT ST_Centroid(ST_Collect(c.geom)) AS p, count(*) AS n,
             count(*) FILTER (WHERE c.due_at < now()) AS late
      FROM case_file c
      WHERE c.status NOT IN ('closed', 'rejected') AND NOT c.hidden AND c.merged_into IS NULL
        AND c.geom && ST_MakeEnvelope(:xmin, :ymin, :xmax, :ymax, 4326)
      GROUP BY ST_SnapToGrid(c.geom, :cell)) g
"""


def _median(values: Sequence[float]) -> float:
    return float(statistics.median(values))


def _add_user(engine: Engine) -> None:
    from accounts.service import create_user

    with engine.begin() as conn:
        create_user(conn, username=USER, password=PASSWORD, role="dispatcher")


def _cookie(base: str) -> dict[str, Any]:
    from accounts.router import SESSION_COOKIE

    r = httpx.post(f"{base}/login", data={"username": USER, "password": PASSWORD, "next": "/"})
    if r.status_code != 303 or SESSION_COOKIE not in r.cookies:
        raise RuntimeError(f"log-in failed: {r.status_code} {r.text[:200]}")
    return {"name": SESSION_COOKIE, "value": r.cookies[SESSION_COOKIE], "url": base}


class Browser:
    """Chromium with a fresh context per load; counts bytes and off-machine requests."""

    def __init__(self, pw: Any) -> None:
        self.browser = pw.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        self.blocked: list[str] = []

    def close(self) -> None:
        self.browser.close()

    @contextmanager
    def page(self, cookie: dict[str, Any] | None = None) -> Iterator[tuple[Any, list[Any]]]:
        """A page in a new context (empty cache) and the list its finished requests go to."""
        ctx = self.browser.new_context(viewport=VIEWPORT)
        if cookie:
            ctx.add_cookies([cookie])

        def guard(route: Any) -> None:
            host = httpx.URL(route.request.url).host
            if route.request.url.startswith(("data:", "blob:")) or host in ("127.0.0.1", ""):
                route.fallback()
            else:
                self.blocked.append(route.request.url)
                route.abort("blockedbyclient")

        ctx.route("**/*", guard)
        done: list[Any] = []
        page = ctx.new_page()
        page.on("requestfinished", lambda req: done.append(req))
        try:
            yield page, done
        finally:
            ctx.close()


def _bytes(requests: list[Any]) -> tuple[int, dict[str, int]]:
    """Bytes received (encoded bodies + headers) in all and per path kind."""
    total, parts = 0, dict[str, int]()
    for req in requests:
        sizes = req.sizes()
        n = int(sizes["responseBodySize"]) + int(sizes["responseHeadersSize"])
        total += n
        path = httpx.URL(req.url).path
        kind = "vendor" if path.startswith("/static/") else path
        parts[kind] = parts.get(kind, 0) + n
    return total, parts


def load_dispatch(browser: Browser, base: str, cookie: dict[str, Any]) -> tuple[float, int, dict]:
    """One cold load of the map: (seconds until usable, bytes, bytes per kind)."""
    with browser.page(cookie) as (page, done):
        page.goto(f"{base}/map/dispatch", wait_until="commit")
        page.wait_for_function(READY_JS, timeout=120_000, polling=50)
        ready_ms = float(page.evaluate("() => Shudi.dispatch.ready()"))
        total, parts = _bytes(list(done))
    return ready_ms / 1000, total, parts


def baseline_html(points: list[tuple[float, float]]) -> str:
    """A bare Folium map with FastMarkerCluster of ``points`` (lon, lat), offline."""
    import folium
    from folium.plugins import FastMarkerCluster

    from webmap.assets import localize

    xs = [p[0] for p in points]
    ys = [p[1] for p in points]
    m = folium.Map(location=[statistics.mean(ys), statistics.mean(xs)], zoom_start=12, tiles=None)
    m.options["maxZoom"] = 18
    FastMarkerCluster([[y, x] for x, y in points]).add_to(m)
    return localize(m.get_root().render(), allow=())


def load_baseline(browser: Browser, base: str, html: str) -> tuple[float, int]:
    """One cold load of the baseline page, served at ``base`` (so its libraries come from
    the app's ``/static/vendor``): (seconds until a cluster is drawn, bytes incl. the page)."""
    with browser.page() as (page, done):
        page.route(
            f"{base}{BASELINE_PATH}",
            lambda route: route.fulfill(body=html, content_type="text/html; charset=utf-8"),
        )
        page.goto(f"{base}{BASELINE_PATH}", wait_until="commit")
        page.wait_for_function(BASELINE_READY_JS, timeout=120_000, polling="raf")
        ready_ms = float(page.evaluate("() => performance.now()"))
        total, _ = _bytes([r for r in done if not r.url.endswith(BASELINE_PATH)])
    return ready_ms / 1000, total + len(gzip.compress(html.encode(), compresslevel=1))


def open_points(engine: Engine) -> list[tuple[float, float]]:
    with engine.connect() as conn:
        rows = conn.execute(
            text("""SELECT lon, lat FROM case_file
                    WHERE status NOT IN ('closed', 'rejected') AND NOT hidden
                      AND merged_into IS NULL""")
        ).all()
    return [(float(r.lon), float(r.lat)) for r in rows]


def feed_sizes(base: str, cookie: dict[str, Any]) -> dict[str, tuple[int, int, float]]:
    """(bytes as sent gzipped, bytes unpacked, seconds) of the compact feed and of GeoJSON."""
    out = {}
    cookies = {cookie["name"]: cookie["value"]}
    with httpx.Client(base_url=base, cookies=cookies, timeout=300) as client:
        for name, path in (("compact", "/api/v1/cases/feed"), ("geojson", "/api/v1/cases.geojson")):
            t0 = time.perf_counter()
            r = client.get(path, headers={"Accept-Encoding": "gzip"})
            elapsed = time.perf_counter() - t0
            r.raise_for_status()
            out[name] = (r.num_bytes_downloaded, len(r.content), elapsed)
    return out


def aggregation(engine: Engine) -> list[str]:
    """Server-side aggregation by zoom: SQL time and answer size for the district's view."""
    with engine.connect() as conn:
        box = conn.execute(
            text("""SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e)
                    FROM (SELECT ST_Extent(geom) AS e FROM case_file) s""")
        ).one()
        out = []
        for z in AGG_ZOOMS:
            cell = 60 * 360 / (256 * 2**z)
            width = VIEWPORT["width"] * 360 / (256 * 2**z)
            height = VIEWPORT["height"] * 360 / (256 * 2**z)
            cx, cy = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
            view = {
                "xmin": max(box[0], cx - width / 2),
                "ymin": max(box[1], cy - height / 2),
                "xmax": min(box[2], cx + width / 2),
                "ymax": min(box[3], cy + height / 2),
            }
            times = []
            body = ""
            for _ in range(3):
                t0 = time.perf_counter()
                body = conn.execute(text(AGGREGATE), view | {"cell": cell}).scalar_one() or "[]"
                times.append(time.perf_counter() - t0)
            n = len(orjson.loads(body))
            out.append(
                f"zoom {z} (view centred on the district, {VIEWPORT['width']}×"
                f"{VIEWPORT['height']} px, ~60 px cells): {n:,} cells, SQL "
                f"{_median(times) * 1000:.0f} ms, {len(body) / 1024:.0f} kB "
                f"({len(gzip.compress(body.encode(), 1)) / 1024:.0f} kB gzipped)"
            )
    return out


def dispatch_map(workdir: Path) -> Section:
    """Time until the dispatch map is usable and bytes transferred, beside FastMarkerCluster."""
    from playwright.sync_api import sync_playwright

    from shudi.database import make_engine

    sec = Section("Dispatch map (`/map/dispatch`, headless Chromium)")
    sec.notes.append(f"code {code_version()}")
    port = free_port()
    sec.commands.append(shown(app_argv("PORT")) + "   # on the scratch database")
    sec.commands.append(
        f"{CHROMIUM} (Playwright, headless, --no-sandbox), {VIEWPORT['width']}×"
        f"{VIEWPORT['height']}, a fresh context (cold cache) per load, {ROUNDS} loads per size"
    )
    with scratch_database(database_url()) as url:
        engine = make_engine(url)
        try:
            log("scratch: sample district and taxonomy")
            load_district(engine)
            _add_user(engine)
            with (
                service_database(url),
                server("shudi serve", app_argv(port), port, workdir / "map.log") as app,
                sync_playwright() as pw,
            ):
                browser = Browser(pw)
                try:
                    cookie = _cookie(app.url)
                    stored = 0
                    for size in SIZES:
                        log(f"seeding {size - stored:,} open cases (to {size:,})")
                        note = seed_cases(
                            engine, size - stored, min(300, size // 4), seed=size, mix=OPEN_MIX
                        )
                        sec.notes.append(note)
                        stored = size
                        _measure_size(sec, browser, app.url, cookie, engine, size)
                    log("server-side aggregation by zoom, as SQL")
                    agg = aggregation(engine)
                    sec.notes += [f"server-side aggregation at {stored:,} cases, {a}" for a in agg]
                finally:
                    browser.close()
                sec.notes.append(
                    f"requests that tried to leave 127.0.0.1: {len(browser.blocked)}"
                    + (f" ({', '.join(browser.blocked[:5])})" if browser.blocked else "")
                )
        finally:
            engine.dispose()
    return sec


def _measure_size(
    sec: Section, browser: Browser, base: str, cookie: dict[str, Any], engine: Engine, size: int
) -> None:
    log(f"{size:,} open cases: feeds")
    feeds = feed_sizes(base, cookie)
    html = baseline_html(open_points(engine))
    page_s, page_b, base_s, base_b = [], [], [], []
    parts: dict[str, int] = {}
    for k in range(ROUNDS):
        log(f"{size:,} open cases: dispatch map and baseline, round {k + 1}")
        s, b, parts = load_dispatch(browser, base, cookie)
        page_s.append(s)
        page_b.append(b)
        s, b = load_baseline(browser, base, html)
        base_s.append(s)
        base_b.append(b)
    fast = f"FastMarkerCluster page, same {size:,} points"
    target = size == SIZES[-1]
    sec.results += [
        Result(
            f"dispatch map usable, {size:,} open cases",
            _median(page_s),
            "s",
            "max" if target else "info",
            target=TARGET_S if target else None,
            baseline=_median(base_s),
            baseline_name=fast,
        ),
        Result(
            f"dispatch map bytes transferred, {size:,} open cases",
            _median(page_b) / 1e6,
            "MB",
            "max" if target else "info",
            target=TARGET_MB if target else None,
            baseline=_median(base_b) / 1e6,
            baseline_name=fast,
        ),
        Result(
            f"dispatch map feed as sent, {size:,} open cases",
            feeds["compact"][0] / 1e6,
            "MB",
            baseline=feeds["geojson"][0] / 1e6,
            baseline_name="the same cases as GeoJSON (/api/v1/cases.geojson)",
        ),
    ]
    top = sorted(parts.items(), key=lambda kv: -kv[1])[:6]
    sec.notes += [
        f"{size:,} open cases: usable after "
        + ", ".join(f"{s:.2f}" for s in page_s)
        + " s (baseline "
        + ", ".join(f"{s:.2f}" for s in base_s)
        + " s); bytes of the last load by path: "
        + ", ".join(f"{k} {v / 1e3:,.0f} kB" for k, v in top),
        f"{size:,} open cases: compact feed {feeds['compact'][0] / 1e6:.2f} MB as sent "
        f"({feeds['compact'][1] / 1e6:.2f} MB unpacked, {feeds['compact'][2]:.2f} s by httpx); "
        f"GeoJSON {feeds['geojson'][0] / 1e6:.2f} MB as sent "
        f"({feeds['geojson'][1] / 1e6:.2f} MB unpacked, {feeds['geojson'][2]:.2f} s)",
    ]
