"""Tests for gis.coords (WGS-84 / CGCS2000 / GCJ-02 / BD-09 conversions)."""

import doctest
import math

import numpy as np
import pytest
from numpy.typing import ArrayLike
from pyproj import Geod

import gis.coords
from gis.coords import (
    CoordinateError,
    CoordSystem,
    from_wgs84,
    looks_swapped,
    to_wgs84,
    validate_lonlat,
)

GEOD = Geod(ellps="WGS84")

# Published WGS-84 -> GCJ-02 pairs, all as (wgs_lon, wgs_lat, gcj_lon, gcj_lat).
WGS_GCJ_PAIRS = [
    # googollee/eviltransform test vectors (given there in lat, lon order).
    (121.5272106, 31.1774276, 121.531541859215, 31.17530398364597),  # Shanghai
    (113.912316, 22.543847, 113.9171764808363, 22.540796131694766),  # Shenzhen
    (116.377817, 39.911954, 116.38404722455657, 39.91334545536069),  # Beijing
    # wandergis/coordtransform README: wgs84togcj02(116.404, 39.915).
    (116.404, 39.915, 116.41024449916938, 39.91640428150164),
]
# wandergis/coordtransform README, same input point (116.404, 39.915) for each function.
PUBLISHED_GCJ_TO_BD = (116.41036949371029, 39.92133699351021)  # gcj02tobd09
PUBLISHED_BD_TO_GCJ = (116.39762729119315, 39.90865673957631)  # bd09togcj02 (approximate)
PUBLISHED_NAIVE_GCJ_TO_WGS = (116.39775550083061, 39.91359571849836)  # gcj02towgs84 (naive)

OUTSIDE_CHINA = [(2.2945, 48.8584), (-74.0445, 40.6892), (151.2153, -33.8568), (37.6173, 55.7558)]


def metres(lon1: ArrayLike, lat1: ArrayLike, lon2: ArrayLike, lat2: ArrayLike) -> np.ndarray:
    """Geodesic distance on WGS-84 between two (sets of) points."""
    _, _, dist = GEOD.inv(lon1, lat1, lon2, lat2)
    return np.asarray(dist)


@pytest.fixture(scope="module")
def china_grid() -> tuple[np.ndarray, np.ndarray]:
    """10,000 points on a 100 x 100 grid covering mainland China."""
    lon, lat = np.meshgrid(np.linspace(73.5, 135.0, 100), np.linspace(18.0, 53.5, 100))
    return lon.ravel(), lat.ravel()


# --- reference values -------------------------------------------------------------------


def test_tiananmen_wgs84_to_gcj02() -> None:
    lon, lat = from_wgs84(116.397428, 39.90923, "gcj02")
    assert lon == pytest.approx(116.403671, abs=1e-5)
    assert lat == pytest.approx(39.910633, abs=1e-5)


@pytest.mark.parametrize(("wlon", "wlat", "glon", "glat"), WGS_GCJ_PAIRS)
def test_published_wgs84_gcj02_pairs(wlon: float, wlat: float, glon: float, glat: float) -> None:
    # Same constants and formula as the reference implementations: agreement to ~1e-12.
    assert from_wgs84(wlon, wlat, CoordSystem.GCJ02) == pytest.approx((glon, glat), abs=1e-9)
    # And the iterative inverse recovers the WGS-84 input.
    assert to_wgs84(glon, glat, CoordSystem.GCJ02) == pytest.approx((wlon, wlat), abs=1e-9)


def test_published_gcj02_to_bd09() -> None:
    # gcj (116.404, 39.915) is the GCJ-02 image of this WGS-84 point.
    wgs = to_wgs84(116.404, 39.915, "gcj02")
    assert from_wgs84(*wgs, "bd09") == pytest.approx(PUBLISHED_GCJ_TO_BD, abs=1e-9)
    # ... and back: BD-09 -> WGS-84 lands on the same WGS-84 point.
    assert to_wgs84(*PUBLISHED_GCJ_TO_BD, "bd09") == pytest.approx(wgs, abs=1e-9)


def test_published_bd09_to_gcj02_agrees_within_its_accuracy() -> None:
    # The published BD-09 -> GCJ-02 formula is approximate (~1e-6 degrees); ours is refined.
    ours = to_wgs84(116.404, 39.915, "bd09")
    via_published = to_wgs84(*PUBLISHED_BD_TO_GCJ, "gcj02")
    assert ours == pytest.approx(via_published, abs=1e-5)
    # The refined value really is the inverse: going forward reproduces the input exactly.
    assert from_wgs84(*ours, "bd09") == pytest.approx((116.404, 39.915), abs=1e-9)


# --- round trips --------------------------------------------------------------------------


