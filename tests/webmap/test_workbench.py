"""The staff's workbench in Debian's Chromium over real HTTP: every role logs in and lands on
its home; the field roles open a case from their work list and act on it (on a phone); the
dispatcher's queue shows a new report first however many are open; a community worker files
through the staff channel; every page's text is Chinese; nothing leaves the machine
(``browser_page`` fails the test otherwise).

Expected answers come from the mechanism's text and the issue, not from the code: the handler
takes up a dispatched case, the community verifies a resolved one in its area, a town
coordinator completes the tasks of a joint enforcement in its town.
"""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import create_engine, text
from support import HASH, IN_P111, IN_P112, IN_T2, PASSWORD, USERS, load_mini

from jurisdictions import catalog
from webmap import assets

PHONE = (390, 844)
DESKTOP = (1280, 800)
Shot = Callable[[Any, str], Path]

#: Latin words a Chinese page may show: names of products and formats, not untranslated text.
ALLOWED_WORDS = frozenset(
    {"Leaflet", "Excel", "GeoJSON", "GeoPackage", "JSON", "PDF", "CSV"}
    | {"Getis", "Ord", "Moran"}  # the statisticians the hot-spot methods are named after
)

#: The home of each role, as the issue lists them.
HOMES = {
    "dispatcher": "/map/dispatch",
    "urban": "/work",
    "town_t1": "/work",
    "community_c11": "/work",
    "company_jia": "/work",
    "planner": "/map/hotspots",
    "admin": "/admin",
}


@pytest.fixture(scope="module")
def site_db(module_scratch_db_url: str) -> str:
    eng = create_engine(module_scratch_db_url)
    with eng.begin() as conn:
        load_mini(conn)
        catalog.sync_taxonomy(conn)
        for name, spec in USERS.items():
            conn.execute(
                text("""INSERT INTO app_user (username, password_hash, role, agency,
                            agency_unit, town_code, community_code, company)
                        VALUES (:u, :h, :r, :a, :au, :t, :c, :co)"""),
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
            )
    eng.dispose()
    return module_scratch_db_url


# --- API helpers (the cases are prepared as any client would) ----------------------------------


def bearer(base: str, username: str) -> dict[str, str]:
    r = httpx.post(f"{base}/api/v1/auth/token", data={"username": username, "password": PASSWORD})
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


def a_type(base: str, *, evidence: bool = False, **where: str) -> str:
    """The first reportable type with these fields; by default one resolved without
    before/after photos (``evidence=True``: one that needs them)."""
    types = httpx.get(f"{base}/api/v1/violation-types", params={"reportable": True, **where})
    return str(next(t for t in types.json() if bool(t.get("evidence")) == evidence)["code"])


def report(base: str, where: tuple[float, float], type_code: str, **over: Any) -> int:
    body = {"lon": where[0], "lat": where[1], "type": type_code, "description": "演示"} | over
    r = httpx.post(
        f"{base}/api/v1/reports", json=body, headers={"Idempotency-Key": uuid.uuid4().hex}
    )
    assert r.status_code == 201, r.text
    return int(r.json()["id"])


def act(base: str, username: str, case_id: int, action: str, **payload: Any) -> dict:
    auth = bearer(base, username)
    url = f"{base}/api/v1/cases/{case_id}"
    etag = httpx.get(url, headers=auth).headers["etag"]
    r = httpx.post(
        f"{url}/transitions", json={"action": action, **payload}, headers=auth | {"If-Match": etag}
    )
    assert r.status_code == 200, r.text
    return dict(r.json())


def case(base: str, case_id: int) -> dict:
    r = httpx.get(f"{base}/api/v1/cases/{case_id}", headers=bearer(base, "dispatcher"))
    return dict(r.json())


# --- browser helpers ----------------------------------------------------------------------------

TEXT_JS = """() => {
  const out = [];
  const skip = 'script,style,[translate=no],[lang=en],.leaflet-control-attribution,[hidden]';
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  while (walker.nextNode()) {
    const n = walker.currentNode, p = n.parentElement;
    if (!p || p.closest(skip) || !n.textContent.trim()) continue;
    if (p.closest('option')) { out.push(n.textContent); continue; }
    const r = p.getBoundingClientRect();
    if (r.width === 0 && r.height === 0) continue;  // not rendered
    out.push(n.textContent);
  }
  document.querySelectorAll('[placeholder],[aria-label],[title],img[alt]').forEach(e => {
    if (e.closest(skip)) return;
    ['placeholder', 'aria-label', 'title', 'alt'].forEach(a => {
      if (e.getAttribute(a)) out.push(e.getAttribute(a));
    });
  });
  out.push(document.title);
  return out.join('\\n');
}"""


