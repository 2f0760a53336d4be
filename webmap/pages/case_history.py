"""The case page's history and messages (``webmap.pages.case``): each event named in the page
language (workflow actions by the workflow table, others by :data:`EVENTS`) with who acted,
and the messages the case caused with their delivery state."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from webmap.pages.common import esc, fmt_time, label_in
from webmap.pages.nav import role_name
from webmap.pages.track import ACTIONS, STATUS

#: Events that are not workflow actions (their Chinese names; workflow actions are named by
#: the workflow table's summaries, handed in).
EVENTS: dict[str, tuple[str, str]] = {
    "meeting_action": ("联席会议决定事项", "A joint meeting's decision"),
    "meeting_action_done": ("联席会议决定事项已完成", "A joint meeting's decision carried out"),
    "reminder": ("到期提醒", "Deadline reminder"),
    "boundary_change": ("边界调整，重新确定属地", "Boundaries changed: territory redone"),
    "anonymise": ("个人信息按期删除", "Personal data erased on schedule"),
    "comment": ("备注", "Note"),
    "correct_location": ("更正位置", "Location corrected"),
    "correct_type": ("更正问题类型", "Kind of problem corrected"),
    "request_postpone": ("申请延期", "Postponement requested"),
    "refused_to_correct": ("当事人拒不改正", "The party refused to correct"),
    "hide": ("对公众隐藏", "Hidden from the public"),
    "unhide": ("恢复公开", "Shown to the public again"),
    "escalate": ("提交镇（街道）调解", "Escalated to the town's mediation"),
    "order_correction": ("责令限期整改", "Correction ordered with a deadline"),
    "dissuasion": ("现场劝阻记录", "Dissuasion on the spot recorded"),
    "reveal_reporter": ("向承办单位公开举报人信息", "Reporter shown to the handling unit"),
    "withhold_reporter": ("不向承办单位公开举报人信息", "Reporter withheld from the handling unit"),
    "report": ("上报", "Reported"),
    "report_in": ("联合执法单位到场报到", "A called unit reported in on site"),
    "rate_response": ("镇（街道）评价参与单位响应", "The town rated a called unit's response"),
}
#: Who acted, when it was no staff user.
ACTORS: dict[str, tuple[str, str]] = {
    "resident": ("群众", "resident"),
    "system": ("系统", "system"),
    "open311": ("第三方平台", "partner platform"),
}


def event_name(action: str, labels: Mapping[str, str], lang: str) -> str:
    if action in ACTIONS:
        return label_in(ACTIONS, action, lang)
    if action in EVENTS:
        return label_in(EVENTS, action, lang)
    return labels.get(action) or label_in(EVENTS, "comment", lang)


def actor_name(e: Mapping[str, Any], lang: str) -> str:
    """``username（role）`` of the acting user, or who else acted, in the page language."""
    role = str(e.get("actor_role") or "")
    if role in ACTORS:
        return label_in(ACTORS, role, lang)
    label = str(e.get("actor_label") or "")
    name = label.removesuffix(f" ({role})") if role else label
    who = role_name(role, lang)
    return f"{name}（{who}）" if name and who else name or who


def history_list(events: Sequence[Mapping[str, Any]], labels: Mapping[str, str], lang: str) -> str:
    return "".join(
        f"<li><time>{esc(fmt_time(e['at']))}</time> "
        f"<b>{esc(event_name(str(e['action']), labels, lang))}</b> "
        f'<span class="actor" translate="no">{esc(actor_name(e, lang))}</span>'
        + (
            f" → {esc(label_in(STATUS, e['to_status'], lang))}"
            if e.get("to_status") and e.get("to_status") != e.get("from_status")
            else ""
        )
        + (f'<br><span class="hint">{esc(e["note"])}</span>' if e.get("note") else "")
        + "</li>"
        for e in events
    )


def recipient_name(to: str, agencies: Mapping[str, str]) -> str:
    """A staff recipient (``party/unit``) by its agency's name; others as they come (masked)."""
    party, _, unit = str(to).partition("/")
    return f"{agencies[party]} {unit}".strip() if party in agencies else str(to)


def messages_card(
    messages: Sequence[Mapping[str, Any]], w: Mapping[str, str], agencies: Mapping[str, str]
) -> str:
    """The messages the case caused and their delivery state (recipients come masked)."""
    if not messages:
        return ""
    states = ("pending", "sent", "dead", "suppressed")
    names = dict(zip(states, w["msg_states"].split("|"), strict=True))
    kinds = ("sms", "email", "staff")
    channels = dict(zip(kinds, w["msg_channels"].split("|"), strict=True))
    rows = "".join(
        f"<li><time>{esc(fmt_time(m['created_at']))}</time> "
        f"{esc(channels.get(m['channel'], m['channel']))} → "
        f"{esc(recipient_name(m['recipient'], agencies))} · "
        f"<b>{esc(names.get(m['state'], m['state']))}</b>"
        + (f' <span class="hint">{esc(m["last_error"])}</span>' if m.get("last_error") else "")
        + "</li>"
        for m in messages
    )
    return (
        f'<section class="card"><h2>{esc(w["messages"])}</h2>'
        f'<ol class="events" data-testid="messages">{rows}</ol></section>'
    )