@pytest.mark.parametrize("crs", [CoordSystem.GCJ02, CoordSystem.BD09])
def test_round_trip_through_wgs84_on_grid(
    crs: CoordSystem, china_grid: tuple[np.ndarray, np.ndarray]
) -> None:
    lon, lat = china_grid
    wlon, wlat = to_wgs84(lon, lat, crs)
    back_lon, back_lat = from_wgs84(wlon, wlat, crs)
    assert np.max(np.abs(back_lon - lon)) < 1e-7
    assert np.max(np.abs(back_lat - lat)) < 1e-7
    assert np.max(metres(lon, lat, back_lon, back_lat)) < 0.01
    # The transform really moved the points (by tens to hundreds of metres).
    assert np.min(metres(lon, lat, wlon, wlat)) > 10


@pytest.mark.parametrize("crs", [CoordSystem.GCJ02, CoordSystem.BD09])
def test_round_trip_from_wgs84_on_grid(
    crs: CoordSystem, china_grid: tuple[np.ndarray, np.ndarray]
) -> None:
    lon, lat = china_grid
    back_lon, back_lat = to_wgs84(*from_wgs84(lon, lat, crs), crs)
    assert np.max(metres(lon, lat, back_lon, back_lat)) < 0.01


def test_iterative_inverse_beats_naive() -> None:
    """Why the iteration exists: the one-step inverse is off by metres."""
    glon, glat = 121.4737, 31.2304  # GCJ-02, central Shanghai
    f_lon, f_lat = from_wgs84(glon, glat, "gcj02")  # treat the GCJ point as WGS-84 once
    naive = (glon - (f_lon - glon), glat - (f_lat - glat))
    exact = to_wgs84(glon, glat, "gcj02")
    naive_miss = metres(*from_wgs84(*naive, "gcj02"), glon, glat)
    exact_miss = metres(*from_wgs84(*exact, "gcj02"), glon, glat)
    assert naive_miss > 1.0  # ~2 m here; up to ~5 m in the north-east
    assert exact_miss < 1e-3
    assert metres(*naive, *exact) > 1.0


def test_naive_inverse_matches_published_naive_value() -> None:
    glon, glat = 116.404, 39.915
    f_lon, f_lat = from_wgs84(glon, glat, "gcj02")
    naive = (2 * glon - f_lon, 2 * glat - f_lat)
    assert naive == pytest.approx(PUBLISHED_NAIVE_GCJ_TO_WGS, abs=1e-12)
    assert to_wgs84(glon, glat, "gcj02") != pytest.approx(naive, abs=1e-7)


def test_naive_inverse_is_off_by_metres_somewhere_in_china(
    china_grid: tuple[np.ndarray, np.ndarray],
) -> None:
    lon, lat = china_grid
    f_lon, f_lat = from_wgs84(lon, lat, "gcj02")
    naive_lon, naive_lat = 2 * lon - f_lon, 2 * lat - f_lat
    exact_lon, exact_lat = to_wgs84(lon, lat, "gcj02")
    assert np.max(metres(naive_lon, naive_lat, exact_lon, exact_lat)) > 3.0


# --- identity systems and outside China ---------------------------------------------------


@pytest.mark.parametrize(("lon", "lat"), OUTSIDE_CHINA)
def test_gcj02_is_identity_outside_china(lon: float, lat: float) -> None:
    assert from_wgs84(lon, lat, "gcj02") == (lon, lat)
    assert to_wgs84(lon, lat, "gcj02") == (lon, lat)


@pytest.mark.parametrize(("lon", "lat"), OUTSIDE_CHINA)
def test_bd09_still_round_trips_outside_china(lon: float, lat: float) -> None:
    # BD-09's own distortion applies everywhere (as in Baidu's and the published formulas).
    assert to_wgs84(*from_wgs84(lon, lat, "bd09"), "bd09") == pytest.approx((lon, lat), abs=1e-9)


def test_mixed_array_inside_and_outside_china() -> None:
    lon = np.array([116.404, 2.2945])
    lat = np.array([39.915, 48.8584])
    glon, glat = from_wgs84(lon, lat, "gcj02")
    assert glon[0] != lon[0] and glat[0] != lat[0]
    assert (glon[1], glat[1]) == (lon[1], lat[1])


@pytest.mark.parametrize("crs", [CoordSystem.WGS84, CoordSystem.CGCS2000, "wgs84", "cgcs2000"])
def test_wgs84_and_cgcs2000_are_identity(crs: str) -> None:
    assert to_wgs84(120.1, 30.3, crs) == (120.1, 30.3)
    assert from_wgs84(120.1, 30.3, crs) == (120.1, 30.3)


def test_unknown_crs_raises() -> None:
    with pytest.raises(ValueError):
        to_wgs84(120.1, 30.3, "epsg:3857")
    with pytest.raises(ValueError):
        from_wgs84(120.1, 30.3, "GCJ-02")


