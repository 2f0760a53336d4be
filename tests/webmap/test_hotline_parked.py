"""Parked 12345 orders on the dispatch map, over real HTTP in Chromium: the platform sends an
order whose address ("乙": 乙镇, 乙一社区, 乙二社区 all begin with it, none equals it) names no one
place; the dispatcher places one at a candidate and another by tapping the map in 乙二社区
(C22 = 120.02–120.04, 30.01–30.02 of the mini district), and each becomes a case there."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import create_engine, text

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "hotline"))
from hotline_platform import signed_headers
from support import load_mini

from accounts.service import create_user
from incidents.hotline_keys import create_platform
from jurisdictions import catalog

PASSWORD = "correct horse battery"
MADE: dict[str, Any] = {}


@pytest.fixture(scope="module")
def site_db(module_scratch_db_url: str) -> str:
    eng = create_engine(module_scratch_db_url)
    with eng.begin() as conn:
        load_mini(conn)
        catalog.sync_taxonomy(conn)
        create_user(conn, username="disp", password=PASSWORD, role="dispatcher")
        MADE.update(create_platform(conn, name="12345"))
    eng.dispose()
    return module_scratch_db_url


def send(base: str, no: str) -> httpx.Response:
    body = json.dumps(
        {
            "order_no": no,
            "content": "有人卖淫嫖娼",
            "address": "乙",
            "type_code": "drugs_vice",
            "caller_phone": "13912345678",
        }
    ).encode()
    headers = signed_headers(MADE["api_key"], MADE["secret"], body)
    return httpx.post(f"{base}/api/v1/hotline/orders", content=body, headers=headers, timeout=30)


def town_of_order(db: str, no: str) -> tuple[str, str]:
    eng = create_engine(db)
    with eng.connect() as c:
        row = c.execute(
            text("""SELECT c.town_code, c.community_code FROM hotline_order o
                    JOIN case_file c ON c.id = o.case_id WHERE o.order_no = :n"""),
            {"n": no},
        ).one()
    eng.dispose()
    return row.town_code, row.community_code


def test_dispatcher_places_parked_orders(server: str, site_db: str, browser_page: Any) -> None:
    assert send(server, "GD-P1").status_code == 202
    assert send(server, "GD-P2").status_code == 202
    page = browser_page
    page.goto(f"{server}/map/dispatch")
    page.wait_for_url("**/login?next=/map/dispatch")
    page.fill('input[name="username"]', "disp")
    page.fill('input[name="password"]', PASSWORD)
    page.click('button[type="submit"]')
    page.wait_for_url("**/map/dispatch")
    page.wait_for_selector('[data-testid="parked-orders"] li[data-order="GD-P1"]')
    assert "13912345678" not in page.content()

    page.click('li[data-order="GD-P1"] button:has-text("定位到 乙镇")')
    page.wait_for_function(
        "() => document.getElementById('live-text').textContent.includes('GD-P1 已立案')"
    )
    assert "已立案" in page.inner_text("#live-text")
    assert town_of_order(site_db, "GD-P1")[0] == "T2"

    page.wait_for_selector('li[data-order="GD-P1"]', state="detached")
    page.click('li[data-order="GD-P2"] [data-testid="parked-pick"]')
    page.evaluate("() => Shudi.reveal([30.015, 120.03], 15)")
    xy = page.evaluate("""() => { const p = Shudi.map.latLngToContainerPoint([30.015, 120.03]);
        const r = Shudi.map.getContainer().getBoundingClientRect();
        return [p.x + r.left, p.y + r.top]; }""")
    page.mouse.click(xy[0], xy[1])
    page.wait_for_function(
        "() => document.getElementById('live-text').textContent.includes('GD-P2 已立案')"
    )
    assert town_of_order(site_db, "GD-P2") == ("T2", "C22")
    page.wait_for_selector('[data-testid="parked-orders"]', state="hidden")
