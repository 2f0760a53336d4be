"""Tests for gis.validation: each problem kind on a minimal hand-drawn case, and a clean district.

Shapes are drawn in metres (UTM 51N, origin near lon 120.1, lat 30.2) and handed to the
validator in EPSG:4326, as an import would.
"""

import dataclasses
import doctest

import geopandas as gpd
import numpy as np
import pytest
import shapely
from pyproj import Transformer
from shapely.affinity import translate
from shapely.geometry import GeometryCollection, LineString, MultiPolygon, Point, Polygon, box

import gis.validation
from gis.validation import KINDS, Problem, repair, summarise, validate_layer

X0, Y0 = Transformer.from_crs(4326, 32651, always_xy=True).transform(120.1, 30.2)
TO_LONLAT = Transformer.from_crs(32651, 4326, always_xy=True)


def layer(*rows: tuple) -> gpd.GeoDataFrame:
    """(code, parent_code, geometry in local metres) rows -> an EPSG:4326 frame."""
    geoms = [None if g is None else translate(g, X0, Y0) for _, _, g in rows]
    frame = gpd.GeoDataFrame(
        {"code": [r[0] for r in rows], "name": [f"n{i}" for i in range(len(rows))],
         "parent_code": [r[1] for r in rows]},
        geometry=gpd.GeoSeries(geoms, crs="EPSG:32651"),
    )  # fmt: skip
    return frame.to_crs(4326)


def lonlat(x: float, y: float) -> tuple[float, float]:
    """Local metres -> lon/lat."""
    return TO_LONLAT.transform(x + X0, y + Y0)


def near(location: tuple[float, float] | None, x0: float, y0: float, x1: float, y1: float) -> bool:
    """Whether a reported lon/lat lies in the local-metre rectangle (x0, y0, x1, y1)."""
    assert location is not None
    t = Transformer.from_crs(4326, 32651, always_xy=True)
    x, y = t.transform(*location)
    return x0 <= x - X0 <= x1 and y0 <= y - Y0 <= y1


def dense(geom: Polygon, step: float) -> Polygon:
    return shapely.segmentize(geom, step)


# Two towns side by side; two communities tile each; property areas with 20 m roads between.
TOWNS = [("T1", None, dense(box(0, 0, 1000, 1000), 7)), ("T2", None, box(1000, 0, 2000, 1000))]
COMMUNITIES = [
    ("C11", "T1", dense(box(0, 0, 500, 1000), 10)),
    ("C12", "T1", dense(box(500, 0, 1000, 1000), 3)),
    ("C21", "T2", box(1000, 0, 1500, 1000)),
    ("C22", "T2", box(1500, 0, 2000, 1000)),
]
PROPERTY_AREAS = [
    ("P111", "C11", box(20, 20, 240, 480)),
    ("P112", "C11", box(260, 20, 480, 480)),
    ("P113", "C11", box(20, 520, 480, 980)),
    ("P121", "C12", box(520, 20, 980, 980)),
    ("P211", "C21", box(1020, 20, 1480, 980)),
]
POLICE = [("PS1", None, box(0, 0, 1200, 1000)), ("PS2", None, box(1200, 0, 2000, 1000))]


def kinds(problems: list[Problem]) -> list[str]:
    return [p.kind for p in problems]


def only(problems: list[Problem], kind: str) -> Problem:
    found = [p for p in problems if p.kind == kind]
    assert len(found) == 1, problems
    return found[0]


def test_clean_district_has_no_problems() -> None:
    towns, communities = layer(*TOWNS), layer(*COMMUNITIES)
    assert validate_layer(towns, layer="town") == []
    assert validate_layer(communities, layer="community", parents=towns) == []
    assert validate_layer(layer(*PROPERTY_AREAS), layer="property_area", parents=communities) == []
    assert validate_layer(layer(*POLICE), layer="agency_unit") == []


