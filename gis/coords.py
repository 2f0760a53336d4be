"""Conversions between the coordinate systems Chinese phones and web maps use, and WGS-84.

Coordinate systems (:class:`CoordSystem`):

``wgs84``
    GPS / international standard. This is the system the rest of Shudi stores.
``cgcs2000``
    China Geodetic Coordinate System 2000 (geographic, EPSG:4490). Its ellipsoid and frame
    differ from WGS-84 by centimetres, far below the accuracy of phone positions, so it is
    treated as *identical* to WGS-84 here (no transformation is applied).
``gcj02``
    The obfuscated "Mars" system (国测局坐标) required for maps published in China; used by
    AMap/Gaode, Tencent, Apple Maps in China and the Chinese WeChat location APIs. It is
    WGS-84 plus a non-linear offset of a few hundred metres computed on the Krasovsky
    ellipsoid (``a = 6378245.0``, ``ee = 0.00669342162296594323``).
``bd09``
    Baidu's system: GCJ-02 with a second, polar-coordinate distortion on top.

Outside China the GCJ-02 offset is not applied. As in the published reference
implementations, "China" is the rough bounding box lon 72.004–137.8347, lat 0.8293–55.8271
(it also covers neighbouring countries; Shudi only serves Chinese districts). In the inverse
the box test is applied to the given GCJ-02 point.

GCJ-02 → WGS-84 has no closed form; it is solved by fixed-point iteration to 1e-9 degrees
(sub-millimetre); the naive one-step inverse of many libraries is off by up to metres. The
published BD-09 → GCJ-02 formula is also approximate (~0.2 m), so it only seeds the same
iteration. BD-09 → WGS-84 goes through GCJ-02.

**Axis order:** longitude comes first everywhere in this module (x = lon, y = lat), as in
GeoJSON and shapely, even though phones and many Chinese APIs say "lat, lon".
"""

import math
import numbers
from collections.abc import Callable
from enum import StrEnum
from typing import Any, overload

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
_Transform = Callable[[FloatArray, FloatArray], tuple[FloatArray, FloatArray]]

_A = 6378245.0  # Krasovsky 1940 semi-major axis (m)
_EE = 0.00669342162296594323  # Krasovsky 1940 first eccentricity squared
_X_PI = math.pi * 3000.0 / 180.0
_CHINA_BOX = (72.004, 0.8293, 137.8347, 55.8271)  # lon_min, lat_min, lon_max, lat_max
_TOL_DEG = 1e-9
_MAX_ITER = 30


class CoordSystem(StrEnum):
    """Geographic coordinate systems accepted from clients (see the module docstring)."""

    WGS84 = "wgs84"
    GCJ02 = "gcj02"
    BD09 = "bd09"
    CGCS2000 = "cgcs2000"


class CoordinateError(ValueError):
    """A coordinate is not a usable longitude/latitude pair."""


def _in_china(lon: FloatArray, lat: FloatArray) -> npt.NDArray[np.bool_]:
    x0, y0, x1, y1 = _CHINA_BOX
    return (lon >= x0) & (lon <= x1) & (lat >= y0) & (lat <= y1)


def _gcj_offset(lon: FloatArray, lat: FloatArray) -> tuple[FloatArray, FloatArray]:
    """GCJ-02 minus WGS-84 (degrees) at a WGS-84 point, ignoring the China box."""
    x, y = lon - 105.0, lat - 35.0
    pi = math.pi
    common = 0.1 * x * y + (20.0 * np.sin(6.0 * x * pi) + 20.0 * np.sin(2.0 * x * pi)) * 2 / 3
    dlat = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.2 * np.sqrt(np.abs(x)) + common
    dlat += (20.0 * np.sin(y * pi) + 40.0 * np.sin(y / 3.0 * pi)) * 2.0 / 3.0
    dlat += (160.0 * np.sin(y / 12.0 * pi) + 320.0 * np.sin(y * pi / 30.0)) * 2.0 / 3.0
    dlon = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * np.sqrt(np.abs(x)) + common
    dlon += (20.0 * np.sin(x * pi) + 40.0 * np.sin(x / 3.0 * pi)) * 2.0 / 3.0
    dlon += (150.0 * np.sin(x / 12.0 * pi) + 300.0 * np.sin(x / 30.0 * pi)) * 2.0 / 3.0
    radlat = np.radians(lat)
    magic = 1.0 - _EE * np.sin(radlat) ** 2
    sqrtmagic = np.sqrt(magic)
    dlat = (dlat * 180.0) / ((_A * (1.0 - _EE)) / (magic * sqrtmagic) * pi)
    dlon = (dlon * 180.0) / (_A / sqrtmagic * np.cos(radlat) * pi)
    return dlon, dlat


