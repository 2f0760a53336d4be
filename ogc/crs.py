"""The coordinate reference systems the OGC API serves (Part 2, CRS by reference).

The store holds EPSG:4326 in (lon, lat) order, which is CRS84 — the default of every answer.
A client may ask for EPSG:4326 or EPSG:4490 (CGCS2000) in their own axis order (latitude
first), or for the district's CGCS2000 3-degree Gauss-Krüger zone (EPSG:4534–4554: the zone of
the central meridian nearest the district's centre; northing first, as EPSG defines it).
CGCS2000 and WGS 84 differ by centimetres and no published transformation separates them, so
PROJ's transformation between them is the identity (as in ``gis/coords.py``).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from pyproj import CRS

from ogc.exceptions import InvalidParameter

CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
EPSG_URI = "http://www.opengis.net/def/crs/EPSG/0/{code}"
#: CGCS2000 / 3-degree Gauss-Kruger CM 75E … CM 135E (no zone prefix in the easting).
GK_FIRST_EPSG, GK_FIRST_CM, GK_LAST_CM = 4534, 75, 135


@dataclass(frozen=True)
class CrsRef:
    """One CRS a response can be in: its URI, SRID, axis order and output precision."""

    uri: str
    srid: int
    north_first: bool
    digits: int  # decimals written: 9 for degrees (< 1 mm), 3 for metres (1 mm)


def gauss_kruger_epsg(lon: float) -> int:
    """The EPSG code of the CGCS2000 3-degree Gauss-Krüger zone whose central meridian is
    nearest ``lon`` (120.2°E → CM 120E → EPSG:4549; 114.1°E → CM 114E → EPSG:4547)."""
    cm = min(max(3 * round(lon / 3), GK_FIRST_CM), GK_LAST_CM)
    return GK_FIRST_EPSG + (cm - GK_FIRST_CM) // 3


@lru_cache(maxsize=64)
def _epsg(code: int) -> CrsRef:
    crs = CRS.from_epsg(code)
    north_first = crs.axis_info[0].direction.lower() == "north"
    return CrsRef(EPSG_URI.format(code=code), code, north_first, 9 if crs.is_geographic else 3)


DEFAULT = CrsRef(CRS84, 4326, False, 9)


def supported(gk_epsg: int | None) -> list[CrsRef]:
    """The CRSs a collection offers: CRS84 first (the default), then EPSG:4326, EPSG:4490 and
    the district's Gauss-Krüger zone (when the district has towns to place it)."""
    codes = [4326, 4490] + ([gk_epsg] if gk_epsg else [])
    return [DEFAULT, *(_epsg(c) for c in codes)]


def parse(value: str | None, gk_epsg: int | None, *, name: str = "crs") -> CrsRef:
    """The CRS a ``crs`` / ``bbox-crs`` value names; :class:`InvalidParameter` (400) for any
    other, with the list of those supported."""
    if value is None or value == "":
        return DEFAULT
    wanted = value.strip().strip("[]")  # a safe CURIE [EPSG:4326] is read like the URI
    if wanted.upper().startswith("EPSG:"):
        wanted = EPSG_URI.format(code=wanted[5:])
    for ref in supported(gk_epsg):
        if ref.uri == wanted.replace("https://", "http://"):
            return ref
    uris = ", ".join(r.uri for r in supported(gk_epsg))
    raise InvalidParameter(f"{name} {value!r} is not supported; use one of: {uris}")
