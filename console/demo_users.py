"""One demo user per role, with fresh random passwords printed on every ``shudi demo``."""

from __future__ import annotations

import secrets

from sqlalchemy import Connection, text

from accounts.service import create_user, set_password


def _scope(conn: Connection) -> dict[str, dict[str, str | None]]:
    first = (
        conn.execute(
            text("""
        SELECT t.code AS town, c.code AS community, pa.property_company AS company,
               (SELECT code FROM boundary u JOIN generation_period gu
                  ON gu.generation_id = u.generation_id AND gu.valid_to IS NULL
                 WHERE u.layer = 'agency_unit' AND u.agency = 'public_security'
                 ORDER BY code LIMIT 1) AS precinct
        FROM boundary pa
        JOIN generation_period g ON g.generation_id = pa.generation_id AND g.valid_to IS NULL
        JOIN boundary c ON c.code = pa.parent_code AND c.layer = 'community'
        JOIN generation_period gc ON gc.generation_id = c.generation_id AND gc.valid_to IS NULL
        JOIN boundary t ON t.code = c.parent_code AND t.layer = 'town'
        JOIN generation_period gt ON gt.generation_id = t.generation_id AND gt.valid_to IS NULL
        WHERE pa.layer = 'property_area' AND pa.property_company <> ''
        ORDER BY pa.code LIMIT 1""")
        )
        .mappings()
        .one()
    )
    return {
        "dispatcher": {},
        "agency_officer": {"agency": "public_security", "agency_unit": first["precinct"]},
        "town_coordinator": {"town_code": first["town"]},
        "community_worker": {"community_code": first["community"]},
        "property_company": {"company": first["company"]},
        "planner": {},
        "admin": {},
    }


def load_demo_users(conn: Connection) -> dict[str, str]:
    """Create or reset ``demo-<role>`` users; user name → new password."""
    out = {}
    for role, scope in _scope(conn).items():
        username = f"demo-{role.replace('_', '-')}"
        password = secrets.token_urlsafe(9)
        if not set_password(conn, username=username, password=password):
            create_user(
                conn,
                username=username,
                password=password,
                role=role,
                display_name=f"演示 {role}",
                **scope,
            )
        out[username] = password
    return out
