"""A linked mini district: taxonomy and users of every role."""

from __future__ import annotations

import pytest
from sqlalchemy import Connection, text
from support import HASH, USERS

from accounts.service import Principal
from jurisdictions import catalog


@pytest.fixture
def world(conn: Connection, mini: dict) -> dict[str, Principal]:
    catalog.sync_taxonomy(conn)
    people = {}
    for name, spec in USERS.items():
        uid = conn.execute(
            text("""INSERT INTO app_user (username, password_hash, role, agency, agency_unit,
                        town_code, community_code, company)
                    VALUES (:u, :h, :r, :a, :au, :t, :c, :co) RETURNING id"""),
            {
                "u": name,
                "h": HASH,
                "r": spec["role"].value,
                "a": spec.get("agency"),
                "au": spec.get("agency_unit"),
                "t": spec.get("town_code"),
                "c": spec.get("community_code"),
                "co": spec.get("company"),
            },
        ).scalar_one()
        people[name] = Principal(user_id=uid, username=name, **spec)
    return people
