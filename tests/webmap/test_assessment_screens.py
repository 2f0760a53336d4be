"""The assessment dashboard in Debian's Chromium (issue 15): a figure opens exactly the cases
behind it, the coordinator's own town is marked, times are Beijing time, and a 390 px phone
does not scroll sideways. Nothing leaves the machine (``browser_page``).

The expected cases are the ones planted here (three reports in 甲街道, one of them refused, two
in 乙镇), counted by hand from the definitions of docs/assessment.md — 受理: every case
reported in the period; 不予受理: the refused ones — not from the code under test.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import httpx
from support import IN_P111, IN_P112, IN_T2
from test_meeting_screens import fits, log_in
from test_workbench import a_type, act, bearer, report, site_db, untranslated

__all__ = ["site_db"]  # the module's own site: only the cases planted below

BEIJING = ZoneInfo("Asia/Shanghai")


def test_a_figure_opens_its_cases_and_the_own_town_is_marked(
    server: str, browser_page: Any, screenshot: Any
) -> None:
    kind = a_type(server, agency="urban_management", scope="enforcement")
    t1 = [
        report(server, IN_P111, kind),
        report(server, IN_P112, kind),
        report(server, IN_P111, kind),
    ]
    refused = t1[2]
    act(server, "dispatcher", refused, "reject", note="不属于受理范围")
    t2 = [report(server, IN_T2, kind), report(server, IN_T2, kind)]
    page = browser_page

    log_in(page, server, "town_t1")
    page.click('[data-testid="nav"] a[data-page="assessment"]')
    page.wait_for_url("**/assessment")
    main = page.inner_text("main")
    shown = re.search(r"数据截至 (\d{4}-\d\d-\d\d \d\d:\d\d) 北京时间", main)
    assert shown, main[:300]
    as_of = datetime.strptime(shown.group(1), "%Y-%m-%d %H:%M").replace(tzinfo=BEIJING)
    assert abs((datetime.now(BEIJING) - as_of).total_seconds()) < 180  # Beijing, not UTC
    own = page.locator('[data-testid="ranking-town"] tr[data-own="1"]')
    assert own.count() == 1 and own.get_attribute("data-unit") == "T1"
    assert "本镇/街道" in own.inner_text() and "甲街道" in own.inner_text()
    other = page.locator('[data-testid="ranking-town"] tr[data-unit="T2"]')
    assert other.get_attribute("data-own") is None
    assert untranslated(page) == []
    screenshot(page, "assessment-own-town")

    # 受理 of 甲街道: the three planted there, opened with the keyboard.
    received = own.locator('a[data-figure="received"]')
    assert received.inner_text().strip() == "3"
    received.focus()
    assert page.evaluate("() => getComputedStyle(document.activeElement).outlineStyle") != "none"
    page.keyboard.press("Enter")
    page.wait_for_url("**/assessment/cases?*")
    listed = page.eval_on_selector_all(
        '[data-testid="audit-case"]', "els => els.map(e => Number(e.dataset.id))"
    )
    assert sorted(listed) == sorted(t1)
    assert not set(listed) & set(t2)
    # the same as the API's list for that figure
    api = httpx.get(
        f"{server}/api/v1/assessment/cases",
        params={"kind": "town", "unit": "T1", "figure": "received"},
        headers=bearer(server, "town_t1"),
    ).json()
    assert sorted(api["case_ids"]) == sorted(listed)
    assert "北京时间" in page.inner_text("main") and untranslated(page) == []
    page.set_viewport_size({"width": 390, "height": 844})
    assert fits(page)
    screenshot(page, "assessment-figure-cases-phone")
    page.locator('[data-testid="audit-case"] a').first.click()  # on to a case page
    page.wait_for_url("**/cases/*")
    assert page.locator('[data-testid="case"]').count() == 1

    # 不予受理: the one refused; a rate opens both of its lists.
    page.set_viewport_size({"width": 1280, "height": 800})
    page.goto(f"{server}/assessment")
    page.locator(
        '[data-testid="ranking-town"] tr[data-own="1"] a[data-figure="rework_rate"]'
    ).click()
    page.wait_for_url("**/assessment/cases?*")
    assert [h for h in page.locator("main h2").all_inner_texts()] == ["返工（0）", "曾办结（0）"]
    page.goto(f"{server}/assessment")
    own = page.locator('[data-testid="ranking-town"] tr[data-own="1"]')
    assert own.locator('a[data-figure="received"]').inner_text().strip() == "3"
    page.goto(
        f"{server}/assessment/cases?kind=town&unit=T1&figure=rejected"
    )  # (no column: the list still answers)
    ids = page.eval_on_selector_all(
        '[data-testid="audit-case"]', "els => els.map(e => Number(e.dataset.id))"
    )
    assert ids == [refused]

    # The dashboard on a phone: no sideways scrolling.
    page.goto(f"{server}/assessment")
    page.set_viewport_size({"width": 390, "height": 844})
    page.wait_for_timeout(200)
    assert fits(page)
    screenshot(page, "assessment-phone")
