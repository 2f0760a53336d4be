"""One joint meeting (``/meetings/{id}``): its agenda by priority with links to the cases, the
minutes form while it is a draft (attendees, a decision per item, actions with an owner unit and
a due date), its decisions and actions once held, and the exports (PDF, Excel).

Renders what ``api/meeting_pages.py`` hands it: the meeting as ``meetings.service.load``
answers it, whether the user may record it, the town's parties and owner units for the pickers.
``meeting.js`` sends the minutes to ``POST /api/v1/meetings/{id}/record`` and an action's
"标记完成" to ``POST /api/v1/meetings/actions/{id}/done``, as any client would.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from meetings.models import PARTY_KINDS
from meetings.papers import KIND_ZH, PARTY_ZH
from shudi.clock import beijing_text
from webmap.pages.common import esc, plain_page
from webmap.pages.meetings import CSS, KINDS, STATES, script_config
from webmap.pages.nav import nav_bar


def _case_links(ids: Sequence[int]) -> str:
    if not ids:
        return ""
    links = "".join(
        f'<a href="/cases/{int(i)}" data-testid="case-link" data-case-id="{int(i)}">#{int(i)}</a>'
        for i in ids
    )
    return f'<p class="case-links">关联案件：{links}</p>'


def _action(a: Mapping[str, Any]) -> str:
    done = a.get("done_on") is not None
    if done:
        state = f'<span class="badge s-held">已完成 {esc(a["done_on"])}</span>'
        if a.get("done_note"):
            state += f' <span class="hint">{esc(a["done_note"])}</span>'
    elif a.get("may_close"):
        state = (
            f'<button type="button" class="btn primary action-done" data-testid="action-done"'
            f' data-action-id="{esc(a["id"])}">标记完成</button>'
        )
    else:
        state = '<span class="badge">办理中</span>'
    mine = ' <span class="badge mine">本单位</span>' if a.get("mine") else ""
    return f"""<li class="meeting-action{" is-done" if done else ""}" data-testid="meeting-action"
 data-action-id="{esc(a["id"])}" data-done="{"1" if done else "0"}">
<p class="ma-title"><b>{esc(a["title"])}</b>{mine}</p>
<p>责任单位：{esc(a["owner_name"])} · 完成期限：{esc(a["due_on"])}</p>
<p class="row">{state}</p></li>"""


def _item(i: Mapping[str, Any]) -> str:
    kind = KIND_ZH.get(str(i["kind"]), "其他")
    decision = (
        f'<p class="decision" data-testid="decision"><b>决定：</b>{esc(i["decision"])}</p>'
        if i.get("decision")
        else ""
    )
    actions = "".join(_action(a) for a in i.get("actions") or ())
    actions_html = f'<ol class="action-list">{actions}</ol>' if actions else ""
    return f"""<li class="agenda-item" data-testid="agenda-item" data-item-id="{esc(i["id"])}"
 data-position="{esc(i["position"])}" data-kind="{esc(i["kind"])}">
<p class="ai-head"><span class="prio">第{esc(i["position"])}项</span>
<span class="badge k-{esc(i["kind"])}">{esc(kind)}</span></p>
<p class="ai-title">{esc(i["title"])}</p>{_case_links(i.get("case_ids") or ())}
{decision}{actions_html}</li>"""


def _attendees(rows: Sequence[Mapping[str, Any]]) -> str:
    if not rows:
        return ""
    body = "".join(
        f"<tr><td data-label='类别'>{esc(PARTY_ZH.get(str(a['party']), '其他'))}</td>"
        f"<td data-label='单位'>{esc(a['unit'])}</td>"
        f"<td data-label='姓名'>{esc(a['name'])}</td></tr>"
        for a in rows
    )
    return f"""<section aria-labelledby="att-h"><h2 id="att-h">参会人员</h2>
<div class="table-wrap"><table class="list stack" data-testid="attendees"><thead><tr>
<th scope="col">类别</th><th scope="col">单位</th><th scope="col">姓名</th></tr></thead>
<tbody>{body}</tbody></table></div></section>"""


def _owner_value(u: Mapping[str, Any]) -> str:
    return f"{u['kind']}|{u['code']}|{u.get('agency') or ''}"


def _templates(owner_units: Sequence[Mapping[str, Any]]) -> str:
    """The rows the minutes form adds (cloned by meeting.js)."""
    parties = "".join(
        f'<option value="{esc(p)}">{esc(PARTY_ZH.get(p, p))}</option>' for p in PARTY_KINDS
    )
    owners = "".join(
        f'<option value="{esc(_owner_value(u))}">{esc(u["name"])}</option>' for u in owner_units
    )
    return f"""<template id="attendee-row"><li class="attendee-row" data-testid="attendee-row">
<label>单位类别<select name="party" required>{parties}</select></label>
<label class="unit-pick">单位<select name="unit"></select></label>
<label class="unit-text" hidden>单位名称<input type="text" name="unit_text" maxlength="200"></label>
<label>姓名<input type="text" name="name" maxlength="100"></label>
<button type="button" class="btn link remove">删除</button></li></template>
<template id="action-row"><li class="action-row" data-testid="action-row">
<label>事项<input type="text" name="title" maxlength="500" required></label>
<label>责任单位<select name="owner" required><option value="">请选择</option>{owners}
</select></label>
<label>完成期限<input type="date" name="due_on" required></label>
<button type="button" class="btn link remove">删除</button></li></template>"""


def _minutes_form(items: Sequence[Mapping[str, Any]], today: str, as_of: str) -> str:
    decisions = "".join(
        f"""<div class="decision-block" data-item-id="{esc(i["id"])}" data-testid="decision-block">
