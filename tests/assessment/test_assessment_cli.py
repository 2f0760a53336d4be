"""``shudi assessment`` as a user runs it (subprocess, a database of its own)."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pypdf
from openpyxl import load_workbook
from sqlalchemy import create_engine
from support import IN_P111, load_mini, type_of

from incidents.intake import Report, create_case
from jurisdictions import catalog

SHUDI = str(Path(sys.executable).with_name("shudi"))


def run(url: str, *args: str) -> subprocess.CompletedProcess:
    env = os.environ | {"SHUDI_DATABASE_URL": url, "COLUMNS": "200"}
    return subprocess.run([SHUDI, *args], capture_output=True, env=env, timeout=120)


def test_assessment_command(scratch_db_url: str, tmp_path: Path) -> None:
    eng = create_engine(scratch_db_url)
    with eng.begin() as conn:
        load_mini(conn)
        catalog.sync_taxonomy(conn)
        police = type_of(conn, agency="public_security")
        create_case(conn, report=Report(lon=IN_P111[0], lat=IN_P111[1], type=police))
    eng.dispose()
    period = ("--from", "2020-01-01", "--to", "2024-12-31")
    empty = run(scratch_db_url, "assessment", *period)
    assert empty.returncode == 0, empty.stderr
    assert json.loads(empty.stdout)["units"] == []

    today = datetime.now(ZoneInfo("Asia/Shanghai")).date().isoformat()  # the period is China time
    now = ("--from", "2026-01-01", "--to", max(today, "2026-01-01"))
    out = run(scratch_db_url, "assessment", *now)
    body = json.loads(out.stdout)
    town = next(u for u in body["units"] if u["kind"] == "town")
    assert town["unit"] == "T1" and town["received"] == 1 and town["name"] == "甲街道"

    pdf = tmp_path / "a.pdf"
    made = run(scratch_db_url, "assessment", *now, "--format", "pdf", "--out", str(pdf))
    assert made.returncode == 0, made.stderr
    text = "".join(p.extract_text() for p in pypdf.PdfReader(pdf).pages)
    assert "甲街道" in text
    piped = run(scratch_db_url, "assessment", *now, "--format", "xlsx")  # stdout is a pipe
    assert "镇_街道排名" in load_workbook(io.BytesIO(piped.stdout)).sheetnames

    for bad, message in (
        (("--from", "2026-02-30", "--to", "2026-03-01"), b"--from must be a date"),
        (("--from", "2026-03-01", "--to", "2026-02-01"), b"ends (2026-02-01) before"),
        ((*period, "--format", "doc"), b"--format must be one of json, xlsx, pdf"),
    ):
        r = run(scratch_db_url, "assessment", *bad)
        assert r.returncode == 1 and r.stderr.count(b"\n") == 1, r.stderr
        assert r.stderr.startswith(b"shudi: error:") and message in r.stderr