def untranslated(page: Any) -> list[str]:
    """Latin words of the rendered page a reader would meet, beyond product and format
    names (codes such as ``correct_type``, words such as ``dispatcher``)."""
    words = re.findall(r"[A-Za-z][A-Za-z_]{2,}", page.evaluate(TEXT_JS))
    return sorted({w for w in words if w not in ALLOWED_WORDS and re.search(r"[a-z_]", w)})


def log_in(page: Any, base: str, username: str, size: tuple[int, int] = DESKTOP) -> None:
    """Log in from /login with no destination: the role's home is where it lands."""
    page.context.clear_cookies()
    page.set_viewport_size({"width": size[0], "height": size[1]})
    page.goto(f"{base}/login")
    page.fill('input[name="username"]', username)
    page.fill('input[name="password"]', PASSWORD)
    page.click('button[type="submit"]')
    page.wait_for_url(f"**{HOMES[username]}")


def no_sideways_scroll(page: Any) -> bool:
    return bool(
        page.evaluate("() => document.documentElement.scrollWidth <= window.innerWidth + 1")
    )


def open_from_worklist(page: Any, case_id: int) -> None:
    row = page.locator(
        f'[data-testid="worklist"] [data-testid="work-item"][data-case-id="{case_id}"]'
    )
    assert row.count() == 1, page.inner_text('[data-testid="worklist"]')
    row.locator("a").click()
    page.wait_for_url(f"**/cases/{case_id}")


def status_of(page: Any) -> str:
    return str(page.locator('[data-testid="case"]').get_attribute("data-status"))


def wait_status(page: Any, status: str) -> None:
    page.wait_for_function(
        "s => document.querySelector('[data-testid=case]')?.dataset.status === s", arg=status
    )


# --- the HTML as served -------------------------------------------------------------------------


def test_every_role_has_a_home_and_a_menu_of_pages_it_may_open(server: str) -> None:
    assert httpx.get(f"{server}/").headers["location"] == "/report"  # not logged in
    for username, home in HOMES.items():
        with httpx.Client(base_url=server) as client:
            r = client.post("/login", data={"username": username, "password": PASSWORD})
            assert r.status_code == 303 and r.headers["location"] == "/", username
            r = client.get("/")
            assert r.status_code == 303 and r.headers["location"] == home, username
            page = client.get(home)
            assert page.status_code == 200 and '<html lang="zh-CN">' in page.text, username
            assert assets.remote_urls(page.text) == []
            menu = re.search(r'<nav class="staff-nav".*?</nav>', page.text, re.S)
            assert menu, f"{username}: no navigation bar on {home}"
            links = re.findall(r'href="(/[^"]*)"', menu.group(0))
            assert links[0] == home, username  # the home comes first
            for link in links:  # the menu never leads to a page the user may not see
                assert client.get(link).status_code == 200, (username, link)
    with httpx.Client(base_url=server) as client:
        client.post("/login", data={"username": "urban", "password": PASSWORD})
        denied = client.get("/meetings")  # an agency officer has no meetings
        assert denied.status_code == 403 and "无权访问此页面" in denied.text
        assert 'href="/work"' in denied.text  # and is shown the way home
        assert client.get("/admin").status_code == 403
        assert client.get("/map/dispatch").status_code == 403
    anonymous = httpx.get(f"{server}/work")
    assert anonymous.status_code == 303 and anonymous.headers["location"] == "/login?next=/work"


# --- in the browser -----------------------------------------------------------------------------


