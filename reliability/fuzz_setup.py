"""Set-up of the fuzz run (``reliability/fuzz.py``): a database of its own with the sample
district, its demo cases and contacts, one user per role, and the ids of the real objects the
path parameters are filled with."""

from __future__ import annotations

import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field

import httpx
from sqlalchemy import create_engine, text

#: Mainland mobile numbers (11 digits, 13x-19x), not inside a longer run of digits.
PHONE = re.compile(r"(?<!\d)1[3-9]\d{9}(?!\d)")
#: One user per role; ``officer_*`` are two agencies, so each sees the other's cases as 404s.
ROLES: dict[str, dict[str, str]] = {
    "dispatcher": {"role": "dispatcher"},
    "officer_police": {"role": "agency_officer", "agency": "public_security"},
    "officer_urban": {"role": "agency_officer", "agency": "urban_management"},
    "town": {"role": "town_coordinator"},
    "community": {"role": "community_worker"},
    "company": {"role": "property_company"},
    "planner": {"role": "planner"},
    "admin": {"role": "admin"},
}


@dataclass
class Known:
    """Ids of real objects in the database under test, for the path parameters."""

    case_ids: list[int] = field(default_factory=list)
    tracking_codes: list[str] = field(default_factory=list)
    photo_ids: list[int] = field(default_factory=list)
    ban_ids: list[int] = field(default_factory=list)
    meeting_ids: list[int] = field(default_factory=list)
    action_ids: list[int] = field(default_factory=list)
    property_areas: list[str] = field(default_factory=list)
    public_phones: set[str] = field(default_factory=set)


def prepare(db_url: str, *, cases: int = 200) -> tuple[dict[str, str], Known]:
    """Load the sample district, taxonomy, contacts and demo cases; one user per role.

    Returns user name -> password, and the ids of the objects made.
    """
    from accounts.service import create_user
    from console.demo import load_sample_district
    from console.demo_cases import load_demo_cases
    from console.demo_contacts import load_demo_contacts
    from console.demo_users import load_demo_users
    from jurisdictions.catalog import sync_taxonomy

    engine = create_engine(db_url)
    passwords = {}
    try:
        with engine.begin() as conn:
            load_sample_district(conn, note=lambda _m: None)
            sync_taxonomy(conn)
            load_demo_contacts(conn)
            load_demo_users(conn)  # the demo cases are filed by its dispatcher
            load_demo_cases(conn, count=cases)
            scope = conn.execute(
                text("""SELECT town_code, community_code, property_company FROM case_file
                        WHERE property_company IS NOT NULL AND property_company <> ''
                        ORDER BY id LIMIT 1""")
            ).one()
            scopes = {
                "town": {"town_code": scope.town_code},
                "community": {"community_code": scope.community_code},
                "company": {"company": scope.property_company},
            }
            for name, spec in ROLES.items():
                password = secrets.token_urlsafe(12)
                create_user(
                    conn,
                    username=f"fuzz-{name}",
                    password=password,
                    **(spec | scopes.get(name, {})),
                )
                passwords[f"fuzz-{name}"] = password
    finally:
        engine.dispose()
    return passwords, collect_known(db_url)


def collect_known(db_url: str) -> Known:
    """Ids of the real objects in the database, and the phone numbers published on purpose."""
    engine = create_engine(db_url)
    known = Known()
    queries = {
        "case_ids": "SELECT id FROM case_file ORDER BY id LIMIT 200",
        "tracking_codes": "SELECT tracking_code FROM case_reporter ORDER BY id LIMIT 200",
        "photo_ids": "SELECT id FROM case_photo ORDER BY id LIMIT 50",
        "ban_ids": "SELECT id FROM ban ORDER BY id LIMIT 50",
        "meeting_ids": "SELECT id FROM meeting ORDER BY id LIMIT 50",
        "action_ids": "SELECT id FROM meeting_action ORDER BY id LIMIT 50",
        "property_areas": """SELECT DISTINCT code FROM boundary WHERE layer = 'property_area'
                             ORDER BY code LIMIT 100""",
    }
    try:
        with engine.connect() as conn:
            for attr, sql in queries.items():
                try:
                    with conn.begin_nested():
                        rows = conn.execute(text(sql)).scalars().all()
                except Exception:  # a table another part of the product has not made yet
                    rows = []
                setattr(known, attr, list(rows))
            with conn.begin_nested():
                contacts = conn.execute(text("SELECT phone FROM contact")).scalars().all()
            known.public_phones = {m for p in contacts for m in PHONE.findall(str(p or ""))}
    finally:
        engine.dispose()
    return known


def log_in(base_url: str, passwords: Mapping[str, str]) -> dict[str, str]:
    """A bearer token per role label (``fuzz-dispatcher`` -> ``dispatcher``)."""
    tokens = {}
    for username, password in passwords.items():
        r = httpx.post(
            f"{base_url}/api/v1/auth/token",
            data={"username": username, "password": password},
            timeout=30,
        )
        r.raise_for_status()
        tokens[username.removeprefix("fuzz-")] = str(r.json()["access_token"])
    return tokens
