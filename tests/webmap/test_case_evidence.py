"""The handler's before/after photos (处置前后) and the dispatcher's reveal of the reporters,
on the staff case page in Debian's Chromium over real HTTP, as people do it: the dispatcher
shows the reporters to the handling unit with a reason; the officer, on a phone, is refused
"resolve" until photos from before and after are in, uploads them from the page and resolves;
the resident tracking the case sees the after-photo. Every page's text is Chinese; nothing
leaves the machine (``browser_page`` fails the test otherwise).

The expectations come from the issue (a type whose remedy is visible on site — here an illegal
structure — is resolved only with both photos) and from the test's own report (the phone it
filed), not from the code under test."""

from __future__ import annotations

import io
import uuid
from pathlib import Path
from typing import Any

import httpx
from PIL import Image
from support import IN_P111
from test_workbench import (  # noqa: F401  (site_db: the module's database fixture)
    PHONE,
    Shot,
    act,
    bearer,
    case,
    log_in,
    open_from_worklist,
    site_db,
    untranslated,
    wait_status,
)

REPORTER_PHONE = "13912345678"


def photo(tmp_path: Path, name: str, colour: tuple[int, int, int]) -> Path:
    path = tmp_path / name
    buf = io.BytesIO()
    Image.new("RGB", (320, 240), colour).save(buf, "JPEG")
    path.write_bytes(buf.getvalue())
    return path


def test_handler_adds_before_and_after_photos_and_dispatcher_reveals_the_reporter(
    server: str, browser_page: Any, screenshot: Shot, tmp_path: Path
) -> None:
    r = httpx.post(
        f"{server}/api/v1/reports",
        json={
            "lon": IN_P111[0],
            "lat": IN_P111[1],
            "type": "illegal_construction",
            "description": "楼下违章搭建",
            "phone": REPORTER_PHONE,
            "contact_name": "李四",
        },
        headers={"Idempotency-Key": uuid.uuid4().hex},
    )
    assert r.status_code == 201, r.text
    cid, code = int(r.json()["id"]), r.json()["tracking_code"]
    act(server, "dispatcher", cid, "accept")
    act(server, "dispatcher", cid, "dispatch")
    act(server, "urban", cid, "start")
    page = browser_page

    # The dispatcher shows the reporter to the handling unit, saying why.
    log_in(page, server, "dispatcher")
    page.goto(f"{server}/cases/{cid}")
    state = page.locator('[data-testid="disclosure-state"]')
    assert state.get_attribute("data-revealed") == "false"
    page.click('[data-testid="disclosure-submit"]')  # no reason yet: said in Chinese
    assert "必填" in page.inner_text('[data-testid="disclosure-error"]')
    page.fill("#disclosure-note", "需要承办单位电话联系举报人核实现场")
    page.click('[data-testid="disclosure-submit"]')
    page.wait_for_selector('[data-testid="disclosure-state"][data-revealed="true"]')
    assert "向承办单位公开举报人信息" in page.inner_text('[data-testid="events"]')
    assert untranslated(page) == []

    # The officer, on a phone, now sees the reporter's number; resolving needs the photos.
    log_in(page, server, "urban", PHONE)
    open_from_worklist(page, cid)
    assert REPORTER_PHONE in page.inner_text("main")
    missing = page.inner_text('[data-testid="evidence-missing"]')
    assert "处置前" in missing and "处置后" in missing
    page.fill('[data-testid="action-resolve"] textarea[name="note"]', "已拆除违章搭建")
    page.click('[data-testid="action-resolve"] button[type="submit"]')
    error = page.wait_for_selector("#action-error:not([hidden])")
    assert "处置前、处置后照片" in error.inner_text()
    assert case(server, cid)["status"] == "in_progress"
    assert untranslated(page) == []

    form = '[data-testid="evidence-form"]'
    page.check(f'{form} input[name="stage"][value="before"]')
    page.set_input_files(f"{form} input[type=file]", str(photo(tmp_path, "b.jpg", (90, 90, 90))))
    page.fill(f"{form} textarea", "到场时棚子仍在")
    page.click(f'{form} button[type="submit"]')
    page.wait_for_selector('[data-testid="photo-before"]')
    assert "处置后" in page.inner_text('[data-testid="evidence-missing"]')
    page.check(f'{form} input[name="stage"][value="after"]')
    page.set_input_files(f"{form} input[type=file]", str(photo(tmp_path, "a.jpg", (60, 160, 80))))
    page.click(f'{form} button[type="submit"]')
    page.wait_for_selector('[data-testid="evidence-complete"]')
    screenshot(page, "case-evidence-phone")
    page.fill('[data-testid="action-resolve"] textarea[name="note"]', "已拆除违章搭建")
    page.click('[data-testid="action-resolve"] button[type="submit"]')
    wait_status(page, "resolved")
    assert untranslated(page) == []

    # The resident sees the result photo, never the handler's before-photo.
    page.context.clear_cookies()
    page.goto(f"{server}/track/{code}")
    assert page.locator('[data-testid="after-photo"]').count() == 1
    assert page.locator('[data-testid="photo"]').count() == 0
    src = page.locator('[data-testid="after-photo"]').get_attribute("src") or ""
    assert httpx.get(f"{server}{src}").headers["content-type"].startswith("image/")
    photos = httpx.get(f"{server}/api/v1/cases/{cid}/photos", headers=bearer(server, "urban"))
    before_id = next(p["id"] for p in photos.json() if p["stage"] == "before")
    assert httpx.get(f"{server}/api/v1/track/{code}/photos/{before_id}").status_code == 404
    assert untranslated(page) == []
