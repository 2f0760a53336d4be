"""Checks on the committed sample gazetteer (data/boundaries/sample/gazetteer.geojson)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import geopandas as gpd
import pytest

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "data" / "boundaries" / "sample"
SCRIPT = ROOT / "data" / "boundaries" / "make_gazetteer.py"
UTM = 32651  # UTM zone 51N, metres


@pytest.fixture(scope="module")
def gazetteer() -> gpd.GeoDataFrame:
    return gpd.read_file(SAMPLE / "gazetteer.geojson").to_crs(UTM)


@pytest.fixture(scope="module")
def estates() -> gpd.GeoDataFrame:
    return gpd.read_file(SAMPLE / "property_areas.geojson").to_crs(UTM)


def test_kinds_codes_and_names(gazetteer: gpd.GeoDataFrame) -> None:
    assert set(gazetteer["kind"]) == {"road", "address", "poi"}
    assert gazetteer["code"].is_unique
    assert gazetteer["name"].str.len().min() >= 2
    roads = gazetteer[gazetteer["kind"] == "road"]
    assert (roads.geom_type == "LineString").all() and len(roads) >= 200
    assert (gazetteer[gazetteer["kind"] == "address"].geom_type == "Point").all()


def test_roads_run_between_estates(gazetteer: gpd.GeoDataFrame, estates: gpd.GeoDataFrame) -> None:
    """No road enters an estate by more than 1 m (they run in the gaps between them)."""
    roads = gazetteer[gazetteer["kind"] == "road"]
    inner = estates.geometry.buffer(-1.0)
    hits = gpd.sjoin(roads, gpd.GeoDataFrame(geometry=inner, crs=UTM), predicate="intersects")
    assert hits.empty, hits["name"].head().tolist()


def test_every_estate_has_a_gate_on_a_road(
    gazetteer: gpd.GeoDataFrame, estates: gpd.GeoDataFrame
) -> None:
    gates = gazetteer[(gazetteer["kind"] == "address") & gazetteer["name"].str.endswith("号")]
    assert set(gates["estate"]) == set(estates["code"])
    roads = gazetteer[gazetteer["kind"] == "road"].dissolve(by="name").geometry
    by_code = estates.set_index("code").geometry
    far = 0
    for _, gate in gates.iterrows():
        road = re.fullmatch(r"(.+?)(\d+)号", gate["name"])
        assert road, gate["name"]
        assert by_code[gate["estate"]].exterior.distance(gate.geometry) < 0.5  # on the fence
        far += roads[road[1]].distance(gate.geometry) > 60  # not facing its road
    assert far <= len(gates) // 50  # (6 of 585: walled in by other estates, no access lane)


def test_buildings_are_inside_their_estate(
    gazetteer: gpd.GeoDataFrame, estates: gpd.GeoDataFrame
) -> None:
    buildings = gazetteer[gazetteer["name"].str.endswith("幢")]
    by_code = estates.set_index("code")
    for _, b in buildings.iterrows():
        estate = by_code.loc[b["estate"]]
        assert b["name"].startswith(estate["name"])
        assert estate.geometry.contains(b.geometry)


def test_regenerates_byte_identical(tmp_path: Path) -> None:
    out = tmp_path / "gazetteer.geojson"
    subprocess.run([sys.executable, str(SCRIPT), "--out", str(out)], check=True, cwd=ROOT)
    assert out.read_bytes() == (SAMPLE / "gazetteer.geojson").read_bytes()
