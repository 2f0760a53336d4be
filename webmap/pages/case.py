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

from webmap.basemaps import Basemap
from webmap.pages.case_actions import action_forms
from webmap.pages.case_history import history_list, messages_card
from webmap.pages.case_panels import TEXTS as PANEL_TEXTS
from webmap.pages.case_panels import disclosure_card, photos_card
from webmap.pages.common import (
    common_texts,
    esc,
    fmt_time,
    json_script,
    label_in,
    lang_switch,
    pick,
    plain_page,
)
from webmap.pages.messages import error_texts
from webmap.pages.nav import ROLE_PAGES, home_of, nav_bar
from webmap.pages.placesearch import place_search
from webmap.pages.report_in_panel import report_in_card
from webmap.pages.report_in_panel import texts as report_in_texts
from webmap.pages.track import OUTCOME, STATUS

PATH = "/cases/{id}"
VENDOR = "/static/vendor/leaflet@1.9.3/dist"  # served locally (webmap.assets)

TEXTS: dict[str, tuple[str, str]] = {
    "title": ("案件{n}", "Case {n}"),
    "back": ("返回首页", "Back to my home page"),
    "type": ("问题类型", "Kind of problem"),
    "status": ("状态", "Status"),
    "address": ("地址", "Address"),
    "place": ("属地", "Territory"),
    "company": ("物业服务企业", "Property company"),
    "position": ("位置（WGS-84）", "Position (WGS-84)"),
    "description": ("问题描述", "Description"),
    "channel": ("来源", "Channel"),
    "created": ("上报时间（北京时间）", "Reported at (Beijing time)"),
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
    "events": ("办理记录（北京时间）", "History (Beijing time)"),
    "messages": ("通知（收件人已遮蔽）", "Messages (recipients masked)"),
    "msg_states": ("待发送|已发送|发送失败|未发送", "pending|sent|failed|not sent"),
    "msg_channels": ("短信|邮件|工作通知", "SMS|e-mail|staff notice"),
    "actions": ("可执行操作", "Actions"),
    "no_actions": ("当前没有可执行的操作", "No action is open to you now"),
    "note": ("内部说明（仅工作人员可见）", "Internal note (staff only)"),
    "public_reply": (
        "公开答复（群众和对接平台可见，请勿填写电话、姓名等个人信息）",
        "Public reply (residents and Open311 see it: no phone numbers or names)",
    ),
    "to_party": ("转交至", "Refer to"),
    "parties": ("参与联合执法的单位", "Parties of the joint enforcement"),
    "task_id": ("任务", "Task"),
    "outcome": ("核查结果", "Outcome"),
    "due_at": ("新期限", "New deadline"),
    "lon": ("经度（WGS-84）", "Longitude (WGS-84)"),
    "lat": ("纬度（WGS-84）", "Latitude (WGS-84)"),
    "type_code": ("正确类型", "Correct kind"),
    "into": ("合并到案件编号", "Merge into case no."),
    "satisfaction": ("评价", "Rating"),
    "field": ("补充信息", "Details"),
    "confirm": ("确认操作", "Confirm"),
    "confirm_text": ("确定要执行“{action}”吗？", "Really “{action}”?"),
    "confirm_yes": ("确定", "Yes, go ahead"),
    "confirm_no": ("取消", "Cancel"),
    "hidden": ("已对公众隐藏", "Hidden from the public"),
    "map": ("位置与属地", "Place and territory"),
    "map_pin": ("案件位置", "The case's position"),
    "drag_hint": (
        "位置有误时，拖动定位点到正确位置，核对新的属地和承办单位后，在“更正位置”中保存。",
        "If the place is wrong, drag the pin, check the new territory and handler, then save "
        "with “correct location”.",
    ),
    "move_hint": ("保存前预览：更正后将由以下单位办理", "Preview: after saving, the case goes to"),
    "new_place": ("新属地", "New territory"),
    "new_handler": ("新承办单位", "New handler"),
    "stale": ("案件已被他人更新，请刷新页面后重试", "The case has changed: reload the page"),
    "reload": ("刷新", "Reload"),
    "not_found": ("没有这个案件", "No such case"),
    "not_found_hint": (
        "案件不存在，或不在您的职责范围内。",
        "The case does not exist, or it is not one you may see.",
    ),
}


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
    event_labels: Mapping[str, str] | None = None,
    basemap: Basemap | None = None,
    messages: Sequence[Mapping[str, Any]] = (),
    evidence: Mapping[str, Any] | None = None,
    disclosure: Mapping[str, Any] | None = None,
    followup: str = "",
    report_ins: Sequence[Mapping[str, Any]] = (),
) -> str:
    """One case for a staff user. ``actions`` are the allowed ones (``action``, ``summary``,
    ``requires``, ``weight``: primary, secondary or destructive); ``agencies`` and ``types``
    map codes to names (the forms' choices: ``types`` are the reportable ones);
    ``event_labels`` names workflow actions for the history; ``basemap`` draws the case's map
    (with a draggable pin when ``correct_location`` is among the actions); ``evidence`` says
    whether before/after photos are needed, missing and may be added by this user;
    ``disclosure`` (the dispatcher's only) whether the handling unit sees the reporters;
    ``followup`` the 回访 card (``webmap.pages.followup_card``); ``report_ins`` the called
    units' 吹哨报到 clocks (``incidents.report_in.case_clocks``)."""
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
            (w["status"], label_in(STATUS, case["status"], lang), "status"),
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
        if t.get("kind") != "return_visit"  # 回访 calls: the follow-up card
    )
    reporters = "".join(
        f"<li>{esc(r.get('contact_name') or '—')} {esc(r.get('phone') or '')} "
        f"{esc(r.get('email') or '')}</li>"
        for r in case.get("reporters") or ()
    )
    history = history_list(events, event_labels or {}, lang)
    choices = {
        "to_party": agencies,
        "parties": agencies,
        "type": types,
        "outcome": {
            k: label_in(OUTCOME, k, lang) for k in ("fixed", "not_fixed", "not_our_matter")
        },
        "task_id": {
            str(t["id"]): f"{agencies.get(t['party'], t['party'])} {t.get('unit_name') or ''}"
            for t in case.get("tasks") or ()
            if not t["done"] and t.get("kind") != "return_visit"
        },
    }
    path = PATH.replace("{id}", str(cid))
    maps = "dispatch" in ROLE_PAGES.get(str(user.get("role")), ())
    place_href = ("/map/dispatch" if maps else "/directory") + "#place={lon},{lat},{zoom}"
    hidden = f'<p class="badge late">{esc(w["hidden"])}</p>' if case.get("hidden") else ""
    body = f"""{nav_bar(user, "cases", lang)}
<main class="case-page" id="main" data-testid="case" data-case-id="{esc(cid)}"
 data-status="{esc(case["status"])}" data-version="{esc(case["version"])}">
<header class="sheet-head"><h1>{esc(title)} <small>{esc(case.get("tracking_code"))}</small></h1>
{lang_switch(path, lang)}</header>{hidden}
{place_search(href=place_href)}
<section class="card"><dl class="facts" data-testid="case-facts">{facts}</dl></section>
{_map_card(case, actions, w, basemap)}
<section class="card"><h2>{esc(w["routing"])}</h2><ul>{reasons}</ul>
{f"<p>{esc(w['participants'])}：{esc(participants)}</p>" if participants else ""}
{f"<h3>{esc(w['tasks'])}</h3><ul>{tasks}</ul>" if tasks else ""}
{f"<h3>{esc(w['reporters'])}</h3><ul>{reporters}</ul>" if reporters else ""}</section>
<section class="card"><h2>{esc(w["actions"])}</h2>
<div id="action-error" class="error" role="alert" data-testid="error" hidden></div>
<div class="actions" data-testid="actions">{action_forms(actions, w, choices, lang)}</div></section>
{report_in_card(report_ins, agencies=agencies, lang=lang)}
{disclosure_card(disclosure, lang=lang)}
{followup}
{photos_card(cid, photos, evidence=evidence or {}, lang=lang)}
<section class="card"><h2>{esc(w["events"])}</h2><ol class="events" data-testid="events">
{history}</ol></section>
{messages_card(messages, w, agencies)}
</main>
{
        json_script(
            "shudi-config",
            {
                "page": "case",
                "lang": lang,
                "t": w | pick(PANEL_TEXTS, lang) | report_in_texts(lang),
                "errors": error_texts(lang),
                "evidence": f"/api/v1/cases/{cid}/evidence",
                "disclosure": f"/api/v1/cases/{cid}/reporter-disclosure",
                "caseId": cid,
                "version": case["version"],
                "transitions": f"/api/v1/cases/{cid}/transitions",
                "home": home_of(str(user.get("role"))),
                "caseMap": _map_config(case, actions, basemap),
                "crs": basemap.coordinate_system.value if basemap else "wgs84",
            },
        )
    }"""
    page = plain_page(
        lang=lang,
        title=title,
        body=body,
        scripts=["common", "case", "case_panels", "followup"]
        + (["report_in"] if report_ins else [])
        + (["case_map"] if basemap else []),
    )
    return page.replace("</head>", LEAFLET + "</head>", 1) if basemap else page


