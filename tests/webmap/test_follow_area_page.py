"""The area-follow page (/follow) in Debian's Chromium over real HTTP, on a 390 px phone:
an owners' committee finds its estate with the keyboard alone (type, Tab, Enter), gives a
phone, enters the code it received and is told the estate's updates from then on; the Atom
feed is linked from the page; a tap on the map chooses the estate there; a fourth request for
one number in a day is refused with the rate limit's Chinese message; the stop link in the
update ends it. Nothing leaves the machine (``browser_page``)."""

from __future__ import annotations

import re
from typing import Any

import httpx
from sqlalchemy import create_engine, text
from support import IN_P111
from test_workbench import (  # noqa: F401  (site_db: the module's database fixture)
    PHONE,
    Shot,
    a_type,
    no_sideways_scroll,
    report,
    site_db,
    untranslated,
)

from notify.events import expand_due

OWNER = "13977778888"
OWNER_MASKED = "139****8888"
OTHER = "13966665555"


def latest_code(db_url: str, masked: str) -> str:
    """The code in the last confirmation message to ``masked`` (what the owner reads)."""
    eng = create_engine(db_url)
    with eng.connect() as conn:
        body = conn.execute(
            text("""SELECT body FROM notify_message WHERE template = 'follow_confirm'
                    AND recipient_masked = :m ORDER BY id DESC LIMIT 1"""),
            {"m": masked},
        ).scalar_one()
    eng.dispose()
    found = re.search(r"验证码(\d{6})", body)
    assert found, body
    return found.group(1)


def wait_for_updates(db_url: str, masked: str) -> list[dict[str, Any]]:
    """The updates sent to ``masked`` once the sender has turned the reports' events into their
    messages (this test's server runs without its sender: the step is taken here)."""
    eng = create_engine(db_url)
    with eng.begin() as conn:
        expand_due(conn)
    eng.dispose()
    return updates_to(db_url, masked)


def updates_to(db_url: str, masked: str) -> list[dict[str, Any]]:
    eng = create_engine(db_url)
    with eng.connect() as conn:
        rows = conn.execute(
            text("""SELECT case_id, body FROM notify_message WHERE template = 'follow_update'
                    AND recipient_masked = :m ORDER BY id"""),
            {"m": masked},
        ).mappings()
        out = [dict(r) for r in rows]
    eng.dispose()
    return out


def test_an_owners_committee_follows_its_estate_with_the_keyboard(
    server: str, module_scratch_db_url: str, browser_page: Any, screenshot: Shot
) -> None:
    page = browser_page
    page.set_viewport_size({"width": PHONE[0], "height": PHONE[1]})
    page.goto(f"{server}/follow")
    page.wait_for_selector(".leaflet-container")
    assert untranslated(page) == [] and no_sideways_scroll(page)

    # the keyboard alone: to the search box, type, Tab to the result, Enter
    for _ in range(10):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.id") == "fa-search":
            break
    assert page.evaluate("document.activeElement.id") == "fa-search"
    page.keyboard.type("金桂")
    page.wait_for_selector('[data-testid="area-result"]')
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.dataset.code") == "P111"
    page.keyboard.press("Enter")
    chosen = page.locator('[data-testid="area-chosen"]')
    assert "金桂苑" in chosen.inner_text() and "小区" in chosen.inner_text()
    feed = page.locator('[data-testid="area-feed"]').get_attribute("href")
    assert feed == "/feeds/areas/property_area/P111.atom"
    atom = httpx.get(server + feed)
    assert atom.status_code == 200 and atom.headers["content-type"].startswith("application/atom")
    head = page.locator('head link[rel="alternate"][type="application/atom+xml"]')
    assert head.get_attribute("href") == feed

    # focus moved to the address: type it, Enter sends the code
    assert page.evaluate("document.activeElement.id") == "fa-contact"
    page.keyboard.type(OWNER)
    page.keyboard.press("Enter")
    page.wait_for_selector("#fa-code-card:not([hidden])")
    assert OWNER_MASKED in page.inner_text("#fa-sent") and OWNER not in page.content()
    assert page.evaluate("document.activeElement.id") == "fa-code"
    assert updates_to(module_scratch_db_url, OWNER_MASKED) == []
    page.keyboard.type(latest_code(module_scratch_db_url, OWNER_MASKED))
    page.keyboard.press("Enter")
    done = page.wait_for_selector('[data-testid="follow-confirmed"]')
    assert "已关注金桂苑" in done.inner_text() and OWNER_MASKED in done.inner_text()
    assert untranslated(page) == [] and no_sideways_scroll(page)
    screenshot(page, "follow-area-phone")

    # a new case in the estate reaches the owner, with a stop link that works
    cid = report(server, IN_P111, a_type(server, agency="urban_management", scope="enforcement"))
    told = wait_for_updates(module_scratch_db_url, OWNER_MASKED)  # the sender writes them
    assert [u["case_id"] for u in told] == [cid]
    stop = re.search(r"(/follow/[\w-]+/stop)", told[0]["body"])
    assert stop and OWNER not in told[0]["body"]
    page.goto(server + stop.group(1))
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")
    page.wait_for_selector("text=已退订")
    report(server, IN_P111, a_type(server, agency="urban_management", scope="enforcement"))
    assert len(updates_to(module_scratch_db_url, OWNER_MASKED)) == 1


def test_a_tap_on_the_map_chooses_the_estate_and_the_rate_limit_speaks_chinese(
    server: str, module_scratch_db_url: str, browser_page: Any
) -> None:
    page = browser_page
    page.set_viewport_size({"width": PHONE[0], "height": PHONE[1]})
    page.goto(f"{server}/follow?layer=community&code=C11")
    page.wait_for_selector(".leaflet-container")
    assert "甲一社区" in page.inner_text('[data-testid="area-chosen"]')  # preselected
    # tap the middle of 老街小区 (P112: 120.001–120.004, 30.010–30.015) on the map
    page.locator("#fa-map").scroll_into_view_if_needed()
    at = page.evaluate(
        "() => { const p = window.Shudi.followMap.latLngToContainerPoint([30.0125, 120.0025]);"
        " return {x: p.x, y: p.y}; }"
    )
    page.locator("#fa-map").click(position=at)
    page.wait_for_function(
        "() => document.querySelector('[data-testid=area-chosen]').innerText.includes('老街小区')"
    )
    for n in range(3):  # three codes a day for one number…
        page.fill('[data-testid="follow-contact"]', OTHER)
        page.click('[data-testid="follow-send"]')
        page.wait_for_selector("#fa-code-card:not([hidden])")
        assert OTHER[-4:] in page.inner_text("#fa-sent") and n < 3
        page.evaluate("document.querySelector('#fa-code-card').hidden = true")
    page.click('[data-testid="follow-send"]')  # …and no fourth
    error = page.wait_for_selector('[data-testid="follow-error"]:not([hidden])')
    assert "该手机号码或邮箱的关注申请过于频繁" in error.inner_text()
    assert untranslated(page) == [] and no_sideways_scroll(page)