def test_missing_code() -> None:
    problems = validate_layer(layer(*TOWNS, (None, None, box(0, 2000, 10, 2010))), layer="town")
    p = only(problems, "missing_code")
    assert p.codes == () and p.severity == "error" and "feature #2" in p.message
    assert near(p.location, 0, 2000, 10, 2010)
    blank = validate_layer(layer(("  ", None, box(0, 0, 10, 10))), layer="town")
    assert kinds(blank) == ["missing_code"]


def test_duplicate_code() -> None:
    problems = validate_layer(layer(*TOWNS, ("T1", None, box(0, 2000, 10, 2010))), layer="town")
    p = only(problems, "duplicate_code")
    assert p.codes == ("T1",) and "2 features" in p.message
    assert kinds(problems) == ["duplicate_code"]


def test_empty_geometry() -> None:
    problems = validate_layer(
        layer(*TOWNS, ("T3", None, None), ("T4", None, Polygon())), layer="town"
    )
    empties = [p for p in problems if p.kind == "empty_geometry"]
    assert [p.codes for p in empties] == [("T3",), ("T4",)]
    assert all(p.location is None for p in empties)
    assert kinds(problems) == ["empty_geometry", "empty_geometry"]


def test_not_polygon() -> None:
    rows = (("L1", None, LineString([(0, 2000), (10, 2010)])), ("P1", None, Point(5, 2005)))
    problems = validate_layer(layer(*TOWNS, *rows), layer="town")
    assert kinds(problems) == ["not_polygon", "not_polygon"]
    assert "LineString" in problems[0].message and problems[1].codes == ("P1",)
    assert near(problems[1].location, 4, 2004, 6, 2006)


def bow_tie() -> Polygon:
    return Polygon([(120.1, 30.2), (120.11, 30.21), (120.11, 30.2), (120.1, 30.21)])


def test_bow_tie_is_invalid_with_location() -> None:
    gdf = gpd.GeoDataFrame({"code": ["B1"]}, geometry=[bow_tie()], crs="EPSG:4326")
    p = only(validate_layer(gdf, layer="agency_unit"), "invalid_geometry")
    assert p.codes == ("B1",) and "Self-intersection" in p.message
    assert p.location == pytest.approx((120.105, 30.205), abs=1e-9)


def test_repair_fixes_the_bow_tie() -> None:
    gdf = gpd.GeoDataFrame(
        {"code": ["B1", "G1", "L1", "N1"]},
        geometry=[bow_tie(), GeometryCollection([box(120, 30, 120.001, 30.001),
                                                 LineString([(120, 30), (121, 31)])]),
                  LineString([(120, 30), (121, 31)]), None],
        crs="EPSG:4326",
    )  # fmt: skip
    fixed = repair(gdf)
    assert gdf.geometry.iloc[0].geom_type == "Polygon"  # the input is left alone
    geoms = fixed.geometry.tolist()
    assert all(isinstance(g, MultiPolygon) for g in geoms[:3]) and geoms[3] is None
    assert geoms[0].is_valid and len(geoms[0].geoms) == 2
    assert geoms[0].area == pytest.approx(0.0001 / 2)  # both triangles of the bow tie are kept
    assert geoms[1].equals(box(120, 30, 120.001, 30.001)) and geoms[2].is_empty
    assert fixed.crs == gdf.crs and fixed["code"].tolist() == gdf["code"].tolist()
    assert "invalid_geometry" not in kinds(validate_layer(fixed.iloc[:2], layer="agency_unit"))


def test_unknown_parent() -> None:
    communities = layer(*COMMUNITIES[:3], ("C22", "T9", COMMUNITIES[3][2]))
    problems = validate_layer(communities, layer="community", parents=layer(*TOWNS))
    p = only(problems, "unknown_parent")
    assert p.codes == ("C22", "T9") and "T9" in p.message