def test_coord_system_values() -> None:
    assert [s.value for s in CoordSystem] == ["wgs84", "gcj02", "bd09", "cgcs2000"]
    assert CoordSystem("bd09") is CoordSystem.BD09
    assert CoordSystem.GCJ02 == "gcj02"


# --- return types -------------------------------------------------------------------------


@pytest.mark.parametrize("crs", list(CoordSystem))
def test_scalars_return_floats(crs: CoordSystem) -> None:
    for func in (to_wgs84, from_wgs84):
        lon, lat = func(120.1, 30.3, crs)
        assert type(lon) is float and type(lat) is float
    lon, lat = to_wgs84(np.float64(120.1), 30, crs)  # numpy scalars and ints count as scalars
    assert type(lon) is float and type(lat) is float


@pytest.mark.parametrize("crs", list(CoordSystem))
def test_arrays_return_arrays_of_same_shape(crs: CoordSystem) -> None:
    lon = np.full((3, 4), 120.1)
    lat = np.full((3, 4), 30.3)
    for func in (to_wgs84, from_wgs84):
        out_lon, out_lat = func(lon, lat, crs)
        assert isinstance(out_lon, np.ndarray) and isinstance(out_lat, np.ndarray)
        assert out_lon.shape == out_lat.shape == (3, 4)
        assert out_lon.dtype == out_lat.dtype == np.float64
        assert out_lon is not lon and not np.shares_memory(out_lon, lon)


def test_array_results_match_scalar_results() -> None:
    lon = np.array([116.404, 121.4737, 87.6168])
    lat = np.array([39.915, 31.2304, 43.8256])
    for crs in ("gcj02", "bd09"):
        arr = to_wgs84(lon, lat, crs)
        # Arrays iterate until every point has converged, so results agree to ~1e-12, not 0.
        for i in range(lon.size):
            assert to_wgs84(float(lon[i]), float(lat[i]), crs) == pytest.approx(
                (arr[0][i], arr[1][i]), abs=1e-10
            )


def test_nan_propagates_without_hanging() -> None:
    lon, lat = to_wgs84(np.array([np.nan, 116.404]), np.array([39.9, 39.915]), "bd09")
    assert math.isnan(lon[0])
    assert from_wgs84(*(lon[1], lat[1]), "bd09") == pytest.approx((116.404, 39.915), abs=1e-9)


# --- validation ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("lon", "lat"), [(120.1, 30.3), (180.0, 90.0), (-180.0, -90.0), (0, 0), (np.float64(1), 2)]
)
def test_validate_lonlat_accepts(lon: float, lat: float) -> None:
    validate_lonlat(lon, lat)


@pytest.mark.parametrize(
    ("lon", "lat", "message"),
    [
        (float("nan"), 30.3, "longitude must be a finite number"),
        (120.1, float("inf"), "latitude must be a finite number"),
        (None, 30.3, "longitude must be a finite number, got None"),
        (120.1, "30.3", "latitude must be a finite number"),
        (180.5, 30.3, "longitude 180.5 is outside -180..180"),
        (-200.0, 30.3, "longitude -200.0 is outside"),
        (120.1, 90.01, "latitude 90.01 is outside -90..90"),
        (120.1, -91.0, "latitude -91.0 is outside"),
    ],
)
def test_validate_lonlat_rejects(lon: object, lat: object, message: str) -> None:
    with pytest.raises(CoordinateError, match=message) as info:
        validate_lonlat(lon, lat)  # type: ignore[arg-type]
    assert isinstance(info.value, ValueError)
    assert "swap" not in str(info.value)


def test_validate_lonlat_suggests_swap() -> None:
    with pytest.raises(CoordinateError, match=r"did you swap lat and lon\?"):
        validate_lonlat(30.3, 120.1)


@pytest.mark.parametrize(
    ("lon", "lat", "expected"),
    [
        (30.3, 120.1, True),
        (120.1, 30.3, False),
        (39.915, 116.404, True),
        (116.404, 39.915, False),
        (2.2945, 48.8584, False),  # Paris: neither order is in China
        (40.0, 50.0, False),  # neither order is in China
        (float("nan"), 30.3, False),
    ],
)
def test_looks_swapped(lon: float, lat: float, expected: bool) -> None:
    assert looks_swapped(lon, lat) is expected


# --- docs ---------------------------------------------------------------------------------


def test_docstring_examples() -> None:
    result = doctest.testmod(gis.coords, verbose=False, report=True)
    assert result.attempted > 0
    assert result.failed == 0


def test_public_functions_have_examples() -> None:
    for func in (to_wgs84, from_wgs84, validate_lonlat, looks_swapped):
        assert func.__doc__ is not None and "Examples\n    --------" in func.__doc__
    assert gis.coords.__doc__ is not None and "x = lon" in gis.coords.__doc__
