"""Browser fixtures: Debian's Chromium driven by Playwright, with no way out to the network.

``browser_page`` is a page in a fresh context whose every request to a host other than
127.0.0.1/localhost is aborted and recorded; the test fails at teardown if any was attempted
(``data:`` and ``blob:`` URLs are fine). Chromium also resolves no other host name at all.
`make install` installs /usr/bin/chromium (scripts/install-browser.sh); without it the browser
tests are skipped. Never `playwright install`: there is no browser download here.
"""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

CHROMIUM = Path("/usr/bin/chromium")
LOCAL_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
    # Belt and braces under the route handler: no host name but the loopback ones resolves.
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE localhost, EXCLUDE 127.0.0.1",
]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"


def is_local_url(url: str) -> bool:
    """Whether a request may go out: loopback hosts, and data:/blob: URLs."""
    parts = urlsplit(url)
    if parts.scheme in ("data", "blob"):
        return True
    return parts.scheme in ("http", "https", "ws", "wss") and parts.hostname in LOCAL_HOSTS


def screenshot(page: Any, name: str) -> Path:
    """Save a full-page PNG as test-artifacts/screenshots/NAME.png and return its path."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{re.sub(r'[^A-Za-z0-9_.-]+', '_', name)}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


@pytest.fixture(name="screenshot")
def screenshot_fixture() -> Callable[[Any, str], Path]:
    """The :func:`screenshot` helper, for tests (importing from a conftest is unreliable)."""
    return screenshot


@pytest.fixture(scope="module")
def chromium_browser() -> Iterator[Any]:
    if not CHROMIUM.exists():
        pytest.skip(
            f"{CHROMIUM} is missing: 'make install' installs it (scripts/install-browser.sh)"
        )
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield browser
        finally:
            browser.close()


class BlockedRequests(list[str]):
    """URLs of the requests the page tried to send off the machine."""


@pytest.fixture
def blocked_requests() -> BlockedRequests:
    return BlockedRequests()


@pytest.fixture
def browser_page(chromium_browser: Any, blocked_requests: BlockedRequests) -> Iterator[Any]:
    """A page in a fresh context; fails the test if it tried to reach any non-local host."""
    context = chromium_browser.new_context(viewport={"width": 1280, "height": 800})

    def guard(route: Any) -> None:
        url = route.request.url
        if is_local_url(url):
            route.continue_()
        else:
            blocked_requests.append(url)
            route.abort("blockedbyclient")

    def guard_ws(ws: Any) -> None:
        if is_local_url(ws.url):
            ws.connect_to_server()
        else:
            blocked_requests.append(ws.url)
            ws.close()

    context.route("**/*", guard)
    context.route_web_socket(re.compile(".*"), guard_ws)
    page = context.new_page()
    try:
        yield page
    finally:
        context.close()
    if blocked_requests:
        pytest.fail(
            f"the page tried {len(blocked_requests)} request(s) off the machine: "
            + ", ".join(blocked_requests[:10]),
            pytrace=False,
        )


@pytest.fixture(scope="session")
def vendor_files() -> None:
    """The vendored Leaflet & co., fetched once if `make install` has not done it."""
    from webmap import assets

    if not assets.is_current():
        run = subprocess.run(
            [sys.executable, "-m", "webmap.assets", "fetch"],
            cwd=Path(__file__).resolve().parents[2],
            capture_output=True,
            text=True,
            check=False,
        )
        assert run.returncode == 0, run.stderr


@pytest.fixture(scope="module")
def server(site_db: str, vendor_files: None) -> Iterator[str]:
    """The module's site (its ``site_db`` fixture) served with no basemap: boundaries only."""
    from support import live_server

    with live_server(site_db, SHUDI_BASEMAP="none") as base:
        yield base


@pytest.fixture(scope="module")
def gcj_server(site_db: str, vendor_files: None) -> Iterator[str]:
    """A local GCJ-02 tile server as basemap (its tiles 404 here: nothing leaves the machine)."""
    from support import live_server

    with live_server(
        site_db,
        SHUDI_BASEMAP="local",
        SHUDI_BASEMAP_URL="/tiles/{z}/{x}/{y}.png",
        SHUDI_BASEMAP_CRS="gcj02",
    ) as base:
        yield base