def test_missing_parent_code() -> None:
    towns = layer(*TOWNS)
    communities = layer(*COMMUNITIES[:3], ("C22", None, COMMUNITIES[3][2]))
    p = only(validate_layer(communities, layer="community", parents=towns), "missing_parent_code")
    assert p.codes == ("C22",) and near(p.location, 1500, 0, 2000, 1000)
    no_column = layer(*COMMUNITIES).drop(columns="parent_code")
    assert kinds(validate_layer(no_column, layer="community")) == ["missing_parent_code"] * 4
    assert validate_layer(layer(*TOWNS), layer="town") == []  # towns need no parent


@pytest.mark.parametrize(("stick_out", "reported"), [(0.5, False), (5.0, True)])
def test_outside_parent_respects_tolerance(stick_out: float, reported: bool) -> None:
    communities = layer(("C11", "T1", box(0, 0, 500, 1000 + stick_out)), *COMMUNITIES[1:])
    problems = validate_layer(communities, layer="community", parents=layer(*TOWNS))
    assert kinds(problems) == (["outside_parent"] if reported else [])
    if reported:
        p = problems[0]
        assert p.codes == ("C11", "T1") and p.severity == "error"
        assert near(p.location, 0, 1000, 500, 1005)
        assert "outside its parent T1" in p.message
        assert "extends 2000.0 m² outside" in p.message  # 500 m x (5 m - 1 m tolerance)


def test_overlap_between_towns() -> None:
    problems = validate_layer(layer(TOWNS[0], ("T2", None, box(990, 0, 2000, 1000))), layer="town")
    p = only(problems, "overlap")
    assert p.codes == ("T1", "T2") and p.severity == "error"
    assert "10000.0 m²" in p.message or "9999.9 m²" in p.message
    assert near(p.location, 990, 0, 1000, 1000)


def test_overlap_below_tolerance_is_ignored() -> None:
    towns = layer(TOWNS[0], ("T2", None, box(999.9995, 0, 2000, 1000)))  # 0.5 m² shared
    assert validate_layer(towns, layer="town") == []
    assert kinds(validate_layer(towns, layer="town", overlap_tolerance_m2=0.1)) == ["overlap"]


def test_overlap_only_among_siblings() -> None:
    properties = layer(*PROPERTY_AREAS, ("P114", "C11", box(100, 20, 200, 100)))
    problems = validate_layer(properties, layer="property_area", parents=layer(*COMMUNITIES))
    assert [p.codes for p in problems] == [("P111", "P114")]
    assert "overlap by 8000.0 m²" in problems[0].message
    # C21 drawn over C11: outside its own town, but not a sibling of C11, so no overlap.
    cousins = layer(*COMMUNITIES[:2], ("C21", "T2", box(0, 0, 500, 1000)), COMMUNITIES[3])
    problems = validate_layer(cousins, layer="community", parents=layer(*TOWNS))
    assert "overlap" not in kinds(problems) and "outside_parent" in kinds(problems)


def test_overlap_of_agency_units_and_duplicated_shapes() -> None:
    police = layer(*POLICE, ("PS3", None, box(0, 0, 1200, 1000)))
    problems = validate_layer(police, layer="agency_unit")
    assert [p.codes for p in problems] == [("PS1", "PS3")]


def test_gap_is_a_warning() -> None:
    communities = layer(COMMUNITIES[0], ("C12", "T1", box(500, 0, 1000, 980)), *COMMUNITIES[2:])
    p = only(validate_layer(communities, layer="community", parents=layer(*TOWNS)), "gap")
    assert p.codes == ("T1",) and p.severity == "warning"
    assert p.message.startswith("10000.0 m² of T1") or p.message.startswith("9999.9 m² of T1")
    assert near(p.location, 500, 980, 1000, 1000)


def test_small_gap_and_uncovered_town() -> None:
    towns = layer(*TOWNS)
    small = layer(COMMUNITIES[0], ("C12", "T1", box(500, 0, 1000, 999.9)), *COMMUNITIES[2:])
    assert validate_layer(small, layer="community", parents=towns) == []  # 50 m² < 100 m²
    problems = validate_layer(layer(*COMMUNITIES[:2]), layer="community", parents=towns)
    p = only(problems, "gap")
    assert p.codes == ("T2",) and "any community" in p.message


