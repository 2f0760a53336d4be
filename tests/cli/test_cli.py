"""The ``shudi`` command end to end, as a user runs it (subprocess, own database)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import geopandas as gpd
import pytest
from shapely.geometry import box

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "data" / "boundaries" / "sample"
SHUDI = str(Path(sys.executable).with_name("shudi"))


def run(url: str, *args: str) -> subprocess.CompletedProcess:
    env = os.environ | {"SHUDI_DATABASE_URL": url, "COLUMNS": "200"}
    return subprocess.run([SHUDI, *args], capture_output=True, text=True, env=env, timeout=120)


@pytest.fixture
def sample_db(scratch_db_url: str) -> str:
    r = run(scratch_db_url, "demo", "--cases", "30")
    assert r.returncode == 0, r.stderr
    assert "demo cases: 30 made now" in r.stdout
    return scratch_db_url


def test_demo_is_idempotent_and_resolves_landmarks(sample_db: str) -> None:
    again = run(sample_db, "demo", "--cases", "30")
    assert again.returncode == 0 and "(0 layer(s) imported)" in again.stdout
    assert "demo cases: none made" in again.stdout
    # One duty e-mail box per field unit (police precincts, urban-management squads) and per
    # town, counted from the sample's own files; the second run added none.
    units = {
        name: len(json.loads((SAMPLE / f"{name}.geojson").read_text())["features"])
        for name in ("police_precincts", "urban_management_squads", "towns")
    }
    duty = json.loads(run(sample_db, "notify", "contacts", "list").stdout)
    assert len(duty) == sum(units.values()) and f"{len(duty)} duty contacts" in again.stdout
    assert sum(1 for c in duty if c["party"] == "town_government") == units["towns"]
    assert all(c["channel"] == "email" and c["recipient"].startswith("d***@") for c in duty)
    marks = json.loads((SAMPLE / "landmarks.json").read_text())
    mark = marks["estate_with_company"]
    r = run(sample_db, "resolve", str(mark["lon"]), str(mark["lat"]))
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert out["town"]["code"] == mark["expect"]["town"]
    assert out["property_area"]["code"] == mark["expect"]["property_area"]
    assert out["property_area"]["property_company"]
    listing = run(sample_db, "boundaries", "list")
    assert listing.returncode == 0 and "property_area" in listing.stdout
    check = run(sample_db, "boundaries", "check")
    assert check.returncode == 0, check.stdout + check.stderr


def test_errors_are_one_line(sample_db: str) -> None:
    swapped = run(sample_db, "resolve", "30.3", "120.1")
    assert swapped.returncode != 0
    assert swapped.stderr.count("\n") == 1 and swapped.stderr.startswith("shudi: error:")
    outside = run(sample_db, "resolve", "121.5", "31.2")
    assert outside.returncode != 0 and "outside the service area" in outside.stderr
    assert outside.stderr.count("\n") == 1
    missing = run(sample_db, "boundaries", "import", "/nonexistent.geojson", "--layer", "town")
    assert missing.returncode != 0 and missing.stderr.count("\n") == 1
    layer = run(
        sample_db, "boundaries", "import", str(SAMPLE / "towns.geojson"), "--layer", "county"
    )
    assert layer.returncode != 0 and "unknown layer" in layer.stderr


def test_rejected_import_reports_codes_and_changes_nothing(sample_db: str, tmp_path: Path) -> None:
    before = run(sample_db, "boundaries", "list").stdout
    towns = gpd.read_file(SAMPLE / "towns.geojson")
    first = towns.iloc[0]
    extra = gpd.GeoDataFrame(
        {"code": ["330106999"], "name": ["重叠镇"]},
        geometry=[box(*first.geometry.representative_point().buffer(0.002).bounds)],
        crs="EPSG:4326",
    )
    bad = tmp_path / "towns.gpkg"
    gpd.GeoDataFrame(
        {"code": list(towns.code) + ["330106999"], "name": list(towns.name) + ["重叠镇"]},
        geometry=list(towns.geometry) + list(extra.geometry),
        crs="EPSG:4326",
    ).to_file(bad)
    r = run(sample_db, "boundaries", "import", str(bad), "--layer", "town", "--activate")
    assert r.returncode == 1
    assert "overlap" in r.stdout and "330106999" in r.stdout and first.code in r.stdout
    assert r.stderr.startswith("shudi: error:") and "nothing was stored" in r.stderr
    assert run(sample_db, "boundaries", "list").stdout == before


def test_import_gbk_shapefile_with_field_mapping(sample_db: str, tmp_path: Path) -> None:
    units = gpd.read_file(SAMPLE / "police_precincts.geojson")
    shp = tmp_path / "precincts.shp"
    units.rename(columns={"code": "PCSDM", "name": "PCSMC"})[["PCSDM", "PCSMC", "geometry"]].to_crs(
        "EPSG:4549"
    ).to_file(shp, encoding="GBK")
    shp.with_suffix(".cpg").unlink(missing_ok=True)
    r = run(
        sample_db,
        "boundaries",
        "import",
        str(shp),
        "--layer",
        "agency_unit",
        "--agency",
        "public_security",
        "--field",
        "code=PCSDM",
        "--field",
        "name=PCSMC",
        "--encoding",
        "GBK",
    )
    assert r.returncode == 0, r.stderr
    gen = r.stdout.split("generation ")[1].split(":")[0]
    assert "inactive" in r.stdout
    assert run(sample_db, "boundaries", "activate", gen).returncode == 0
    marks = json.loads((SAMPLE / "landmarks.json").read_text())
    mark = marks["estate_with_company"]
    out = json.loads(run(sample_db, "resolve", str(mark["lon"]), str(mark["lat"])).stdout)
    assert out["generation"]["agency_unit:public_security"] == int(gen)
    names = set(units.name)
    assert out["agency_units"]["public_security"]["name"] in names  # GBK text came out right


def test_db_url_prints_the_external_url(scratch_db_url: str) -> None:
    r = run(scratch_db_url, "db", "url")
    assert r.returncode == 0 and r.stdout.strip().endswith(scratch_db_url.split("/")[-1])
    r = run(scratch_db_url, "db", "start")
    assert r.returncode != 0 and "SHUDI_DATABASE_URL" in r.stderr


def test_taxonomy_check_and_contacts(sample_db: str) -> None:
    r = run(sample_db, "taxonomy", "check")
    assert r.returncode == 0 and "taxonomy ok" in r.stdout, r.stdout + r.stderr
    ok = run(
        sample_db,
        "contacts",
        "set",
        "--agency",
        "planning",
        "--person",
        "赵科长",
        "--phone",
        "0571-80000009",
    )
    assert ok.returncode == 0, ok.stderr
    bad = run(
        sample_db,
        "contacts",
        "set",
        "--agency",
        "planning",
        "--person",
        "赵科长",
        "--phone",
        "1",
        "--layer",
        "town",
    )
    assert bad.returncode == 1 and bad.stderr.count("\n") == 1
    gas = ["contacts", "set", "--agency", "utility", "--person", "调度", "--phone", "96777"]
    assert run(sample_db, *gas, "--kind", "gas", "--office", "燃气公司").returncode == 0
    coal = run(sample_db, *gas, "--kind", "coal")
    assert coal.returncode == 1 and "not a kind of utility" in coal.stderr


def test_users_and_api_keys(sample_db: str) -> None:
    r = run(
        sample_db,
        "users",
        "add",
        "wang",
        "--role",
        "agency_officer",
        "--agency",
        "public_security",
        "--password",
        "s3cret-pass",
    )
    assert r.returncode == 0, r.stderr
    dup = run(
        sample_db, "users", "add", "wang", "--role", "dispatcher", "--password", "s3cret-pass"
    )
    assert dup.returncode == 1 and "exists" in dup.stderr and dup.stderr.count("\n") == 1
    missing = run(
        sample_db, "users", "add", "li", "--role", "town_coordinator", "--password", "s3cret-pass"
    )
    assert missing.returncode == 1 and "--town" in missing.stderr
    key = run(sample_db, "apikey", "create", "hotline-12345")
    assert key.returncode == 0 and len(key.stdout.strip().splitlines()[-1]) >= 30
    demo = run(sample_db, "demo", "--cases", "0")
    assert "demo-dispatcher" in demo.stdout and "demo-planner" in demo.stdout


def test_demo_cases_without_demo_users_is_one_clear_error(scratch_db_url: str) -> None:
    """The demo's cases are accepted and dispatched by the demo dispatcher: without the demo
    users there is nobody to do it, which is said in one line, and nothing is half-loaded."""
    r = run(scratch_db_url, "demo", "--no-users", "--cases", "5")
    assert r.returncode != 0 and r.stderr.count("\n") == 1, r.stderr
    assert r.stderr.startswith("shudi: error:") and "--no-users" in r.stderr
    listing = run(scratch_db_url, "boundaries", "list")
    assert listing.returncode == 0 and "property_area" not in listing.stdout
