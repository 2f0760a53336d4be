"""The staff's list pages: the work list (``/work``, 我的待办), all visible cases (``/cases``)
and the administrator's home (``/admin``); the joint meetings are :mod:`webmap.pages.meetings`.

Plain pages (no map), each under the navigation bar of :mod:`webmap.pages.nav`; they render
what ``api/workbench.py`` hands them (the services' answers). Rows are links to the case page
``/cases/{id}``; on a phone they stack as cards.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlencode

from webmap.pages.common import esc, fmt_time, pick, plain_page, with_lang
from webmap.pages.nav import PAGES, nav_bar, pages_of
from webmap.pages.report_in_panel import report_in_clock
from webmap.pages.track import STATUS

TEXTS: dict[str, tuple[str, str]] = {
    "work": ("我的待办", "My work"),
    "work_hint": (
        "等待您或本单位处理的案件，超期的排在最前。时间均为北京时间。",
        "Cases waiting for you or your unit, overdue first. Times are Beijing time.",
    ),
    "all": ("全部", "All"),
    "new": ("新上报", "New"),
    "accept": ("待接收", "To take up"),
    "handle": ("办理中", "In hand"),
    "verify": ("待核查", "To verify"),
    "visit": ("待回访", "To call back"),
    "overdue": ("已超期", "Overdue"),
    "overdue_only": ("仅看超期", "Overdue only"),
    "all_types": ("全部问题类型", "All kinds"),
    "filter": ("筛选", "Filter"),
    "due": ("办理期限", "Due"),
    "no_due": ("未定期限", "No deadline"),
    "reported": ("上报", "Reported"),
    "empty": ("没有等待处理的案件", "Nothing is waiting for you"),
    "shown": ("共{n}件，显示{m}件", "{n} in all, {m} shown"),
    "cases": ("案件列表", "Cases"),
    "cases_hint": (
        "您可查看的全部案件，按办理期限排序。时间均为北京时间。",
        "Every case you may see, by deadline. Times are Beijing time.",
    ),
    "status": ("状态", "Status"),
    "open_only": ("未结案件", "Open cases"),
    "all_statuses": ("全部状态", "All statuses"),
    "prev": ("上一页", "Previous"),
    "next": ("下一页", "Next"),
    "page": ("第{p}页", "Page {p}"),
    "hidden": ("已对公众隐藏", "Hidden from the public"),
}

#: Work-list buckets in their order (incidents.worklist.BUCKETS).
BUCKETS = ("new", "accept", "handle", "verify", "visit")


def _status(code: object, lang: str) -> str:
    pair = STATUS.get(str(code))
    return pair[1 if lang == "en" else 0] if pair else str(code or "")


def _place(c: Mapping[str, Any], names: Mapping[str, str]) -> str:
    parts = [
        str(c.get("address_text") or ""),
        names.get(str(c.get("town_code")), ""),
        names.get(str(c.get("community_code")), ""),
    ]
    return " · ".join(p for p in parts if p)


def _row(
    c: Mapping[str, Any],
    w: Mapping[str, str],
    lang: str,
    names: Mapping[str, str],
    types: Mapping[str, str],
    testid: str,
) -> str:
    cid = c["id"]
    late = bool(c.get("overdue"))
    bucket = str(c.get("bucket") or "")
    due = fmt_time(c.get("due_at")) or w["no_due"]
    badges = "".join(
        [
            f'<span class="badge b-{esc(bucket)}">{esc(w[bucket])}</span>' if bucket else "",
            f'<span class="badge late">{esc(w["overdue"])}</span>' if late else "",
        ]
    )
    kind = types.get(str(c.get("type_code"))) or c.get("type_name") or c.get("type_code")
    meta = " · ".join(
        x for x in (_status(c.get("status"), lang), str(c.get("handler_name") or "")) if x
    )
    return f"""<li class="work-item{" late" if late else ""}" data-testid="{esc(testid)}"
 data-case-id="{esc(cid)}" data-bucket="{esc(bucket)}" data-status="{esc(c.get("status"))}">
