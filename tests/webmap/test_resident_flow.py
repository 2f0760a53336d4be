"""Issue 14 on a 390 px phone in Debian's Chromium, with no way off the machine: a category tile,
filing and tracking; the emergency call before the form; a keyboard-only resident; Chinese text
only on Chinese pages. Every test's page fails if it asks any host but the server."""

from __future__ import annotations

import re
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import create_engine
from support import IN_P111, load_mini
from test_pages import Shot, drop_pin, open_page, photo

from jurisdictions import catalog, published_contacts

GAS_LINE = "0571-8123 4567"  # the sample gas company of 甲街道 (T1), published below


@pytest.fixture(scope="module")
def site_db(module_scratch_db_url: str) -> str:
    eng = create_engine(module_scratch_db_url)
    with eng.begin() as conn:
        load_mini(conn)
        catalog.sync_taxonomy(conn)
        published_contacts.set_contact(
            conn,
            agency="utility",
            kind="gas",
            scope_layer="town",
            scope_code="T1",
            office="甲镇燃气公司抢修中心",
            person="值班调度",
            phone=GAS_LINE,
            hours="24小时",
        )
    eng.dispose()
    return module_scratch_db_url


#: Latin words a Chinese page may show: the language switch, coordinate systems, map credits.
ALLOWED_LATIN = {"English", "WGS", "GCJ", "BD", "CGCS", "Leaflet", "km", "m", "Tab"}


def latin_words(
    page: Any, *, allow: set[str] = ALLOWED_LATIN, own: tuple[str, ...] = ()
) -> list[str]:
    """Latin words in the page's rendered text that are not on the allow-list (``own``: what the
    resident typed and the tracking code, taken out first)."""
    text = page.evaluate("() => document.body.innerText")
    for value in own:
        text = text.replace(value, " ")
    return [
        text[max(0, m.start() - 20) : m.end() + 20]
        for m in re.finditer(r"[A-Za-z]{2,}", text)
        if m.group() not in allow
    ]