def test_field_roles_open_a_case_from_their_work_list_and_act(
    server: str, browser_page: Any, screenshot: Shot
) -> None:
    enforcement = a_type(server, agency="urban_management", scope="enforcement")
    service_type = a_type(server, scope="property_service")
    taken = report(server, IN_P111, enforcement)  # T1 / C11: urban management handles it
    resolved = report(server, IN_P111, enforcement)
    ours = report(server, IN_P111, service_type)  # the estate's company handles it
    joint = report(server, IN_P111, enforcement)
    for cid in (taken, resolved, ours, joint):
        act(server, "dispatcher", cid, "accept")
    for cid in (taken, resolved, ours):
        act(server, "dispatcher", cid, "dispatch")
    act(server, "urban", resolved, "start")
    act(server, "urban", resolved, "resolve", note="已拆除")
    act(server, "dispatcher", joint, "joint", parties=["urban_management", "public_security"])
    assert case(server, ours)["handler_party"] == "property_company"
    page = browser_page

    # An agency officer, on a phone: takes up the dispatched case, then refers it away and
    # is brought back to the work list (a page it may see).
    log_in(page, server, "urban", PHONE)
    assert page.locator('[data-testid="worklist"]').count() == 1 and no_sideways_scroll(page)
    assert untranslated(page) == []
    screenshot(page, "home-agency-officer-phone")
    open_from_worklist(page, taken)
    assert no_sideways_scroll(page)
    page.click('[data-testid="action-start"] button[type="submit"]')
    wait_status(page, "in_progress")
    history = page.inner_text('[data-testid="events"]')
    assert "开始办理" in history and "（部门工作人员）" in history
    assert untranslated(page) == []
    screenshot(page, "case-agency-officer-phone")
    form = '[data-testid="action-refer"]'
    page.select_option(f'{form} select[name="to_party"]', "housing_service_center")
    page.fill(f'{form} textarea[name="note"]', "属于房屋安全鉴定事项")
    page.click(f'{form} button[type="submit"]')
    page.wait_for_url("**/work")
    assert page.locator('[data-testid="worklist"]').count() == 1
    assert case(server, taken)["status"] == "referred"

    # A community worker verifies the resolved case of its community.
    log_in(page, server, "community_c11", PHONE)
    item = page.locator(f'[data-testid="work-item"][data-case-id="{resolved}"]')
    assert item.get_attribute("data-bucket") == "verify" and "待核查" in item.inner_text()
    assert no_sideways_scroll(page) and untranslated(page) == []
    screenshot(page, "home-community-worker-phone")
    open_from_worklist(page, resolved)
    page.select_option('[data-testid="action-verify"] select[name="outcome"]', "fixed")
    page.click('[data-testid="action-verify"] button[type="submit"]')
    wait_status(page, "closed")
    assert "核查结案" in page.inner_text('[data-testid="events"]') and untranslated(page) == []

    # A property company takes up the case of its estate.
    log_in(page, server, "company_jia", PHONE)
    assert no_sideways_scroll(page) and untranslated(page) == []
    screenshot(page, "home-property-company-phone")
    open_from_worklist(page, ours)
    page.click('[data-testid="action-start"] button[type="submit"]')
    wait_status(page, "in_progress")

    # A town coordinator completes a task of the joint enforcement in its town.
    log_in(page, server, "town_t1")
    item = page.locator(f'[data-testid="work-item"][data-case-id="{joint}"]')
    assert item.get_attribute("data-bucket") == "handle" and untranslated(page) == []
    screenshot(page, "home-town-coordinator")
    open_from_worklist(page, joint)
    before = sum(1 for t in case(server, joint)["tasks"] if t["done"])
    # The version is read before the tap: read after it, a quick answer may already have
    # replaced the page, and the wait would then look for a version after the new one.
    version = int(page.locator('[data-testid="case"]').get_attribute("data-version") or 0)
    page.click('[data-testid="action-complete_task"] button[type="submit"]')
    page.wait_for_function(
        "v => Number(document.querySelector('[data-testid=case]')?.dataset.version) > v",
        arg=version,
    )
    assert sum(1 for t in case(server, joint)["tasks"] if t["done"]) == before + 1
    assert "联合执法任务完成" in page.inner_text('[data-testid="events"]')


