"""Every write made through the API is audited with the request's ``X-Request-Id``, and an
administrator's with its user id (issue 18, migration 0018); the chain still verifies, and
the hash covers the two new fields (changing one breaks it at that row).

Over real HTTP against ``shudi serve``: the request id travels from the middleware to the
route's thread and into the transaction the triggers read.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import httpx
from sqlalchemy import text
from support import IN_P111, live_server, load_mini, type_of

from accounts.service import create_user
from audit import service
from jurisdictions import catalog
from shudi.database import make_engine

SHUDI = str(Path(sys.executable).with_name("shudi"))
ADMIN_PASSWORD = "a much longer admin phrase"


def _verify(url: str, *args: str) -> subprocess.CompletedProcess:
    env = os.environ | {"SHUDI_DATABASE_URL": url, "COLUMNS": "200"}
    return subprocess.run(
        [SHUDI, "audit", "verify", *args], capture_output=True, text=True, env=env, timeout=120
    )


def test_api_writes_carry_the_request_id_and_the_admin_and_the_chain_verifies(
    scratch_db_url: str,
) -> None:
    eng = make_engine(scratch_db_url)
    with eng.begin() as conn:
        load_mini(conn)
        catalog.sync_taxonomy(conn)
        admin_id = create_user(conn, username="boss", password=ADMIN_PASSWORD, role="admin")
        type_code = type_of(conn, agency="urban_management")
    with live_server(scratch_db_url) as base:
        r = httpx.post(
            f"{base}/api/v1/auth/token", data={"username": "boss", "password": ADMIN_PASSWORD}
        )
        auth = {"Authorization": f"Bearer {r.json()['access_token']}"}
        r = httpx.post(
            f"{base}/api/v1/users",
            json={"username": "newcomer", "role": "community_worker", "community_code": "C11"},
            headers=auth | {"X-Request-Id": "admin-adds-newcomer"},
        )
        assert r.status_code == 201, r.text
        r = httpx.post(
            f"{base}/api/v1/users/newcomer/disable",
            headers=auth | {"X-Request-Id": "admin-disables-newcomer"},
        )
        assert r.status_code == 200, r.text
        report = {"lon": IN_P111[0], "lat": IN_P111[1], "type": type_code, "description": "x"}
        r = httpx.post(
            f"{base}/api/v1/reports",
            json=report,
            headers={"Idempotency-Key": uuid.uuid4().hex, "X-Request-Id": "resident-report"},
        )
        assert r.status_code == 201, r.text
        case_id = r.json()["id"]
    with eng.begin() as conn:
        rows = conn.execute(
            text("""SELECT subject, op, actor, actor_id, request_id FROM audit_log
                    WHERE request_id IS NOT NULL ORDER BY id""")
        ).all()
    got = [(r.subject, r.op, r.actor_id, r.request_id) for r in rows]
    newcomer = next(s for s, *_ in got if s.startswith("app_user:"))
    assert (newcomer, "INSERT", admin_id, "admin-adds-newcomer") in got
    assert (newcomer, "UPDATE", admin_id, "admin-disables-newcomer") in got
    # a resident's report: the request, and no staff actor
    assert (f"case:{case_id}", "INSERT", None, "resident-report") in got
    # (the server's own sealer may have sealed them already; a transaction running elsewhere
    # in the cluster, such as the suite's other worker's, holds the horizon a while)
    deadline = time.monotonic() + 60
    while True:
        service.seal_pending(eng)
        with eng.begin() as conn:
            unsealed = conn.execute(
                text("SELECT count(*) FROM audit_log WHERE request_id IS NOT NULL AND seq IS NULL")
            ).scalar_one()
        if unsealed == 0 or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert unsealed == 0
    ok = _verify(scratch_db_url)
    assert ok.returncode == 0 and ok.stdout.startswith("ok: "), ok.stderr
    with eng.begin() as conn:
        seq = conn.execute(
            text("SELECT seq FROM audit_log WHERE request_id = 'admin-disables-newcomer'")
        ).scalar_one()
        conn.execute(text("ALTER TABLE audit_log DISABLE TRIGGER audit_log_immutable"))
        conn.execute(
            text("UPDATE audit_log SET request_id = 'someone-else' WHERE seq = :s"), {"s": seq}
        )
        conn.execute(text("ALTER TABLE audit_log ENABLE TRIGGER audit_log_immutable"))
    bad = _verify(scratch_db_url)
    assert bad.returncode == 1
    assert f"broken at seq {seq}: row altered" in bad.stderr
    eng.dispose()
