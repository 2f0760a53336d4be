"""Rate limits and bans on report intake: the service against PostGIS, then over real HTTP."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import Connection, create_engine, text
from support import IN_P111, IN_T2, live_server, load_mini

from abuse import service
from abuse.exceptions import Banned, BanNotFound, InvalidBan, InvalidLimit, RateLimited
from abuse.service import Limit, Policy
from accounts.service import create_user
from jurisdictions import catalog

NOW = datetime(2026, 11, 25, 10, 30, 5, tzinfo=UTC)
PASSWORD = "correct horse battery"


def test_limits_parse() -> None:
    assert Limit.parse("30/1h") == Limit(30, 3600)
    assert Limit.parse("10/h") == Limit(10, 3600)
    assert Limit.parse(" 5 / 10m ") == Limit(5, 600)
    assert Limit.parse("off") is None
    for bad in ("30", "0/1h", "5/0m", "x/1h", "5/1w", "5/-1h"):
        with pytest.raises(InvalidLimit):
            Limit.parse(bad)
    start, left = Limit(5, 600).window(NOW)
    assert start == datetime(2026, 11, 25, 10, 30, tzinfo=UTC) and left == 595


def check(conn: Connection, policy: Policy, **over: object) -> None:
    args: dict = {
        "policy": policy,
        "ip": "203.0.113.7",
        "phone": "",
        "lon": IN_P111[0],
        "lat": IN_P111[1],
        "type_code": "illegal_construction",
        "idempotency_key": None,
        "now": NOW,
    } | over
    service.check_report(conn, **args)


def test_per_address_limit_and_retry_after(conn: Connection) -> None:
    policy = Policy(Limit(2, 3600), None, None)
    check(conn, policy)
    check(conn, policy)
    with pytest.raises(RateLimited) as err:
        check(conn, policy)
    assert err.value.details["retry_after_s"] == 3600 - (30 * 60 + 5)
    assert err.value.details["limits"] == ["ip"]
    check(conn, policy, ip="198.51.100.1")  # another address has its own count
    check(conn, policy, now=NOW + timedelta(hours=1))  # the next window starts afresh


def test_per_phone_limit_normalises_numbers(conn: Connection) -> None:
    policy = Policy(None, Limit(1, 3600), None)
    check(conn, policy, phone="139 1234-5678", ip="a")
    with pytest.raises(RateLimited):
        check(conn, policy, phone="13912345678", ip="b")
    check(conn, policy, phone="", ip="c")  # no phone, no phone limit


def test_per_cell_and_type_limit(conn: Connection) -> None:
    policy = Policy(None, None, Limit(1, 3600))
    check(conn, policy, ip="a")
    check(conn, policy, ip="b", type_code="other_type")  # another type in the same cell
    check(conn, policy, ip="c", lon=IN_T2[0], lat=IN_T2[1])  # the same type elsewhere
    with pytest.raises(RateLimited) as err:
        check(conn, policy, ip="d", lon=IN_P111[0] + 0.00001)  # ~1 m away: the same cell
    assert err.value.details["limits"] == ["cell"]


def test_answered_retry_is_not_counted_again(conn: Connection) -> None:
    conn.execute(
        text("""INSERT INTO idempotency_key (key, scope, request_hash, status_code, response)
                VALUES ('k-1', 'reports', 'h', 201, '{}')""")
    )
    policy = Policy(Limit(1, 3600), None, None)
    check(conn, policy, idempotency_key="k-1")
    check(conn, policy, idempotency_key="k-1")  # a retry of an answered report
    check(conn, policy, idempotency_key="k-2")  # the first new one
    with pytest.raises(RateLimited):
        check(conn, policy, idempotency_key="k-3")


def test_bans(conn: Connection) -> None:
    policy = Policy(None, None, None)
    ban = service.add_ban(conn, kind="phone", value="139-1234-5678", reason="恶意举报邻居")
    assert ban["value"] == "13912345678" and ban["expires_at"] is None
    with pytest.raises(Banned):
        check(conn, policy, phone="13912345678")
    check(conn, policy, phone="13800000000")
    service.add_ban(conn, kind="ip", value="198.51.100.9", reason="scripted flood", days=1)
    with pytest.raises(Banned):
        check(conn, policy, ip="198.51.100.9")
    conn.execute(text("UPDATE ban SET expires_at = now() - interval '1 minute' WHERE kind='ip'"))
    check(conn, policy, ip="198.51.100.9")  # expired
    assert [b["kind"] for b in service.list_bans(conn)] == ["phone"]
    assert len(service.list_bans(conn, include_expired=True)) == 2
    service.lift_ban(conn, ban_id=ban["id"])
    check(conn, policy, phone="13912345678")
    with pytest.raises(BanNotFound):
        service.lift_ban(conn, ban_id=ban["id"])
    for kind, value, reason in (("email", "x", "r"), ("ip", " ", "r"), ("ip", "1.2.3.4", " ")):
        with pytest.raises(InvalidBan):
            service.add_ban(conn, kind=kind, value=value, reason=reason)


def test_purge_keeps_current_windows(conn: Connection) -> None:
    policy = Policy(Limit(5, 3600), None, None)
    check(conn, policy, now=NOW - timedelta(days=3))
    check(conn, policy)
    assert service.purge(conn, policy=policy, now=NOW) == 1
    assert conn.execute(text("SELECT count(*) FROM rate_counter")).scalar_one() == 1


# --- over HTTP ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def server(module_scratch_db_url: str) -> Iterator[str]:
    eng = create_engine(module_scratch_db_url)
    with eng.begin() as c:
        load_mini(c)
        catalog.sync_taxonomy(c)
        create_user(c, username="disp", password=PASSWORD, role="dispatcher")
        create_user(
            c, username="cw", password=PASSWORD, role="community_worker", community_code="C11"
        )
    eng.dispose()
    limits = {
        "SHUDI_REPORT_LIMIT_IP": "3/1h",
        "SHUDI_REPORT_LIMIT_PHONE": "off",
        "SHUDI_REPORT_LIMIT_CELL": "off",
    }
    with live_server(module_scratch_db_url, **limits) as base:
        yield base


def login(base: str, user: str) -> dict[str, str]:
    r = httpx.post(f"{base}/api/v1/auth/token", data={"username": user, "password": PASSWORD})
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


def post_report(
    base: str, key: str, headers: dict[str, str] | None = None, **over: object
) -> httpx.Response:
    body = {
        "lon": IN_P111[0],
        "lat": IN_P111[1],
        "type": "illegal_construction",
        "description": "楼顶加建",
        "phone": "13700000000",
    } | over
    return httpx.post(
        f"{base}/api/v1/reports",
        json=body,
        headers={"Idempotency-Key": key, **(headers or {})},
        timeout=30,
    )


def test_http_rate_limit_ban_and_staff(server: str) -> None:
    base = server
    first = post_report(base, "h-1")
    assert first.status_code == 201, first.text
    assert post_report(base, "h-1").status_code == 201  # the replay is not counted
    assert post_report(base, "h-2").status_code == 201
    assert post_report(base, "h-3").status_code == 201
    limited = post_report(base, "h-4")
    assert limited.status_code == 429
    assert limited.json()["code"] == "rate_limited"
    assert 0 < int(limited.headers["Retry-After"]) <= 3600
    # staff channels are accountable users, not anonymous clients: not rate limited
    disp = login(base, "disp")
    phone_in = post_report(base, "h-5", headers=disp, channel="phone")
    assert phone_in.status_code == 201, phone_in.text

    # the ban list: dispatchers and admins only
    assert httpx.get(f"{base}/api/v1/bans").status_code == 401
    assert httpx.get(f"{base}/api/v1/bans", headers=login(base, "cw")).status_code == 403
    bad = httpx.post(f"{base}/api/v1/bans", headers=disp, json={"kind": "ip", "value": "x"})
    assert bad.status_code == 422 and bad.json()["code"] == "invalid_request"
    made = httpx.post(
        f"{base}/api/v1/bans",
        headers=disp,
        json={"kind": "phone", "value": "137 0000 0000", "reason": "骚扰举报", "days": 30},
    )
    assert made.status_code == 201, made.text
    assert [b["value"] for b in httpx.get(f"{base}/api/v1/bans", headers=disp).json()] == [
        "13700000000"
    ]
    gone = httpx.delete(f"{base}/api/v1/bans/{made.json()['id']}", headers=disp)
    assert gone.status_code == 204
    missing = httpx.delete(f"{base}/api/v1/bans/{made.json()['id']}", headers=disp)
    assert missing.status_code == 404 and missing.json()["code"] == "ban_not_found"


def test_http_banned_phone(server: str, module_scratch_db_url: str) -> None:
    base = server
    disp = login(base, "disp")
    made = httpx.post(
        f"{base}/api/v1/bans",
        headers=disp,
        json={"kind": "phone", "value": "13611112222", "reason": "恶意举报"},
    )
    assert made.status_code == 201
    # the address is over its limit from the tests before: refused before the body is read
    first = post_report(base, "b-0", phone="13611112222")
    assert first.status_code == 429 and first.json()["code"] == "rate_limited"
    eng = create_engine(module_scratch_db_url)
    with eng.begin() as c:  # a new window for the address: now the phone's ban answers
        c.execute(text("DELETE FROM rate_counter"))
    eng.dispose()
    refused = post_report(base, "b-1", phone="13611112222")
    assert refused.status_code == 403 and refused.json()["code"] == "banned"
    httpx.delete(f"{base}/api/v1/bans/{made.json()['id']}", headers=disp)


def test_cli(scratch_db_url: str) -> None:
    shudi = str(Path(sys.executable).with_name("shudi"))
    env = os.environ | {"SHUDI_DATABASE_URL": scratch_db_url}

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([shudi, *args], env=env, capture_output=True, text=True, timeout=60)

    made = run("bans", "add", "phone", "138-0000-1111", "--reason", "恶意举报", "--days", "7")
    assert made.returncode == 0 and "13800001111" in made.stdout, made.stderr
    listed = json.loads(run("bans", "list").stdout)
    assert [(b["kind"], b["value"], b["reason"]) for b in listed] == [
        ("phone", "13800001111", "恶意举报")
    ]
    bad = run("bans", "add", "email", "x@example.org", "--reason", "r")
    assert bad.returncode != 0 and bad.stderr.count("\n") == 1 and "ip, phone" in bad.stderr
    assert run("bans", "lift", str(listed[0]["id"])).returncode == 0
    missing = run("bans", "lift", str(listed[0]["id"]))
    assert missing.returncode != 0 and missing.stderr.startswith("shudi: error: no ban")
    purged = run("cases", "purge")
    assert purged.returncode == 0 and purged.stdout.startswith("purged 0 idempotency key(s)")
    refused = subprocess.run(
        [shudi, "serve", "--port", "9"],
        env=env | {"SHUDI_REPORT_LIMIT_IP": "lots"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert refused.returncode != 0 and refused.stderr.count("\n") == 1
    assert "rate limit 'lots'" in refused.stderr
