"""``shudi places import``: any CRS, any encoding, bad rows refused (or skipped on request).

Positions are checked against the WGS-84 point the test projected itself (pyproj), names
against the text written into the file.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import geopandas as gpd
import pytest
from pyproj import Transformer
from shapely.geometry import LineString, Point
from sqlalchemy import Connection, text

from gis.exceptions import BoundaryFileError
from places.gazetteer import GazetteerRejected, import_gazetteer, read_gazetteer
from places.search import search

SHUDI = str(Path(sys.executable).with_name("shudi"))
GATE = (120.0025, 30.0015)  # in 金桂苑 (P111) of the mini district
ROAD = [(120.0005, 30.0005), (120.0045, 30.0005), (120.0045, 30.0095)]
TO_4549 = Transformer.from_crs("EPSG:4326", "EPSG:4549", always_xy=True)  # CGCS2000 GK 120°E


def stored(conn: Connection, name: str) -> dict:
    row = conn.execute(
        text(
            "SELECT kind, code, context, ST_X(point) AS x, ST_Y(point) AS y, "
            "GeometryType(geom) AS g FROM place WHERE name = :n"
        ),
        {"n": name},
    ).one()
    return dict(row._mapping)


def test_projected_geojson_is_unprojected(conn: Connection, mini: dict, tmp_path: Path) -> None:
    x, y = TO_4549.transform(*GATE)
    road = [list(TO_4549.transform(*p)) for p in ROAD]
    fc = {
        "type": "FeatureCollection",
        "crs": {"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::4549"}},
        "features": [
            {"type": "Feature", "properties": {"MC": "金桂路8号", "BM": "A1"},
             "geometry": {"type": "Point", "coordinates": [x, y]}},
            {"type": "Feature", "properties": {"MC": "金桂路", "BM": "R1"},
             "geometry": {"type": "LineString", "coordinates": road}},
        ],
    }  # fmt: skip
    path = tmp_path / "addr.geojson"
    path.write_text(json.dumps(fc, ensure_ascii=False), encoding="utf-8")
    gdf = read_gazetteer(path, fields={"name": "MC", "code": "BM"})
    result = import_gazetteer(conn, gdf=gdf, dataset="t")
    assert result.by_kind == {"address": 1, "road": 1}
    gate = stored(conn, "金桂路8号")
    assert (gate["kind"], gate["code"], gate["g"]) == ("address", "A1", "POINT")
    assert gate["x"] == pytest.approx(GATE[0], abs=1e-7)
    assert gate["y"] == pytest.approx(GATE[1], abs=1e-7)
    assert gate["context"] == "甲一社区 · 甲街道"  # where it lies, from the boundaries
    assert stored(conn, "金桂路")["kind"] == "road"
    assert [p["name"] for p in search(conn, q="jgl8", limit=1)] == ["金桂路8号"]


def test_gbk_csv_with_chinese_columns(conn: Connection, mini: dict, tmp_path: Path) -> None:
    path = tmp_path / "poi.csv"
    path.write_bytes("名称,经度,纬度,类别\n社区卫生服务站,120.0025,30.0015,兴趣点\n".encode("gbk"))
    gdf = read_gazetteer(path, fields={"name": "名称", "kind": "类别"}, encoding="GBK")
    import_gazetteer(conn, gdf=gdf, dataset="poi")
    got = stored(conn, "社区卫生服务站")
    assert got["kind"] == "poi" and got["code"].startswith("poi-")
    assert (got["x"], got["y"]) == pytest.approx(GATE)
    with pytest.raises(BoundaryFileError, match=r"UTF-8|encoding|name"):
        read_gazetteer(path, fields={"name": "名称"})  # GBK read as UTF-8


def test_projected_csv_needs_its_crs(conn: Connection, mini: dict, tmp_path: Path) -> None:
    x, y = TO_4549.transform(*GATE)
    path = tmp_path / "gk.csv"
    path.write_text(f"name,x,y\n金桂路8号,{x:.3f},{y:.3f}\n", encoding="utf-8")
    with pytest.raises(BoundaryFileError, match="pass --src-crs"):
        read_gazetteer(path)
    gdf = read_gazetteer(path, src_crs="EPSG:4549")
    import_gazetteer(conn, gdf=gdf, dataset="gk")
    assert (stored(conn, "金桂路8号")["x"], stored(conn, "金桂路8号")["y"]) == pytest.approx(
        GATE, abs=1e-6
    )


def test_gbk_shapefile(conn: Connection, mini: dict, tmp_path: Path) -> None:
    gdf = gpd.GeoDataFrame(
        {"NAME": ["金桂路"], "CODE": ["R9"]}, geometry=[LineString(ROAD)], crs="EPSG:4490"
    )
    gdf.to_file(tmp_path / "roads.shp", encoding="gbk")
    (tmp_path / "roads.cpg").unlink(missing_ok=True)  # as many Chinese Shapefiles come
    frame = read_gazetteer(tmp_path / "roads.shp", encoding="GBK")
    import_gazetteer(conn, gdf=frame, dataset="roads")
    assert stored(conn, "金桂路")["code"] == "R9"


def bad_file(tmp_path: Path) -> Path:
    fc = {
        "type": "FeatureCollection",
        "features": [
            {"type": "Feature", "properties": {"name": "金桂路8号", "code": "A1"},
             "geometry": {"type": "Point", "coordinates": list(GATE)}},
            {"type": "Feature", "properties": {"name": "", "code": "A2"},
             "geometry": {"type": "Point", "coordinates": list(GATE)}},
            {"type": "Feature", "properties": {"name": "金桂路", "code": "R1", "kind": "road"},
             "geometry": {"type": "Point", "coordinates": list(GATE)}},
            {"type": "Feature", "properties": {"name": "甲", "code": "A3"},
             "geometry": {"type": "Point", "coordinates": list(GATE)}},
            {"type": "Feature", "properties": {"name": "乙", "code": "A3"},
             "geometry": {"type": "Point", "coordinates": list(GATE)}},
            {"type": "Feature", "properties": {"name": "桥", "code": "B1", "kind": "bridge"},
             "geometry": {"type": "Point", "coordinates": list(GATE)}},
        ],
    }  # fmt: skip
    path = tmp_path / "bad.geojson"
    path.write_text(json.dumps(fc, ensure_ascii=False), encoding="utf-8")
    return path


def test_bad_rows_refuse_the_file(conn: Connection, mini: dict, tmp_path: Path) -> None:
    gdf = read_gazetteer(bad_file(tmp_path))
    with pytest.raises(GazetteerRejected) as caught:
        import_gazetteer(conn, gdf=gdf, dataset="bad")
    kinds = sorted(p.kind for p in caught.value.details["problems"])
    assert kinds == ["duplicate_code", "missing_name", "unknown_kind", "wrong_geometry"]
    assert conn.execute(text("SELECT count(*) FROM place WHERE dataset = 'bad'")).scalar() == 0
    result = import_gazetteer(conn, gdf=gdf, dataset="bad", skip_bad=True)
    assert result.stored == 1 and len(result.skipped) == 4
    assert stored(conn, "金桂路8号")["code"] == "A1"


def test_cli_one_line_error_and_import(scratch_db_url: str, tmp_path: Path) -> None:
    env = os.environ | {"SHUDI_DATABASE_URL": scratch_db_url}
    run = subprocess.run(
        [SHUDI, "places", "import", str(bad_file(tmp_path))],
        env=env, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert run.returncode == 1
    last = run.stderr.strip().splitlines()[-1]
    assert last.startswith("shudi: error: 4 problem(s) in the gazetteer; nothing stored")
    assert "ERROR missing_name" in run.stderr
    good = tmp_path / "good.geojson"
    gpd.GeoDataFrame({"name": ["金桂路8号"]}, geometry=[Point(GATE)], crs="EPSG:4326").to_file(good)
    run = subprocess.run(
        [SHUDI, "places", "import", str(good), "--dataset", "gates"],
        env=env, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == "gazetteer gates: 1 address stored"
    missing = subprocess.run(
        [SHUDI, "places", "import", str(tmp_path / "nope.csv")],
        env=env, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert missing.returncode == 1
    assert missing.stderr.strip().splitlines() == [
        f"shudi: error: {tmp_path / 'nope.csv'}: no such file"
    ]
