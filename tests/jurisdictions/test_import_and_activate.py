"""The boundary-import use case, `generations.import_and_activate`, called as the CLI and the
sample loader call it: a file on disk becomes a generation, active (with the open cases moved)
only when asked, within the file limits of the settings."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Connection, text
from support import HOLE, box, collection, feature, file_report, type_of

from gis.exceptions import BoundaryFileError
from jurisdictions.generations import import_and_activate, list_generations
from jurisdictions.service import resolve_one
from shudi.settings import get_settings

#: The mini district's towns with the T1/T2 border moved west from x = 120.02 to x = 120.01
#: (tests/support.py draws T1 as 120.00–120.02 and T2 as 120.02–120.04, both 30.00–30.02).
MOVED_BORDER = collection(
    feature("T1", "甲街道", [box(120.00, 30.00, 120.01, 30.02), HOLE]),
    feature("T2", "乙镇", [[box(120.01, 30.00, 120.04, 30.02)], [HOLE]]),
)
EAST_OF_NEW_BORDER = (120.012, 30.015)  # in T1 before, in T2 after


@pytest.fixture
def towns_file(tmp_path: Path) -> Path:
    path = tmp_path / "towns_v2.geojson"
    path.write_text(json.dumps(MOVED_BORDER), encoding="utf-8")
    return path


@pytest.fixture
def one_feature_files() -> Iterator[None]:
    mp = pytest.MonkeyPatch()
    mp.setenv("SHUDI_BOUNDARY_MAX_FEATURES", "1")
    get_settings.cache_clear()
    try:
        yield
    finally:
        mp.undo()
        get_settings.cache_clear()


def test_activated_import_moves_the_open_cases(
    conn: Connection, world: dict, towns_file: Path
) -> None:
    case = file_report(conn, EAST_OF_NEW_BORDER, type_of(conn, agency="urban_management"))

    def town_of_case() -> str:
        sql = text("SELECT town_code FROM case_file WHERE id = :i")
        return str(conn.execute(sql, {"i": case["id"]}).scalar_one())

    assert town_of_case() == "T1"
    result = import_and_activate(
        conn, path=towns_file, layer="town", activate=True, description="border moved"
    )
    assert (result.activated, result.feature_count, result.moved) == (True, 2, 1)
    assert resolve_one(conn, lon=120.012, lat=30.015).town.code == "T2"
    assert town_of_case() == "T2"
    row = next(g for g in list_generations(conn) if g["id"] == result.generation_id)
    assert row["active"] and row["source"] == str(towns_file)


def test_import_without_activation_changes_no_answer(
    conn: Connection, mini: dict, towns_file: Path
) -> None:
    result = import_and_activate(conn, path=towns_file, layer="town", activate=False)
    assert not result.activated and result.moved == 0
    answer = resolve_one(conn, lon=120.012, lat=30.015)
    assert answer.town.code == "T1" and answer.generations["town"] == mini["town"]


def test_the_settings_cap_the_file(
    conn: Connection, mini: dict, towns_file: Path, one_feature_files: None
) -> None:
    with pytest.raises(BoundaryFileError, match="more than"):
        import_and_activate(conn, path=towns_file, layer="town", activate=True)
    assert resolve_one(conn, lon=120.012, lat=30.015).town.code == "T1"
