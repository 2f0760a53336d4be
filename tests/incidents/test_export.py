"""Exports that round-trip: cases exported (CLI and API; CSV, Excel, GeoPackage) and imported
into an empty district with the same boundaries come back as the same cases."""

from __future__ import annotations

import csv
import io
import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pyogrio
import pytest
from openpyxl import load_workbook
from sqlalchemy import create_engine, text
from support import IN_P111, IN_P112, IN_T2, file_report, live_server, load_mini, type_of

from accounts.service import create_user
from jurisdictions import catalog
from shudi.migrate import scratch_database

SHUDI = str(Path(sys.executable).with_name("shudi"))
PASSWORD = "correct horse battery"
FIELDS = "type_code, status, created_at, town_code, community_code, property_area_code"


def run(url: str, *args: str) -> subprocess.CompletedProcess:
    env = os.environ | {"SHUDI_DATABASE_URL": url, "COLUMNS": "200"}
    return subprocess.run([SHUDI, *args], capture_output=True, text=True, env=env, timeout=120)


def district(url: str) -> None:
    eng = create_engine(url)
    with eng.begin() as conn:
        load_mini(conn)
        catalog.sync_taxonomy(conn)
    eng.dispose()


@pytest.fixture(scope="module")
def source(module_scratch_db_url: str) -> Iterator[str]:
    """The mini district with six cases in several statuses, one whose description looks
    like a formula, and two users."""
    url = module_scratch_db_url
    district(url)
    eng = create_engine(url)
    with eng.begin() as conn:
        prop = type_of(conn, scope="property_service")
        other = type_of(conn, agency="public_security")
        ids = [
            file_report(conn, where, vtype)["id"]
            for where, vtype in (
                (IN_P111, prop), (IN_P111, other), (IN_P112, prop), (IN_T2, other),
                (IN_T2, prop), ((120.0101, 30.0101), other),
            )
        ]  # fmt: skip
        for k, case_id in enumerate(ids):  # reported on distinct days in the past
            conn.execute(
                text("UPDATE case_file SET created_at = created_at - make_interval(days => :k, "
                     "secs => 0.123456 * :k) WHERE id = :id"),
                {"k": k + 1, "id": case_id},
            )  # fmt: skip
        # the statuses a case ends in, set by hand (what the workflow would leave)
        for case_id, status, ended in (
            (ids[1], "closed", "closed_at"),
            (ids[2], "rejected", "closed_at"),
            (ids[3], "resolved", "resolved_at"),
        ):
            conn.execute(
                text(f"UPDATE case_file SET status = :s, {ended} = created_at + interval '2 h'"
                     " WHERE id = :id"),
                {"s": status, "id": case_id},
            )  # fmt: skip
        conn.execute(
            text("UPDATE case_file SET description = '=HYPERLINK(1)', status = 'accepted' "
                 "WHERE id = :id"),
            {"id": ids[4]},
        )  # fmt: skip
        create_user(conn, username="disp", password=PASSWORD, role="dispatcher")
        create_user(conn, username="t1", password=PASSWORD, role="town_coordinator",
                    town_code="T1")  # fmt: skip
    eng.dispose()
    yield url


def cases(url: str) -> list[dict[str, Any]]:
    eng = create_engine(url)
    try:
        with eng.connect() as conn:
            rows = conn.execute(
                text(f"SELECT {FIELDS}, lon, lat, geom FROM case_file ORDER BY created_at, lon")
            ).mappings()
            return [dict(r) for r in rows]
    finally:
        eng.dispose()


def assert_same_cases(source_url: str, copy_url: str) -> None:
    before, after = cases(source_url), cases(copy_url)
    assert len(after) == len(before) == 6
    for a, b in zip(before, after, strict=True):
        for key in FIELDS.split(", "):
            assert a[key] == b[key], (key, a, b)
        # 1 cm: 1e-7° of latitude is 1.1 cm, so 9e-8° bounds both axes here
        assert abs(a["lon"] - b["lon"]) < 9e-8 and abs(a["lat"] - b["lat"]) < 9e-8