<h3>第{esc(i["position"])}项：{esc(i["title"])}</h3>
<label>决定<textarea name="decision" rows="2" maxlength="4000"></textarea></label>
<ol class="action-rows"></ol>
<button type="button" class="btn secondary add-action">添加决定事项</button></div>"""
        for i in items
    )
    return f"""<section class="card minutes" aria-labelledby="min-h">
<h2 id="min-h">会议纪要</h2>
<form id="minutes-form" data-testid="minutes-form" novalidate>
<label class="field">召开日期<input type="date" name="held_on" value="{esc(today)}"
 min="{esc(as_of)}" max="{esc(today)}" required></label>
<fieldset><legend>参会人员</legend><ol id="attendee-rows" class="rows"></ol>
<button type="button" class="btn secondary" id="add-attendee">添加参会人员</button></fieldset>
<fieldset><legend>各议题决定与决定事项</legend>
<p class="hint">没有决定的议题可留空；决定事项须写明责任单位和完成期限。</p>{decisions}</fieldset>
<label class="field">其他记录<textarea name="note" rows="3" maxlength="10000"></textarea></label>
<p class="error" role="alert" id="minutes-error" hidden></p>
<button type="submit" class="btn primary" data-testid="mark-held">保存纪要并标记已召开</button>
<p class="hint">标记已召开后，纪要和议程不再修改；决定事项推送给责任单位。</p>
</form></section>"""


def render_meeting(
    meeting: Mapping[str, Any],
    *,
    user: Mapping[str, Any],
    current: str | None,
    may_manage: bool,
    party_units: Mapping[str, Sequence[str]],
    owner_units: Sequence[Mapping[str, Any]],
    today: str,
) -> str:
    """The meeting page. Each action of ``meeting`` carries ``mine`` (the user's unit owns it)
    and ``may_close`` (the user may mark it done); ``current`` is the menu entry to mark."""
    held = meeting["status"] == "held"
    mid = meeting["id"]
    kind = KINDS.get(str(meeting["kind"]), "")
    state = STATES.get(str(meeting["status"]), "")
    title = f"{meeting['town_name']}物业管理联席会议"
    when = (
        f"召开日期：{esc(meeting['held_on'])}"
        if held
        else f"议程依据 {esc(beijing_text(meeting['as_of'], label=True))} "
        "的案件数据生成，尚未召开。"
    )
    topic = f"<p>主题：{esc(meeting['topic'])}</p>" if meeting.get("topic") else ""
    api = f"/api/v1/meetings/{esc(mid)}"
    exports = f"""<p class="exports" data-testid="exports">
<a class="btn secondary" href="{api}?format=pdf" download data-testid="export-pdf">导出 PDF</a>
<a class="btn secondary" href="{api}?format=xlsx" download data-testid="export-xlsx">导出 Excel</a>
<a class="btn link" href="{api}?format=html" target="_blank" rel="noopener">打印版</a></p>"""
    refresh = ""
    if may_manage and not held and meeting["kind"] == "regular":
        refresh = f"""<form class="meeting-prepare inline" data-kind="regular"
 data-month="{esc(meeting["month"])}"><input type="hidden" name="town"
 value="{esc(meeting["town_code"])}"><button type="submit" class="btn link">
按最新数据刷新议程</button>
<p class="error" role="alert" id="prepare-error" hidden></p></form>"""
    items = meeting["items"]
    agenda = "".join(_item(i) for i in items) if items else '<li class="hint">本次无议题。</li>'
    note = (
        f"<section><h2>其他记录</h2><p>{esc(meeting['minutes_note'])}</p></section>"
        if held and meeting.get("minutes_note")
        else ""
    )
    form = ""
    if may_manage and not held:
        as_of = beijing_text(meeting["as_of"])[:10]
        form = _minutes_form(items, today, as_of) + _templates(owner_units)
    read_only = (
        ""
        if may_manage
        else '<p class="hint" data-testid="read-only">'
        "本页只读；本单位的决定事项办结后可标记完成。</p>"
    )
    back = (
        '<p><a href="/meetings">返回会议列表</a></p>'
        if current == "meetings"
        else '<p><a href="/work">返回我的待办</a></p>'
    )
    body = f"""{nav_bar(user, current, "zh")}
<main class="workbench meeting" id="main" data-testid="meeting" data-meeting-id="{esc(mid)}"
 data-status="{esc(meeting["status"])}">
<h1>{esc(title)}</h1>
<p class="meta"><span class="badge s-{esc(meeting["status"])}" data-testid="meeting-state">
{esc(state)}</span> <span class="badge">{esc(kind)}</span> {esc(meeting["month"])}</p>
{topic}<p class="hint">{when}</p>{read_only}{exports}
<section aria-labelledby="agenda-h"><h2 id="agenda-h">议程（按优先级排列）</h2>{refresh}
<ol class="agenda" data-testid="agenda">{agenda}</ol>
<p class="error" role="alert" id="action-error" hidden></p></section>
{_attendees(meeting.get("attendees") or ())}{note}{form}
{back}</main>
{script_config(meeting=mid, parties=dict(party_units), today=today)}"""
    return plain_page(
        lang="zh", title=title, body=body, styles=(CSS,), scripts=("common", "meeting")
    )
