"""The dispatch map takes its changes pushed (``/api/v1/cases/stream``), not polled: Chromium
keeps the map open, a resident files a report on the public report page of a second tab, and
the case appears on the map within 2 s while the feed is never asked again. When the stream
is refused, the page falls back to polling the feed and still shows new cases.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from sqlalchemy import create_engine
from support import IN_P111, IN_P112, live_server, load_mini

from accounts.service import create_user
from jurisdictions import catalog

PASSWORD = "correct horse battery"
FEED = "/api/v1/cases/feed"
STREAM = "/api/v1/cases/stream"
PUSHED_WITHIN_S = 2.0


@pytest.fixture(scope="module")
def site(module_scratch_db_url: str, vendor_files: None) -> Iterator[str]:
    eng = create_engine(module_scratch_db_url)
    with eng.begin() as conn:
        load_mini(conn)
        catalog.sync_taxonomy(conn)
        create_user(conn, username="disp", password=PASSWORD, role="dispatcher")
    eng.dispose()
    with live_server(module_scratch_db_url, SHUDI_BASEMAP="none") as base:
        yield base


def file_report(base: str, where: tuple[float, float]) -> int:
    kind = httpx.get(f"{base}/api/v1/violation-types", params={"reportable": True}).json()[0]
    r = httpx.post(
        f"{base}/api/v1/reports",
        json={"lon": where[0], "lat": where[1], "type": kind["code"]},
        headers={"Idempotency-Key": uuid.uuid4().hex},
    )
    assert r.status_code == 201, r.text
    return int(r.json()["id"])


def local_only(route: Any, offsite: list[str]) -> None:
    """Let requests to this machine through; abort and record the others."""
    if urlsplit(route.request.url).hostname in ("127.0.0.1", "localhost"):
        route.continue_()
    else:
        offsite.append(route.request.url)
        route.abort("blockedbyclient")


def open_map(page: Any, base: str, requests: list[tuple[float, str, str]]) -> None:
    """Log in as the dispatcher and open the map, recording every request (time, type, URL)."""
    page.on("request", lambda r: requests.append((time.monotonic(), r.resource_type, r.url)))
    page.goto(f"{base}/login?next=/map/dispatch")
    page.fill('input[name="username"]', "disp")
    page.fill('input[name="password"]', PASSWORD)
    page.click('button[type="submit"]')
    page.wait_for_url("**/map/dispatch")
    page.wait_for_function("() => window.Shudi && Shudi.dispatch && Shudi.dispatch.count() > 0")


def test_a_report_reaches_the_open_map_pushed_not_polled(
    site: str, browser_page: Any, screenshot: Any
) -> None:
    file_report(site, IN_P112)  # the map opens with one case
    page = browser_page
    requests: list[tuple[float, str, str]] = []
    open_map(page, site, requests)
    page.wait_for_function("() => Shudi.dispatch.mode() === 'stream'", timeout=5000)
    opened = time.monotonic()
    streams = [r for r in requests if STREAM in r[2]]
    assert len(streams) == 1 and streams[0][1] == "eventsource", streams
    assert "since=x%3A" in streams[0][2]  # from the cursor of the full load
    assert page.get_attribute("#live", "data-mode") == "stream"

    # a resident files a report from the public report page, in a browser context of its own
    resident_ctx = page.context.browser.new_context()
    offsite: list[str] = []
    resident_ctx.route("**/*", lambda route: local_only(route, offsite))
    resident = resident_ctx.new_page()
    resident.goto(f"{site}/report")
    kind = httpx.get(f"{site}/api/v1/violation-types", params={"reportable": True}).json()[0]
    started = time.monotonic()
    filed = resident.evaluate(
        """async ([lon, lat, type, key]) => {
             const r = await fetch('/api/v1/reports', {method: 'POST',
               headers: {'Content-Type': 'application/json', 'Idempotency-Key': key},
               body: JSON.stringify({lon, lat, type})});
             return {status: r.status, body: await r.json()};
           }""",
        [IN_P111[0], IN_P111[1], kind["code"], uuid.uuid4().hex],
    )
    resident_ctx.close()
    assert filed["status"] == 201, filed
    assert offsite == []
    new = int(filed["body"]["id"])
    page.wait_for_function(
        f"() => Shudi.dispatch.has({new})", timeout=PUSHED_WITHIN_S * 1000, polling=50
    )
    assert time.monotonic() - started < PUSHED_WITHIN_S
    page.wait_for_selector(f'#new-list li[data-id="{new}"]', timeout=2000)  # the queue too
    assert page.evaluate("() => Shudi.dispatch.pushes()") >= 1
    page.wait_for_timeout(2500)  # longer than a poll's interval
    polled = [r for r in requests if FEED in r[2] and r[0] > opened]
    assert polled == [], polled  # pushed: the feed was not asked again
    assert page.evaluate("() => Shudi.dispatch.polls()") == 0
    assert page.evaluate("() => Shudi.dispatch.mode()") == "stream"
    screenshot(page, "dispatch-live-pushed")


def test_the_map_falls_back_to_polling_when_the_stream_is_refused(
    site: str, browser_page: Any
) -> None:
    page = browser_page
    page.route(f"**{STREAM}*", lambda route: route.fulfill(status=503, body="busy"))
    requests: list[tuple[float, str, str]] = []
    open_map(page, site, requests)
    page.wait_for_function("() => Shudi.dispatch.mode() === 'poll'", timeout=5000)
    new = file_report(site, IN_P111)
    page.wait_for_function(f"() => Shudi.dispatch.has({new})", timeout=6000)
    assert page.evaluate("() => Shudi.dispatch.polls()") >= 1
    assert any(FEED in r[2] and "since=" in r[2] for r in requests)
    assert page.get_attribute("#live", "data-mode") == "poll"
