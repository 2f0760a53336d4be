"""``shudi hotspots compute`` as a user runs it (subprocess, a database of its own)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from hotspot_cases import plant
from sqlalchemy import create_engine, text
from support import load_mini, type_of

from jurisdictions import catalog

SHUDI = str(Path(sys.executable).with_name("shudi"))


def run(url: str, *args: str) -> subprocess.CompletedProcess:
    env = os.environ | {"SHUDI_DATABASE_URL": url, "COLUMNS": "200"}
    return subprocess.run(
        [SHUDI, "hotspots", *args], capture_output=True, text=True, env=env, timeout=300
    )


def test_compute_fills_the_cache_once(scratch_db_url: str) -> None:
    eng = create_engine(scratch_db_url)
    with eng.begin() as conn:
        load_mini(conn)
        catalog.sync_taxonomy(conn)
        plant(conn, type_of(conn, agency="urban_management"))
    args = [
        "compute",
        "--method",
        "gi_star",
        "--method",
        "kde",
        "--method",
        "count",
        "--grid",
        "h3:9",
        "--grid",
        "h3:8",
        "--permutations",
        "99",
    ]
    first = run(scratch_db_url, *args)
    assert first.returncode == 0, first.stderr
    lines = first.stdout.strip().splitlines()
    assert len(lines) == 5  # gi_star and count on each grid, kde once (it has no grid)
    assert all(line.endswith("computed") for line in lines)
    again = run(scratch_db_url, *args)
    assert again.returncode == 0 and "cached already" in again.stdout
    with eng.connect() as conn:
        stored = conn.execute(text("SELECT count(*) FROM hotspot_result")).scalar_one()
    eng.dispose()
    assert stored == len(lines)


def test_bad_options_are_one_line_errors(scratch_db_url: str) -> None:
    r = run(scratch_db_url, "compute", "--grid", "h3:12")
    assert r.returncode == 1
    assert r.stderr.startswith("shudi: error: gi_star on h3:12:") and r.stderr.count("\n") == 1
