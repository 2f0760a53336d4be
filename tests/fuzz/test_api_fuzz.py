"""Schemathesis over the whole OpenAPI document against a real server, a few cases each.

The small version of ``reliability/fuzz.py`` (1,000 cases per operation there): the mini
district, one user per role, a few real cases, ``shudi serve`` on 127.0.0.1, and every
operation fuzzed as every role with schemathesis' response checks and the phone-number scan.
Every operation must get its success status in at least 10 % of its cases (issue #17; the valid
recipes and stateful links of ``reliability/fuzz_recipes*.py`` and ``fuzz_states.py``), and no
answer may be a 5xx. Derandomised, so a run is repeatable.
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from sqlalchemy import create_engine, text
from support import HASH, IN_P111, IN_T2, PASSWORD, USERS, live_server, load_mini

from jurisdictions import catalog
from reliability.fuzz import SUCCESS_FLOOR, Fuzzer, Known, collect_known
from reliability.fuzz_states import SERVER_ENV
from reliability.fuzz_valid import World, load_world

PER_OPERATION = 20
#: One user per role (and a second agency, whose officer sees the first one's cases as 404s).
ROLES = {
    "dispatcher": "dispatcher",
    "police_ps1": "officer_police",
    "urban": "officer_urban",
    "town_t1": "town",
    "community_c11": "community",
    "company_jia": "company",
    "planner": "planner",
    "admin": "admin",
}
PHONES = ("13800000000", "13912345678")


@pytest.fixture(scope="module")
def target(module_scratch_db_url: str) -> Iterator[tuple[str, dict[str, str], Known, World]]:
    engine = create_engine(module_scratch_db_url)
    with engine.begin() as conn:
        load_mini(conn)
        catalog.sync_taxonomy(conn)
        for name in ROLES:
            spec = USERS[name]
            conn.execute(
                text("""INSERT INTO app_user (username, password_hash, role, agency, agency_unit,
                            town_code, community_code, company)
                        VALUES (:u, :h, :r, :a, :au, :t, :c, :co)"""),
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
            )
        types = [str(t["code"]) for t in catalog.list_types(conn, reportable=True)][:3]
    engine.dispose()
    with live_server(module_scratch_db_url, **SERVER_ENV) as base:
        for n, (where, phone) in enumerate(
            zip((IN_P111, IN_T2, IN_P111), PHONES * 2, strict=False)
        ):
            r = httpx.post(
                f"{base}/api/v1/reports",
                json={"lon": where[0], "lat": where[1], "type": types[n % len(types)],
                      "description": "围墙倒塌", "phone": phone, "contact_name": "王五"},
                headers={"Idempotency-Key": f"fuzz-{n}"},
                timeout=30,
            )  # fmt: skip
            assert r.status_code == 201, r.text
        tokens = {}
        for name, label in ROLES.items():
            r = httpx.post(
                f"{base}/api/v1/auth/token", data={"username": name, "password": PASSWORD}
            )
            assert r.status_code == 200, r.text
            tokens[label] = str(r.json()["access_token"])
        known = collect_known(module_scratch_db_url)
        world = load_world(module_scratch_db_url, credentials=dict.fromkeys(ROLES, PASSWORD))
        yield base, tokens, known, world


def test_every_operation_answers_as_documented(
    target: tuple[str, dict[str, str], Known, World],
) -> None:
    base, tokens, known, world = target
    fuzzer = Fuzzer(
        base, tokens=tokens, known=known, per_operation=PER_OPERATION, seed=8, world=world
    )
    tally = fuzzer.run(lambda _line: None)
    assert len(tally.cases) >= 40  # every operation of the document was reached
    assert min(tally.cases.values()) >= PER_OPERATION
    assert tally.responses_scanned == sum(tally.cases.values())
    problems = [f"{f.kind} {f.operation} as {f.role}: {f.request} -> {f.status} {f.body[:200]}"
                for f in tally.failures]  # fmt: skip
    assert not problems, "\n".join(problems[:20])
    leaks = [f"{f.operation} as {f.role}: {f.body}" for f in tally.phone_leaks]
    assert not leaks, "\n".join(leaks)
    # the central paths are fuzzed past their input validation: every operation got its
    # success status (2xx) in at least a tenth of its cases
    below = {
        op: (share, dict(tally.statuses[op]), tally.valid_misses[op][:2])
        for op, share in tally.below_floor().items()
    }
    assert not below, f"operations under {SUCCESS_FLOOR:.0%} success: {below}"
    server_errors = {op: dict(c) for op, c in tally.statuses.items() if any(s >= 500 for s in c)}
    assert not server_errors, f"server errors: {server_errors}"