def test_dispatcher_case_page_groups_and_confirms_actions(
    server: str, browser_page: Any, screenshot: Shot
) -> None:
    cid = report(server, IN_P111, a_type(server, agency="urban_management"))
    page = browser_page
    log_in(page, server, "dispatcher")
    page.goto(f"{server}/cases/{cid}")
    primary = page.locator('[data-testid="actions-primary"]')
    destructive = page.locator('[data-testid="actions-destructive"]')
    assert primary.locator('[data-testid="action-accept"]').count() == 1
    assert destructive.locator('[data-testid="action-reject"]').count() == 1  # not beside 受理
    assert page.locator('[data-testid="action-unhide"]').count() == 0  # never hidden
    assert page.locator('[data-testid="action-hide"]').count() == 1
    # The type-correction picker lists problems one may report, not the duties of units.
    picker = page.locator('[data-testid="action-correct_type"] select[name="type"] option')
    offered = set(picker.evaluate_all("os => os.map(o => o.value)"))
    reportable = {
        t["code"]
        for t in httpx.get(f"{server}/api/v1/violation-types", params={"reportable": True}).json()
    }
    assert offered == reportable
    assert untranslated(page) == []

    # A destructive action asks first; "cancel" changes nothing.
    page.fill('[data-testid="action-reject"] textarea[name="note"]', "不属于受理范围")
    page.click('[data-testid="action-reject"] button[type="submit"]')
    page.wait_for_selector('[data-testid="confirm"]')
    assert "不予受理" in page.inner_text('[data-testid="confirm"]')
    screenshot(page, "case-confirm")
    page.click('[data-testid="confirm-no"]')
    page.wait_for_timeout(300)
    assert case(server, cid)["status"] == "reported" and status_of(page) == "reported"
    page.click('[data-testid="action-reject"] button[type="submit"]')
    page.click('[data-testid="confirm-yes"]')
    wait_status(page, "rejected")
    history = page.inner_text('[data-testid="events"]')
    assert "不予受理" in history and "（调度员）" in history and "(dispatcher)" not in history


def test_a_new_case_tops_the_dispatchers_queue_however_many_are_open(
    server: str, site_db: str, browser_page: Any, screenshot: Shot
) -> None:
    kind = a_type(server, agency="urban_management")
    many = [report(server, IN_T2 if i % 2 else IN_P111, kind) for i in range(110)]
    eng = create_engine(site_db)
    with eng.begin() as conn:  # every one of them due before any new report
        conn.execute(
            text("UPDATE case_file SET due_at = now() - interval '1 day' WHERE id = ANY(:ids)"),
            {"ids": many},
        )
    eng.dispose()
    page = browser_page
    log_in(page, server, "dispatcher")
    page.wait_for_function("() => Shudi.dispatch && Shudi.dispatch.count() >= 110")
    page.wait_for_selector('[data-testid="new-list"] li')
    assert untranslated(page) == []
    started = time.monotonic()
    new = report(server, IN_P111, kind, description="刚刚上报")
    first = '[data-testid="new-list"] li:first-child'
    page.wait_for_function(
        "([sel, id]) => document.querySelector(sel)?.dataset.caseId === String(id)",
        arg=[first, new],
        timeout=5000,
    )
    assert time.monotonic() - started < 5
    # The deadline-sorted list of the view is full of older cases: the new one is not there.
    in_view = page.eval_on_selector_all(
        "#case-list li", "els => els.map(e => Number(e.dataset.caseId))"
    )
    assert len(in_view) == 100 and new not in in_view
    assert "fresh" in (page.locator(first).get_attribute("class") or "")
    screenshot(page, "home-dispatcher")


def test_planner_and_admin_land_on_their_pages(
    server: str, browser_page: Any, screenshot: Shot
) -> None:
    page = browser_page
    log_in(page, server, "planner")
    assert page.locator('[data-testid="nav"] a[aria-current="page"]').inner_text() == "热点分析"
    page.wait_for_function("() => window.shudiMap && window.Shudi")
    assert untranslated(page) == []
    screenshot(page, "home-planner")
    log_in(page, server, "admin")
    home = page.locator('[data-testid="admin-home"]')
    assert "用户" in home.inner_text() and "命令行管理" in home.inner_text()
    assert untranslated(page) == []
    screenshot(page, "home-admin")
    # Keyboard focus is visible: the first Tab lands on the menu, outlined.
    page.keyboard.press("Tab")
    focused = page.evaluate(
        "() => { const e = document.activeElement, s = getComputedStyle(e);"
        " return [e.closest('nav') !== null, s.outlineStyle, parseFloat(s.outlineWidth)]; }"
    )
    assert focused[0] and focused[1] != "none" and focused[2] >= 2
    page.click('[data-testid="nav"] a[data-page="assessment"]')
    page.wait_for_url("**/assessment")
    assert "北京时间" in page.inner_text("main")
    assert re.search(r"数据截至 \d{4}-\d\d-\d\d \d\d:\d\d 北京时间", page.inner_text("main"))
    assert untranslated(page) == []
    page.set_viewport_size({"width": PHONE[0], "height": PHONE[1]})
    assert no_sideways_scroll(page)


