"""Point → territory on the hand-drawn mini district, against a real PostGIS."""

from __future__ import annotations

import pytest
from sqlalchemy import Connection

from gis.coords import from_wgs84
from jurisdictions.exceptions import InvalidCoordinates, OutsideServiceArea
from jurisdictions.service import resolve_one


def codes(res) -> tuple:
    return (
        res.town.code if res.town else None,
        res.community.code if res.community else None,
        res.property_area.code if res.property_area else None,
    )


@pytest.mark.parametrize(
    ("lon", "lat", "expected"),
    [
        (120.002, 30.002, ("T1", "C11", "P111")),  # inside an estate with a company
        (120.002, 30.012, ("T1", "C11", "P112")),  # inside an estate without one
        (120.002, 30.007, ("T1", "C11", None)),  # on the road between two estates
        (120.0155, 30.005, ("T1", "C12", None)),  # in the hole of estate P121
        (120.006, 30.006, ("T2", "C21", None)),  # in T2's exclave inside T1's hole
        (120.030, 30.015, ("T2", "C22", None)),
    ],
)
def test_inside(conn: Connection, mini: dict, lon: float, lat: float, expected: tuple) -> None:
    res = resolve_one(conn, lon=lon, lat=lat)
    assert codes(res) == expected
    assert not res.ambiguous
    assert res.generations["town"] == mini["town"]


def test_property_area_attributes(conn: Connection, mini: dict) -> None:
    out = resolve_one(conn, lon=120.002, lat=30.002).as_dict()
    assert out["property_area"] == {
        "code": "P111",
        "name": "金桂苑",
        "property_company": "甲物业服务有限公司",
        "owners_committee": True,
    }
    assert out["town"] == {"code": "T1", "name": "甲街道", "kind": "subdistrict"}
    assert out["agency_units"] == {"public_security": {"code": "PS1", "name": "西派出所"}}
    bare = resolve_one(conn, lon=120.002, lat=30.012).as_dict()["property_area"]
    assert bare["property_company"] == "" and bare["owners_committee"] is False


def test_shared_town_edge_belongs_to_both(conn: Connection, mini: dict) -> None:
    res = resolve_one(conn, lon=120.02, lat=30.005)
    assert res.ambiguous
    assert res.candidates["town"] == ["T1", "T2"]
    assert res.candidates["community"] == ["C12", "C21"]
    assert codes(res) == ("T1", "C12", None)  # lowest code, parents consistent


def test_triple_point(conn: Connection, mini: dict) -> None:
    res = resolve_one(conn, lon=120.02, lat=30.01)
    assert res.candidates["community"] == ["C12", "C21", "C22"]
    assert res.community.code == "C12" and res.town.code == "T1"


def test_owner_follows_the_chosen_property_area(conn: Connection, mini: dict) -> None:
    # on the precinct border inside P121: the estate decides community and town
    res = resolve_one(conn, lon=120.015, lat=30.002)
    assert codes(res) == ("T1", "C12", "P121")
    assert res.candidates == {"agency_unit:public_security": ["PS1", "PS2"]}
    assert res.agency_units["public_security"].code == "PS1"


def test_outside_names_the_nearest_town(conn: Connection, mini: dict) -> None:
    with pytest.raises(OutsideServiceArea) as err:
        resolve_one(conn, lon=120.10, lat=30.01)
    nearest = err.value.details["nearest"]
    assert nearest["code"] == "T2" and nearest["layer"] == "town"
    assert 5700 < nearest["distance_m"] < 5900  # 0.06° of longitude at 30°N ≈ 5.78 km


@pytest.mark.parametrize("crs", ["wgs84", "cgcs2000", "gcj02", "bd09"])
def test_each_coordinate_system(conn: Connection, mini: dict, crs: str) -> None:
    lon, lat = from_wgs84(120.0025, 30.0025, crs)
    res = resolve_one(conn, lon=lon, lat=lat, crs=crs)
    assert codes(res) == ("T1", "C11", "P111")
    assert res.lon == pytest.approx(120.0025, abs=1e-8)
    assert res.lat == pytest.approx(30.0025, abs=1e-8)


def test_gcj02_input_taken_as_wgs84_would_land_elsewhere(conn: Connection, mini: dict) -> None:
    lon, lat = from_wgs84(120.0035, 30.0035, "gcj02")  # ~500 m off in raw numbers
    assert codes(resolve_one(conn, lon=lon, lat=lat, crs="gcj02"))[2] == "P111"
    assert codes(resolve_one(conn, lon=lon, lat=lat, crs="wgs84"))[2] != "P111"


@pytest.mark.parametrize(
    ("lon", "lat", "fragment"),
    [
        (30.002, 120.002, "swap"),
        (40.0, 75.0, "longitude first"),  # in range both ways; swapped it lands in China
        (200, 30, "lon"),
        (120, 95, "lat"),
        (float("nan"), 30, "finite"),
        ("abc", 30, "bad coordinates"),
    ],
)
def test_bad_coordinates(conn: Connection, mini: dict, lon, lat, fragment: str) -> None:
    with pytest.raises(InvalidCoordinates) as err:
        resolve_one(conn, lon=lon, lat=lat)
    assert fragment in err.value.message


def test_unknown_crs(conn: Connection, mini: dict) -> None:
    with pytest.raises(InvalidCoordinates, match="unknown coordinate system"):
        resolve_one(conn, lon=120.002, lat=30.002, crs="epsg:3857")
