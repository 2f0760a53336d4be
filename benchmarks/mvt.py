"""Vector tiles (``/tiles/{collection}/{z}/{x}/{y}.mvt``): p99 at a fixed 100 req/s (target
≤ 50 ms) beside the same areas as GeoJSON (``/api/v1/layers/{layer}.geojson?bbox=<the tile>``)
at the same rate on the same server; and the bytes of one dispatch-map view's tiles against the
GeoJSON the map loaded for the same layers before it drew tiles (target ≤ 50 %).

Requests are what people browsing the map ask for: a zoom from 12 to 17, a point of the
district, one of the four layers the dispatch map draws from tiles (communities, estates, police
precincts, city-management squads; towns stay GeoJSON) — so most tiles are drawn for the first
time (the in-process cache holds only what was asked before in the run).
"""

from __future__ import annotations

import math
import os
import random
import statistics
from pathlib import Path
from urllib.parse import urlencode

import httpx
from sqlalchemy import Engine, text

from benchmarks import loadgen
from benchmarks.common import BBox, Result, Section, app_argv, free_port, log, server, shown
from jurisdictions import boundary_tiles

RATE = 100
SECONDS = 10
ROUNDS = 3
TARGET_MS = 50
TARGET_SHARE = 0.5
LAYERS = (
    "community",
    "property_area",
    "agency_unit:public_security",
    "agency_unit:urban_management",
)
ZOOMS = (12, 13, 14, 15, 16, 17)
#: The dispatch map's window (tests/webmap/test_dispatch.py's desktop) and the zoom its
#: GeoJSON layers are simplified for (webmap/pages/dispatch.py LAYER_ZOOM).
VIEW_PX = (1400, 860)
GEOJSON_ZOOM = 14


def _tile(lon: float, lat: float, z: int) -> tuple[int, int]:
    n = 2**z
    x = int((lon + 180) / 360 * n)
    y = int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n)
    return min(x, n - 1), min(y, n - 1)


def _tile_bbox(z: int, x: int, y: int) -> tuple[float, float, float, float]:
    n = 2**z

    def lat(row: int) -> float:
        return math.degrees(math.atan(math.sinh(math.pi * (1 - 2 * row / n))))

    return x / n * 360 - 180, lat(y + 1), (x + 1) / n * 360 - 180, lat(y)


def _collection(key: str) -> str:
    layer, _, agency = key.partition(":")
    return f"{layer}-{agency}" if agency else layer


def _geojson_path(key: str, bbox: tuple[float, ...] | None, zoom: int) -> str:
    layer, _, agency = key.partition(":")
    q: dict[str, str | int] = {"zoom": zoom}
    if agency:
        q["agency"] = agency
    if bbox:
        q["bbox"] = ",".join(f"{v:.7f}" for v in bbox)
    return f"/api/v1/layers/{layer}.geojson?{urlencode(q)}"


def requests(bbox: BBox, n: int, seed: int) -> tuple[list[str], list[str]]:
    """``n`` tile paths and, for each, the GeoJSON of the same layer and box."""
    rng = random.Random(seed)
    tiles, geojson = [], []
    for _ in range(n):
        key, z = rng.choice(LAYERS), rng.choice(ZOOMS)
        lon, lat = rng.uniform(bbox.xmin, bbox.xmax), rng.uniform(bbox.ymin, bbox.ymax)
        x, y = _tile(lon, lat, z)
        tiles.append(f"/tiles/{_collection(key)}/{z}/{x}/{y}.mvt")
        geojson.append(_geojson_path(key, _tile_bbox(z, x, y), z))
    return tiles, geojson