def test_a_community_worker_reports_through_the_staff_channel(
    server: str, browser_page: Any
) -> None:
    from test_pages import drop_pin, pick_type  # the resident flow's helpers

    page = browser_page
    log_in(page, server, "community_c11", PHONE)
    page.click('[data-testid="nav"] a[data-page="report"]')
    page.wait_for_function("() => window.shudiMap && window.Shudi")
    assert "社区巡查" in page.inner_text('[data-testid="staff-channel"]')
    drop_pin(page, *IN_P111)
    page.wait_for_selector('[data-testid="owner"] .place-list')
    vtype = httpx.get(
        f"{server}/api/v1/violation-types",
        params={"agency": "urban_management", "reportable": True},
    ).json()[0]
    pick_type(page, vtype)
    page.fill('[data-testid="description"]', "巡查发现楼顶加建")
    page.click('[data-testid="submit"]')
    page.wait_for_selector("#done:not([hidden])")
    href = page.get_attribute("#track-link", "href") or ""
    m = re.fullmatch(r"/cases/(\d+)", href)
    assert m, href
    filed = case(server, int(m.group(1)))
    assert filed["channel"] == "patrol_community" and filed["description"] == "巡查发现楼顶加建"


def test_a_community_worker_reports_a_refusal_to_correct_from_the_field(
    server: str, browser_page: Any
) -> None:
    """三（二）: the community worker found a violation in their community, dissuaded, was
    refused; one step on /report puts it in the work lists of the town and the department."""
    from test_pages import drop_pin, pick_type

    page = browser_page
    log_in(page, server, "community_c11", PHONE)
    page.click('[data-testid="nav"] a[data-page="report"]')
    page.wait_for_function("() => window.shudiMap && window.Shudi")
    assert page.locator("#refusal-fields").is_hidden()
    drop_pin(page, *IN_P111)
    page.wait_for_selector('[data-testid="owner"] .place-list')
    vtype = httpx.get(
        f"{server}/api/v1/violation-types",
        params={"agency": "urban_management", "scope": "enforcement", "reportable": True},
    ).json()[0]
    pick_type(page, vtype)
    page.check('[data-testid="refusal"]')
    assert page.locator('[data-testid="said"]').is_visible()
    assert page.input_value('[data-testid="dissuaded-at"]')  # now, unless the worker says when
    assert page.locator('[data-testid="phone"]').is_hidden()  # no resident's contact to take
    page.click('[data-testid="submit"]')  # what was said is required
    assert "劝阻内容" in page.inner_text('[data-testid="error"]')
    page.fill('[data-testid="said"]', "告知其楼顶加建须停止，业主拒绝")
    page.fill('[data-testid="party"]', "3幢502住户")
    assert untranslated(page) == ["Tab"]  # the key's name, in the keyboard hint
    page.click('[data-testid="submit"]')
    page.wait_for_selector("#done:not([hidden])")
    assert "镇（街道）和相关执法部门" in page.inner_text("#done")
    href = page.get_attribute("#track-link", "href") or ""
    m = re.fullmatch(r"/cases/(\d+)", href)
    assert m, href
    case_id = int(m.group(1))
    assert untranslated(page) == []
    filed = case(server, case_id)
    assert filed["channel"] == "patrol_community" and filed["status"] == "reported"
    history = httpx.get(
        f"{server}/api/v1/cases/{case_id}/events", headers=bearer(server, "dispatcher")
    ).json()
    (told,) = [e for e in history if e["action"] == "dissuasion"]
    assert told["data"]["said"] == "告知其楼顶加建须停止，业主拒绝"
    assert told["data"]["party"] == "3幢502住户"
    for unit in ("town_t1", "urban"):  # 甲街道 and the urban management department
        listed = httpx.get(f"{server}/api/v1/tasks", headers=bearer(server, unit)).json()
        kinds = [t["kind"] for t in listed if t["case_id"] == case_id]
        assert kinds == ["refusal_report"], (unit, listed)


