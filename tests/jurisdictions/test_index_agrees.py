"""The in-process index (cell grid + exact test) and PostGIS give the same answers.

A constructed district, in units of 1/1024° from (121°E, 31°N) so that every vertex and every
test point is exact in binary and "on the border" means exactly on it:

    T1: the square [0,10]² with a hole [4,6]² and an exclave [22,24]×[0,2] (community C11);
    T3: the hole [4,6]² (an enclave town; community C31);
    T2: [10,20]×[0,10], communities C21 = [10,15]×[0,10] and C22 = [15,20]×[0,10].

The expected answers below are worked out by hand from that picture; PostGIS (``ST_Covers``
over the stored polygons, and the in-database bulk re-resolve) is then held to the same.
"""

from __future__ import annotations

import threading

import geopandas as gpd
import numpy as np
import pytest
from shapely.geometry import MultiPolygon, Polygon, box
from sqlalchemy import Connection, create_engine, text

from jurisdictions import index as area_index_module
from jurisdictions.batch import resolve_batch
from jurisdictions.bulk import reresolve_table
from jurisdictions.service import index_at, resolve_points

U = 1 / 1024  # about 100 m: the straight edges stay straight enough in a projection
X0, Y0 = 121.0, 31.0


def sq(x0: float, y0: float, x1: float, y1: float) -> Polygon:
    return box(X0 + x0 * U, Y0 + y0 * U, X0 + x1 * U, Y0 + y1 * U)


def at(x: float, y: float) -> tuple[float, float]:
    return X0 + x * U, Y0 + y * U


T1 = MultiPolygon([sq(0, 0, 10, 10).difference(sq(4, 4, 6, 6)), sq(22, 0, 24, 2)])


def layer(rows: list[dict]) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(rows, geometry="geometry", crs="EPSG:4326")


def load(conn: Connection, c21_c22_at: float = 15) -> dict[str, int]:
    from jurisdictions.catalog import load_reference_data
    from jurisdictions.generations import import_layer

    load_reference_data(conn)
    towns = layer(
        [
            {"code": "T1", "name": "一镇", "kind": "town", "geometry": T1},
            {"code": "T2", "name": "二镇", "kind": "town", "geometry": sq(10, 0, 20, 10)},
            {"code": "T3", "name": "三镇", "kind": "town", "geometry": sq(4, 4, 6, 6)},
        ]
    )
    gens = {"town": import_layer(conn, gdf=towns, layer="town", activate=True).generation_id}
    gens["community"] = communities(conn, c21_c22_at)
    return gens


def communities(conn: Connection, split: float) -> int:
    from jurisdictions.generations import import_layer

    gdf = layer(
        [
            {"code": "C11", "name": "一社区", "parent_code": "T1", "geometry": T1},
            {
                "code": "C21",
                "name": "二一社区",
                "parent_code": "T2",
                "geometry": sq(10, 0, split, 10),
            },
            {
                "code": "C22",
                "name": "二二社区",
                "parent_code": "T2",
                "geometry": sq(split, 0, 20, 10),
            },
            {"code": "C31", "name": "三一社区", "parent_code": "T3", "geometry": sq(4, 4, 6, 6)},
        ]
    )
    return import_layer(conn, gdf=gdf, layer="community", activate=True).generation_id


#: (point in units, town, community, candidates) — worked out from the picture above.
CASES = [
    ((2, 2), "T1", "C11", {}),
    ((5, 5), "T3", "C31", {}),  # in T1's hole: the enclave town
    ((4, 5), "T1", "C11", {"town": ["T1", "T3"], "community": ["C11", "C31"]}),  # hole's ring
    ((6, 6), "T1", "C11", {"town": ["T1", "T3"], "community": ["C11", "C31"]}),  # its corner
    ((10, 5), "T1", "C11", {"town": ["T1", "T2"], "community": ["C11", "C21"]}),  # T1 | T2
    ((10, 10), "T1", "C11", {"town": ["T1", "T2"], "community": ["C11", "C21"]}),  # corner
    ((15, 5), "T2", "C21", {"community": ["C21", "C22"]}),  # C21 | C22 inside T2
    ((20, 10), "T2", "C22", {}),  # T2's outer corner
    ((23, 1), "T1", "C11", {}),  # the exclave
    ((24, 2), "T1", "C11", {}),  # the exclave's far corner
    ((11.5, 9.25), "T2", "C21", {}),
    ((21, 1), None, None, {}),  # between T2 and the exclave
    ((-5, -5), None, None, {}),  # outside, near the district
    ((5, 11), None, None, {}),  # just above T1
    ((400, 300), None, None, {}),  # far away (still in China)
]


