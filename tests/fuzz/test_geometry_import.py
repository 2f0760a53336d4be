"""Hypothesis on the boundary import (``reliability/fuzz_geometry.py`` has the generator):
every bad layer refused with a reason, every good one imported, nothing else raised."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pytest
from hypothesis import HealthCheck, given, settings
from shapely.geometry import box
from sqlalchemy import Connection

from gis.validation import validate_layer
from reliability.fuzz_geometry import Example, cell, check_file, check_frame, layers

EXAMPLES = 100
SETTINGS = settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
@SETTINGS
@given(example=layers())
def test_files_are_imported_or_refused_with_a_reason(
    conn: Connection, tmp_path: Path, example: Example
) -> None:
    check_file(conn, example, tmp_path)


@SETTINGS
@given(example=layers())
def test_frames_handed_over_directly_and_repaired(conn: Connection, example: Example) -> None:
    check_frame(conn, example)


def test_out_of_range_coordinates_are_a_problem_not_a_crash() -> None:
    """Found by the fuzzing: a swapped (lat, lon) polygon made the metric projection fail."""
    corner, far = cell(0, 0)[0], cell(0, 0)[2]
    frame = gpd.GeoDataFrame(
        {"code": ["A", "B", "C"]},
        geometry=[box(30.0, 120.0, 30.01, 120.01), box(200, 30, 200.01, 30.01), box(*corner, *far)],
        crs="EPSG:4326",
    )
    problems = validate_layer(frame, layer="town")
    assert [(p.kind, p.codes) for p in problems] == [
        ("out_of_range", ("A",)),
        ("out_of_range", ("B",)),
    ]
    assert "swapped" in problems[0].message
