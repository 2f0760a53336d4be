"""The sample district loads and every landmark resolves as the generator says it should."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import Connection

from console.demo import SAMPLE_DIR, load_sample_district
from jurisdictions.exceptions import OutsideServiceArea
from jurisdictions.service import resolve_one

LANDMARKS = json.loads((SAMPLE_DIR / "landmarks.json").read_text())


def test_landmarks(conn: Connection) -> None:
    assert load_sample_district(conn, note=lambda _m: None) == 5
    for name, mark in LANDMARKS.items():
        expect = mark["expect"]
        if expect["town"] is None:
            with pytest.raises(OutsideServiceArea):
                resolve_one(conn, lon=mark["lon"], lat=mark["lat"])
            continue
        res = resolve_one(conn, lon=mark["lon"], lat=mark["lat"])
        pa = res.property_area.code if res.property_area else None
        assert pa == expect["property_area"], name
        assert res.community.code in expect["communities_covering"], name
        assert res.town.code in expect["towns_covering"], name
        assert res.ambiguous == (
            len(expect["towns_covering"]) > 1
            or len(expect["communities_covering"]) > 1
            or any(len(v) > 1 for v in res.candidates.values())
        ), name
        if len(expect["communities_covering"]) > 1:
            assert res.candidates["community"] == sorted(expect["communities_covering"]), name
        if res.community.code:  # the chosen town is the chosen community's parent
            assert res.community.parent_code == res.town.code, name
        assert set(res.agency_units) == {"public_security", "urban_management"}, name
    assert load_sample_district(conn, note=lambda _m: None) == 0  # idempotent
