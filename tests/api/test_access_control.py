"""Log-in throttling, the password policy, revoking access (API and CLI), demo accounts only
when asked, and the acting user named in the audit log (issue 19)."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import yaml
from sqlalchemy import Connection, create_engine, text
from support import live_server, load_mini

from accounts.exceptions import AccountError
from accounts.service import create_api_key, create_user
from jurisdictions import catalog

SHUDI = str(Path(sys.executable).with_name("shudi"))
ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "correct horse battery"
ADMIN_PASSWORD = "a much longer admin phrase"


@pytest.fixture(scope="module")
def server(module_scratch_db_url: str) -> Iterator[tuple[str, str]]:
    eng = create_engine(module_scratch_db_url)
    with eng.begin() as conn:
        load_mini(conn)
        catalog.sync_taxonomy(conn)
        for name in ("victim", "other", "gone", "forgetful", "sessions", "me"):
            create_user(conn, username=name, password=PASSWORD, role="dispatcher")
        create_user(conn, username="boss", password=ADMIN_PASSWORD, role="admin")
    eng.dispose()
    with live_server(module_scratch_db_url) as base:
        yield base, module_scratch_db_url


def token(base: str, user: str, password: str = PASSWORD) -> httpx.Response:
    return httpx.post(f"{base}/api/v1/auth/token", data={"username": user, "password": password})


def bearer(base: str, user: str, password: str = PASSWORD) -> dict[str, str]:
    r = token(base, user, password)
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


def test_wrong_passwords_lock_the_account_even_for_the_right_one(
    server: tuple[str, str],
) -> None:
    base, _ = server
    for _ in range(5):
        assert token(base, "victim", "wrong password!").status_code == 401
    locked = token(base, "victim")
    assert locked.status_code == 429, locked.text
    assert locked.json()["code"] == "login_throttled"
    assert 0 < int(locked.headers["retry-after"]) <= 900
    page = httpx.post(f"{base}/login", data={"username": "victim", "password": PASSWORD})
    assert page.status_code == 429 and "登录失败次数过多" in page.text
    assert token(base, "other").status_code == 200  # another account is not affected


def test_the_address_is_throttled_across_accounts(scratch_db_url: str) -> None:
    eng = create_engine(scratch_db_url)
    with eng.begin() as conn:
        create_user(conn, username="real", password=PASSWORD, role="dispatcher")
    eng.dispose()
    with live_server(scratch_db_url, SHUDI_LOGIN_MAX_FAILURES_ADDRESS="4") as base:
        for n in range(4):
            assert token(base, f"guess{n}", "wrong password!").status_code == 401
        r = token(base, "real")
        assert r.status_code == 429 and "address" in r.json()["message"]


def test_password_policy(conn: Connection) -> None:
    with pytest.raises(AccountError, match="12 characters"):
        create_user(conn, username="adm1", password="12345678", role="admin")
    with pytest.raises(AccountError, match="12 characters"):
        create_user(conn, username="adm2", password="Eleven-char", role="admin")
    for common in ("12345678", "password1!", "woaini1314", "qwertyuiop", "1qaz2wsx"):
        with pytest.raises(AccountError, match="common"):
            create_user(conn, username="disp1", password=common, role="dispatcher")
    with pytest.raises(AccountError, match="user name"):
        create_user(conn, username="zhangsan", password="zhangsan-2026x", role="dispatcher")
    assert create_user(conn, username="adm3", password="twelve chars ok", role="admin") > 0


def test_admin_revokes_access(server: tuple[str, str]) -> None:
    base, _ = server
    boss = bearer(base, "boss", ADMIN_PASSWORD)
    # not for other roles
    assert httpx.get(f"{base}/api/v1/users", headers=bearer(base, "other")).status_code == 403
    # disable: the live token stops at once, no new log-in
    victim_token = bearer(base, "gone")
    assert httpx.get(f"{base}/api/v1/auth/me", headers=victim_token).status_code == 200
    r = httpx.post(f"{base}/api/v1/users/gone/disable", headers=boss)
    assert r.status_code == 200 and r.json()["sessions_ended"] == 1
    assert httpx.get(f"{base}/api/v1/auth/me", headers=victim_token).status_code == 401
    assert token(base, "gone").status_code == 401
    listed = {u["username"]: u for u in httpx.get(f"{base}/api/v1/users", headers=boss).json()}
    assert listed["gone"]["active"] is False
    assert httpx.post(f"{base}/api/v1/users/gone/enable", headers=boss).status_code == 200
    assert token(base, "gone").status_code == 200
    # reset: old token and old password stop, the new one works; a weak one is refused
    old = bearer(base, "forgetful")
    weak = httpx.post(
        f"{base}/api/v1/users/forgetful/password", json={"password": "12345678"}, headers=boss
    )
    assert weak.status_code == 422 and weak.json()["code"] == "invalid_account"
    r = httpx.post(f"{base}/api/v1/users/forgetful/password", headers=boss)
    new = r.json()["password"]
    assert r.status_code == 200 and len(new) >= 12
    assert httpx.get(f"{base}/api/v1/auth/me", headers=old).status_code == 401
    assert token(base, "forgetful").status_code == 401
    assert token(base, "forgetful", new).status_code == 200
    # end every session
    a, b = bearer(base, "sessions"), bearer(base, "sessions")
    r = httpx.delete(f"{base}/api/v1/users/sessions/sessions", headers=boss)
    assert r.json()["sessions_ended"] == 2
    assert all(httpx.get(f"{base}/api/v1/auth/me", headers=h).status_code == 401 for h in (a, b))
    assert httpx.post(f"{base}/api/v1/users/nobody/disable", headers=boss).status_code == 404
    # one's own bearer token
    mine = bearer(base, "me")
    assert httpx.post(f"{base}/api/v1/auth/logout", headers=mine).status_code == 204
    assert httpx.get(f"{base}/api/v1/auth/me", headers=mine).status_code == 401


def test_admin_revokes_an_api_key(server: tuple[str, str]) -> None:
    base, url = server
    eng = create_engine(url)
    with eng.begin() as conn:
        key = create_api_key(conn, name="hotline")
    eng.dispose()
    boss = bearer(base, "boss", ADMIN_PASSWORD)
    keys = httpx.get(f"{base}/api/v1/apikeys", headers=boss).json()
    mine = next(k for k in keys if k["name"] == "hotline")
    assert "key_hash" not in mine and key not in str(keys)
    form = {"api_key": key, "service_code": "nonexistent", "lat": 30.002, "long": 120.002}
    before = httpx.post(f"{base}/open311/v2/requests.json", data=form)
    assert before.status_code != 403, before.text  # the key is accepted (the code is not)
    r = httpx.post(f"{base}/api/v1/apikeys/{mine['id']}/revoke", headers=boss)
    assert r.status_code == 200
    after = httpx.post(f"{base}/open311/v2/requests.json", data=form)
    assert after.status_code == 403


def test_audit_names_the_acting_user(server: tuple[str, str]) -> None:
    base, url = server
    boss = bearer(base, "boss", ADMIN_PASSWORD)
    assert httpx.post(f"{base}/api/v1/users/other/disable", headers=boss).status_code == 200
    httpx.post(f"{base}/api/v1/users/other/enable", headers=boss)
    ban = httpx.post(
        f"{base}/api/v1/bans",
        json={"kind": "ip", "value": "203.0.113.9", "reason": "flood"},
        headers=boss,
    )
    assert ban.status_code in (200, 201), ban.text
    eng = create_engine(url)
    with eng.connect() as conn:
        rows = conn.execute(
            text("""SELECT table_name, actor FROM audit_log
                    WHERE table_name IN ('app_user', 'ban') AND NOT payload ? 'backfill'
                    ORDER BY id DESC LIMIT 3""")
        ).all()
    eng.dispose()
    assert {r.table_name for r in rows} == {"app_user", "ban"}
    assert all(r.actor == "boss (admin)" for r in rows), rows


def run(url: str, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    env = os.environ | {"SHUDI_DATABASE_URL": url} | env
    return subprocess.run([SHUDI, *args], capture_output=True, text=True, env=env, timeout=300)


def test_cli_revokes_access(scratch_db_url: str) -> None:
    eng = create_engine(scratch_db_url)
    with eng.begin() as conn:
        load_mini(conn)
        create_user(conn, username="wang", password=PASSWORD, role="dispatcher")
        key = create_api_key(conn, name="app")
    assert run(scratch_db_url, "users", "disable", "wang").returncode == 0
    with eng.connect() as conn:
        active = conn.execute(text("SELECT active FROM app_user WHERE username='wang'"))
        assert active.scalar() is False
        actor = conn.execute(
            text("SELECT actor FROM audit_log WHERE table_name='app_user' ORDER BY id DESC")
        ).scalar()
        assert actor and actor.startswith("cli:")
    r = run(scratch_db_url, "users", "reset-password", "wang")
    assert r.returncode == 0 and len(r.stdout.strip().splitlines()[-1]) >= 12
    weak = run(scratch_db_url, "users", "reset-password", "wang", "--password", "12345678")
    assert weak.returncode == 1 and weak.stderr.count("\n") == 1 and "common" in weak.stderr
    nobody = run(scratch_db_url, "users", "disable", "nobody")
    assert nobody.returncode == 1 and "nobody" in nobody.stderr
    listed = run(scratch_db_url, "apikey", "list")
    assert "app" in listed.stdout and key not in listed.stdout
    key_id = listed.stdout.split()[0]
    assert run(scratch_db_url, "apikey", "revoke", key_id).returncode == 0
    with eng.connect() as conn:
        assert conn.execute(text("SELECT revoked FROM api_key")).scalar() is True
    eng.dispose()


def test_demo_accounts_only_when_asked(scratch_db_url: str) -> None:
    r = run(scratch_db_url, "demo", "--cases", "0", SHUDI_DEMO_USERS="0")
    assert r.returncode == 0, r.stderr
    assert "demo-admin" not in r.stdout
    eng = create_engine(scratch_db_url)
    with eng.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM app_user")).scalar() == 0
    eng.dispose()
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    env = compose["services"]["migrate"]["environment"]
    assert env["SHUDI_DEMO_USERS"] == "${SHUDI_DEMO_USERS:-0}"


def test_audit_names_staff_who_file_a_report(server: tuple[str, str]) -> None:
    """A report filed by staff (their own channel, a connection of its own) is written with
    them as the audit actor; the resident's stays unnamed."""
    base, url = server
    auth = bearer(base, "me")
    kind = httpx.get(f"{base}/api/v1/violation-types", params={"reportable": True}).json()[0]
    body = {"lon": 120.002, "lat": 30.002, "type": kind["code"], "description": "来电反映"}
    staff = httpx.post(
        f"{base}/api/v1/reports",
        json=body | {"channel": "phone"},
        headers=auth | {"Idempotency-Key": "actor-staff"},
    )
    assert staff.status_code == 201, staff.text
    resident = httpx.post(
        f"{base}/api/v1/reports", json=body, headers={"Idempotency-Key": "actor-resident"}
    )
    assert resident.status_code == 201, resident.text
    eng = create_engine(url)
    with eng.connect() as conn:
        actors = dict(
            conn.execute(
                text("""SELECT subject, actor FROM audit_log
                        WHERE table_name = 'case_event' AND subject IN (:a, :b)"""),
                {"a": f"case:{staff.json()['id']}", "b": f"case:{resident.json()['id']}"},
            ).all()
        )
    eng.dispose()
    assert actors[f"case:{staff.json()['id']}"] == "me (dispatcher)"
    assert actors[f"case:{resident.json()['id']}"] is None
