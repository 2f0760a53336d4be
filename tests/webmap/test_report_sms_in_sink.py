"""Done-when of issue 16, through the resident's page: on ``shudi serve`` with its sender
running and no channel configured, a report filed on ``/report`` (Chromium, 390 px) with a
phone number puts the accepted SMS in the file sink within 2 s of the page showing the tracking
code; the page, the server's log and the staff's view of the case's messages show no phone
number but the masked one. (tests/notify/test_server.py does the same over the API alone.)"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import create_engine
from support import IN_P111, live_server, load_mini
from test_pages import drop_pin, open_page

from accounts.service import create_user
from jurisdictions import catalog

RESIDENT = "13912340000"
MASKED = "139****0000"
PASSWORD = "correct horse battery"


@pytest.fixture(scope="module")
def site(module_scratch_db_url: str, vendor_files: None, tmp_path_factory: Any) -> Iterator[Any]:
    eng = create_engine(module_scratch_db_url)
    with eng.begin() as conn:
        load_mini(conn)
        catalog.sync_taxonomy(conn)
        create_user(conn, username="disp", password=PASSWORD, role="dispatcher")
    eng.dispose()
    tmp = tmp_path_factory.mktemp("done-when")
    sink, log = tmp / "sink.jsonl", tmp / "server.log"
    env = {"SHUDI_NOTIFY_IN_SERVER": "1", "SHUDI_NOTIFY_SINK": str(sink),
           "SHUDI_NOTIFY_QUIET_HOURS": "off", "SHUDI_BASEMAP": "none"}  # fmt: skip
    with live_server(module_scratch_db_url, log=log, **env) as base:
        yield base, sink, log


def sms_for(sink: Path, code: str) -> list[dict[str, Any]]:
    if not sink.exists():
        return []
    lines = [json.loads(x) for x in sink.read_text().splitlines() if x.strip()]
    return [m for m in lines if m["channel"] == "sms" and code in m["body"]]


def test_a_report_on_the_page_puts_the_accepted_sms_in_the_sink_within_2s(
    site: Any, browser_page: Any
) -> None:
    base, sink, log = site
    page = browser_page
    open_page(page, f"{base}/report")
    drop_pin(page, *IN_P111)
    page.wait_for_selector('[data-testid="owner"] .place-list')
    page.click('.tile[data-category="noise"]')
    page.click('#tile-types .type-option[data-code="renovation_noise_night"]')
    page.wait_for_selector(".handler-name")
    page.fill('[data-testid="phone"]', RESIDENT)
    page.click('[data-testid="submit"]')
    page.wait_for_selector("#done:not([hidden])")
    start = time.monotonic()
    code = page.inner_text('[data-testid="tracking-code"]').strip()
    sms: list[dict[str, Any]] = []
    while time.monotonic() - start < 2.0 and not sms:
        time.sleep(0.05)
        sms = sms_for(sink, code)
    elapsed = time.monotonic() - start
    assert sms, f"no accepted SMS in the sink {elapsed:.2f} s after the page showed {code}"
    print(f"accepted SMS in the sink {elapsed:.2f} s after the page showed the tracking code")
    assert len(sms) == 1 and sms[0]["template"] == "case_accepted"
    assert sms[0]["to"] == RESIDENT and sms[0]["body"].startswith("【属地】")
    assert f"/track/{code}" in sms[0]["body"] and RESIDENT not in sms[0]["body"]
    assert RESIDENT not in page.content()

    login = {"username": "disp", "password": PASSWORD}
    token = httpx.post(f"{base}/api/v1/auth/token", data=login).json()["access_token"]
    case_id = httpx.get(f"{base}/api/v1/track/{code}").json().get("id")
    if case_id is None:  # the public view has no id: find it as the dispatcher
        listed = httpx.get(f"{base}/api/v1/cases", headers={"Authorization": f"Bearer {token}"})
        case_id = next(c["id"] for c in listed.json()["items"] if c.get("tracking_code") == code)
    shown = httpx.get(f"{base}/api/v1/cases/{case_id}/messages",
                      headers={"Authorization": f"Bearer {token}"})  # fmt: skip
    assert shown.status_code == 200 and MASKED in shown.text and RESIDENT not in shown.text
    server_log = log.read_text()
    assert MASKED in server_log and RESIDENT not in server_log
