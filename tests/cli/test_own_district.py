"""README "Your own district", as written: an empty database, ``shudi db migrate`` (the linkage
rules come with it), four hand-drawn layers in their own CRS, field names and encoding,
contacts and users, a serving district that routes — and a later community layer with a
changed code imported with ``--activate`` moves the open cases, and the dispatcher's and the
community workers' views follow.

The district (tests/data/own_district) is drawn in metres of CGCS2000 / 3-degree
Gauss-Krüger CM 114E (EPSG:4547): towns 松林街道 (x 500000–502000) and 竹溪镇 (502000–504000),
y 2500000–2502000; communities 东坡 (500000–501000), 西岭 (501000–502000), 竹园 (the town
竹溪镇); estate 翠苑小区 (500200–500600 × 2500200–2500600, 松林物业服务有限公司) in 东坡.
"""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import geopandas as gpd
import httpx
from sqlalchemy import create_engine, text
from support import live_server

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "tests" / "data" / "own_district"
SHUDI = str(Path(sys.executable).with_name("shudi"))
PASSWORD = "correct horse battery"
# points of the drawing, converted by hand-checked pyproj once (EPSG:4547 → WGS-84)
IN_CUIYUAN = (114.003890, 22.601435)  # (500400, 2500400): 翠苑小区, 东坡社区, 松林街道
IN_DONGPO = (114.007781, 22.611368)  # (500800, 2501500): 东坡社区 outside any estate
IN_ZHUXI = (114.029177, 22.602335)  # (503000, 2500500): 竹园社区, 竹溪镇
DONGPO, DONGPO_2027 = "440399001001", "440399001011"


def run(url: str, *args: str) -> subprocess.CompletedProcess:
    env = os.environ | {"SHUDI_DATABASE_URL": url, "COLUMNS": "200"}
    out = subprocess.run([SHUDI, *args], capture_output=True, text=True, env=env, timeout=180)
    return out


def ok(url: str, *args: str) -> str:
    out = run(url, *args)
    assert out.returncode == 0, f"shudi {' '.join(args)}: {out.stderr}"
    return out.stdout


def estates_shapefile(folder: Path) -> Path:
    """The estates as a surveyor's Shapefile: GBK attributes, no .cpg, no .prj."""
    gdf = gpd.read_file(DATA / "estates.geojson")
    path = folder / "estates.shp"
    gdf.to_file(path, encoding="GBK")
    for extra in (".cpg", ".prj"):
        path.with_suffix(extra).unlink(missing_ok=True)
    return path


def login(base: str, user: str) -> dict[str, str]:
    r = httpx.post(f"{base}/api/v1/auth/token", data={"username": user, "password": PASSWORD})
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


def listed(base: str, user: str) -> dict[int, str]:
    r = httpx.get(f"{base}/api/v1/cases", headers=login(base, user), timeout=30)
    assert r.status_code == 200, r.text
    return {c["id"]: c["community_code"] for c in r.json()["items"]}