def covers(conn: Connection, x: float, y: float) -> dict[str, list[str]]:
    """PostGIS: every active area covering the point, per layer."""
    rows = conn.execute(
        text("""SELECT b.layer, b.code FROM boundary b
                JOIN generation_period p ON p.generation_id = b.generation_id
                 AND p.valid_to IS NULL
                WHERE ST_Covers(b.geom, ST_SetSRID(ST_MakePoint(:x, :y), 4326))
                ORDER BY b.layer, b.code"""),
        {"x": x, "y": y},
    ).all()
    out: dict[str, list[str]] = {}
    for r in rows:
        out.setdefault(r.layer, []).append(r.code)
    return out


def bulk_owners(conn: Connection, pts: list[tuple[float, float]]) -> list[tuple]:
    """PostGIS: the in-database re-resolve's owners (town, community) of each point."""
    conn.execute(text("DROP TABLE IF EXISTS idx_pts"))
    conn.execute(
        text("""CREATE TEMP TABLE idx_pts (id bigint PRIMARY KEY,
        geom geometry(Point, 4326) NOT NULL, town_code text, community_code text,
        property_area_code text, agency_units jsonb)""")
    )
    conn.execute(
        text(
            "INSERT INTO idx_pts (id, geom) SELECT i, ST_SetSRID(ST_MakePoint(x, y), 4326) "
            "FROM unnest(CAST(:xs AS float8[]), CAST(:ys AS float8[])) "
            "WITH ORDINALITY AS t(x, y, i)"
        ),
        {"xs": [p[0] for p in pts], "ys": [p[1] for p in pts]},
    )
    conn.execute(text("CREATE INDEX ON idx_pts USING gist (geom)"))
    reresolve_table(conn, table="idx_pts")
    return [
        tuple(r)
        for r in conn.execute(text("SELECT town_code, community_code FROM idx_pts ORDER BY id"))
    ]


def check_cases(conn: Connection, cases: list) -> None:
    pts = [at(*p) for p, *_ in cases]
    xs, ys = np.array([p[0] for p in pts]), np.array([p[1] for p in pts])
    got = resolve_points(conn, lons=xs, lats=ys)
    batch = resolve_batch(conn, points=pts)["results"]
    owners = bulk_owners(conn, pts)
    for (p, town, community, candidates), res, item, owner, pt in zip(
        cases, got, batch, owners, pts, strict=True
    ):
        where = f"point {p}"
        assert (res.town.code if res.town else None) == town, where
        assert (res.community.code if res.community else None) == community, where
        assert res.candidates == candidates and res.ambiguous == bool(candidates), where
        # PostGIS: the covering sets, and the bulk re-resolve's owners
        postgis = covers(conn, *pt)
        assert {k: v for k, v in postgis.items() if len(v) > 1} == candidates, where
        assert postgis.get("town", [None]) == [town] or town in postgis["town"], where
        assert owner == (town, community), where
        if town is None:
            assert item["error"]["code"] == "outside_service_area", where
            assert item["error"]["nearest"]["code"] in ("T1", "T2"), where
        else:
            assert item["town"]["code"] == town and item["community"]["code"] == community
            assert item["candidates"] == candidates and item["ambiguous"] == bool(candidates)


def test_index_and_postgis_agree_on_borders_holes_and_exclaves(conn: Connection) -> None:
    load(conn)
    check_cases(conn, CASES)
    # the nearest town of a point outside, by hand: (20.5, 1) is 0.5 unit east of T2
    (near,) = resolve_batch(conn, points=[at(20.5, 1)])["results"]
    metres = 0.5 * U * 111_320 * np.cos(np.radians(Y0 + U))  # ≈ 47 m
    assert near["error"]["nearest"]["code"] == "T2"
    assert near["error"]["nearest"]["distance_m"] == pytest.approx(metres, rel=0.01)