def _wgs84_to_gcj02(lon: FloatArray, lat: FloatArray) -> tuple[FloatArray, FloatArray]:
    dlon, dlat = _gcj_offset(lon, lat)
    inside = _in_china(lon, lat)
    return np.where(inside, lon + dlon, lon), np.where(inside, lat + dlat, lat)


def _fixed_point_inverse(
    forward: _Transform, lon: FloatArray, lat: FloatArray, guess: tuple[FloatArray, FloatArray]
) -> tuple[FloatArray, FloatArray]:
    """Solve ``forward(x, y) == (lon, lat)`` by x <- x - (forward(x) - target)."""
    x, y = guess
    for _ in range(_MAX_ITER):
        fx, fy = forward(x, y)
        err_x, err_y = fx - lon, fy - lat
        x, y = x - err_x, y - err_y
        if not np.any(np.maximum(np.abs(err_x), np.abs(err_y)) > _TOL_DEG):
            break  # converged (NaN inputs also end here)
    return x, y


def _gcj02_to_wgs84(lon: FloatArray, lat: FloatArray) -> tuple[FloatArray, FloatArray]:
    def forward(x: FloatArray, y: FloatArray) -> tuple[FloatArray, FloatArray]:
        dx, dy = _gcj_offset(x, y)
        return x + dx, y + dy

    # The first step from (lon, lat) is the naive inverse ``gcj - offset(gcj)``.
    wlon, wlat = _fixed_point_inverse(forward, lon, lat, (lon, lat))
    inside = _in_china(lon, lat)
    return np.where(inside, wlon, lon), np.where(inside, wlat, lat)


def _gcj02_to_bd09(lon: FloatArray, lat: FloatArray) -> tuple[FloatArray, FloatArray]:
    z = np.hypot(lon, lat) + 0.00002 * np.sin(lat * _X_PI)
    theta = np.arctan2(lat, lon) + 0.000003 * np.cos(lon * _X_PI)
    return z * np.cos(theta) + 0.0065, z * np.sin(theta) + 0.006


def _bd09_to_gcj02(lon: FloatArray, lat: FloatArray) -> tuple[FloatArray, FloatArray]:
    # The published formula is only an approximate inverse of _gcj02_to_bd09 (errors up to
    # ~2e-6 degrees, ~0.2 m); use it as the starting guess and refine to _TOL_DEG.
    x, y = lon - 0.0065, lat - 0.006
    z = np.hypot(x, y) - 0.00002 * np.sin(y * _X_PI)
    theta = np.arctan2(y, x) - 0.000003 * np.cos(x * _X_PI)
    return _fixed_point_inverse(_gcj02_to_bd09, lon, lat, (z * np.cos(theta), z * np.sin(theta)))


@overload
def to_wgs84(lon: float, lat: float, crs: CoordSystem | str) -> tuple[float, float]: ...
@overload
def to_wgs84(
    lon: npt.NDArray[Any], lat: npt.NDArray[Any], crs: CoordSystem | str
) -> tuple[FloatArray, FloatArray]: ...
def to_wgs84(lon: Any, lat: Any, crs: CoordSystem | str) -> tuple[Any, Any]:
    """Convert longitude/latitude in ``crs`` to WGS-84.

    Parameters
    ----------
    lon, lat : float or numpy.ndarray
        Longitude and latitude in degrees (broadcast against each other).
    crs : CoordSystem or str
        The system of the input, e.g. ``"gcj02"``; an unknown name raises ``ValueError``.

    Returns
    -------
    tuple
        ``(lon, lat)`` in WGS-84; floats for scalar input, float64 arrays otherwise.

    Examples
    --------
    >>> lon, lat = to_wgs84(116.41024449916938, 39.91640428150164, "gcj02")
    >>> round(lon, 9), round(lat, 9)
    (116.404, 39.915)
    >>> lon, lat = to_wgs84(116.41036949371029, 39.92133699351021, CoordSystem.BD09)
    >>> round(lon, 6), round(lat, 6)
    (116.397756, 39.913596)
    >>> to_wgs84(2.2945, 48.8584, "gcj02")  # Paris is outside China: unchanged
    (2.2945, 48.8584)
    >>> to_wgs84(np.array([120.1]), np.array([30.3]), "cgcs2000")
    (array([120.1]), array([30.3]))
    """
    system = CoordSystem(crs)
    x, y, scalar = _as_arrays(lon, lat)
    if system is CoordSystem.BD09:
        x, y = _bd09_to_gcj02(x, y)
    if system in (CoordSystem.GCJ02, CoordSystem.BD09):
        x, y = _gcj02_to_wgs84(x, y)
    return _out(x, y, scalar)


