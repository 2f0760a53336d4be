"""In-database bulk re-resolve agrees with the single-point resolver."""

from __future__ import annotations

import numpy as np
from sqlalchemy import Connection, text

from jurisdictions.bulk import reresolve_table
from jurisdictions.service import resolve_points


def test_bulk_matches_single_and_writes_only_changes(conn: Connection, mini: dict) -> None:
    conn.execute(
        text("""CREATE TEMP TABLE pts (id bigint PRIMARY KEY,
        geom geometry(Point, 4326) NOT NULL, town_code text, community_code text,
        property_area_code text, agency_units jsonb)""")
    )
    rng = np.random.default_rng(7)
    xs = np.round(rng.uniform(119.995, 120.045, 600), 4)  # some outside, some on borders
    ys = np.round(rng.uniform(29.998, 30.022, 600), 4)
    xs[:4], ys[:4] = [120.02, 120.02, 120.015, 120.006], [30.01, 30.005, 30.002, 30.006]
    conn.execute(
        text(
            "INSERT INTO pts (id, geom) SELECT i, ST_SetSRID(ST_MakePoint(x, y), 4326) "
            "FROM unnest(CAST(:xs AS float8[]), CAST(:ys AS float8[])) "
            "WITH ORDINALITY AS t(x, y, i)"
        ),
        {"xs": xs.tolist(), "ys": ys.tolist()},
    )
    conn.execute(text("CREATE INDEX ON pts USING gist (geom)"))
    first = reresolve_table(conn, table="pts")
    assert first.points == 600 and first.generations == mini
    rows = conn.execute(
        text(
            "SELECT town_code, community_code, property_area_code, "
            "agency_units FROM pts ORDER BY id"
        )
    ).all()
    expected = resolve_points(conn, lons=xs, lats=ys, with_nearest=False)
    inside = 0
    for row, res in zip(rows, expected, strict=True):
        assert row.town_code == (res.town.code if res.town else None)
        assert row.community_code == (res.community.code if res.community else None)
        assert row.property_area_code == (res.property_area.code if res.property_area else None)
        assert row.agency_units == {k: v.code for k, v in res.agency_units.items()}
        inside += res.town is not None
    assert first.changed == 600  # every row got its first owner (or an empty unit map)
    assert 0 < inside < 600
    again = reresolve_table(conn, table="pts")
    assert again.changed == 0


def test_rejects_odd_identifiers(conn: Connection) -> None:
    import pytest

    with pytest.raises(ValueError):
        reresolve_table(conn, table="pts; DROP TABLE boundary")
