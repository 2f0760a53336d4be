"""Importing historical cases: routing as of the date, coordinate systems, bad rows, strict
mode, idempotency, all-or-nothing storage and who sees imported cases."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
from sqlalchemy import Connection, text
from support import IN_P111, IN_T2, MINI, box, collection, feature, load_mini, type_of

from gis.coords import from_wgs84
from incidents import service
from incidents.exceptions import CaseNotFound, HistoryImportRejected
from incidents.history import import_cases
from jurisdictions import catalog
from jurisdictions.generations import import_layer
from shudi.database import make_engine

HEADER = "lon,lat,crs,type,reported_at,closed_at,status,description\n"
MOVED = (120.011, 30.015)  # C12 until 2023, C11 after the border moved east to x = 120.012
NOW = datetime(2026, 1, 1, tzinfo=UTC)


@pytest.fixture
def district(conn: Connection) -> dict[str, int]:
    """The mini district valid from 2020, and a second community generation from 2023 in
    which the C11 | C12 border moved from x = 120.01 to x = 120.012."""
    gens = load_mini(conn)
    catalog.sync_taxonomy(conn)
    moved = collection(
        feature(
            "C11",
            "甲一社区",
            [box(120.00, 30.00, 120.012, 30.02), box(120.005, 30.005, 120.007, 30.007)],
            parent_code="T1",
        ),
        feature("C12", "甲二社区", [box(120.012, 30.00, 120.02, 30.02)], parent_code="T1"),
        *MINI[("community", "")]["features"][2:],
    )
    gdf = gpd.GeoDataFrame.from_features(moved["features"], crs="EPSG:4326")
    second = import_layer(conn, gdf=gdf, layer="community", source="moved", activate=True)
    conn.execute(text("UPDATE generation_period SET valid_from = '2020-01-01T00:00:00+08'"))
    conn.execute(
        text("""UPDATE generation_period SET valid_to = '2023-01-01T00:00:00+08'
                WHERE layer = 'community' AND valid_to IS NOT NULL""")
    )
    conn.execute(
        text("""UPDATE generation_period SET valid_from = '2023-01-01T00:00:00+08'
                WHERE generation_id = :g"""),
        {"g": second.generation_id},
    )
    return gens | {"community_2023": second.generation_id}


def write(tmp_path: Path, body: str, name: str = "h.csv") -> Path:
    path = tmp_path / name
    path.write_text(HEADER + body, encoding="utf-8")
    return path


def imported(conn: Connection) -> list[dict]:
    rows = conn.execute(
        text("""SELECT c.*, e.data AS event, e.at AS event_at, e.to_status AS event_status
                FROM case_file c JOIN case_event e ON e.case_id = c.id AND e.action = 'import'
                WHERE c.channel = 'import' ORDER BY (e.data->>'line')::int""")
    )
    return [dict(r) for r in rows.mappings()]


def test_rows_are_routed_with_the_boundaries_of_their_date(
    conn: Connection, district: dict, tmp_path: Path
) -> None:
    vtype = type_of(conn, scope="property_service")
    x, y = MOVED
    path = write(
        tmp_path,
        f"{x},{y},wgs84,{vtype},2019-03-01 09:00,,,before any boundaries\n"
        f"{x},{y},wgs84,{vtype},2022-06-01 09:00,2022-06-03 17:00,已办结,old border\n"
        f"{x},{y},wgs84,{vtype},2024-06-01 09:00,,处理中,new border\n",
    )
    summary = import_cases(conn, path=path, now=NOW)
    assert (summary.imported, summary.bad, summary.before_boundaries) == (3, [], 1)
    early, old, new = imported(conn)
    assert [early["community_code"], old["community_code"], new["community_code"]] == [
        "C12",
        "C12",
        "C11",
    ]
    assert old["generations"]["community"] == district["community"]
    assert new["generations"]["community"] == district["community_2023"]
    assert new["routing"]["territory"]["community"]["code"] == "C11"
    assert old["status"] == "closed" and old["closed_at"] == datetime(2022, 6, 3, 9, tzinfo=UTC)
    assert old["created_at"] == datetime(2022, 6, 1, 1, tzinfo=UTC)  # 09:00 Shanghai time
    assert new["status"] == "in_progress" and new["closed_at"] is None
    assert new["channel"] == "import"
    # open imported cases are on the clock; closed ones without a deadline in the file are not.
    # Saturday 1 June 2024: 7 working days from Monday 3 June, Monday 10 June (端午) off →
    # the close of Wednesday 12 June, 17:30 Shanghai
    assert new["due_at"] == datetime(2024, 6, 12, 9, 30, tzinfo=UTC) and old["due_at"] is None
    assert new["event_at"] == new["created_at"] and new["event"]["line"] == 4
    assert {s["rows"] for s in summary.generation_sets} == {2, 1}


@pytest.mark.parametrize("crs", ["wgs84", "gcj02", "bd09", "cgcs2000"])
def test_each_coordinate_system_lands_on_the_same_estate(
    conn: Connection, district: dict, tmp_path: Path, crs: str
) -> None:
    x, y = from_wgs84(IN_P111[0], IN_P111[1], crs)
    vtype = type_of(conn, scope="property_service")
    path = write(tmp_path, f"{x!r},{y!r},{crs.upper()},{vtype},2024-01-02 10:00,,,\n")
    assert import_cases(conn, path=path, now=NOW).imported == 1
    (case,) = imported(conn)
    assert case["property_area_code"] == "P111" and case["input_crs"] == crs
    assert case["lon"] == pytest.approx(IN_P111[0], abs=1e-7)
    assert case["lat"] == pytest.approx(IN_P111[1], abs=1e-7)


def test_type_by_chinese_name_and_status_words(
    conn: Connection, district: dict, tmp_path: Path
) -> None:
    code = type_of(conn, scope="property_service")
    name = catalog.get_type(conn, code=code).name_zh
    x, y = IN_T2
    path = write(
        tmp_path,
        f"{x},{y},,{name},2024-01-02T10:00:00+08:00,2024-01-05 10:00,,\n"
        f"{x},{y},,{code},2024/1/3 8:05,,已退回,\n",
    )
    assert import_cases(conn, path=path, now=NOW).imported == 2
    first, second = imported(conn)
    assert first["type_code"] == code and first["status"] == "closed"  # closed_at → closed
    assert second["status"] == "rejected" and second["town_code"] == "T2"
    assert second["created_at"] == datetime(2024, 1, 3, 0, 5, tzinfo=UTC)


def test_bad_rows_are_reported_by_line_and_the_good_ones_load(
    conn: Connection, district: dict, tmp_path: Path
) -> None:
    vtype = type_of(conn, scope="property_service")
    x, y = IN_P111
    path = write(
        tmp_path,
        f'{x},{y},wgs84,{vtype},2024-01-02 10:00,,,"two\nlines"\n'  # lines 2-3
        f"{x},{y},wgs84,nonsense,2024-01-02 10:00,,,\n"  # 4
        f"{y},{x},wgs84,{vtype},2024-01-02 10:00,,,\n"  # 5: swapped
        f"121.5,31.2,wgs84,{vtype},2024-01-02 10:00,,,\n"  # 6: outside
        f"{x},{y},mars,{vtype},2024-01-02 10:00,,,\n"  # 7
        f"{x},{y},wgs84,{vtype},someday,,,\n"  # 8
        f"{x},{y},wgs84,{vtype},2024-01-02 10:00,2023-12-31 10:00,,\n"  # 9
        f"{x},{y},wgs84,{vtype},2024-01-02 10:00,,,\n"  # 10: good
        f"{x},,wgs84,{vtype},2024-01-02 10:00,,,\n"  # 11
        f"{x},{y},wgs84,{vtype},2027-01-02 10:00,,,\n"  # 12: future
        f"{x},{y},wgs84,{vtype},2024-01-02 10:00,2024-01-03 10:00,处理中,\n"  # 13
        f"{x},{y},wgs84,{vtype},2024-01-02 10:00,,半途而废,\n",  # 14
    )
    summary = import_cases(conn, path=path, now=NOW)
    assert summary.imported == 2 and summary.rows == 12
    reasons = {b.line: b.reason for b in summary.bad}
    assert sorted(reasons) == [4, 5, 6, 7, 8, 9, 11, 12, 13, 14]
    assert "unknown violation type 'nonsense'" in reasons[4]
    assert "swap" in reasons[5]
    assert "outside the service area" in reasons[6] and "乙镇" in reasons[6]
    assert "unknown crs 'mars'" in reasons[7]
    assert "reported_at is not a date and time: 'someday'" in reasons[8]
    assert "closed_at is before reported_at" in reasons[9]
    assert "lat is missing" in reasons[11]
    assert "in the future" in reasons[12]
    assert "closed_at is given but the status in_progress is open" in reasons[13]
    assert "unknown status '半途而废'" in reasons[14]
    assert summary.describe(summary.bad[0]).startswith("line 4: ")
    assert [c["event"]["line"] for c in imported(conn)] == [2, 10]


def test_strict_rejects_the_file_at_its_first_bad_row(
    conn: Connection, district: dict, tmp_path: Path
) -> None:
    vtype = type_of(conn, scope="property_service")
    x, y = IN_P111
    good = f"{x},{y},wgs84,{vtype},2024-01-02 10:00,,,\n"
    path = write(tmp_path, good + good + f"121.5,31.2,wgs84,{vtype},2024-01-02 10:00,,,\n")
    with pytest.raises(HistoryImportRejected, match=r"^line 4: .*outside the service area"):
        import_cases(conn, path=path, strict=True, now=NOW)
    path = write(tmp_path, good + f"{x},{y},wgs84,nope,2024-01-02,,,\n" + good)
    with pytest.raises(HistoryImportRejected, match=r"^line 3: unknown violation type"):
        import_cases(conn, path=path, strict=True, now=NOW)
    assert imported(conn) == []


def test_reimport_adds_nothing_and_an_overlapping_export_only_the_new_rows(
    conn: Connection, district: dict, tmp_path: Path
) -> None:
    vtype = type_of(conn, scope="property_service")
    x, y = IN_P111
    row = f"{x},{y},wgs84,{vtype},2024-01-02 10:00,,,same words\n"
    first = write(tmp_path, row + row, "first.csv")  # two identical calls are two cases
    assert import_cases(conn, path=first, now=NOW).imported == 2
    again = import_cases(conn, path=first, now=NOW)
    assert (again.imported, again.already) == (0, 2)
    later = write(tmp_path, row + row + row.replace("10:00", "11:00"), "later.csv")
    overlap = import_cases(conn, path=later, now=NOW)
    assert (overlap.imported, overlap.already) == (1, 2)
    assert len(imported(conn)) == 3
    codes = [c["tracking_code"] for c in imported(conn)]
    assert len(set(codes)) == 3 and all(len(c) == 12 for c in codes)


def test_external_ids_make_the_key(conn: Connection, district: dict, tmp_path: Path) -> None:
    vtype = type_of(conn, scope="property_service")
    x, y = IN_P111
    path = tmp_path / "ids.csv"
    path.write_text(
        "工单编号,经度,纬度,类型,上报时间,状态\n"
        f"A-1,{x},{y},{vtype},2024-01-02 10:00,已办结\n"
        f"A-2,{x},{y},{vtype},2024-01-02 10:00,已受理\n"
        f"A-1,{x},{y},{vtype},2024-01-03 10:00,已受理\n",
        encoding="gb18030",
    )
    summary = import_cases(conn, path=path, now=NOW)
    assert summary.imported == 2 and [b.line for b in summary.bad] == [4]
    assert "external_id 'A-1' repeats" in summary.bad[0].reason
    assert [c["event"]["key"] for c in imported(conn)] == ["ext:A-1", "ext:A-2"]
    assert imported(conn)[0]["status"] == "closed"  # 已办结 without a time: closed, no time


def test_excel_rows_and_geojson_features(conn: Connection, district: dict, tmp_path: Path) -> None:
    vtype = type_of(conn, scope="property_service")
    x, y = IN_P111
    book = tmp_path / "h.xlsx"
    pd.DataFrame(
        {
            "lon": [x, x, x],
            "lat": [y, y, y],
            "type": [vtype, "nope", vtype],
            "reported_at": [datetime(2024, 1, 2, 10), datetime(2024, 1, 3, 10), "2024-01-04"],
        }
    ).to_excel(book, index=False)
    summary = import_cases(conn, path=book, now=NOW)
    assert summary.imported == 2 and summary.unit == "row"
    assert [summary.describe(b) for b in summary.bad] == [
        "row 3: unknown violation type 'nope' (a code or a Chinese name)"
    ]
    gcj = from_wgs84(IN_P111[0], IN_P111[1], "gcj02")
    doc = {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "geometry": {"type": "Point", "coordinates": list(gcj)},
                "properties": {"crs": "gcj02", "type": vtype, "reported_at": "2024-02-01 08:00"},
            },
            {
                "type": "Feature",
                "geometry": {"type": "LineString", "coordinates": [[x, y], [x, y]]},
                "properties": {"type": vtype, "reported_at": "2024-02-01 08:00"},
            },
        ],
    }
    (tmp_path / "h.geojson").write_text(json.dumps(doc), encoding="utf-8")
    summary = import_cases(conn, path=tmp_path / "h.geojson", now=NOW)
    assert summary.imported == 1
    assert [summary.describe(b) for b in summary.bad] == ["feature 2: lon is missing"]
    assert imported(conn)[-1]["property_area_code"] == "P111"


def test_a_file_without_the_required_columns_is_refused(
    conn: Connection, district: dict, tmp_path: Path
) -> None:
    path = tmp_path / "h.csv"
    path.write_text("x,y,when\n1,2,3\n", encoding="utf-8")
    with pytest.raises(HistoryImportRejected, match="no type, reported_at column"):
        import_cases(conn, path=path, now=NOW)


def test_imported_cases_are_seen_as_live_ones_are(
    conn: Connection, world: dict, tmp_path: Path
) -> None:
    vtype = type_of(conn, agency="public_security")
    x, y = IN_P111  # precinct PS1
    path = write(tmp_path, f"{x},{y},wgs84,{vtype},2024-01-02 10:00,,,\n")
    assert import_cases(conn, path=path, now=NOW).imported == 1
    (case,) = imported(conn)
    assert case["handler_party"] == "public_security" and case["handler_unit_code"] == "PS1"

    def sees(who: str) -> bool:
        listed = service.list_cases(conn, principal=world[who])["items"]
        return case["id"] in [c["id"] for c in listed]

    assert sees("police_ps1") and sees("dispatcher") and sees("town_t1")
    assert not sees("police_ps2") and not sees("planner") and not sees("town_t2")
    with pytest.raises(CaseNotFound):  # no reporter: no resident holds its tracking code
        service.track(conn, tracking_code=case["tracking_code"])


def test_a_failure_midway_stores_nothing(scratch_db_url: str, tmp_path: Path) -> None:
    engine = make_engine(scratch_db_url)
    try:
        with engine.begin() as conn:
            load_mini(conn)
            catalog.sync_taxonomy(conn)
            vtype = type_of(conn, scope="property_service")
        x, y = IN_P111
        path = write(tmp_path, f"{x},{y},wgs84,{vtype},2024-01-02 10:00,,,\n" * 3)

        def explode(stage: str, _done: int, _total: int | None) -> None:
            if stage == "storing events":  # the cases are inserted by then
                raise RuntimeError("disk full")

        with pytest.raises(RuntimeError, match="disk full"), engine.begin() as conn:
            import_cases(conn, path=path, progress=explode)
        with engine.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM case_file")).scalar_one() == 0
            assert conn.execute(text("SELECT count(*) FROM case_event")).scalar_one() == 0
        with engine.begin() as conn:
            assert import_cases(conn, path=path).imported == 3
    finally:
        engine.dispose()