def test_only_the_refusal_roles_see_the_refusal_tick_in_their_own_place(
    server: str, browser_page: Any
) -> None:
    from test_pages import drop_pin, pick_type

    page = browser_page
    page.context.clear_cookies()
    page.goto(f"{server}/report")
    assert page.locator('[data-testid="refusal"]').count() == 0  # a resident
    log_in(page, server, "company_jia", PHONE)
    page.goto(f"{server}/report")
    page.wait_for_function("() => window.shudiMap && window.Shudi")
    drop_pin(page, *IN_P112)  # an estate 甲物业 does not serve
    page.wait_for_selector('[data-testid="owner"] .place-list')
    vtype = httpx.get(
        f"{server}/api/v1/violation-types",
        params={"agency": "urban_management", "scope": "enforcement", "reportable": True},
    ).json()[0]
    pick_type(page, vtype)
    page.check('[data-testid="refusal"]')
    page.fill('[data-testid="said"]', "劝阻无效")
    page.click('[data-testid="submit"]')
    page.wait_for_selector('[data-testid="error"]:not([hidden])')
    assert "只能报告本辖区" in page.inner_text('[data-testid="error"]')
    log_in(page, server, "urban")
    page.goto(f"{server}/report")
    assert page.locator('[data-testid="refusal"]').count() == 0


DRAG_JS = """([lon, lat]) => {
  const m = Shudi.caseMap, pin = Shudi.casePin.marker.getLatLng();
  const to = L.latLng(Shudi.onMap({lon, lat, crs: 'wgs84'}));
  m.getContainer().scrollIntoView({block: 'center'});  // as a user scrolls to the map
  m.fitBounds(L.latLngBounds([pin, to]), {padding: [40, 40], animate: false});
  const r = m.getContainer().getBoundingClientRect();
  const a = m.latLngToContainerPoint(pin), b = m.latLngToContainerPoint(to);
  return [a.x + r.left, a.y + r.top, b.x + r.left, b.y + r.top];
}"""


def test_dispatcher_drags_the_pin_and_previews_the_new_handler(
    server: str, browser_page: Any, screenshot: Shot
) -> None:
    kind = a_type(server, agency="urban_management", scope="enforcement")
    cid = report(server, IN_P111, kind)  # filed in 甲街道 (T1) by mistake: it is in 乙镇 (T2)
    route = httpx.get(
        f"{server}/api/v1/route", params={"lon": IN_T2[0], "lat": IN_T2[1], "type": kind}
    ).json()
    page = browser_page
    log_in(page, server, "dispatcher")
    page.goto(f"{server}/cases/{cid}")
    page.wait_for_function("() => Shudi.casePin && document.querySelector('path.area-town')")
    x0, y0, x1, y1 = page.evaluate(DRAG_JS, list(IN_T2))
    page.mouse.move(x0, y0 - 20)  # the marker icon's body, above its tip
    page.mouse.down()
    page.mouse.move((x0 + x1) / 2, (y0 + y1) / 2 - 20, steps=8)
    page.mouse.move(x1, y1 - 20, steps=8)
    page.mouse.up()
    page.wait_for_selector('[data-testid="move-preview-facts"]')
    preview = page.inner_text('[data-testid="move-preview"]')
    assert route["territory"]["town"]["name"] in preview  # 乙镇, as the routing API says
    assert route["handler"]["name"] in preview and "保存前预览" in preview
    assert case(server, cid)["town_code"] == "T1"  # nothing saved yet
    assert untranslated(page) == []
    screenshot(page, "case-drag-preview")
    page.click('[data-testid="action-correct_location"] button[type="submit"]')
    page.wait_for_function(
        "() => Number(document.querySelector('[data-testid=case]')?.dataset.version) > 1"
    )
    moved = case(server, cid)
    assert moved["town_code"] == "T2" and moved["lon"] == pytest.approx(IN_T2[0], abs=3e-4)
    assert moved["lat"] == pytest.approx(IN_T2[1], abs=3e-4)
    assert "更正位置" in page.inner_text('[data-testid="events"]')
