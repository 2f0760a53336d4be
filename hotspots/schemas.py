"""Request parameters of a hot-spot analysis (validated, canonical, hashable for the cache)."""

from __future__ import annotations

import hashlib
import re
from datetime import datetime
from enum import StrEnum
from typing import Any

import orjson
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from incidents.models import STATUSES

GRID = re.compile(
    r"^(?:h3:(?P<res>[0-9]+)|square:(?P<size>[0-9]+)|(?P<layer>town|community|property_area))$"
)
ADMIN_LAYERS = ("town", "community", "property_area")


class Method(StrEnum):
    """What to compute per cell."""

    count = "count"  # type: ignore[assignment]  # shadows str.count on purpose
    gi_star = "gi_star"
    local_moran = "local_moran"
    kde = "kde"
    emerging = "emerging"


class Interval(StrEnum):
    """Time bins of the emerging-hot-spot trend (pandas period codes as values)."""

    week = "W"
    month = "M"
    quarter = "Q"


class Format(StrEnum):
    """The answer's format: GeoJSON/JSON, or a PNG image (density surface only)."""

    json = "json"
    png = "png"


#: The widest H3 neighbourhood (gis.neighbours.h3_ring): k rings.
MAX_H3_RING = 5

#: The permutation counts an analysis may ask for: a few fixed values, so that varying the
#: count cannot make every request a cache miss (each value is one cache entry at most).
PERMUTATIONS = (0, 99, 199, 499, 999, 4999, 9999)


class HotspotQuery(BaseModel):
    """One analysis: method, grid, case filters and the statistic's settings."""

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)

    method: Method = Method.gi_star
    grid: str = Field(
        default="h3:9", description="h3:7..10 | square:<metres> | town | community | property_area"
    )
    type: str | None = Field(default=None, description="violation type code")
    agency: str | None = Field(default=None, description="handling party (agency code)")
    scope: str | None = None
    status: str | None = Field(default=None, description="comma-separated statuses")
    from_: datetime | None = Field(default=None, alias="from", description="cases reported from")
    to: datetime | None = Field(default=None, description="cases reported before")
    town: str | None = Field(default=None, description="town/street code")
    permutations: int = Field(
        default=999, ge=0, le=9999, description="one of 0, 99, 199, 499, 999, 4999, 9999"
    )
    k: int = Field(
        default=1, ge=1, le=12, description="H3 ring k; k nearest areas for admin layers"
    )
    fdr: bool = True
    interval: Interval = Interval.month
    bandwidth_m: float | None = Field(default=None, ge=50, le=20_000)
    size: int = Field(default=500, ge=50, le=2000, description="KDE raster cells per side")
    format: Format = Format.json

    @field_validator("grid")
    @classmethod
    def _grid(cls, value: str) -> str:
        m = GRID.match(value)
        if not m:
            raise ValueError(
                "grid must be h3:7..10, square:<metres>, town, community or property_area"
            )
        if m["res"] is not None and not 7 <= int(m["res"]) <= 10:
            raise ValueError("H3 resolution must be 7 to 10")
        if m["size"] is not None and not 50 <= int(m["size"]) <= 5000:
            raise ValueError("square cells must be 50 to 5,000 m")
        return value

    @field_validator("permutations")
    @classmethod
    def _permutations(cls, value: int) -> int:
        if value not in PERMUTATIONS:
            raise ValueError(
                f"permutations must be one of {', '.join(str(p) for p in PERMUTATIONS)}"
            )
        return value

    @field_validator("status")
    @classmethod
    def _status(cls, value: str | None) -> str | None:
        if value is None:
            return None
        items = sorted({s.strip() for s in value.split(",") if s.strip()})
        unknown = [s for s in items if s not in STATUSES]
        if unknown:
            raise ValueError(f"unknown status {', '.join(unknown)}")
        return ",".join(items) or None

    @model_validator(mode="after")
    def _consistent(self) -> HotspotQuery:
        if self.from_ and self.to and self.from_ >= self.to:
            raise ValueError("'from' must be before 'to'")
        if self.format is Format.png and self.method is not Method.kde:
            raise ValueError("format=png is only for method=kde")
        if self.method is Method.local_moran and self.permutations < 99:
            raise ValueError("local_moran needs at least 99 permutations")
        if self.grid.startswith("h3:") and self.k > MAX_H3_RING:
            raise ValueError(f"with an H3 grid, k is 1 to {MAX_H3_RING} rings")
        return self

    @property
    def grid_kind(self) -> tuple[str, int | None]:
        """(``h3`` | ``square`` | a layer name, resolution or cell size)."""
        m = GRID.match(self.grid)
        assert m is not None
        if m["res"] is not None:
            return "h3", int(m["res"])
        if m["size"] is not None:
            return "square", int(m["size"])
        return str(m["layer"]), None

    @property
    def statuses(self) -> list[str] | None:
        """The status filter as a list."""
        return self.status.split(",") if self.status else None

    def echo(self) -> dict[str, Any]:
        """The parameters as answered (only those that matter for the method)."""
        out = self.model_dump(mode="json", by_alias=True)
        if self.method is not Method.kde:
            for name in ("bandwidth_m", "size"):
                out.pop(name)
        if self.method is not Method.emerging:
            out.pop("interval")
        return out

    def cache_hash(self) -> str:
        """SHA-256 of the canonical parameters."""
        return hashlib.sha256(orjson.dumps(self.echo(), option=orjson.OPT_SORT_KEYS)).hexdigest()
