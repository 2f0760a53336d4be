"""Pydantic shapes of the jurisdictions API (requests validated, answers documented)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from gis.coords import CoordSystem


class Point(BaseModel):
    lon: float
    lat: float


class TownOut(BaseModel):
    code: str
    name: str
    kind: str


class AreaOut(BaseModel):
    code: str
    name: str


class PropertyAreaOut(AreaOut):
    property_company: str = Field(description="Empty when the estate has no property company.")
    owners_committee: bool


class ResolveOut(BaseModel):
    """Whose territory a point is in (the point in WGS-84/CGCS2000 after conversion)."""

    point: Point
    generation: dict[str, int] = Field(description="Generation id used per layer.")
    town: TownOut | None
    community: AreaOut | None
    property_area: PropertyAreaOut | None
    agency_units: dict[str, AreaOut] = Field(description="Field unit per agency code.")
    ambiguous: bool = Field(description="True when the point is on a border of two areas.")
    candidates: dict[str, list[str]] = Field(description="Every covering code, per layer.")


class NearestOut(BaseModel):
    layer: str
    code: str
    name: str
    distance_m: float


class PointErrorOut(BaseModel):
    """Why a point cannot be resolved (the API's error body, with the nearest town)."""

    code: str
    message: str
    nearest: NearestOut | None = None


class BatchIn(BaseModel):
    """Up to ``batch_max_points`` points, ``[lon, lat]`` each, in one coordinate system."""

    points: list[tuple[float, float]] = Field(min_length=1)
    crs: CoordSystem = CoordSystem.WGS84
    at: datetime | None = None


class BatchItemError(BaseModel):
    error: PointErrorOut


class BatchOut(BaseModel):
    generation: dict[str, int]
    results: list[ResolveOut | BatchItemError]


class GenerationOut(BaseModel):
    id: int
    layer: str
    agency: str
    source: str
    feature_count: int
    created_at: datetime
    active: bool
    periods: list[dict[str, Any]]