def test_own_district_from_an_empty_database(scratch_db_url: str, tmp_path: Path) -> None:
    url = scratch_db_url
    # the rules ship with the schema: 11 parties of section 二 and the property company
    first = ok(url, "db", "migrate")
    assert "linkage rules loaded: 12 parties" in first
    assert "linkage rules: current" in ok(url, "db", "migrate")

    ok(url, "boundaries", "import", str(DATA / "towns.geojson"), "--layer", "town",
       "--field", "code=XZQDM", "--field", "name=XZQMC", "--activate")  # fmt: skip
    ok(url, "boundaries", "import", str(DATA / "communities.geojson"), "--layer", "community",
       "--src-crs", "EPSG:4547", "--field", "code=SQDM", "--field", "name=SQMC",
       "--field", "parent_code=SSJD", "--activate")  # fmt: skip
    ok(url, "boundaries", "import", str(estates_shapefile(tmp_path)), "--layer",
       "property_area", "--encoding", "GBK", "--src-crs", "EPSG:4547", "--field", "code=XQDM",
       "--field", "name=XQMC", "--field", "parent_code=SQDM",
       "--field", "property_company=WYGS", "--field", "owners_committee=YWH",
       "--field", "households=HS", "--activate")  # fmt: skip
    wrong = run(url, "boundaries", "import", str(DATA / "precincts.geojson"),
                "--layer", "agency_unit", "--agency", "police", "--activate")  # fmt: skip
    assert wrong.returncode != 0 and wrong.stderr.count("\n") == 1
    assert "unknown agency 'police'" in wrong.stderr and "public_security" in wrong.stderr
    ok(url, "boundaries", "import", str(DATA / "precincts.geojson"), "--layer", "agency_unit",
       "--agency", "public_security", "--activate")  # fmt: skip
    ok(url, "boundaries", "check")
    ok(url, "contacts", "set", "--agency", "public_security", "--person", "王警官",
       "--phone", "0755-20000001", "--layer", "agency_unit", "--code", "440399PS01",
       "--office", "松林派出所社区警务室")  # fmt: skip
    ok(url, "users", "add", "disp", "--role", "dispatcher", "--password", PASSWORD)
    ok(url, "users", "add", "cw-dongpo", "--role", "community_worker",
       "--community", DONGPO, "--password", PASSWORD)  # fmt: skip
    ok(url, "users", "add", "town-songlin", "--role", "town_coordinator",
       "--town", "440399001", "--password", PASSWORD)  # fmt: skip
    ok(url, "users", "add", "ps01", "--role", "agency_officer", "--agency", "public_security",
       "--unit", "440399PS01", "--password", PASSWORD)  # fmt: skip
    ok(url, "users", "add", "cuiyuan", "--role", "property_company",
       "--company", "松林物业服务有限公司", "--password", PASSWORD)  # fmt: skip
    past = ok(url, "cases", "import", str(DATA / "12345-export.csv"),
              "--field", "due_at=承诺办结时间")  # fmt: skip
    assert "2 case(s) imported" in past
    engine = create_engine(url)
    with engine.connect() as conn:
        imported = dict(
            conn.execute(
                text("SELECT status, due_at FROM case_file WHERE channel = 'import'")
            ).all()
        )
    engine.dispose()
    # the open one keeps the export's deadline (17:30 Shanghai), the closed one has none
    assert imported == {"in_progress": datetime(2026, 11, 13, 9, 30, tzinfo=UTC), "closed": None}

    resolved = ok(url, "resolve", *map(str, IN_CUIYUAN))
    assert "翠苑小区" in resolved and "松林物业服务有限公司" in resolved and "东坡社区" in resolved

    with live_server(url) as base:
        types = httpx.get(f"{base}/api/v1/violation-types", params={"reportable": True}).json()
        by_agency = {t["agency"]: t["code"] for t in reversed(types)}
        assert {"public_security", "property_company", "urban_management"} <= set(by_agency)
        filed = []
        for (lon, lat), agency in (
            (IN_CUIYUAN, "property_company"),
            (IN_DONGPO, "public_security"),
            (IN_ZHUXI, "public_security"),
        ):
            r = httpx.post(
                f"{base}/api/v1/reports",
                json={"lon": lon, "lat": lat, "type": by_agency[agency], "description": "测试"},
                headers={"Idempotency-Key": f"own-district-{agency}-{lon}"},
                timeout=30,
            )
            assert r.status_code == 201, r.text
            filed.append(r.json())
        estate, dongpo, zhuxi = filed
        assert estate["routing"]["handler"]["party"] == "property_company"
        assert estate["routing"]["handler"]["unit"] == {
            "code": "44039900100101",
            "name": "松林物业服务有限公司",
        }
        assert dongpo["routing"]["handler"]["unit"]["code"] == "440399PS01"
        assert zhuxi["routing"]["handler"]["unit"]["code"] == "440399PS02"
        before = listed(base, "cw-dongpo")
        assert set(before) == {estate["id"], dongpo["id"]}

        # 2027: 东坡社区 is renumbered; the new layer is imported and activated in one step
        moved = ok(url, "boundaries", "import", str(DATA / "communities_2027.geojson"),
                   "--layer", "community", "--src-crs", "EPSG:4547", "--field", "code=SQDM",
                   "--field", "name=SQMC", "--field", "parent_code=SSJD", "--activate")  # fmt: skip
        assert "(active; 2 open case(s) moved to a new owner)" in moved
        engine = create_engine(url)
        with engine.connect() as conn:
            rows = conn.execute(
                text("""SELECT id, community_code FROM case_file
                        WHERE status <> 'closed' AND channel <> 'import'""")
            ).all()
            events = conn.execute(
                text("SELECT case_id FROM case_event WHERE action = 'boundary_change'")
            ).scalars()
            assert sorted(events) == sorted([estate["id"], dongpo["id"]])
        engine.dispose()
        assert dict(rows) == {
            estate["id"]: DONGPO_2027,
            dongpo["id"]: DONGPO_2027,
            zhuxi["id"]: "440399002001",
        }
        ok(url, "users", "add", "cw-dongpo-2027", "--role", "community_worker",
           "--community", DONGPO_2027, "--password", PASSWORD)  # fmt: skip
        dispatcher = listed(base, "disp")
        assert dispatcher[estate["id"]] == dispatcher[dongpo["id"]] == DONGPO_2027
        assert set(listed(base, "cw-dongpo-2027")) == {estate["id"], dongpo["id"]}
        assert listed(base, "cw-dongpo") == {}
        # activating it again moves nothing
        gen = moved.split()[1].rstrip(":")
        again = ok(url, "boundaries", "activate", gen)
        assert "was already active; 0 open case(s) moved" in again
