"""The joint meetings' screens in Debian's Chromium over real HTTP (issue 15): a town's
coordinator prepares this month's meeting, opens a case from the agenda, records the minutes
(an attendee picked from the town's units, a decision, an action owned by a police station),
marks it held and exports it; the station's officer sees the action in the work list and on the
meeting page and closes it; the coordinator sees it done. Another officer is told, in Chinese,
that the meeting is not theirs. Every page is Chinese, fits a 390 px phone, and nothing leaves
the machine (``browser_page``).

The expected answers come from the mechanism's text (三（一）: the town convenes the agencies;
decisions are followed up by their owners) and from the cases planted here, not from the code.
"""

from __future__ import annotations

import io
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import openpyxl
from pypdf import PdfReader
from sqlalchemy import create_engine, text
from support import IN_P111, PASSWORD
from test_workbench import a_type, act, bearer, report, site_db, untranslated

__all__ = ["site_db"]  # the module's site (the mini district and its users)

PHONE = (390, 844)
DESKTOP = (1280, 800)
BEIJING = ZoneInfo("Asia/Shanghai")


def log_in(page: Any, base: str, username: str, size: tuple[int, int] = DESKTOP) -> None:
    page.context.clear_cookies()
    page.set_viewport_size({"width": size[0], "height": size[1]})
    page.goto(f"{base}/login")
    page.fill('input[name="username"]', username)
    page.fill('input[name="password"]', PASSWORD)
    page.press('input[name="password"]', "Enter")
    page.wait_for_url("**/work")


def fits(page: Any) -> bool:
    """No sideways scrolling: the document is no wider than the viewport."""
    return bool(
        page.evaluate(
            "() => document.scrollingElement.scrollWidth <= document.scrollingElement.clientWidth"
        )
    )


def on_phone(page: Any) -> bool:
    size = page.viewport_size
    page.set_viewport_size({"width": PHONE[0], "height": PHONE[1]})
    page.wait_for_timeout(100)
    ok = fits(page)
    page.set_viewport_size(size)
    return ok


