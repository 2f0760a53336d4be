"""回访 on screen (issue #16), in Debian's Chromium over real HTTP, nothing leaving the machine:
a resident opens the survey link of a resolved case on a 390 px phone and answers in Chinese;
a dispatcher records the 回访 call of a phone report from the case page, the resident saying the
problem is not solved — the case is reopened with that reason on its history."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
from support import IN_P111
from test_workbench import (  # noqa: F401  (site_db: the module's database fixture)
    PHONE,
    Shot,
    a_type,
    act,
    bearer,
    log_in,
    no_sideways_scroll,
    site_db,
    untranslated,
    wait_status,
)

REPORTER_PHONE = "13912345678"


def resolved(base: str, **over: Any) -> tuple[int, str]:
    body = {"lon": IN_P111[0], "lat": IN_P111[1],
            "type": a_type(base, agency="urban_management", scope="enforcement"),
            "description": "楼下违章搭建", "phone": REPORTER_PHONE} | over  # fmt: skip
    headers = {"Idempotency-Key": uuid.uuid4().hex}
    if over.get("channel") == "phone":
        headers |= bearer(base, "dispatcher")
    r = httpx.post(f"{base}/api/v1/reports", json=body, headers=headers)
    assert r.status_code == 201, r.text
    cid, code = int(r.json()["id"]), str(r.json()["tracking_code"])
    status = httpx.get(f"{base}/api/v1/cases/{cid}", headers=bearer(base, "dispatcher"))
    if status.json()["status"] == "reported":
        act(base, "dispatcher", cid, "accept")
    act(base, "dispatcher", cid, "dispatch")
    act(base, "urban", cid, "start")
    act(base, "urban", cid, "resolve", note="已拆除")
    return cid, code


def test_resident_answers_the_survey_on_a_phone(
    server: str, browser_page: Any, screenshot: Shot
) -> None:
    _, code = resolved(server)
    page = browser_page
    page.set_viewport_size({"width": PHONE[0], "height": PHONE[1]})
    page.goto(f"{server}/track/{code}/survey")
    assert "回访问卷" in page.inner_text("h1") and no_sideways_scroll(page)
    assert untranslated(page) == []
    page.click("#survey-form button[type=submit]")  # nothing chosen: said in Chinese
    assert "请选择问题是否解决" in page.inner_text("#error")
    page.check("input[name=resolved][value=yes]")
    page.check("input[name=satisfaction][value='4']")
    page.fill("#survey-comment", "处理及时")
    screenshot(page, "followup_survey_phone")
    page.click("#survey-form button[type=submit]")
    page.wait_for_selector('[data-testid="survey-answer"]')
    said = page.inner_text('[data-testid="survey-answer"]')
    assert "问题已解决" in said and "4/5" in said and "处理及时" in said
    assert REPORTER_PHONE not in page.content() and untranslated(page) == []
    # The English page says the same in English.
    page.goto(f"{server}/track/{code}/survey?lang=en")
    assert "Solved" in page.inner_text('[data-testid="survey-answer"]')


def test_dispatcher_records_a_return_visit_on_the_case_page(
    server: str, browser_page: Any, screenshot: Shot
) -> None:
    cid, _ = resolved(server, channel="phone")
    tasks = httpx.get(f"{server}/api/v1/tasks", headers=bearer(server, "dispatcher")).json()
    assert [t["case_id"] for t in tasks if t["kind"] == "return_visit"].count(cid) == 1
    page = browser_page
    log_in(page, server, "dispatcher")
    page.goto(f"{server}/cases/{cid}")
    page.wait_for_selector('[data-testid="visit-form"]')
    assert untranslated(page) == []
    page.check("#visit-form input[name=resolved][value=no]")
    page.check("#visit-form input[name=satisfaction][value='2']")
    page.fill("#visit-form textarea", "车辆仍占用消防通道")
    page.click("#visit-form button[type=submit]")
    wait_status(page, "reopened")
    rows = page.inner_text('[data-testid="followup"]')
    assert "群众称未解决" in rows and "满意度2分" in rows and "车辆仍占用消防通道" in rows
    history = page.inner_text('[data-testid="events"]')
    assert "回访：群众反映问题未解决，重新办理" in history
    screenshot(page, "followup_visit_recorded")
    assert untranslated(page) == []