def tab_to(page: Any, test: str, limit: int = 60) -> None:
    """Press Tab until ``test`` (JS, on document.activeElement as ``a``) holds."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate(f"() => {{ const a = document.activeElement; return !!({test}); }}"):
            return
    raise AssertionError(f"Tab never reached {test}")


def wait_place(page: Any) -> str:
    page.wait_for_selector('[data-testid="owner"] .place-list')
    return str(page.inner_text('[data-testid="owner"]'))


def test_tile_file_and_track(
    server: str, browser_page: Any, screenshot: Shot, tmp_path: Path
) -> None:
    page = browser_page
    open_page(page, f"{server}/report")
    drop_pin(page, *IN_P111)
    assert "金桂苑" in wait_place(page)
    page.click('.tile[data-category="noise"]')
    # 二（四）3: noise of renovation at night is public security's
    page.click('#tile-types .type-option[data-code="renovation_noise_night"]')
    page.wait_for_selector(".handler-name")
    assert "公安" in page.inner_text(".handler-name")
    assert page.locator("#urgent").is_hidden()  # not an emergency
    description = f"楼上半夜电钻 {uuid.uuid4().hex[:6]}"
    page.fill('[data-testid="description"]', description)
    page.set_input_files("#photos", str(photo(tmp_path)))
    screenshot(page, "phone-tile-report")
    page.click('[data-testid="submit"]')
    page.wait_for_selector("#done:not([hidden])")
    code = page.inner_text('[data-testid="tracking-code"]').strip()
    page.click("#track-link")
    page.wait_for_url(f"**/track/{code}")
    reported = page.inner_text('[data-testid="reported"]')
    assert description in reported and "金桂苑" in reported and "装修" in reported
    assert "公安" in page.inner_text(".facts") and "下一步" in page.inner_text(".facts")
    page.wait_for_function(
        "() => { const i = document.querySelector('[data-testid=photo]');"
        " return i && i.complete && i.naturalWidth > 0; }"
    )
    page.wait_for_selector("#mini-map.leaflet-container path.leaflet-interactive")
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=server)
    page.click("#copy-code")
    page.wait_for_function("() => document.getElementById('copy-code').textContent === '已复制'")
    assert page.evaluate("() => navigator.clipboard.readText()") == code
    assert latin_words(page, own=(code, description)) == []
    screenshot(page, "phone-track")


def test_an_emergency_shows_the_call_first_and_still_files(
    server: str, browser_page: Any, screenshot: Shot
) -> None:
    page = browser_page
    open_page(page, f"{server}/report")
    page.fill('[data-testid="type"]', "电梯里有人被困住了")
    page.wait_for_selector('#type-list [role="option"]')
    page.locator('#type-list [role="option"]').first.click()
    urgent = page.locator('[data-testid="urgent"]')
    assert urgent.is_visible() and urgent.locator('a[href="tel:96333"]').count() == 1
    page.click("#type-change")
    # gas: the gas company of the place, from the published contacts
    drop_pin(page, *IN_P111)
    wait_place(page)
    page.fill('[data-testid="type"]', "厨房里一股煤气味")
    page.wait_for_selector('#type-list [data-code="gas_leak_smell"]')
    page.locator('#type-list [role="option"]').first.click()
    page.wait_for_selector('[data-testid="urgent"] a[href="tel:057181234567"]')
    assert "甲镇燃气公司" in page.inner_text('[data-testid="urgent"]')
    assert page.locator('[data-testid="urgent"] a[href="tel:119"]').count() == 1
    screenshot(page, "phone-emergency")
    page.click('[data-testid="submit"]')  # the resident may still file
    page.wait_for_selector("#done:not([hidden])")
    # the fire tile offers 119 for a fire burning now, though no type is a fire
    open_page(page, f"{server}/report")
    page.click('.tile[data-category="fire"]')
    assert page.locator('#tile-calls a[href="tel:119"]').count() == 1


def test_a_keyboard_only_resident_files_a_report(
    server: str, browser_page: Any, screenshot: Shot
) -> None:
    page = browser_page
    open_page(page, f"{server}/report")
    # The map shows the place 80 px east of the cross (as after a place search); one press of
    # the right arrow key pans the map east, bringing it under the cross.
    page.evaluate(
        """([lon, lat]) => { const m = shudiMap, c = Shudi.visibleCenter();
           const p = m.latLngToContainerPoint(L.latLng(lat, lon));
           m.panBy(p.subtract(c).subtract(L.point(80, 0)), {animate: false}); }""",
        list(IN_P111),
    )
    tab_to(page, "a.classList.contains('leaflet-container')")
    assert page.locator('[data-testid="crosshair"]').is_visible()
    page.keyboard.press("ArrowRight")
    page.wait_for_timeout(400)  # Leaflet's keyboard pan
    page.keyboard.press("Enter")
    assert "金桂苑" in wait_place(page)
    tab_to(page, "a.id === 'type-q'")
    assert page.get_attribute("#type-q", "role") == "combobox"
    page.keyboard.type("楼道灯坏了晚上好黑")
    page.wait_for_selector('#type-list [role="option"]')
    assert page.get_attribute("#type-q", "aria-expanded") == "true"
    page.keyboard.press("ArrowDown")
    active = page.get_attribute("#type-q", "aria-activedescendant")
    assert active and page.get_attribute(f"#{active}", "aria-selected") == "true"
    assert page.get_attribute(f"#{active}", "data-code") == "estate_lighting_out"
    page.keyboard.press("Enter")
    page.wait_for_selector(".handler-name")
    tab_to(page, "a.id === 'description'")
    page.keyboard.type(f"键盘上报 {uuid.uuid4().hex[:6]}")
    tab_to(page, "a.id === 'phone'")
    page.keyboard.type("12ab")
    page.keyboard.press("Tab")  # leaving the field checks it
    assert "5至20位数字" in page.inner_text('[data-testid="phone-error"]')
    assert page.get_attribute("#phone", "aria-invalid") == "true"
    page.keyboard.press("Shift+Tab")
    for _ in range(4):
        page.keyboard.press("Backspace")
    tab_to(page, "a.id === 'submit'")
    outline = page.evaluate("() => getComputedStyle(document.activeElement).outlineStyle")
    assert outline != "none"  # focus is visible
    page.keyboard.press("Enter")
    page.wait_for_selector("#done:not([hidden])")
    screenshot(page, "phone-keyboard-done")


def test_large_text_mode(server: str, browser_page: Any, screenshot: Shot) -> None:
    page = browser_page
    open_page(page, f"{server}/report")
    before = page.evaluate("() => parseFloat(getComputedStyle(document.body).fontSize)")
    page.click("[data-large-toggle]")
    after = page.evaluate("() => parseFloat(getComputedStyle(document.body).fontSize)")
    assert after >= before * 1.2
    page.reload()
    page.wait_for_function("() => window.Shudi")
    assert page.evaluate("() => document.documentElement.classList.contains('large-text')")
    screenshot(page, "phone-large-text")


def test_chinese_pages_show_no_untranslated_text(server: str, browser_page: Any) -> None:
    page = browser_page
    open_page(page, f"{server}/report")
    drop_pin(page, *IN_P111)
    wait_place(page)
    page.click('.tile[data-category="lift"]')
    page.click('#tile-types .type-option[data-code="lift_entrapment"]')
    page.wait_for_selector(".handler-name")
    page.fill('[data-testid="phone"]', "abc")
    page.click('[data-testid="submit"]')
    assert latin_words(page) == [], "English on the Chinese report page"
    open_page(page, f"{server}/directory")
    drop_pin(page, *IN_P111)
    page.wait_for_selector('[data-testid="directory"] .party')
    assert latin_words(page) == [], "English on the Chinese directory"
    order = page.eval_on_selector_all("#directory .party", "ps => ps.map(p => p.dataset.agency)")
    assert order[:3] == ["property_company", "community_committee", "town_government"]
    assert "甲镇燃气公司抢修中心" in page.inner_text("#directory .utilities")
    calls = page.eval_on_selector_all(
        '[data-testid="emergency"] a', "as => as.map(a => a.getAttribute('href'))"
    )
    assert calls == ["tel:110", "tel:119", "tel:120", "tel:96333", "tel:12345"]


def test_api_errors_reach_the_page_in_its_language(server: str, browser_page: Any) -> None:
    """A phone the server refuses (the check skipped) comes back in Chinese, or in English."""
    for lang, words in (("zh", "5至20位数字"), ("en", "5 to 20 digits")):
        page = browser_page
        open_page(page, f"{server}/report" + ("?lang=en" if lang == "en" else ""))
        drop_pin(page, *IN_P111)
        wait_place(page)
        page.click('.tile[data-category="rubbish"]')
        page.click('#tile-types .type-option[data-code="common_area_cleaning"]')
        page.evaluate("() => document.getElementById('phone').value = '++'")
        page.evaluate(
            "() => { const f = document.getElementById('report-form');"
            " document.getElementById('phone').value = '1'; f.requestSubmit(); }"
        )
        assert words in page.inner_text('[data-testid="error"]')
    r = httpx.post(
        f"{server}/api/v1/reports",
        json={"lon": IN_P111[0], "lat": IN_P111[1], "type": "common_area_cleaning", "phone": "1"},
        headers={"Idempotency-Key": uuid.uuid4().hex},
    )
    assert r.status_code == 422 and r.json()["code"] == "invalid_report"
    assert r.json()["field"] == "phone"


def test_api_docs_work_offline(server: str, browser_page: Any) -> None:
    """Swagger UI and ReDoc from the app's own assets (the page fails if it asks any host)."""
    page = browser_page
    page.goto(f"{server}/docs")
    page.wait_for_selector(".swagger-ui .info .title")
    assert "Shudi" in page.inner_text(".swagger-ui .info .title")
    page.wait_for_selector('.opblock-summary-path[data-path="/api/v1/violation-types"]')
    page.goto(f"{server}/redoc")
    page.wait_for_selector("h1")
    assert "Shudi" in page.inner_text("h1")
    html = httpx.get(f"{server}/docs").text + httpx.get(f"{server}/redoc").text
    assert "cdn.jsdelivr.net" not in html and "fonts.googleapis.com" not in html
