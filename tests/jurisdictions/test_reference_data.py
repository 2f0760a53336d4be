"""The linkage rules are product data: loaded by ``shudi db migrate`` (``load_reference_data``)
once per version of the files, and again when the files change — cases keep the routing they
were stored with."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from sqlalchemy import Connection, text
from support import IN_P111, file_report

from jurisdictions import catalog, taxonomy


@pytest.fixture
def edited_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, str]]:
    """Copies of the data files with one reportable type removed and another renamed."""
    types = yaml.safe_load(taxonomy.VIOLATION_TYPES_PATH.read_text(encoding="utf-8"))
    reportable = [t for t in types if t["reportable"]]
    removed, renamed = reportable[0]["code"], reportable[1]["code"]
    kept = [t for t in types if t["code"] != removed]
    for t in kept:
        if t["code"] == renamed:
            t["name_zh"] = "改名后的类型"
    agencies = tmp_path / "agencies.yaml"
    agencies.write_bytes(taxonomy.AGENCIES_PATH.read_bytes())
    vtypes = tmp_path / "violation_types.yaml"
    vtypes.write_text(yaml.safe_dump(kept, allow_unicode=True), encoding="utf-8")
    for module in (taxonomy, catalog):
        monkeypatch.setattr(module, "AGENCIES_PATH", agencies)
        monkeypatch.setattr(module, "VIOLATION_TYPES_PATH", vtypes)
    yield {"removed": removed, "renamed": renamed}
    taxonomy.clear_caches()


def test_loaded_once_per_version_and_again_when_the_files_change(
    conn: Connection, mini: dict, edited_files: dict[str, str]
) -> None:
    # the mini district was loaded as `migrate` leaves a database: the rules are there
    parties = conn.execute(text("SELECT count(*) FROM agency")).scalar_one()
    assert parties == 12  # the 11 parties of section 二 and the property company
    removed = edited_files["removed"]
    case = file_report(conn, IN_P111, removed)
    stored = conn.execute(
        text("SELECT type_code, handler_party, routing FROM case_file WHERE id = :i"),
        {"i": case["id"]},
    ).one()
    version = conn.execute(
        text("SELECT sha256 FROM reference_data WHERE name = 'taxonomy'")
    ).scalar_one()

    counts = catalog.load_reference_data(conn)  # the files changed: loaded again
    assert counts is not None and counts["retired"] == 1
    assert catalog.load_reference_data(conn) is None  # and only once
    now = conn.execute(
        text("SELECT sha256 FROM reference_data WHERE name = 'taxonomy'")
    ).scalar_one()
    assert now != version
    names = dict(conn.execute(text("SELECT code, name_zh FROM violation_type")).all())
    assert names[edited_files["renamed"]] == "改名后的类型"
    active = conn.execute(
        text("SELECT active FROM violation_type WHERE code = :c"), {"c": removed}
    ).scalar_one()
    assert active is False  # retired, not deleted: the case still refers to it
    after = conn.execute(
        text("SELECT type_code, handler_party, routing FROM case_file WHERE id = :i"),
        {"i": case["id"]},
    ).one()
    assert after == stored


def test_an_unknown_agency_unit_agency_is_refused_with_the_known_codes(
    conn: Connection, mini: dict
) -> None:
    from jurisdictions.generations import check_agency

    with pytest.raises(catalog.UnknownAgency) as err:
        check_agency(conn, "police")
    assert "unknown agency 'police'" in err.value.message
    assert "public_security" in err.value.message and "urban_management" in err.value.message
    check_agency(conn, "public_security")
