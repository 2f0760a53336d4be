"""``shudi cases import`` end to end (subprocess, own database): the summary, bad rows on
stderr by line (capped, all in ``--errors``), ``--strict`` and re-import."""

from __future__ import annotations

import csv
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import text
from support import IN_P111, IN_T2, load_mini, type_of

from jurisdictions import catalog
from shudi.database import make_engine

SHUDI = str(Path(sys.executable).with_name("shudi"))
HEADER = "lon,lat,crs,type,reported_at,closed_at,status,description\n"


def run(url: str, *args: str) -> subprocess.CompletedProcess:
    env = os.environ | {"SHUDI_DATABASE_URL": url, "COLUMNS": "200"}
    return subprocess.run([SHUDI, *args], capture_output=True, text=True, env=env, timeout=120)


@pytest.fixture
def mini_db(scratch_db_url: str) -> Iterator[tuple[str, str]]:
    """A database with the mini district and the taxonomy; its URL and a property type."""
    engine = make_engine(scratch_db_url)
    with engine.begin() as conn:
        load_mini(conn)
        catalog.sync_taxonomy(conn)
        vtype = type_of(conn, scope="property_service")
    yield scratch_db_url, vtype
    engine.dispose()


def count(url: str) -> int:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            sql = "SELECT count(*) FROM case_file WHERE channel = 'import'"
            return int(conn.execute(text(sql)).scalar_one())
    finally:
        engine.dispose()


def test_import_reports_bad_rows_by_line_and_loads_the_rest(
    mini_db: tuple[str, str], tmp_path: Path
) -> None:
    url, vtype = mini_db
    x, y = IN_P111
    path = tmp_path / "export.csv"
    path.write_text(
        HEADER
        + f"{x},{y},wgs84,{vtype},2024-01-02 10:00,2024-01-04 10:00,已办结,\n"
        + f"{x},{y},wgs84,nonsense,2024-01-02 10:00,,,\n"
        + f"{IN_T2[0]},{IN_T2[1]},gcj02,{vtype},2024-01-02 10:00,,,\n",
        encoding="utf-8",
    )
    errors = tmp_path / "bad.csv"
    r = run(url, "cases", "import", str(path), "--errors", str(errors))
    assert r.returncode == 0, r.stderr
    assert "export.csv: 2 case(s) imported, 0 imported before, 1 bad row(s) of 3" in r.stdout
    assert r.stderr.splitlines() == [
        "line 3: unknown violation type 'nonsense' (a code or a Chinese name)"
    ]
    with errors.open(encoding="utf-8") as fh:
        assert list(csv.reader(fh)) == [
            ["line", "reason"],
            ["3", "unknown violation type 'nonsense' (a code or a Chinese name)"],
        ]
    again = run(url, "cases", "import", str(path))
    assert again.returncode == 0
    assert "0 case(s) imported, 2 imported before, 1 bad row(s) of 3" in again.stdout
    assert count(url) == 2


def test_many_bad_rows_are_capped_on_stderr_and_counted(
    mini_db: tuple[str, str], tmp_path: Path
) -> None:
    url, vtype = mini_db
    x, y = IN_P111
    rows = [f"{x},{y},wgs84,{vtype},2024-01-02 10:00,,,\n"]
    rows += [f"{x},{y},wgs84,{vtype},day {i},,,\n" for i in range(25)]
    path = tmp_path / "export.csv"
    path.write_text(HEADER + "".join(rows), encoding="utf-8")
    r = run(url, "cases", "import", str(path))
    assert r.returncode == 0, r.stderr
    lines = r.stderr.splitlines()
    assert len(lines) == 21 and lines[0].startswith("line 3: reported_at is not a date")
    assert lines[-1] == "… and 5 more bad row(s) (--errors FILE lists all)"
    assert "1 case(s) imported, 0 imported before, 25 bad row(s) of 26" in r.stdout


def test_strict_stores_nothing_and_fails_on_one_line(
    mini_db: tuple[str, str], tmp_path: Path
) -> None:
    url, vtype = mini_db
    x, y = IN_P111
    path = tmp_path / "export.xlsx"
    pd.DataFrame(
        {
            "经度": [x, 121.5],
            "纬度": [y, 31.2],
            "类型": [vtype, vtype],
            "上报时间": ["2024-01-02 10:00", "2024-01-02 11:00"],
        }
    ).to_excel(path, index=False)
    r = run(url, "cases", "import", str(path), "--strict")
    assert r.returncode == 1
    assert r.stderr.count("\n") == 1
    assert r.stderr.startswith("shudi: error: row 3: (121.500000, 31.200000) is outside")
    assert count(url) == 0
    ok = run(url, "cases", "import", str(path))
    assert ok.returncode == 0 and "1 case(s) imported" in ok.stdout
    assert count(url) == 1


def test_unreadable_input_is_one_line(mini_db: tuple[str, str], tmp_path: Path) -> None:
    url, _ = mini_db
    missing = run(url, "cases", "import", str(tmp_path / "nope.csv"))
    assert missing.returncode == 1 and missing.stderr.startswith("shudi: error: no such file")
    odd = tmp_path / "cases.docx"
    odd.write_text("x")
    r = run(url, "cases", "import", str(odd))
    assert r.returncode == 1 and r.stderr.count("\n") == 1 and "unknown file type" in r.stderr
    r = run(url, "cases", "import", str(odd), "--crs", "mars")
    assert r.returncode == 1 and "unknown crs 'mars'" in r.stderr
    nothing = tmp_path / "bad.csv"
    nothing.write_text(HEADER + "1,2,wgs84,x,2024-01-01,,,\n", encoding="utf-8")
    r = run(url, "cases", "import", str(nothing))
    assert r.returncode == 1 and "no row of bad.csv could be imported" in r.stderr
