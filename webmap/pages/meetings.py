"""The joint meetings' list (``/meetings``) and the meeting actions of a user's unit (a section
of the work list), in Chinese.

The list shows each meeting's state (草稿 / 已召开) and kind (例会 / 临时会议); a town's
coordinator (and an administrator, choosing the town) gets "准备本月例会" and "召开临时会议",
which call ``POST /api/v1/meetings`` as any client would (``meeting.js``) and open the new
meeting's page. Renders what ``api/meeting_pages.py`` hands it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from webmap.pages.common import esc, json_script, plain_page, script_tags
from webmap.pages.nav import nav_bar

KINDS = {"regular": "例会", "extraordinary": "临时会议"}
STATES = {"draft": "草稿", "held": "已召开"}
CSS = "/static/pages/meetings.css?v=2"

#: What the meeting pages' script says (Shudi.t) and its errors by the API's ``code``.
SCRIPT_TEXTS = {
    "network_error": "网络错误，请稍后重试",
    "saving": "正在保存…",
    "topic_needed": "请填写临时会议的议题。",
    "town_needed": "请选择镇/街道。",
    "remove": "删除",
    "done": "已完成",
    "other_unit": "其他（手动填写）",
}
SCRIPT_ERRORS = {
    "forbidden": "您无权进行此操作。",
    "meeting_not_found": "未找到该会议，或您无权查看。",
    "meeting_action_not_found": "未找到该事项，或您无权办理。",
    "meeting_already_held": "该会议已召开，纪要不能再修改；如有新事项请召开临时会议。",
    "meeting_action_done": "该事项已标记完成。",
    "invalid_meeting": (
        "会议信息有误：召开日期不能晚于今天、不能早于议程生成日期；"
        "决定事项须有责任单位，完成期限不能早于召开日期。"
    ),
    "unknown_town": "没有这个镇/街道。",
    "invalid_request": (
        "请填写完整：召开日期、至少一位参会人员，以及每个决定事项的内容、责任单位和期限。"
    ),
    "unknown": "操作未成功，请稍后重试。",
}


def script_config(**extra: Any) -> str:
    """The ``shudi-config`` block the meeting pages' script reads."""
    return json_script("shudi-config", {"t": SCRIPT_TEXTS, "errors": SCRIPT_ERRORS} | extra)


def _prepare_forms(towns: Mapping[str, str], own_town: str | None) -> str:
    """The coordinator's two buttons (an administrator first chooses the town)."""
    if own_town:
        town = f'<input type="hidden" name="town" value="{esc(own_town)}">'
    else:
        opts = "".join(
            f'<option value="{esc(c)}">{esc(n)}</option>'
            for c, n in sorted(towns.items(), key=lambda kv: kv[0])
        )
        town = (
            '<label>镇/街道 <select name="town" required>'
            f'<option value="">请选择</option>{opts}</select></label>'
        )
    return f"""<section class="card prepare" aria-labelledby="prep-h">
<h2 id="prep-h">准备会议</h2>
<form class="meeting-prepare" data-kind="regular" data-testid="prepare-regular">{town}
<p class="hint">按本月案件数据生成议程（超期、联合执法、多次转办、纠纷、重复发生、热点等），
已生成的草稿会按最新数据刷新。</p>
<button type="submit" class="btn primary">准备本月例会</button></form>
<form class="meeting-prepare" data-kind="extraordinary" data-testid="prepare-extraordinary">
{town}<label class="field">临时会议议题
<input type="text" name="topic" maxlength="500" required
 placeholder="例如：某小区违建集中整治"></label>
<button type="submit" class="btn secondary">召开临时会议</button></form>
<p class="error" role="alert" id="prepare-error" hidden></p></section>"""