def test_coordinator_runs_a_meeting_and_the_owner_closes_its_action(
    server: str, site_db: str, browser_page: Any, screenshot: Any
) -> None:
    enforcement = a_type(server, agency="urban_management", scope="enforcement")
    late = report(server, IN_P111, enforcement)  # 甲街道 (T1)
    act(server, "dispatcher", late, "accept")
    act(server, "dispatcher", late, "dispatch")
    joint = report(server, IN_P111, enforcement)
    act(server, "dispatcher", joint, "accept")
    act(server, "dispatcher", joint, "joint", parties=["urban_management", "public_security"])
    eng = create_engine(site_db)
    with eng.begin() as conn:  # its deadline passed yesterday: an overdue item of the agenda
        conn.execute(
            text("UPDATE case_file SET due_at = now() - interval '1 day' WHERE id = :i"),
            {"i": late},
        )
    eng.dispose()
    page = browser_page

    # The coordinator prepares this month's meeting from the list.
    log_in(page, server, "town_t1")
    page.click('[data-testid="nav"] a[data-page="meetings"]')
    page.wait_for_url("**/meetings")
    assert untranslated(page) == [] and on_phone(page)
    page.click('[data-testid="prepare-regular"] button[type="submit"]')
    page.wait_for_url("**/meetings/*")
    meeting = page.locator('[data-testid="meeting"]')
    meeting_id = int(meeting.get_attribute("data-meeting-id") or 0)
    assert meeting.get_attribute("data-status") == "draft"
    assert page.inner_text('[data-testid="meeting-state"]').strip() == "草稿"
    kinds = page.eval_on_selector_all(
        '[data-testid="agenda-item"]', "els => els.map(e => e.dataset.kind)"
    )
    # overdue cases before joint enforcement: the agenda by priority
    assert kinds.index("overdue") < kinds.index("joint"), kinds
    positions = page.eval_on_selector_all(
        '[data-testid="agenda-item"]', "els => els.map(e => Number(e.dataset.position))"
    )
    assert positions == sorted(positions)
    assert "北京时间" in page.inner_text("main")
    assert untranslated(page) == [] and on_phone(page)
    screenshot(page, "meeting-draft")

    # A case number on the agenda opens the case page.
    overdue_item = page.locator('[data-testid="agenda-item"][data-kind="overdue"]')
    overdue_item.locator(f'a[data-case-id="{late}"]').click()
    page.wait_for_url(f"**/cases/{late}")
    assert page.locator('[data-testid="case"]').count() == 1
    page.go_back()
    page.wait_for_selector('[data-testid="minutes-form"]')

    # The minutes: an attendee picked from the town's police stations, a decision and an
    # action owned by the station 西派出所 (PS1), due in a week.
    row = page.locator('[data-testid="attendee-row"]').first
    row.locator('select[name="party"]').select_option("public_security")
    units = row.locator('select[name="unit"] option').all_inner_texts()
    assert any("西派出所" in u for u in units), units
    row.locator('select[name="unit"]').select_option(
        label=next(u for u in units if "西派出所" in u)
    )
    row.locator('input[name="name"]').fill("王警官")
    block = page.locator('[data-testid="decision-block"]').filter(has_text="超期未办结")
    block.locator('textarea[name="decision"]').fill("由西派出所会同城管三日内现场处置")
    block.locator("button.add-action").focus()
    page.keyboard.press("Enter")  # the keyboard adds an action row, focused on its title
    page.keyboard.type("拆除违章搭建")
    action = block.locator('[data-testid="action-row"]')
    action.locator('select[name="owner"]').select_option("agency_unit|PS1|public_security")
    due = (datetime.now(BEIJING).date() + timedelta(days=7)).isoformat()
    action.locator('input[name="due_on"]').fill(due)
    joint_block = page.locator('[data-testid="decision-block"]').filter(has_text="联合执法")
    joint_block.locator('textarea[name="decision"]').fill("派出所配合城管联合执法")
    joint_block.locator("button.add-action").click()
    second = joint_block.locator('[data-testid="action-row"]')
    second.locator('input[name="title"]').fill("回访当事人")
    second.locator('select[name="owner"]').select_option("agency_unit|PS1|public_security")
    second.locator('input[name="due_on"]').fill(due)
    assert untranslated(page) == [] and on_phone(page)
    screenshot(page, "meeting-minutes-form")
    page.click('[data-testid="mark-held"]')
    page.wait_for_selector('[data-testid="confirm"]')  # held is final: asked first
    page.click('[data-testid="confirm-no"]')
    assert page.locator('[data-testid="meeting"]').get_attribute("data-status") == "draft"
    page.click('[data-testid="mark-held"]')
    page.click('[data-testid="confirm-yes"]')
    page.wait_for_function(
        "() => document.querySelector('[data-testid=meeting]')?.dataset.status === 'held'"
    )
    assert page.inner_text('[data-testid="meeting-state"]').strip() == "已召开"
    assert "王警官" in page.inner_text('[data-testid="attendees"]')
    done_item = page.locator('[data-testid="agenda-item"][data-kind="overdue"]')
    assert "由西派出所会同城管三日内现场处置" in done_item.inner_text()
    meeting_action = done_item.locator('[data-testid="meeting-action"]')
    assert meeting_action.count() == 1 and "西派出所" in meeting_action.inner_text()
    action_id = int(meeting_action.get_attribute("data-action-id") or 0)
    joint_action = page.locator(
        '[data-testid="agenda-item"][data-kind="joint"] [data-testid="meeting-action"]'
    )
    second_id = int(joint_action.get_attribute("data-action-id") or 0)
    assert page.locator('[data-testid="minutes-form"]').count() == 0
    assert untranslated(page) == [] and on_phone(page)

    # The exports: a PDF and an Excel workbook that open, with the minutes in them.
    with page.expect_download() as got:
        page.click('[data-testid="export-pdf"]')
    pdf = PdfReader(got.value.path())
    words = "".join(p.extract_text() for p in pdf.pages)
    assert "纪要" in words and "拆除违章搭建" in words
    with page.expect_download() as got:
        page.click('[data-testid="export-xlsx"]')
    book = openpyxl.load_workbook(io.BytesIO(Path(got.value.path()).read_bytes()))
    cells = [str(c) for ws in book.worksheets for r in ws.iter_rows(values_only=True) for c in r]
    assert "拆除违章搭建" in cells and any("西派出所" in c for c in cells)

    # The station's officer: the action on the work list, the meeting read-only, closed there.
    log_in(page, server, "police_ps1", PHONE)
    listed = '[data-testid="owned-actions"] [data-testid="meeting-action"][data-action-id="{}"]'
    mine = page.locator(listed.format(action_id))
    assert mine.count() == 1 and "拆除违章搭建" in mine.inner_text()
    assert fits(page) and untranslated(page) == []
    screenshot(page, "meeting-actions-worklist-phone")
    page.locator(listed.format(second_id)).get_by_role("button", name="标记完成").click()
    page.locator(listed.format(second_id)).wait_for(state="detached")  # closed: off the list
    assert page.locator(listed.format(action_id)).count() == 1
    mine.get_by_role("link", name="查看会议").click()
    page.wait_for_url(f"**/meetings/{meeting_id}")
    assert page.locator('[data-testid="read-only"]').count() == 1
    assert page.locator('[data-testid="minutes-form"]').count() == 0
    assert fits(page) and untranslated(page) == []
    close = page.locator(f'[data-testid="meeting-action"][data-action-id="{action_id}"] button')
    close.focus()
    outline = page.evaluate("() => getComputedStyle(document.activeElement).outlineStyle")
    assert outline != "none"  # keyboard focus is visible
    page.keyboard.press("Enter")
    page.wait_for_selector(
        f'[data-testid="meeting-action"][data-action-id="{action_id}"][data-done="1"]'
    )
    screenshot(page, "meeting-action-done-phone")
    r = httpx.get(f"{server}/api/v1/meetings/{meeting_id}", headers=bearer(server, "police_ps1"))
    assert r.status_code == 200  # the owner reads the meeting through the API too
    closed = {a["id"]: a["done_on"] for i in r.json()["items"] for a in i["actions"]}
    assert closed[action_id] and closed[second_id]  # one from each page

    # Another station's officer owns nothing of it: a Chinese refusal, on the page and the API.
    log_in(page, server, "police_ps2")
    resp = page.goto(f"{server}/meetings/{meeting_id}")
    assert resp is not None and resp.status == 403
    assert "无权查看此会议" in page.inner_text("main") and untranslated(page) == []
    r = httpx.post(
        f"{server}/api/v1/meetings/actions/{action_id}/done",
        json={},
        headers=bearer(server, "police_ps2"),
    )
    assert r.status_code == 403 and r.json()["code"] == "forbidden"

    # The coordinator sees it done.
    log_in(page, server, "town_t1")
    page.goto(f"{server}/meetings/{meeting_id}")
    item = page.locator(f'[data-testid="meeting-action"][data-action-id="{action_id}"]')
    assert item.get_attribute("data-done") == "1" and "已完成" in item.inner_text()
    page.goto(f"{server}/meetings")
    listed = page.locator(f'[data-testid="meeting-row"][data-meeting-id="{meeting_id}"]')
    assert listed.get_attribute("data-status") == "held" and "已召开" in listed.inner_text()
    assert "例会" in listed.inner_text()
