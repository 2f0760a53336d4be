"""The administrator's screens in Debian's Chromium over real HTTP (issue 15): log in, add a
user and disable one, add a contact for a community, lift a ban, upload a bad layer and see
its problems in Chinese, upload a renumbered community layer, see the comparison, activate it
and see how many open cases moved. Nothing leaves the machine (``browser_page`` fails the test
otherwise); every page's text is scanned for untranslated words.

The expected numbers are worked by hand from the layers of ``tests/admin_layers.py``: of the
six cases placed, one is rejected (closed), and three of the five open ones lie west of lon
120.012 in T1, where the communities are renumbered — 3 move.
"""

from __future__ import annotations

from typing import Any

import pytest
from admin_layers import BAD, PLACES, RENUMBERED
from sqlalchemy import create_engine, text
from support import HASH, USERS, file_report, load_mini, type_of
from test_workbench import log_in, untranslated

from abuse import service as abuse
from accounts.service import Principal
from incidents import service as cases
from jurisdictions import catalog


@pytest.fixture(scope="module")
def site_db(module_scratch_db_url: str) -> str:
    eng = create_engine(module_scratch_db_url)
    with eng.begin() as conn:
        load_mini(conn)
        catalog.sync_taxonomy(conn)
        ids = {}
        for name, spec in USERS.items():
            ids[name] = conn.execute(
                text("""INSERT INTO app_user (username, password_hash, role, agency,
                            agency_unit, town_code, community_code, company)
                        VALUES (:u, :h, :r, :a, :au, :t, :c, :co) RETURNING id"""),
                {
                    "u": name,
                    "h": HASH,
                    "r": spec["role"].value,
                    "a": spec.get("agency"),
                    "au": spec.get("agency_unit"),
                    "t": spec.get("town_code"),
                    "c": spec.get("community_code"),
                    "co": spec.get("company"),
                },
            ).scalar_one()
        t = type_of(conn, agency="urban_management")
        for _name, where, _moves in PLACES:
            file_report(conn, where, t)
        closed = file_report(conn, (120.003, 30.018), t)["id"]  # in C11, rejected: not open
        d = Principal(user_id=ids["dispatcher"], username="dispatcher", **USERS["dispatcher"])
        version = cases.get_case(conn, case_id=closed, principal=d)["version"]
        cases.transition(
            conn,
            case_id=closed,
            principal=d,
            action="reject",
            payload={"note": "重复上报"},
            if_match=version,
        )
        abuse.add_ban(conn, kind="phone", value="13912345678", reason="恶意刷单", created_by="x")
    eng.dispose()
    return module_scratch_db_url


def ready(page: Any) -> None:
    """Wait until the page's forms are live (admin.js has run)."""
    page.wait_for_selector("html[data-admin-ready]", state="attached")


def go(page: Any, key: str) -> None:
    """Follow the menu to page ``key``."""
    page.click(f'[data-testid="nav"] a[data-page="{key}"]')
    page.wait_for_selector(f'[data-testid="admin-{key}"]')
    ready(page)


