"""Reading an ``/items`` request's query: paging, ``bbox``/``bbox-crs``, ``datetime``, ``crs``
and the collection's property filters. Every problem is an :class:`InvalidParameter` (400)
that names the parameter, as OGC API – Features Core requires (unknown parameters too)."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from ogc import crs
from ogc.exceptions import InvalidParameter

DEFAULT_LIMIT = 100
MAX_LIMIT = 10_000
#: Parameters every items request may carry (``f``: only ``json``/``geojson``: no HTML).
COMMON = ("limit", "offset", "bbox", "bbox-crs", "datetime", "crs", "f")
FORMATS = ("json", "geojson")


@dataclass(frozen=True)
class Interval:
    """A closed time interval; ``None`` at an end is open (``..``)."""

    start: datetime | None
    end: datetime | None


@dataclass(frozen=True)
class ItemsQuery:
    """One validated items request."""

    limit: int = DEFAULT_LIMIT
    offset: int = 0
    bbox: tuple[float, float, float, float] | None = None  # x/y order in bbox_crs
    bbox_crs: crs.CrsRef = crs.DEFAULT
    datetime: Interval | None = None
    out_crs: crs.CrsRef = crs.DEFAULT
    filters: dict[str, str] = field(default_factory=dict)
    generation: int | None = None


def _int(raw: str, name: str, low: int, high: int) -> int:
    try:
        value = int(raw)
    except ValueError:
        raise InvalidParameter(f"{name} must be a whole number; got {raw!r}") from None
    if not low <= value <= high:
        raise InvalidParameter(f"{name} must be between {low} and {high}; got {value}")
    return value


def parse_bbox(raw: str, ref: crs.CrsRef) -> tuple[float, float, float, float]:
    """Four numbers, lower corner then upper corner in ``ref``'s axis order, returned as
    ``xmin, ymin, xmax, ymax`` (x = longitude / easting)."""
    try:
        values = [float(v) for v in raw.split(",")]
    except ValueError:
        raise InvalidParameter(
            f"bbox must be four numbers separated by commas; got {raw!r}"
        ) from None
    if len(values) == 6:
        raise InvalidParameter("bbox with heights (six numbers) is not supported: give four")
    if len(values) != 4 or not all(math.isfinite(v) for v in values):
        raise InvalidParameter(f"bbox must be four finite numbers; got {raw!r}")
    a1, a2, b1, b2 = values
    xmin, ymin, xmax, ymax = (a2, a1, b2, b1) if ref.north_first else (a1, a2, b1, b2)
    if xmin > xmax or ymin > ymax:
        raise InvalidParameter(f"bbox {raw!r}: the lower corner must come first")
    if ref.srid in (4326, 4490) and not (-180 <= xmin <= xmax <= 180 and -90 <= ymin <= 90):
        order = "latitude first" if ref.north_first else "longitude first"
        raise InvalidParameter(f"bbox {raw!r} is out of range ({order} in {ref.uri})")
    return xmin, ymin, xmax, ymax


def _instant(raw: str) -> datetime:
    try:
        value = datetime.fromisoformat(raw.strip())
    except ValueError:
        raise InvalidParameter(
            f"datetime {raw!r} is not an RFC 3339 date-time, e.g. 2026-12-01T09:30:00+08:00"
        ) from None
    if value.tzinfo is None:
        raise InvalidParameter(f"datetime {raw!r} needs a time zone (Z or +08:00)")
    return value


def parse_datetime(raw: str) -> Interval:
    """An instant, or ``start/end`` with ``..`` or nothing for an open end."""
    if "/" not in raw:
        at = _instant(raw)
        return Interval(at, at)
    start_raw, _, end_raw = raw.partition("/")
    start = None if start_raw in ("", "..") else _instant(start_raw)
    end = None if end_raw in ("", "..") else _instant(end_raw)
    if start is None and end is None:
        raise InvalidParameter("datetime '../..' bounds nothing: give at least one end")
    if start and end and start > end:
        raise InvalidParameter(f"datetime {raw!r}: the start is after the end")
    return Interval(start, end)


def check_format(query: Mapping[str, str]) -> None:
    """``f`` may only ask for JSON (the API serves no HTML)."""
    f = query.get("f")
    if f is not None and f not in FORMATS:
        raise InvalidParameter(f"f={f!r}: this API answers JSON only (f=json)")


def check_known(query: Mapping[str, str], allowed: Sequence[str]) -> None:
    """400 for a parameter the resource does not define."""
    unknown = sorted(set(query) - set(allowed))
    if unknown:
        raise InvalidParameter(
            f"unknown parameter(s) {', '.join(unknown)}; this resource takes: "
            + ", ".join(allowed),
            unknown=unknown,
        )


def parse_items(
    query: Mapping[str, str],
    *,
    queryables: Sequence[str],
    generations: bool,
    gk_epsg: int | None,
) -> ItemsQuery:
    """Validate an items request of a collection with these property filters (and the
    ``generation`` parameter when it is a boundary layer)."""
    extra = ("generation",) if generations else ()
    check_known(query, (*COMMON, *queryables, *extra))
    check_format(query)
    bbox_crs = crs.parse(query.get("bbox-crs"), gk_epsg, name="bbox-crs")
    if "bbox-crs" in query and "bbox" not in query:
        raise InvalidParameter("bbox-crs without bbox")
    filters = {k: query[k] for k in queryables if k in query}
    for name, value in filters.items():
        if not value or len(value) > 200:
            raise InvalidParameter(f"{name} must be 1 to 200 characters")
    return ItemsQuery(
        limit=_int(query["limit"], "limit", 1, MAX_LIMIT) if "limit" in query else DEFAULT_LIMIT,
        offset=_int(query["offset"], "offset", 0, 10**9) if "offset" in query else 0,
        bbox=parse_bbox(query["bbox"], bbox_crs) if "bbox" in query else None,
        bbox_crs=bbox_crs,
        datetime=parse_datetime(query["datetime"]) if "datetime" in query else None,
        out_crs=crs.parse(query.get("crs"), gk_epsg),
        filters=filters,
        generation=(
            _int(query["generation"], "generation", 1, 2**31 - 1) if "generation" in query else None
        ),
    )


def parse_feature(query: Mapping[str, str], *, gk_epsg: int | None) -> crs.CrsRef:
    """A single-feature request takes only ``crs`` (and ``f``)."""
    check_known(query, ("crs", "f"))
    check_format(query)
    return crs.parse(query.get("crs"), gk_epsg)