def test_a_lattice_of_border_points_agrees_with_st_covers(conn: Connection) -> None:
    """Every half unit from (-1, -1) to (25, 11): most points lie on some border."""
    load(conn)
    gx, gy = np.meshgrid(np.arange(-2, 51) / 2, np.arange(-2, 23) / 2)
    xs, ys = X0 + gx.ravel() * U, Y0 + gy.ravel() * U
    _, index = index_at(conn)
    assert index is not None and index.grid  # the grid is in use
    fast = index.covering(xs, ys)
    assert fast == index._exact(xs, ys)  # grid and exact test alike
    got = resolve_points(conn, lons=xs, lats=ys, with_nearest=False)
    rows = conn.execute(
        text("""SELECT t.i, b.layer, b.code
                FROM unnest(CAST(:xs AS float8[]), CAST(:ys AS float8[]))
                     WITH ORDINALITY AS t(x, y, i)
                JOIN boundary b ON ST_Covers(b.geom, ST_SetSRID(ST_MakePoint(t.x, t.y), 4326))
                JOIN generation_period p ON p.generation_id = b.generation_id
                 AND p.valid_to IS NULL"""),
        {"xs": xs.tolist(), "ys": ys.tolist()},
    ).all()
    postgis: dict[int, dict[str, list[str]]] = {}
    for r in rows:
        postgis.setdefault(r.i - 1, {}).setdefault(r.layer, []).append(r.code)
    on_border = 0
    for i, res in enumerate(got):
        want = {k: sorted(v) for k, v in postgis.get(i, {}).items()}
        assert (res.town.code if res.town else None) in want.get("town", [None])
        assert res.candidates == {k: v for k, v in want.items() if len(v) > 1}
        on_border += res.ambiguous
    # by hand: 21 lattice points on x = 10 (T1 | T2), 21 on x = 15 (C21 | C22), 16 on the
    # hole's ring (T1 | T3); no other point has two areas of one layer
    assert on_border == 21 + 21 + 16


def test_an_activation_changes_the_index(conn: Connection) -> None:
    load(conn)
    before, _ = index_at(conn)
    moved = [
        ((13, 5), "T2", "C21", {}),
        ((12, 5), "T2", "C21", {}),
        ((15, 5), "T2", "C21", {"community": ["C21", "C22"]}),
    ]
    check_cases(conn, moved)
    communities(conn, split=12)  # C21 | C22 moves from x = 15 to x = 12
    after, _ = index_at(conn)
    assert after["community"] != before["community"] and after["town"] == before["town"]
    check_cases(
        conn,
        [
            ((13, 5), "T2", "C22", {}),
            ((12, 5), "T2", "C21", {"community": ["C21", "C22"]}),
            ((15, 5), "T2", "C22", {}),
            ((11, 5), "T2", "C21", {}),
        ],
    )


def test_activation_is_announced_to_a_listening_worker(scratch_db_url: str) -> None:
    """The watcher thread LISTENs; a committed activation makes it build the new index."""
    from jurisdictions import index_watch

    engine = create_engine(scratch_db_url)
    built: list[float] = []
    ready = threading.Event()

    def on_build(seconds: float) -> None:
        built.append(seconds)
        ready.set()

    thread, stop = index_watch.start_thread(lambda: engine, on_build)
    try:
        assert ready.wait(30)  # the start-up warm-up (nothing active yet)
        ready.clear()
        with engine.begin() as conn:
            gens = load(conn)
            database = conn.execute(
                text("SELECT oid FROM pg_database WHERE datname = current_database()")
            ).scalar_one()
        assert ready.wait(30), "no announcement reached the watcher"
        key = (database, *sorted(gens.values()))
        for _ in range(100):  # the second (community) announcement may still be building
            if key in area_index_module._cache:
                break
            ready.clear()
            ready.wait(1)
        assert key in area_index_module._cache
    finally:
        stop.set()
        thread.join(5)
        engine.dispose()