LEAFLET = (
    f'<link rel="stylesheet" href="{VENDOR}/leaflet.css">\n'
    f'<script src="{VENDOR}/leaflet.js"></script>\n'
)


def _map_config(
    case: Mapping[str, Any], actions: Sequence[Mapping[str, Any]], basemap: Basemap | None
) -> dict[str, Any] | None:
    """What ``static/case_map.js`` draws: the basemap's tiles, the case's WGS-84 position,
    whether the pin may be dragged (the user may correct the location) and the case's type
    (the preview routes it)."""
    if basemap is None:
        return None
    return {
        "tiles": [
            {
                "url": tl.url,
                "attribution": tl.attribution,
                "subdomains": tl.subdomains,
                "maxNativeZoom": tl.max_native_zoom,
            }
            for tl in basemap.layers
        ],
        "minZoom": basemap.min_zoom,
        "maxZoom": basemap.max_zoom,
        "lon": case["lon"],
        "lat": case["lat"],
        "typeCode": case.get("type_code"),
        "canMove": any(a["action"] == "correct_location" for a in actions),
    }


def _map_card(
    case: Mapping[str, Any],
    actions: Sequence[Mapping[str, Any]],
    w: Mapping[str, str],
    basemap: Basemap | None,
) -> str:
    if basemap is None:
        return ""
    movable = any(a["action"] == "correct_location" for a in actions)
    hint = f'<p class="hint">{esc(w["drag_hint"])}</p>' if movable else ""
    return (
        f'<section class="card"><h2>{esc(w["map"])}</h2>{hint}'
        f'<div id="case-map" class="case-map" data-testid="case-map" role="region" '
        f'aria-label="{esc(w["map"])}"></div>'
        '<div id="move-preview" class="move-preview" data-testid="move-preview" '
        'aria-live="polite" hidden></div></section>'
    )


def render_case_not_found(
    *, case_id: int, lang: str = "zh", user: Mapping[str, Any] | None = None
) -> str:
    """The answer for a case that does not exist or that the user may not see (404)."""
    w = pick(TEXTS, lang) | common_texts(lang)
    home = home_of(str((user or {}).get("role")))
    body = f"""{nav_bar(user, None, lang) if user else ""}<main class="case-page" id="main">
<header class="sheet-head"><h1>{esc(w["title"].replace("{n}", str(case_id)))}</h1></header>
<section class="card error" role="alert" data-testid="error"><p class="error-title">
{esc(w["not_found"])}</p><p class="hint">{esc(w["not_found_hint"])}</p></section>
<p><a class="btn secondary" href="{esc(home)}">{esc(w["back"])}</a></p></main>"""
    return plain_page(lang=lang, title=w["not_found"], body=body)