def test_the_admin_manages_users_contacts_bans_and_boundaries(
    server: str, browser_page: Any, screenshot: Any
) -> None:
    page = browser_page
    page.on("dialog", lambda d: d.accept())  # the confirmations of destructive actions
    log_in(page, server, "admin")
    menu = page.inner_text('[data-testid="nav"]')
    for word in ("用户管理", "联系人", "封禁管理", "边界图层", "案件列表"):
        assert word in menu

    # users: add a community worker of 甲一社区, disable a property company's account
    go(page, "users")
    form = page.locator('[data-testid="add-user"]')
    form.locator('input[name="username"]').fill("newworker")
    form.locator('input[name="password"]').fill("晴川历历汉阳树，芳草萋萋")
    form.locator('select[name="role"]').select_option("community_worker")
    assert form.locator('select[name="town_code"]').is_hidden()  # only the role's own scope
    form.locator('select[name="community_code"]').select_option("C11")
    form.locator('button[type="submit"]').click()
    row = page.locator('[data-testid="user-row"][data-username="newworker"]')
    row.wait_for()
    ready(page)
    assert "社区工作人员" in row.inner_text() and "甲一社区" in row.inner_text()
    yi = page.locator('[data-testid="user-row"][data-username="company_yi"]')
    yi.locator('button[data-action="disable"]').click()
    page.wait_for_selector(
        '[data-testid="user-row"][data-username="company_yi"][data-active="false"]'
    )
    ready(page)
    assert untranslated(page) == []
    page.keyboard.press("Tab")  # keyboard focus is visible
    outline = page.evaluate("() => getComputedStyle(document.activeElement).outlineStyle")
    assert outline != "none"
    screenshot(page, "admin-users")

    # a community worker becomes 乙镇's coordinator
    page.locator(
        '[data-testid="user-row"][data-username="community_c21"] a[data-action="edit"]'
    ).click()
    ready(page)
    edit = page.locator('[data-testid="edit-user"]')
    edit.locator('select[name="role"]').select_option("town_coordinator")
    edit.locator('select[name="town_code"]').select_option("T2")
    edit.locator('button[type="submit"]').click()
    page.wait_for_function(
        """() => { const r = document.querySelector('[data-username="community_c21"]');
                   return r && r.innerText.includes('乙镇'); }"""
    )
    ready(page)
    assert "镇/街道协调员" in page.inner_text('[data-username="community_c21"]')

    # a weak password is refused in Chinese
    form = page.locator('[data-testid="add-user"]')
    form.locator('input[name="username"]').fill("weakling")
    form.locator('input[name="password"]').fill("password1")
    form.locator('select[name="role"]').select_option("planner")
    form.locator('button[type="submit"]').click()
    alert = form.locator('[data-role="error"]')
    alert.wait_for()
    assert "过于常见" in alert.inner_text()

    # contacts: 甲一社区's police contact
    go(page, "contacts")
    page.select_option('[data-testid="area-picker"]', "community:C11")
    page.wait_for_url("**/admin/contacts?area=community*")
    ready(page)
    add = page.locator("section.card form")
    add.locator('select[name="agency"]').select_option("public_security")
    add.locator('input[name="person"]').fill("李警官")
    add.locator('input[name="phone"]').fill("0571-87654321")
    add.locator('button[type="submit"]').click()
    contact = page.locator('[data-testid="contact-row"][data-agency="public_security"]')
    contact.wait_for()
    assert "李警官" in contact.inner_text() and "甲一社区" in page.inner_text("h2")
    assert untranslated(page) == []

    # bans: lift the one in force
    go(page, "bans")
    page.locator('[data-testid="ban-row"] button[data-action="lift"]').click()
    page.wait_for_selector('[data-testid="no-bans"]')
    assert untranslated(page) == []

    # boundaries: a bad layer shows its problems, nothing is stored
    go(page, "boundaries")
    before = page.locator('[data-testid="generation-row"]').count()
    upload = page.locator('[data-testid="upload"]')
    upload.locator('input[type="file"]').set_input_files(
        {"name": "communities.geojson", "mimeType": "application/geo+json", "buffer": BAD}
    )
    upload.locator('select[name="layer"]').select_option("community")
    upload.locator('button[type="submit"]').click()
    problems = page.locator('[data-testid="upload-problems"]')
    problems.wait_for()
    shown = problems.inner_text()
    assert "“C31” 与 “C32” 相互重叠" in shown and "“C33” 超出其上级区域 “T2”" in shown
    assert "有要素缺少编码" in shown
    assert "图层有错误，未保存" in upload.inner_text()
    assert untranslated(page) == []
    screenshot(page, "admin-boundaries-problems")
    page.reload()
    ready(page)
    assert page.locator('[data-testid="generation-row"]').count() == before

    # a good one: previewed over the active one, compared, activated
    upload = page.locator('[data-testid="upload"]')
    upload.locator('input[type="file"]').set_input_files(
        {"name": "renumbered.geojson", "mimeType": "application/geo+json", "buffer": RENUMBERED}
    )
    upload.locator('select[name="layer"]').select_option("community")
    upload.locator('button[type="submit"]').click()
    page.wait_for_url("**/admin/boundaries/*")
    ready(page)
    page.wait_for_selector('#preview-map[data-ready="1"]')
    assert page.locator("#preview-map path.leaflet-interactive").count() >= 4 + 4
    codes = {
        key: page.eval_on_selector_all(
            f'[data-testid="{key}"] tbody tr', "rows => rows.map(r => r.dataset.code)"
        )
        for key in ("added", "removed", "changed")
    }
    assert codes == {"added": ["C13"], "removed": ["C11"], "changed": ["C12"]}
    assert untranslated(page) == []
    screenshot(page, "admin-boundaries-compare")
    page.locator('[data-testid="activate"] button').click()
    moved = page.locator('[data-testid="moved"]')
    moved.wait_for()
    expected = sum(1 for _name, _where, moves in PLACES if moves)
    assert expected == 3
    assert moved.get_attribute("data-moved") == str(expected)
    assert "未结案件 5 件中，有 3 件按新边界改由新的属地单位办理" in moved.inner_text()
    assert untranslated(page) == []
    screenshot(page, "admin-boundaries-activated")


def test_the_admin_reads_cases_without_personal_data(server: str, browser_page: Any) -> None:
    page = browser_page
    log_in(page, server, "admin")
    page.click('[data-testid="nav"] a[data-page="cases"]')
    page.wait_for_url("**/cases")
    assert page.locator("table tbody tr, [data-case-id]").count() >= 5
    assert "13800000000" not in page.content() and "张三" not in page.content()
    assert untranslated(page) == []