@overload
def from_wgs84(lon: float, lat: float, crs: CoordSystem | str) -> tuple[float, float]: ...
@overload
def from_wgs84(
    lon: npt.NDArray[Any], lat: npt.NDArray[Any], crs: CoordSystem | str
) -> tuple[FloatArray, FloatArray]: ...
def from_wgs84(lon: Any, lat: Any, crs: CoordSystem | str) -> tuple[Any, Any]:
    """Convert WGS-84 longitude/latitude to ``crs`` (e.g. to draw on a GCJ-02 basemap).

    Parameters
    ----------
    lon, lat : float or numpy.ndarray
        WGS-84 longitude and latitude in degrees (broadcast against each other).
    crs : CoordSystem or str
        The target system; an unknown name raises ``ValueError``.

    Returns
    -------
    tuple
        ``(lon, lat)`` in ``crs``; floats for scalar input, float64 arrays otherwise.

    Examples
    --------
    >>> lon, lat = from_wgs84(116.404, 39.915, "gcj02")
    >>> round(lon, 9), round(lat, 9)
    (116.410244499, 39.916404282)
    >>> lon, lat = from_wgs84(np.array([116.404, 121.4737]), np.array([39.915, 31.2304]), "bd09")
    >>> np.round(lon, 6).tolist(), np.round(lat, 6).tolist()
    ([116.416627, 121.484781], [39.9227, 31.234311])
    """
    system = CoordSystem(crs)
    x, y, scalar = _as_arrays(lon, lat)
    if system in (CoordSystem.GCJ02, CoordSystem.BD09):
        x, y = _wgs84_to_gcj02(x, y)
    if system is CoordSystem.BD09:
        x, y = _gcj02_to_bd09(x, y)
    return _out(x, y, scalar)


def _as_arrays(lon: Any, lat: Any) -> tuple[FloatArray, FloatArray, bool]:
    scalar = np.ndim(lon) == 0 and np.ndim(lat) == 0
    x, y = np.broadcast_arrays(np.asarray(lon, dtype=np.float64), np.asarray(lat, np.float64))
    return x, y, scalar


def _out(x: FloatArray, y: FloatArray, scalar: bool) -> tuple[Any, Any]:
    return (float(x), float(y)) if scalar else (np.array(x), np.array(y))


def validate_lonlat(lon: float, lat: float) -> None:
    """Raise :class:`CoordinateError` unless ``(lon, lat)`` is a finite, in-range pair.

    Parameters
    ----------
    lon, lat : float
        Longitude and latitude in degrees.

    Raises
    ------
    CoordinateError
        If either value is not a finite number, ``|lon| > 180`` or ``|lat| > 90``.

    Examples
    --------
    >>> validate_lonlat(120.1, 30.3)
    >>> validate_lonlat(120.1, float("nan"))
    Traceback (most recent call last):
    ...
    gis.coords.CoordinateError: latitude must be a finite number, got nan
    >>> validate_lonlat(30.3, 120.1)
    Traceback (most recent call last):
    ...
    gis.coords.CoordinateError: latitude 120.1 is outside -90..90 (did you swap lat and lon?)
    """
    for name, value in (("longitude", lon), ("latitude", lat)):
        if not (isinstance(value, numbers.Real) and math.isfinite(value)):
            raise CoordinateError(f"{name} must be a finite number, got {value!r}")
    hint = " (did you swap lat and lon?)" if looks_swapped(lon, lat) else ""
    if abs(lon) > 180.0:
        raise CoordinateError(f"longitude {lon} is outside -180..180{hint}")
    if abs(lat) > 90.0:
        raise CoordinateError(f"latitude {lat} is outside -90..90{hint}")


def looks_swapped(lon: float, lat: float) -> bool:
    """Tell whether ``(lon, lat)`` was probably given as ``(lat, lon)``.

    True when the point is outside China's rough bounding box but the swapped point is
    inside it.

    Examples
    --------
    >>> looks_swapped(30.3, 120.1)
    True
    >>> looks_swapped(120.1, 30.3)
    False
    """
    x0, y0, x1, y1 = _CHINA_BOX
    as_given = x0 <= lon <= x1 and y0 <= lat <= y1
    swapped = x0 <= lat <= x1 and y0 <= lon <= y1
    return not as_given and swapped


def looks_swapped_array(lon: FloatArray, lat: FloatArray) -> npt.NDArray[np.bool_]:
    """:func:`looks_swapped` for arrays of points."""
    with np.errstate(invalid="ignore"):
        return ~_in_china(lon, lat) & _in_china(lat, lon)