def render_meetings(
    meetings: Sequence[Mapping[str, Any]],
    *,
    user: Mapping[str, Any],
    towns: Mapping[str, str],
    may_prepare: bool,
) -> str:
    """The meetings the user may read (``meetings.service.list_meetings``), newest first, each
    linking to its page; the prepare buttons for those who may prepare."""
    rows = "".join(
        f"""<tr data-testid="meeting-row" data-meeting-id="{esc(m["id"])}"
 data-status="{esc(m["status"])}" data-kind="{esc(m["kind"])}">
<td data-label="月份">{esc(m["month"])}</td>
<td data-label="镇/街道">{esc(towns.get(str(m["town_code"]), m["town_code"]))}</td>
<td data-label="类型">{esc(KINDS.get(str(m["kind"]), m["kind"]))}</td>
<td data-label="状态"><span class="badge s-{esc(m["status"])}">
{esc(STATES.get(str(m["status"]), m["status"]))}</span></td>
<td data-label="议题数" class="num">{esc(m["items"])}</td>
<td data-label="召开日期">{esc(m.get("held_on") or "")}</td>
<td data-label="主题">{esc(m.get("topic") or "")}</td>
<td><a class="btn secondary" href="/meetings/{esc(m["id"])}">查看</a></td></tr>"""
        for m in meetings
    )
    head = "".join(
        f"<th scope='col'>{h}</th>"
        for h in ("月份", "镇/街道", "类型", "状态", "议题数", "召开日期", "主题", "会议")
    )
    table = (
        f'<div class="table-wrap"><table class="list stack" data-testid="meetings">'
        f"<thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table></div>"
        if rows
        else '<p class="hint" data-testid="meetings-empty">还没有会议。</p>'
    )
    prepare = ""
    if may_prepare:
        own = user.get("town_code") if user.get("role") == "town_coordinator" else None
        prepare = _prepare_forms(towns, str(own) if own else None)
    body = f"""{nav_bar(user, "meetings", "zh")}
<main class="workbench meetings" id="main"><h1>联席会议</h1>
<p class="hint">各镇/街道物业管理联席会议：议程、纪要与决定事项。议程按优先级排列。</p>
{prepare}{table}</main>{script_config()}"""
    return plain_page(
        lang="zh", title="联席会议", body=body, styles=(CSS,), scripts=("common", "meeting")
    )


def _action_item(a: Mapping[str, Any], towns: Mapping[str, str]) -> str:
    done = a.get("done_on") is not None
    kind = KINDS.get(str(a.get("meeting_kind")), "")
    town = towns.get(str(a.get("town_code")), str(a.get("town_code") or ""))
    state = (
        f'<span class="badge s-held">已完成 {esc(a["done_on"])}</span>'
        if done
        else '<button type="button" class="btn primary action-done"'
        f' data-action-id="{esc(a["id"])}" data-testid="action-done">标记完成</button>'
    )
    return f"""<li class="meeting-action{" is-done" if done else ""}" data-testid="meeting-action"
 data-action-id="{esc(a["id"])}" data-done="{"1" if done else "0"}">
<p class="ma-title"><b>{esc(a["title"])}</b></p>
<p class="hint">{esc(town)} {esc(a.get("month"))} {esc(kind)} ·
议题：{esc(a.get("item_title"))}</p>
<p>责任单位：{esc(a.get("owner_name"))} · 完成期限：{esc(a["due_on"])}</p>
<p class="row"><a href="/meetings/{esc(a["meeting_id"])}">查看会议</a> {state}</p></li>"""


def render_owned_actions(actions: Sequence[Mapping[str, Any]], towns: Mapping[str, str]) -> str:
    """The work list's section of the meeting actions the user's unit owns (empty when none);
    the page then also loads ``meeting.js`` for the 标记完成 buttons."""
    if not actions:
        return ""
    items = "".join(_action_item(a, towns) for a in actions)
    return f"""<section class="owned-actions" aria-labelledby="ma-h" data-testid="owned-actions">
<h2 id="ma-h">联席会议决定事项 <b class="count">{len(actions)}</b></h2>
<p class="hint">联席会议交由本单位办理的事项；办结后请标记完成。</p>
<ol class="action-list">{items}</ol>
<p class="error" role="alert" id="action-error" hidden></p></section>
<link rel="stylesheet" href="{CSS}">{script_config()}{script_tags(("common", "meeting"))}"""
