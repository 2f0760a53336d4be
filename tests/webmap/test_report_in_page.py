"""吹哨报到 in Debian's Chromium over real HTTP: town T1 calls urban management and the police to
a joint enforcement; the urban-management officer, on a 390 px phone, sees the report-in clock
in the work list, opens the case and taps "report in" — refused from 499 m away with the
distance in Chinese, accepted from 200 m; the town rates the response; the dispatcher's map
badges the case whose other unit (the police) is overdue, in reporting in and in completing.
The phone's position is the browser context's geolocation (permission granted); nothing
leaves the machine (``browser_page``), and no page shows untranslated text.

Distances (by hand, see tests/incidents/test_report_in.py): the case is at (120.002, 30.002);
0.0045° north is 498.8 m (outside the 300 m tolerance), 0.0018° north is 199.5 m (inside)."""

from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy import create_engine, text
from support import IN_P111
from test_workbench import (  # noqa: F401  (site_db: the module's database fixture)
    PHONE,
    Shot,
    a_type,
    act,
    bearer,
    log_in,
    no_sideways_scroll,
    open_from_worklist,
    report,
    site_db,
    untranslated,
)


def test_officer_reports_in_from_the_phone_and_town_rates(
    server: str, module_scratch_db_url: str, browser_page: Any, screenshot: Shot
) -> None:
    cid = report(server, IN_P111, a_type(server, agency="urban_management", scope="enforcement"))
    act(server, "dispatcher", cid, "accept")
    act(server, "town_t1", cid, "joint", parties=["urban_management", "public_security"])
    page = browser_page
    page.context.grant_permissions(["geolocation"], origin=server)

    # The officer's work list shows when urban management must report in.
    log_in(page, server, "urban", PHONE)
    page.goto(f"{server}/work")
    clock = page.locator(
        f'[data-testid="work-item"][data-case-id="{cid}"] [data-testid="report-in-clock"]'
    )
    assert clock.count() == 1 and "报到时限" in clock.inner_text()
    open_from_worklist(page, cid)
    mine = page.locator('[data-testid="clock"][data-party="urban_management"]')
    assert mine.get_attribute("data-state") in ("waiting", "overdue")
    # Only the officer's own unit has the button.
    assert page.locator('[data-testid="report-in"]').count() == 1

    page.context.set_geolocation({"longitude": 120.002, "latitude": 30.0065, "accuracy": 15})
    page.click('[data-testid="report-in"]')
    error = page.wait_for_selector('[data-testid="report-in-error"]:not([hidden])')
    said = error.inner_text()
    assert "499 米" in said and "300 米" in said, said
    assert untranslated(page) == []
    assert no_sideways_scroll(page)

    page.context.set_geolocation({"longitude": 120.002, "latitude": 30.0038, "accuracy": 15})
    page.click('[data-testid="report-in"]')
    page.wait_for_selector(
        '[data-testid="clock"][data-party="urban_management"][data-state="on_time"],'
        '[data-testid="clock"][data-party="urban_management"][data-state="late"]'
    )
    assert page.locator('[data-testid="report-in"]').count() == 0
    assert "联合执法单位到场报到" in page.inner_text('[data-testid="events"]')
    screenshot(page, "report-in-phone")
    assert untranslated(page) == []
    clocks = httpx.get(
        f"{server}/api/v1/cases/{cid}/report-ins", headers=bearer(server, "town_t1")
    ).json()
    um = next(c for c in clocks if c["party"] == "urban_management")
    assert 198.5 < um["report_distance_m"] < 200.5

    # The town rates urban management's response on the case page.
    log_in(page, server, "town_t1")
    page.goto(f"{server}/cases/{cid}")
    form = f'[data-testid="rate-{um["task_id"]}"]'
    page.select_option(f"{form} select", "4")
    page.fill(f'{form} input[name="note"]', "到场及时")
    page.click(f"{form} button")
    page.wait_for_selector('[data-testid="clock"][data-party="urban_management"] >> text=★★★★')
    assert untranslated(page) == []

    # The police's report-in is made overdue; the dispatcher's map badges the case.
    eng = create_engine(module_scratch_db_url)
    with eng.begin() as conn:
        conn.execute(
            text("""UPDATE task_response SET report_due_at = now() - interval '2 minutes',
                           complete_due_at = now() - interval '1 minute'
                    WHERE task_id IN (SELECT id FROM case_task WHERE case_id = :c
                                      AND party = 'public_security')"""),
            {"c": cid},
        )
    eng.dispose()
    log_in(page, server, "dispatcher")
    page.goto(f"{server}/map/dispatch")
    badge = page.wait_for_selector(
        f'#case-list li[data-case-id="{cid}"] [data-testid="report-in-late"]', timeout=15000
    )
    assert "报到超时" in badge.inner_text()
    assert page.locator(".ri-mark").count() >= 1
    # …and past its completion deadline: a badge of its own, naming the police's unit only
    overdue = page.wait_for_selector(
        f'#case-list li[data-case-id="{cid}"] [data-testid="joint-overdue"]', timeout=15000
    )
    assert "联合执法超期未完成" in overdue.inner_text()
    ps = next(c for c in clocks if c["party"] == "public_security")
    named = overdue.inner_text()
    assert (ps["unit_name"] or "public_security") in named
    assert (um["unit_name"] or "urban_management") not in named
    assert page.locator(".jo-mark").count() >= 1
    assert untranslated(page) == []