def import_into_empty_district(db_url: str, path: Path, template: str) -> Iterator[str]:
    with scratch_database(db_url, template=template) as url:
        district(url)
        done = run(url, "cases", "import", "--strict", str(path))
        assert done.returncode == 0, done.stderr
        yield url


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_cli_export_round_trips(
    source: str, db_url: str, template_db: str, tmp_path: Path, fmt: str
) -> None:
    path = tmp_path / f"cases.{fmt}"
    done = run(source, "cases", "export", "--format", fmt, "--output", str(path))
    assert done.returncode == 0, done.stderr
    assert "6 case(s)" in done.stderr
    for copy in import_into_empty_district(db_url, path, template_db):
        assert_same_cases(source, copy)
        again = run(copy, "cases", "import", str(path))  # the tracking codes are the keys
        assert again.returncode == 0 and "0 case(s) imported, 6 imported before" in again.stdout


def test_exports_hold_no_personal_data_and_escape_formulas(source: str, tmp_path: Path) -> None:
    done = run(source, "cases", "export")
    assert done.returncode == 0, done.stderr
    assert "13800000000" not in done.stdout and "张三" not in done.stdout  # file_report's
    rows = list(csv.DictReader(io.StringIO(done.stdout.lstrip("\ufeff"))))
    assert len(rows) == 6
    assert {r["status"] for r in rows} == {"reported", "closed", "rejected", "resolved",
                                           "accepted"}  # fmt: skip
    path = tmp_path / "cases.xlsx"
    assert run(source, "cases", "export", "--format", "xlsx", "--output", str(path)).returncode == 0
    sheet = load_workbook(path).active
    cells = [c.value for row in sheet.iter_rows() for c in row]
    assert "'=HYPERLINK(1)" in cells and "=HYPERLINK(1)" not in cells
    assert not any(c.data_type == "f" for row in sheet.iter_rows() for c in row)


def test_cli_filters_and_errors(source: str) -> None:
    def count(*args: str) -> int:
        done = run(source, "cases", "export", *args)
        assert done.returncode == 0, done.stderr
        return len(done.stdout.strip().splitlines()) - 1

    assert count("--status", "closed", "--status", "rejected") == 2
    assert count("--town", "T2") == 2  # IN_T2 twice
    assert count("--from", "2000-01-01", "--to", "2001-01-01") == 0
    assert count("--from", datetime.now(UTC).replace(year=2000).isoformat()) == 6
    bad = run(source, "cases", "export", "--status", "finished")
    assert bad.returncode != 0 and bad.stderr.count("\n") == 1 and "finished" in bad.stderr
    bad = run(source, "cases", "export", "--format", "pdf")
    assert bad.returncode != 0 and "pdf" in bad.stderr


def test_api_exports_by_role_and_round_trip(
    source: str, db_url: str, template_db: str, tmp_path: Path
) -> None:
    with live_server(source) as base:

        def auth(user: str) -> dict[str, str]:
            r = httpx.post(f"{base}/api/v1/auth/token", data={"username": user,
                                                               "password": PASSWORD})  # fmt: skip
            assert r.status_code == 200, r.text
            return {"Authorization": f"Bearer {r.json()['access_token']}"}

        assert httpx.get(f"{base}/api/v1/cases.csv").status_code == 401
        disp, town = auth("disp"), auth("t1")
        r = httpx.get(f"{base}/api/v1/cases.csv", headers=disp)
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
        path = tmp_path / "api.csv"
        path.write_bytes(r.content)
        mine = httpx.get(f"{base}/api/v1/cases.csv", headers=town).text.lstrip("\ufeff")
        towns = [row["town_code"] for row in csv.DictReader(io.StringIO(mine))]
        assert towns and set(towns) == {"T1"}  # a town coordinator: its town only
        r = httpx.get(f"{base}/api/v1/cases.gpkg", headers=disp, params={"status": "closed"})
        assert r.status_code == 200
        gpkg = tmp_path / "closed.gpkg"
        gpkg.write_bytes(r.content)
        r = httpx.get(f"{base}/api/v1/cases.xlsx", headers=town)
        assert r.status_code == 200 and r.content[:2] == b"PK"
        bad = httpx.get(f"{base}/api/v1/cases.csv", headers=disp, params={"status": "x"})
        assert bad.status_code == 422 and bad.json()["code"] == "invalid_filter"
    frame = pyogrio.read_dataframe(gpkg, layer="cases")
    assert list(frame["status"]) == ["closed"] and frame.crs.to_epsg() == 4326
    assert abs(frame.geometry.x[0] - float(frame["lon"][0])) < 1e-9
    for copy in import_into_empty_district(db_url, path, template_db):
        assert_same_cases(source, copy)