def test_gaps_not_checked_for_property_areas() -> None:
    problems = validate_layer(layer(*PROPERTY_AREAS[:1]), layer="property_area",
                              parents=layer(*COMMUNITIES))  # fmt: skip
    assert problems == []


def test_spatial_checks_skip_broken_features() -> None:
    communities = layer(COMMUNITIES[0], ("C12", "T1", None), *COMMUNITIES[2:])
    problems = validate_layer(communities, layer="community", parents=layer(*TOWNS))
    assert kinds(problems) == ["empty_geometry"]  # and no gap warning for T1


def test_problems_are_sorted_errors_first() -> None:
    communities = layer(*COMMUNITIES[:3], ("C22", None, box(1500, 0, 2000, 900)))
    problems = validate_layer(communities, layer="community", parents=layer(*TOWNS))
    assert kinds(problems) == ["missing_parent_code", "gap"]
    assert set(kinds(problems)) <= set(KINDS)


def test_scale_grid_is_clean() -> None:
    towns, communities = [], []
    for i in range(20):
        for j in range(10):
            code = f"T{i:02d}{j:02d}"
            towns.append(
                (code, None, dense(box(i * 500, j * 500, i * 500 + 500, j * 500 + 500), 9))
            )
            for k in range(5):
                x = i * 500 + k * 100
                communities.append((f"{code}C{k}", code, box(x, j * 500, x + 100, j * 500 + 500)))
    town_frame = layer(*towns)
    assert validate_layer(town_frame, layer="town") == []
    assert validate_layer(layer(*communities), layer="community", parents=town_frame) == []


def test_unknown_layer_and_negative_tolerance() -> None:
    with pytest.raises(ValueError, match="unknown layer"):
        validate_layer(layer(*TOWNS), layer="village")
    with pytest.raises(ValueError, match="negative"):
        validate_layer(layer(*TOWNS), layer="town", tolerance_m=-1)


def test_summarise() -> None:
    problems = [
        Problem("overlap", ("C1", "C2"), "C1 and C2 overlap by 12.3 m²", (120.123456, 30.123456),
                "error"),
        Problem("empty_geometry", ("C3",), "C3 has no geometry", None, "error"),
        Problem("gap", ("T1",), "150.0 m² of T1 is not covered", (120.1, 30.2), "warning"),
    ]  # fmt: skip
    assert summarise(problems).splitlines() == [
        "ERROR overlap [C1, C2] C1 and C2 overlap by 12.3 m² at 120.123456,30.123456",
        "ERROR empty_geometry [C3] C3 has no geometry",
        "WARNING gap [T1] 150.0 m² of T1 is not covered at 120.100000,30.200000",
    ]
    assert summarise([]) == ""


def test_problem_is_frozen() -> None:
    p = Problem("gap", ("T1",), "gap", None, "warning")
    with pytest.raises(dataclasses.FrozenInstanceError):
        p.kind = "overlap"  # type: ignore[misc]
    assert np.isin(["gap"], KINDS).all()


def test_docstring_examples() -> None:
    assert doctest.testmod(gis.validation).failed == 0


def test_degenerate_inputs() -> None:
    empty = layer()
    assert validate_layer(empty, layer="town") == []
    assert kinds(validate_layer(empty, layer="community", parents=layer(*TOWNS))) == ["gap"] * 2
    shapeless_towns = layer(("T1", None, None), TOWNS[1])
    assert validate_layer(layer(*COMMUNITIES), layer="community", parents=shapeless_towns) == []
    assert len(repair(empty)) == 0
    projected = layer(*TOWNS).to_crs("EPSG:4549")  # any CRS is brought to lon/lat first
    p = only(validate_layer(projected.iloc[[0, 0]], layer="town"), "duplicate_code")
    assert near(p.location, 0, 0, 1000, 1000)
