"""Checks on the committed fictional sample district 清溪区 (data/boundaries/sample/)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import geopandas as gpd
import pytest
import shapely
from shapely.geometry import Point

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "data" / "boundaries" / "sample"
SCRIPT = ROOT / "data" / "boundaries" / "make_sample.py"
MIN_COUNTS = {
    "towns": 6,
    "communities": 40,
    "property_areas": 400,
    "police_precincts": 5,
    "urban_management_squads": 4,
}
COVERAGES = ("towns", "communities", "police_precincts", "urban_management_squads")
FILES = [f"{name}.geojson" for name in MIN_COUNTS] + ["landmarks.json"]
UTM = 32651  # UTM zone 51N, metres
TOL = 1.0  # m²
LANDMARKS = {
    "estate_with_company",
    "estate_without_company",
    "estate_without_owners_committee",
    "road",
    "shared_town_edge",
    "triple_point",
    "in_hole",
    "exclave",
    "enclave_surroundings",
    "outside",
    "far_outside",
}

Layers = dict[str, gpd.GeoDataFrame]


@pytest.fixture(scope="module")
def layers() -> Layers:
    return {name: gpd.read_file(SAMPLE / f"{name}.geojson") for name in MIN_COUNTS}


@pytest.fixture(scope="module")
def metric(layers: Layers) -> Layers:
    return {name: gdf.to_crs(UTM) for name, gdf in layers.items()}


@pytest.fixture(scope="module")
def landmarks() -> dict[str, Any]:
    return json.loads((SAMPLE / "landmarks.json").read_text(encoding="utf-8"))


def test_counts(layers: Layers) -> None:
    for name, minimum in MIN_COUNTS.items():
        assert len(layers[name]) >= minimum, name


def test_crs_and_valid_geometries(layers: Layers) -> None:
    for name, gdf in layers.items():
        assert gdf.crs.to_epsg() == 4326, name
        assert gdf.geometry.is_valid.all(), name
        assert not gdf.geometry.is_empty.any(), name
        assert set(gdf.geom_type) <= {"Polygon", "MultiPolygon"}, name


def test_codes_unique(layers: Layers) -> None:
    for name, gdf in layers.items():
        assert gdf["code"].is_unique, name
    assert layers["property_areas"]["name"].is_unique


def test_parent_codes_exist(layers: Layers) -> None:
    towns, comms, pas = layers["towns"], layers["communities"], layers["property_areas"]
    assert (towns["parent_code"] == "330106").all()
    assert towns["code"].str.fullmatch(r"330106\d{3}").all()
    assert set(towns["kind"]) == {"subdistrict", "town"}
    assert comms["parent_code"].isin(towns["code"]).all()
    assert pas["parent_code"].isin(comms["code"]).all()
    for child in (comms, pas):
        assert (child["code"].str.len() == child["parent_code"].str.len() + 3).all()
        assert child.apply(lambda r: r["code"].startswith(r["parent_code"]), axis=1).all()


def test_agency_attributes(layers: Layers) -> None:
    for name, agency, prefix in (
        ("police_precincts", "public_security", "PS"),
        ("urban_management_squads", "urban_management", "UM"),
    ):
        gdf = layers[name]
        assert (gdf["agency"] == agency).all()
        assert gdf["code"].str.fullmatch(prefix + r"-\d{2}").all()
        assert gdf["name"].is_unique


def test_households_add_up(layers: Layers) -> None:
    towns, comms, pas = layers["towns"], layers["communities"], layers["property_areas"]
    by_town = comms.groupby("parent_code")["households"].sum()
    assert (towns.set_index("code")["households"] == by_town).all()
    in_estates = pas.groupby("parent_code")["households"].sum()
    assert (comms.set_index("code")["households"].loc[in_estates.index] >= in_estates).all()


def test_shared_borders_have_identical_vertices(layers: Layers) -> None:
    for name in COVERAGES:
        assert shapely.coverage_is_valid(layers[name].geometry.values), name
    # a town's communities match the neighbouring towns' borders vertex for vertex
    towns, comms = layers["towns"], layers["communities"]
    for code in towns["code"]:
        mixed = [
            *comms[comms["parent_code"] == code].geometry,
            *towns[towns["code"] != code].geometry,
        ]
        assert shapely.coverage_is_valid(mixed), code


def test_communities_tile_their_towns(metric: Layers) -> None:
    towns = metric["towns"].set_index("code").geometry
    for code, group in metric["communities"].groupby("parent_code"):
        union = shapely.union_all(group.geometry.values)
        assert shapely.difference(union, towns[code]).area < TOL, code  # within the town
        assert shapely.difference(towns[code], union).area < TOL, code  # no gaps
        assert group.area.sum() - union.area < TOL, code  # no overlaps


def test_property_areas_inside_their_community_with_roads(metric: Layers) -> None:
    pas = metric["property_areas"]
    comms = metric["communities"].set_index("code").geometry
    parents = comms.loc[pas["parent_code"]].values
    assert (shapely.area(shapely.difference(pas.geometry.values, parents)) < TOL).all()
    # strictly inside: a road (≥ ~7.5 m) separates each estate from the community border
    assert (shapely.distance(pas.geometry.values, shapely.boundary(parents)) > 5).all()


def test_property_areas_do_not_overlap(metric: Layers) -> None:
    geoms = metric["property_areas"].geometry.values
    left, right = shapely.STRtree(geoms).query(geoms, predicate="dwithin", distance=10.0)
    assert (left == right).all(), "estates closer than 10 m (no road between them)"


def test_property_area_with_hole(layers: Layers) -> None:
    holes = [
        len(p.interiors) for g in layers["property_areas"].geometry for p in shapely.get_parts(g)
    ]
    assert max(holes) >= 1


def test_towns_tile_the_district(metric: Layers) -> None:
    towns = metric["towns"]
    district = shapely.union_all(towns.geometry.values)
    assert towns.area.sum() - district.area < TOL  # no overlaps
    assert district.geom_type == "Polygon" and not district.interiors  # enclave is filled
    for name in ("police_precincts", "urban_management_squads"):
        units = metric[name]
        union = shapely.union_all(units.geometry.values)
        assert units.area.sum() - union.area < TOL, name
        assert shapely.symmetric_difference(union, district).area < TOL, name


def test_exclave_fills_enclave(layers: Layers) -> None:
    towns = layers["towns"].set_index("code").geometry
    exclaved = [c for c, g in towns.items() if shapely.get_num_geometries(g) >= 2]
    holes = [
        (c, shapely.Polygon(r))
        for c, g in towns.items()
        for p in shapely.get_parts(g)
        for r in p.interiors
    ]
    assert exclaved and holes
    pieces = [(c, p) for c in exclaved for p in shapely.get_parts(towns[c])]
    # town A's detached piece is exactly town B's hole (an exclave of A, an enclave in B)
    assert any(a != b and shapely.equals(h, p) for a, p in pieces for b, h in holes)


def test_agency_units_cut_across_towns(metric: Layers) -> None:
    towns = metric["towns"].geometry.values
    for name in ("police_precincts", "urban_management_squads"):
        crossing = [
            int((shapely.area(shapely.intersection(unit, towns)) > 500_000).sum()) >= 2
            for unit in metric[name].geometry.values
        ]
        assert any(crossing), name


def test_attribute_shares(layers: Layers) -> None:
    pas = layers["property_areas"]
    assert pas["owners_committee"].dtype == bool
    assert 0.05 <= (pas["property_company"] == "").mean() <= 0.15
    assert 0.18 <= (~pas["owners_committee"]).mean() <= 0.32
    assert (pas["households"] > 0).all()


def test_landmarks(layers: Layers, landmarks: dict[str, Any]) -> None:
    assert set(landmarks) >= LANDMARKS

    def covering(name: str, pt: Point) -> list[str]:
        gdf = layers[name]
        return sorted(gdf.loc[gdf.geometry.covers(pt), "code"])

    for key, mark in landmarks.items():
        pt, want = Point(mark["lon"], mark["lat"]), mark["expect"]
        towns, comms = covering("towns", pt), covering("communities", pt)
        pas = covering("property_areas", pt)
        assert towns == want["towns_covering"], key
        assert comms == want["communities_covering"], key
        assert want["town"] == (towns[0] if towns else None), key
        assert want["community"] == (comms[0] if comms else None), key
        assert want["property_area"] == (pas[0] if pas else None), key
    exp = {k: v["expect"] for k, v in landmarks.items()}
    assert len(exp["shared_town_edge"]["towns_covering"]) == 2
    assert len(exp["triple_point"]["communities_covering"]) == 3
    assert exp["road"]["community"] and exp["road"]["property_area"] is None
    assert exp["in_hole"]["community"] and exp["in_hole"]["property_area"] is None
    assert exp["exclave"]["town"] != exp["enclave_surroundings"]["town"]
    assert exp["outside"]["town"] is None and exp["far_outside"]["towns_covering"] == []


def test_landmark_estates_have_the_advertised_attributes(
    layers: Layers, landmarks: dict[str, Any]
) -> None:
    pas = layers["property_areas"].set_index("code")

    def estate(key: str) -> Any:
        return pas.loc[landmarks[key]["expect"]["property_area"]]

    assert estate("estate_with_company")["property_company"] != ""
    assert estate("estate_without_company")["property_company"] == ""
    assert not estate("estate_without_owners_committee")["owners_committee"]


def test_generator_reproduces_committed_files(tmp_path: Path) -> None:
    subprocess.run(
        [sys.executable, str(SCRIPT), "--out", str(tmp_path)],
        check=True,
        capture_output=True,
        timeout=60,
    )
    for name in FILES:
        assert (tmp_path / name).read_bytes() == (SAMPLE / name).read_bytes(), name
