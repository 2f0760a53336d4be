"""The staff case page (``/cases/{id}``): what the case is, where, who handles it and why, its
deadlines, history and photos, and a form per workflow action the user may take now.

It shows what ``incidents.service.get_case`` / ``events`` / ``photos`` return for the logged-in
user (``api/pages.py`` calls them; a case the user may not see never reaches here). The forms
are sent by ``static/case.js`` to ``POST /api/v1/cases/{id}/transitions`` with
``If-Match: "<version>"``, as any API client would.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from webmap.pages.common import (
    common_texts,
    esc,
    fmt_time,
    json_script,
    lang_switch,
    pick,
    plain_page,
)
from webmap.pages.dispatch import ROLES
from webmap.pages.placesearch import place_search
from webmap.pages.track import ACTIONS, OUTCOME, STATUS

PATH = "/cases/{id}"
MAP_ROLES = ("dispatcher", "town_coordinator")  # who may open the dispatch map

TEXTS: dict[str, tuple[str, str]] = {
    "title": ("案件{n}", "Case {n}"),
    "back": ("返回调度地图", "Back to the dispatch map"),
    "type": ("问题类型", "Kind of problem"),
    "status": ("状态", "Status"),
    "address": ("地址", "Address"),
    "place": ("属地", "Territory"),
    "company": ("物业服务企业", "Property company"),
    "position": ("位置（WGS-84）", "Position (WGS-84)"),
    "description": ("问题描述", "Description"),
    "channel": ("来源", "Channel"),
    "created": ("上报时间", "Reported at"),
    "respond_due": ("响应期限", "Respond by"),
    "stop_due": ("制止期限", "Stop by"),
    "due": ("办理期限", "Due"),
    "basis": ("期限依据", "Deadline rule"),
    "overdue": ("已超期", "overdue"),
    "handler": ("承办单位", "Handler"),
    "routing": ("派单依据", "Why this handler"),
    "participants": ("协同单位", "Also involved"),
    "tasks": ("联合执法任务", "Joint-enforcement tasks"),
    "task_done": ("已完成", "done"),
    "task_open": ("未完成", "open"),
    "reporters": ("举报人", "Reporters"),
    "events": ("办理记录", "History"),
    "photos": ("照片", "Photos"),
    "no_photos": ("无照片", "No photos"),
    "actions": ("可执行操作", "Actions"),
    "no_actions": ("当前没有可执行的操作", "No action is open to you now"),
    "note": ("说明", "Note"),
    "to_party": ("转交至", "Refer to"),
    "parties": ("参与联合执法的单位", "Parties of the joint enforcement"),
    "task_id": ("任务", "Task"),
    "outcome": ("核查结果", "Outcome"),
    "due_at": ("新期限", "New deadline"),
    "lon": ("经度（WGS-84）", "Longitude (WGS-84)"),
    "lat": ("纬度（WGS-84）", "Latitude (WGS-84)"),
    "type_code": ("正确类型", "Correct kind"),
    "into": ("合并到案件编号", "Merge into case no."),
    "stale": ("案件已被他人更新，请刷新页面后重试", "The case has changed: reload the page"),
    "reload": ("刷新", "Reload"),
    "not_found": ("没有这个案件", "No such case"),
    "not_found_hint": (
        "案件不存在，或不在您的职责范围内。",
        "The case does not exist, or it is not one you may see.",
    ),
}


def _label(table: Mapping[str, tuple[str, str]], key: object, lang: str) -> str:
    pair = table.get(str(key))
    return pair[1 if lang == "en" else 0] if pair else str(key or "")


def _facts(rows: Sequence[tuple[str, str, str]]) -> str:
    """``<dl>`` rows (label, value, class); empty values are left out."""
    return "".join(
        f'<dt>{esc(label)}</dt><dd class="{esc(cls)}">{esc(value)}</dd>'
        for label, value, cls in rows
        if value
    )


def _place(case: Mapping[str, Any], routing: Mapping[str, Any]) -> str:
    territory = routing.get("territory") or {}
    names = [
        (territory.get(k) or {}).get("name") or case.get(f"{k}_code") for k in ("town", "community")
    ]
    return " · ".join(str(n) for n in names if n)


def _field(name: str, w: Mapping[str, str], choices: Mapping[str, Any], required: bool) -> str:
    """The input of one field an action needs."""
    req = " required" if required else ""
    label = w.get("type_code" if name == "type" else name, name)
    if name == "note":
        control = f'<textarea name="note" rows="2" maxlength="4000"{req}></textarea>'
    elif name in choices:
        multiple = " multiple" if name == "parties" else ""
        opts = "".join(
            f'<option value="{esc(v)}">{esc(text)}</option>' for v, text in choices[name].items()
        )
        control = f'<select name="{esc(name)}"{multiple}{req}>{opts}</select>'
    elif name == "due_at":
        control = f'<input type="datetime-local" name="due_at"{req}>'
    elif name in ("lon", "lat", "into"):
        step = "1" if name == "into" else "any"
        control = f'<input type="number" name="{name}" step="{step}"{req}>'
    else:
        control = f'<input type="text" name="{esc(name)}"{req}>'
    return f'<label class="field">{esc(label)}{control}</label>'


def _action_label(a: Mapping[str, Any], lang: str) -> str:
    name = str(a["action"])
    if lang == "en":
        return ACTIONS[name][1] if name in ACTIONS else name.replace("_", " ").capitalize()
    return str(a.get("summary") or _label(ACTIONS, name, lang))


def _actions(
    actions: Sequence[Mapping[str, Any]],
    w: Mapping[str, str],
    choices: Mapping[str, Any],
    lang: str,
) -> str:
    if not actions:
        return f'<p class="hint">{esc(w["no_actions"])}</p>'
    forms = []
    for a in actions:
        requires = tuple(a.get("requires") or ())
        fields = [_field(n, w, choices, True) for n in requires]
        if "note" not in requires:
            fields.append(_field("note", w, choices, False))
        forms.append(
            f'<form class="action card" data-action="{esc(a["action"])}" '
            f'data-testid="action-{esc(a["action"])}">{"".join(fields)}'
            f'<button type="submit" class="btn primary">{esc(_action_label(a, lang))}</button>'
            "</form>"
        )
    return "".join(forms)


def render_case(
    case: Mapping[str, Any],
    *,
    events: Sequence[Mapping[str, Any]],
    photos: Sequence[Mapping[str, Any]],
    actions: Sequence[Mapping[str, Any]],
    agencies: Mapping[str, str],
    types: Mapping[str, str],
    user: Mapping[str, Any],
    lang: str = "zh",
    now: datetime | None = None,
) -> str:
    """One case for a staff user. ``actions`` are the allowed ones (``action``, ``summary``,
    ``requires``); ``agencies`` and ``types`` map codes to names (the forms' choices)."""
    w = pick(TEXTS, lang) | common_texts(lang)
    now = now or datetime.now(UTC)
    cid = case["id"]
    title = w["title"].replace("{n}", str(cid))
    routing = case.get("routing") or {}
    due = case.get("due_at")
    late = bool(case.get("overdue")) or (
        isinstance(due, datetime) and due < now and case["status"] not in ("resolved", "closed")
    )
    handler = case.get("handler_name") or agencies.get(str(case.get("handler_party")), "")
    unit = ((routing.get("handler") or {}).get("unit") or {}).get("name")
    facts = _facts(
        [
            (w["type"], str(case.get("type_name") or case.get("type_code")), "type"),
            (w["status"], _label(STATUS, case["status"], lang), "status"),
            (w["address"], str(case.get("address_text") or ""), ""),
            (w["place"], _place(case, routing), ""),
            (w["company"], str(case.get("property_company") or ""), ""),
            (w["position"], f"{case['lon']:.6f}, {case['lat']:.6f}", "coords"),
            (w["description"], str(case.get("description") or ""), ""),
            (w["created"], fmt_time(case.get("created_at")), ""),
            (w["respond_due"], fmt_time(case.get("respond_due_at")), ""),
            (w["stop_due"], fmt_time(case.get("stop_due_at")), ""),
            (
                w["due"],
                fmt_time(due) + (f" · {w['overdue']}" if late else ""),
                "warn" if late else "",
            ),
            (w["basis"], str(case.get("deadline_basis") or ""), "hint"),
            (w["handler"], " · ".join(x for x in (handler, unit) if x), ""),
        ]
    )
    reasons = "".join(
        f"<li>{esc(r.get('en') if lang == 'en' else r.get('zh'))}</li>"
        for r in routing.get("reasons") or ()
    )
    participants = ", ".join(
        f"{p.get('name')}" + (f" ({(p.get('unit') or {}).get('name')})" if p.get("unit") else "")
        for p in routing.get("participants") or ()
    )
    tasks = "".join(
        f"<li>{esc(agencies.get(t['party'], t['party']))} {esc(t.get('unit_name') or '')} · "
        f"{esc(w['task_done'] if t['done'] else w['task_open'])}</li>"
        for t in case.get("tasks") or ()
    )
    reporters = "".join(
        f"<li>{esc(r.get('contact_name') or '—')} {esc(r.get('phone') or '')}</li>"
        for r in case.get("reporters") or ()
    )
    history = "".join(
        f"<li><time>{esc(fmt_time(e['at']))}</time> <b>{esc(_label(ACTIONS, e['action'], lang))}"
        f"</b> {esc(e.get('actor_label') or e.get('actor_role') or '')}"
        + (f" → {esc(_label(STATUS, e['to_status'], lang))}" if e.get("to_status") else "")
        + (f'<br><span class="hint">{esc(e["note"])}</span>' if e.get("note") else "")
        + "</li>"
        for e in events
    )
    pictures = (
        "".join(
            f'<a href="/api/v1/cases/{cid}/photos/{p["id"]}" target="_blank" rel="noopener">'
            f'<img src="/api/v1/cases/{cid}/photos/{p["id"]}" alt="{esc(w["photos"])} {p["id"]}" '
            f'width="{esc(p.get("width") or 160)}" height="{esc(p.get("height") or 120)}" '
            "></a>"
            for p in photos
        )
        or f'<p class="hint">{esc(w["no_photos"])}</p>'
    )
    choices = {
        "to_party": agencies,
        "parties": agencies,
        "type": types,
        "outcome": {k: _label(OUTCOME, k, lang) for k in ("fixed", "not_fixed", "not_our_matter")},
        "task_id": {
            str(t["id"]): f"{agencies.get(t['party'], t['party'])} {t.get('unit_name') or ''}"
            for t in case.get("tasks") or ()
            if not t["done"]
        },
    }
    role = _label(ROLES, user.get("role"), lang)
    back = ""
    if user.get("role") in MAP_ROLES:
        suffix = "?lang=en" if lang == "en" else ""
        back = f' · <a href="/map/dispatch{suffix}">{esc(w["back"])}</a>'
    path = PATH.replace("{id}", str(cid))
    body = f"""<main class="case-page" data-testid="case" data-case-id="{esc(cid)}"
 data-status="{esc(case["status"])}" data-version="{esc(case["version"])}">
<header class="sheet-head"><h1>{esc(title)} <small>{esc(case.get("tracking_code"))}</small></h1>
{lang_switch(path, lang)}</header>
<p class="who">{esc(role)} {esc(user.get("username"))}{back}</p>
{place_search(href=("/map/dispatch" if back else "/directory") + "#place={lon},{lat},{zoom}")}
<section class="card"><dl class="facts" data-testid="case-facts">{facts}</dl></section>
<section class="card"><h2>{esc(w["routing"])}</h2><ul>{reasons}</ul>
{f"<p>{esc(w['participants'])}：{esc(participants)}</p>" if participants else ""}
{f"<h3>{esc(w['tasks'])}</h3><ul>{tasks}</ul>" if tasks else ""}
{f"<h3>{esc(w['reporters'])}</h3><ul>{reporters}</ul>" if reporters else ""}</section>
<section class="card"><h2>{esc(w["actions"])}</h2>
<div id="action-error" class="error" role="alert" data-testid="error" hidden></div>
<div class="actions" data-testid="actions">{_actions(actions, w, choices, lang)}</div></section>
<section class="card"><h2>{esc(w["photos"])}</h2><div class="photos">{pictures}</div></section>
<section class="card"><h2>{esc(w["events"])}</h2><ol class="events" data-testid="events">
{history}</ol></section>
</main>
{
        json_script(
            "shudi-config",
            {
                "page": "case",
                "lang": lang,
                "t": w,
                "caseId": cid,
                "version": case["version"],
                "transitions": f"/api/v1/cases/{cid}/transitions",
            },
        )
    }"""
    return plain_page(lang=lang, title=title, body=body, scripts=["common", "case"])


def render_case_not_found(*, case_id: int, lang: str = "zh") -> str:
    """The answer for a case that does not exist or that the user may not see (404)."""
    w = pick(TEXTS, lang) | common_texts(lang)
    body = f"""<main class="case-page">
<header class="sheet-head"><h1>{esc(w["title"].replace("{n}", str(case_id)))}</h1></header>
<section class="card error" role="alert" data-testid="error"><p class="error-title">
{esc(w["not_found"])}</p><p class="hint">{esc(w["not_found_hint"])}</p></section>
<p><a class="btn secondary" href="/map/dispatch">{esc(w["back"])}</a></p></main>"""
    return plain_page(lang=lang, title=w["not_found"], body=body)
