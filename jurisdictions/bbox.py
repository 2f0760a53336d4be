"""A bounding box given as ``xmin,ymin,xmax,ymax`` text (lon/lat), checked the same way for
every map and feed that takes one (boundaries, cases, places)."""

from __future__ import annotations

from jurisdictions.exceptions import InvalidCoordinates
from shudi.settings import get_settings


def parse_bbox(raw: str) -> tuple[float, float, float, float]:
    """``xmin,ymin,xmax,ymax`` → a tuple, with a clear error for anything else (also for a box
    larger than ``SHUDI_MAX_BBOX_DEG2``)."""
    try:
        xmin, ymin, xmax, ymax = (float(v) for v in raw.split(","))
    except ValueError as exc:
        raise InvalidCoordinates(f"bbox must be xmin,ymin,xmax,ymax; got {raw!r}") from exc
    if not (-180 <= xmin < xmax <= 180 and -90 <= ymin < ymax <= 90):
        raise InvalidCoordinates(f"bbox {raw!r} is empty or out of range (lon first, then lat)")
    cap = get_settings().max_bbox_deg2
    if (xmax - xmin) * (ymax - ymin) > cap:
        raise InvalidCoordinates(
            f"bbox {raw!r} covers {(xmax - xmin) * (ymax - ymin):.1f} square degrees, more than "
            f"the {cap:g} allowed; zoom in, or leave bbox out for the whole service area"
        )
    return xmin, ymin, xmax, ymax
