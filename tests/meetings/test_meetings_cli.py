"""``shudi meetings`` as a user runs it (subprocess, a database of its own)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import openpyxl
import pytest
from sqlalchemy import create_engine
from support import IN_P111, file_report, load_mini, type_of

from jurisdictions import catalog

SHUDI = str(Path(sys.executable).with_name("shudi"))


def run(url: str, *args: str) -> subprocess.CompletedProcess:
    env = os.environ | {"SHUDI_DATABASE_URL": url, "COLUMNS": "200"}
    return subprocess.run([SHUDI, *args], capture_output=True, text=True, env=env, timeout=120)


@pytest.fixture(scope="module")
def mini_db(module_scratch_db_url: str) -> str:
    eng = create_engine(module_scratch_db_url)
    with eng.begin() as conn:
        load_mini(conn)
        catalog.sync_taxonomy(conn)
        code = type_of(conn, scope="property_service")
        for _ in range(3):
            file_report(conn, IN_P111, code)
    eng.dispose()
    return module_scratch_db_url


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--town", "T9", "--month", "2026-11"), "no town/street 'T9'"),
        (("--town", "T1", "--month", "2026-13"), "month must be YYYY-MM"),
        (("--town", "T1", "--month", "November"), "month must be YYYY-MM"),
        (("--town", "T1", "--format", "docx"), "unknown format 'docx'"),
    ],
)
def test_bad_input_is_one_line(mini_db: str, args: tuple[str, ...], message: str) -> None:
    r = run(mini_db, "meetings", "prepare", *args)
    assert r.returncode == 1 and r.stdout == ""
    assert r.stderr.count("\n") == 1 and r.stderr.startswith("shudi: error: ")
    assert message in r.stderr


def test_prepare_json_and_xlsx(mini_db: str, tmp_path: Path) -> None:
    r = run(mini_db, "meetings", "prepare", "--town", "T1")
    assert r.returncode == 0, r.stderr
    agenda = json.loads(r.stdout)
    assert set(agenda) == {"town", "month", "items", "figures"} and agenda["town"] == "T1"
    repeat = [i for i in agenda["items"] if i["kind"] == "repeat_location"]
    assert len(repeat) == 1 and len(repeat[0]["case_ids"]) == 3
    out = tmp_path / "agenda.xlsx"
    r = run(mini_db, "meetings", "prepare", "--town", "T1", "--format", "xlsx", "--out", str(out))
    assert r.returncode == 0, r.stderr
    wb = openpyxl.load_workbook(out)
    assert any("重复发生" in str(row[1]) for row in wb["议题"].iter_rows(values_only=True))
    assert run(mini_db, "meetings", "show", "999999").stderr.startswith(
        "shudi: error: no meeting 999999"
    )