def view_tiles(bbox: BBox) -> tuple[int, list[tuple[int, int, int]]]:
    """The dispatch map's first view — the district fitted into the window — as its zoom and
    the tiles covering it."""
    w, h = VIEW_PX
    zoom = 0
    for z in range(19, 0, -1):
        x0, y1 = _tile_px(bbox.xmin, bbox.ymin, z)
        x1, y0 = _tile_px(bbox.xmax, bbox.ymax, z)
        if x1 - x0 <= w and y1 - y0 <= h:
            zoom = z
            break
    cx, cy = _tile_px((bbox.xmin + bbox.xmax) / 2, (bbox.ymin + bbox.ymax) / 2, zoom)
    xs = range(int((cx - w / 2) // 256), int((cx + w / 2) // 256) + 1)
    ys = range(int((cy - h / 2) // 256), int((cy + h / 2) // 256) + 1)
    return zoom, [(zoom, x, y) for x in xs for y in ys]


def _tile_px(lon: float, lat: float, z: int) -> tuple[float, float]:
    n = 256 * 2**z
    y = (1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n
    return (lon + 180) / 360 * n, y


def _bytes(client: httpx.Client, path: str) -> tuple[int, int]:
    """(body bytes, bytes on the wire gzip-compressed as the server sends them)."""
    r = client.get(path, headers={"Accept-Encoding": "identity"})
    r.raise_for_status()
    body = r.content
    gz = client.get(path, headers={"Accept-Encoding": "gzip"})
    wire = int(gz.headers.get("content-length", len(gz.content)))
    if gz.headers.get("content-encoding") != "gzip":
        wire = len(body)
    return len(body), wire


def dispatch_view_bytes(url: str, bbox: BBox, urls: dict[str, str]) -> dict[str, float]:
    """Bytes of the view's tiles (``urls``: the pages' pinned templates) and of the GeoJSON."""
    zoom, tiles = view_tiles(bbox)
    out: dict[str, float] = {"zoom": zoom, "tiles": len(tiles) * len(LAYERS)}
    mvt = mvt_wire = geo = geo_wire = 0
    with httpx.Client(base_url=url, timeout=30) as client:
        for key in LAYERS:
            for z, x, y in tiles:
                path = urls[key].format(z=z, x=x, y=y)
                body, wire = _bytes(client, path)
                mvt, mvt_wire = mvt + body, mvt_wire + wire
            body, wire = _bytes(client, _geojson_path(key, None, GEOJSON_ZOOM))
            geo, geo_wire = geo + body, geo_wire + wire
    out |= {"mvt": mvt, "mvt_wire": mvt_wire, "geojson": geo, "geojson_wire": geo_wire}
    return out


#: 1-minute load average above which the figures are marked as taken on a busy machine.
BUSY_LOAD = 1.5


def tiles(engine: Engine, bbox: BBox, workdir: Path) -> Section:
    sec = Section("Vector tiles (`GET /tiles/{collection}/{z}/{x}/{y}.mvt`)")
    load = os.getloadavg()
    with engine.connect() as conn:
        urls = boundary_tiles.tile_urls(conn)  # as the pages name them
        areas = conn.execute(
            text("""SELECT count(*) FROM boundary b JOIN generation_period p
                    ON p.generation_id = b.generation_id AND p.valid_to IS NULL""")
        ).scalar_one()
    port = free_port()
    sec.commands.append(shown(app_argv("PORT")))
    runs: dict[str, list[loadgen.LoadResult]] = {"tiles": [], "geojson": []}
    with server("shudi serve", app_argv(port), port, workdir / "tiles.log") as app:
        warm_t, warm_g = requests(bbox, 200, seed=99)
        loadgen.open_loop_paths(app.url, warm_t, rate=100)
        loadgen.open_loop_paths(app.url, warm_g, rate=100)
        for k in range(ROUNDS):
            log(f"open loop {RATE}/s for {SECONDS} s: tiles, then GeoJSON (round {k + 1})")
            ts, gs = requests(bbox, RATE * SECONDS, seed=k)
            runs["tiles"].append(loadgen.open_loop_paths(app.url, ts, rate=RATE))
            runs["geojson"].append(loadgen.open_loop_paths(app.url, gs, rate=RATE))
        log("one dispatch-map view: tile bytes against the layers' GeoJSON")
        view = dispatch_view_bytes(app.url, bbox, urls)
    p99 = statistics.median(r.p99_ms for r in runs["tiles"])
    base99 = statistics.median(r.p99_ms for r in runs["geojson"])
    pooled, base = loadgen.merge(runs["tiles"]), loadgen.merge(runs["geojson"])
    same = "GeoJSON of the same layer and tile box, same server and rate"
    share = view["mvt_wire"] / view["geojson_wire"] if view["geojson_wire"] else math.inf
    sec.results += [
        Result(f"tile p99 latency at {RATE} req/s (open loop, median round)", p99, "ms", "max",
               target=TARGET_MS, baseline=base99, baseline_name=same),
        Result(f"tile p50 latency at {RATE} req/s (open loop)", pooled.p50_ms, "ms",
               baseline=base.p50_ms, baseline_name=same),
        Result("one dispatch-map view, bytes on the wire (gzip as served)", view["mvt_wire"],
               "bytes", "max", target_ratio=TARGET_SHARE, baseline=view["geojson_wire"],
               baseline_name="the same layers' GeoJSON as the map loaded it"),
        Result("one dispatch-map view, bytes uncompressed", view["mvt"], "bytes",
               baseline=view["geojson"], baseline_name="the same layers' GeoJSON"),
    ]  # fmt: skip
    if max(load[0], os.getloadavg()[0]) > BUSY_LOAD:
        sec.notes.append(
            "**measured on a shared, busy machine** (1-minute load average "
            f"{load[0]:.1f} at the start, {os.getloadavg()[0]:.1f} at the end; other "
            "people's tests running beside it): the latencies are pessimistic, to be rerun "
            "on a quiet machine; the byte counts do not depend on it."
        )
    sec.notes += [
        f"{areas} active areas; requests: zoom 12–17, a uniform point of the district, one of "
        f"{', '.join(LAYERS)} (seeded), so most tiles are drawn cold.",
        f"open loop, {ROUNDS} rounds of {RATE * SECONDS} requests per endpoint, alternating; "
        "p99 per round — tiles: "
        + ", ".join(f"{r.p99_ms:.1f}" for r in runs["tiles"])
        + " ms; GeoJSON: "
        + ", ".join(f"{r.p99_ms:.1f}" for r in runs["geojson"])
        + " ms",
        f"tiles pooled: {pooled.requests} requests, {pooled.non_2xx} non-2xx, "
        f"{pooled.errors} errors, max {pooled.max_ms:.1f} ms",
        f"the view: the district fitted into a {VIEW_PX[0]}×{VIEW_PX[1]} px window at zoom "
        f"{view['zoom']:.0f}, {view['tiles']:.0f} tiles of the four layers (204 = 0 bytes) "
        f"= {share:.1%} of the GeoJSON the map loaded for them "
        f"(`/api/v1/layers/{{layer}}.geojson?zoom={GEOJSON_ZOOM}`, whole layers).",
    ]
    return sec