<a href="{esc(with_lang(f"/cases/{cid}", lang))}">
<span class="wi-head"><b class="wi-type">{esc(kind)}</b> <span class="wi-id">#{esc(cid)}</span>
{badges}</span>
<span class="wi-meta">{esc(meta)}</span>
<span class="wi-place">{esc(_place(c, names))}</span>
<span class="wi-due{" warn" if late else ""}">{esc(w["due"])}：{esc(due)}</span>
<span class="wi-created hint">{esc(w["reported"])}：{esc(fmt_time(c.get("created_at")))}</span>
{report_in_clock(c.get("report_in") or (), lang)}</a></li>"""


def _type_select(types: Mapping[str, str], chosen: str | None, w: Mapping[str, str]) -> str:
    opts = "".join(
        f'<option value="{esc(k)}"{" selected" if k == chosen else ""}>{esc(v)}</option>'
        for k, v in sorted(types.items(), key=lambda kv: kv[1])
    )
    return (
        f'<select name="type" aria-label="{esc(w["all_types"])}">'
        f'<option value="">{esc(w["all_types"])}</option>{opts}</select>'
    )


def render_worklist(
    data: Mapping[str, Any],
    *,
    user: Mapping[str, Any],
    names: Mapping[str, str],
    types: Mapping[str, str],
    bucket: str | None,
    overdue_only: bool,
    type_code: str | None,
    lang: str = "zh",
    extra: str = "",
) -> str:
    """The work list: counts per bucket as tabs, filters, the waiting cases overdue first.
    ``data`` is :func:`incidents.worklist.work_list`'s answer; ``names`` maps town and
    community codes to names, ``types`` type codes to names; ``extra`` is HTML after the
    list (the meeting actions of the user's unit)."""
    w = pick(TEXTS, lang)
    counts = data["counts"]

    def link(b: str | None, late: bool = False) -> str:
        q = {k: v for k, v in (("bucket", b), ("overdue", "1" if late else None)) if v}
        return with_lang("/work" + (f"?{urlencode(q)}" if q else ""), lang)

    tabs = [(None, w["all"], data["total"], False)] + [
        (b, w[b], counts[b]["n"], False) for b in BUCKETS
    ]
    tab_html = "".join(
        f'<a class="tab" href="{esc(link(b))}" data-bucket="{esc(b or "")}"'
        + (' aria-current="true"' if b == bucket and not overdue_only else "")
        + f'>{esc(label)} <b class="count">{n}</b></a>'
        for b, label, n, _ in tabs
    )
    tab_html += (
        f'<a class="tab late" href="{esc(link(None, True))}" data-bucket="overdue"'
        + (' aria-current="true"' if overdue_only else "")
        + f'>{esc(w["overdue"])} <b class="count">{data["overdue"]}</b></a>'
    )
    items = data["items"]
    rows = "".join(_row(c, w, lang, names, types, "work-item") for c in items)
    if not rows:
        rows = f'<li class="empty hint">{esc(w["empty"])}</li>'
    shown = w["shown"].replace("{n}", str(data["total"])).replace("{m}", str(len(items)))
    hidden_lang = '<input type="hidden" name="lang" value="en">' if lang == "en" else ""
    keep_bucket = f'<input type="hidden" name="bucket" value="{esc(bucket)}">' if bucket else ""
    body = f"""{nav_bar(user, "work", lang)}
<main class="workbench" id="main">
<h1>{esc(w["work"])}</h1><p class="hint">{esc(w["work_hint"])}</p>
<div class="tabs" data-testid="work-tabs">{tab_html}</div>
<form class="list-filters" method="get" action="/work">{keep_bucket}{hidden_lang}
{_type_select(types, type_code, w)}
<label class="check"><input type="checkbox" name="overdue" value="1"
{" checked" if overdue_only else ""}> {esc(w["overdue_only"])}</label>
<button type="submit" class="btn secondary">{esc(w["filter"])}</button></form>
<p class="hint" data-testid="work-total">{esc(shown)}</p>
<ol class="work-list" data-testid="worklist">{rows}</ol>
{extra}</main>"""
    return plain_page(lang=lang, title=w["work"], body=body)


def render_case_list(
    data: Mapping[str, Any],
    *,
    user: Mapping[str, Any],
    names: Mapping[str, str],
    types: Mapping[str, str],
    status: str | None,
    type_code: str | None,
    page: int,
    lang: str = "zh",
) -> str:
    """Every visible case (``incidents.service.list_cases``' answer), by deadline, paged;
    ``status`` ``open`` (the default) or one status."""
    w = pick(TEXTS, lang)
    en = 1 if lang == "en" else 0
    choices = [("open", w["open_only"]), ("all", w["all_statuses"])] + [
        (k, v[en]) for k, v in STATUS.items()
    ]
    opts = "".join(
        f'<option value="{esc(k)}"{" selected" if k == status else ""}>{esc(v)}</option>'
        for k, v in choices
    )
    rows = "".join(_row(c, w, lang, names, types, "case-item") for c in data["items"])
    if not rows:
        rows = f'<li class="empty hint">{esc(w["empty"])}</li>'

    def page_link(p: int) -> str:
        q = {"status": status or "open", "type": type_code or "", "page": str(p)}
        return with_lang("/cases?" + urlencode({k: v for k, v in q.items() if v}), lang)

    pager = []
    if page > 1:
        pager.append(f'<a class="btn secondary" href="{esc(page_link(page - 1))}">{w["prev"]}</a>')
    pager.append(f"<span>{esc(w['page'].replace('{p}', str(page)))}</span>")
    capped = bool(data.get("total_capped"))  # counted up to incidents.listing.TOTAL_CAP
    full = len(data["items"]) == data["limit"]
    if (capped and full) or data["offset"] + len(data["items"]) < data["total"]:
        pager.append(f'<a class="btn secondary" href="{esc(page_link(page + 1))}">{w["next"]}</a>')
    total = f"{data['total']}+" if capped else str(data["total"])
    shown = w["shown"].replace("{n}", total).replace("{m}", str(len(data["items"])))
    hidden_lang = '<input type="hidden" name="lang" value="en">' if lang == "en" else ""
    body = f"""{nav_bar(user, "cases", lang)}
<main class="workbench" id="main">
<h1>{esc(w["cases"])}</h1><p class="hint">{esc(w["cases_hint"])}</p>
<form class="list-filters" method="get" action="/cases">{hidden_lang}
<select name="status" aria-label="{esc(w["status"])}">{opts}</select>
{_type_select(types, type_code, w)}
<button type="submit" class="btn secondary">{esc(w["filter"])}</button></form>
<p class="hint">{esc(shown)}</p>
<ol class="work-list" data-testid="case-list">{rows}</ol>
<p class="pager">{"".join(pager)}</p>
</main>"""
    return plain_page(lang=lang, title=w["cases"], body=body)


#: What an administrator manages without a screen yet: the CLI commands (docs/design.md).
ADMIN_TOOLS: tuple[tuple[str, str, str], ...] = (
    ("接口密钥", "为外部系统签发与吊销接口密钥", "shudi apikey create / revoke"),
    ("联席会议", "准备月度会议议程、导出", "shudi meetings prepare / show"),
    ("审计日志", "核验防篡改审计日志", "shudi audit status / verify"),
    ("案件导出", "案件导出为表格或地理数据包", "shudi cases export"),
)


def render_admin_home(*, user: Mapping[str, Any], counts: Mapping[str, int]) -> str:
    """The administrator's home: the pages open to them, the state of the system (what is
    loaded), and what is managed from the command line for now."""
    links = "".join(
        f'<li><a href="{esc(PAGES[k][0])}">{esc(PAGES[k][1])}</a></li>'
        for k in pages_of(str(user.get("role")))
        if k != "admin"
    )
    labels = {
        "users": "用户",
        "active_users": "在用用户",
        "open_cases": "未结案件",
        "cases": "案件总数",
        "layers": "已启用图层",
        "bans": "生效中的封禁",
        "meetings": "联席会议",
    }
    stats = "".join(
        f'<div class="stat" data-stat="{esc(k)}"><b>{esc(counts[k])}</b>'
        f"<span>{esc(labels.get(k, k))}</span></div>"
        for k in labels
        if k in counts
    )
    tools = "".join(
        f"<tr><td>{esc(a)}</td><td>{esc(b)}</td><td><code translate='no'>{esc(c)}</code></td></tr>"
        for a, b, c in ADMIN_TOOLS
    )
    body = f"""{nav_bar(user, "admin", "zh")}
<main class="workbench" id="main" data-testid="admin-home"><h1>管理首页</h1>
<section class="stats" aria-label="系统概况">{stats}</section>
<h2>页面</h2><ul class="links">{links}</ul>
<h2>命令行管理</h2><p class="hint">用户、联系人、封禁和边界图层在上方各页面管理；
以下事项在服务器命令行中完成。所有变更均记入审计日志（操作人与请求编号）。</p>
<div class="table-wrap"><table class="list"><thead><tr><th>事项</th><th>内容</th><th>命令</th>
</tr></thead><tbody>{tools}</tbody></table></div></main>"""
    return plain_page(lang="zh", title="管理首页", body=body)
