"""The resident's tracking page (``/track/{code}``): status, handler, deadline, public events,
and the rating and dispute forms when the case allows them. It shows what
``incidents.service.track`` returns — which holds nobody's personal data — and nothing else.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from webmap.pages.common import (
    LEAFLET_CSS,
    LEAFLET_JS,
    common_texts,
    esc,
    fmt_time,
    json_script,
    lang_switch,
    large_text_toggle,
    pick,
    plain_page,
    with_lang,
)
from webmap.pages.messages import error_texts

STATUS: dict[str, tuple[str, str]] = {
    "reported": ("已上报，待受理", "Reported, awaiting acceptance"),
    "accepted": ("已受理", "Accepted"),
    "dispatched": ("已派单", "Dispatched"),
    "in_progress": ("办理中", "In progress"),
    "resolved": ("已办结，待核查", "Resolved, being checked"),
    "closed": ("已结案", "Closed"),
    "rejected": ("不予受理", "Not accepted"),
    "referred": ("已转交责任单位", "Referred to the responsible unit"),
    "joint": ("联合执法中", "Joint enforcement under way"),
    "postponed": ("已延期", "Postponed"),
    "reopened": ("重新办理", "Reopened"),
}
ACTIONS: dict[str, tuple[str, str]] = {
    "report": ("群众上报", "Reported"),
    "accept": ("受理", "Accepted"),
    "reject": ("不予受理", "Not accepted"),
    "dispatch": ("派单至承办单位", "Dispatched to the handler"),
    "start": ("开始办理", "Work started"),
    "refer": ("转交责任单位", "Referred to the responsible unit"),
    "joint": ("多部门联合执法，由镇/街道协调", "Joint enforcement, coordinated by the town"),
    "complete_task": ("联合执法任务完成", "A joint-enforcement task was completed"),
    "resolve": ("办结，待核查", "Resolved, to be checked"),
    "verify": ("核查结案", "Checked and closed"),
    "fail_verification": ("核查未通过，重新办理", "Check failed, reopened"),
    "reopen": ("重新打开", "Reopened"),
    "postpone": ("延期办理", "Postponed"),
    "resume": ("恢复办理", "Resumed"),
    "merge": ("与重复案件合并", "Merged with a duplicate"),
    "rate": ("群众评价", "Rated by the resident"),
    "dispute": ("群众提出异议，重新办理", "Disputed by the resident, reopened"),
    "evidence": ("承办单位上传处置后照片", "The handler added photos of the result"),
}
OUTCOME: dict[str, tuple[str, str]] = {
    "fixed": ("问题已解决", "Fixed"),
    "not_fixed": ("问题未能解决", "Not fixed"),
    "not_our_matter": ("不属于本机制受理范围", "Not a matter for this mechanism"),
    "duplicate": ("重复案件，已合并", "A duplicate, merged"),
}
SATISFACTION: dict[str, tuple[str, str]] = {
    "satisfied": ("满意", "Satisfied"),
    "dissatisfied": ("不满意", "Dissatisfied"),
}
TEXTS: dict[str, tuple[str, str]] = {
    "title": ("办理进度", "Case progress"),
    "code": ("查询码", "Tracking code"),
    "type": ("问题类型", "Kind of problem"),
    "handler": ("承办单位", "Handled by"),
    "created": ("上报时间", "Reported at"),
    "due": ("办理期限", "Due"),
    "overdue": ("已超期", "overdue"),
    "closed_at": ("结案时间", "Closed at"),
    "outcome": ("办理结果", "Outcome"),
    "rejection": ("不予受理理由", "Reason for not accepting"),
    "satisfaction": ("您的评价", "Your rating"),
    "events": ("办理记录", "History"),
    "rate": ("对办理结果满意吗？", "Are you satisfied with the result?"),
    "satisfied": ("满意", "Satisfied"),
    "dissatisfied": ("不满意", "Dissatisfied"),
    "dispute": ("对结果有异议", "Dispute the result"),
    "dispute_hint": (
        "说明问题仍存在的情况，案件将重新办理。",
        "Say what is still wrong: the case will be reopened.",
    ),
    "dispute_send": ("提交异议", "Send the dispute"),
    "note_needed": ("请填写异议内容", "Please describe the problem"),
    "sending": ("正在提交…", "Sending…"),
    "thanks": ("已提交，谢谢！", "Sent, thank you!"),
    "lookup": ("查询其他案件", "Look up another case"),
    "lookup_send": ("查询", "Look up"),
    "not_found": ("未找到该查询码对应的案件", "No case has this tracking code"),
    "not_found_hint": (
        "请核对查询码（12位字母和数字）后重试。",
        "Check the code (12 letters and digits) and try again.",
    ),
    "report": ("我要上报问题", "Report a problem"),
    "reported": ("您报告的问题", "What you reported"),
    "no_description": ("（未填写描述）", "(no description)"),
    "place": ("位置", "Place"),
    "photo": ("照片{n}", "Photo {n}"),
    "after": ("处置结果照片", "Photos of the result"),
    "after_photo": ("处置后照片{n}", "Result photo {n}"),
    "next": ("下一步", "Next"),
    "copy": ("复制查询码", "Copy the code"),
    "share": ("分享", "Share"),
    "copied": ("已复制", "Copied"),
    "map_label": ("问题位置地图", "Map of the place"),
    "directory": ("查看各单位职责和联系方式", "Who is responsible where"),
}


def _label(table: Mapping[str, tuple[str, str]], key: object, lang: str) -> str:
    pair = table.get(str(key))
    return pair[1 if lang == "en" else 0] if pair else str(key or "")


def _lookup_form(w: Mapping[str, str], lang: str, value: str = "") -> str:
    hidden = '<input type="hidden" name="lang" value="en">' if lang == "en" else ""
    return f"""<section class="card"><h2>{esc(w["lookup"])}</h2>
<form method="get" action="/track" class="lookup">{hidden}
<label for="lookup-code">{esc(w["code"])}</label>
<input type="text" id="lookup-code" name="code" value="{esc(value)}" maxlength="32"
  autocapitalize="characters" autocomplete="off" spellcheck="false" required>
<button type="submit" class="btn primary big">{esc(w["lookup_send"])}</button></form></section>"""


def _footer(w: Mapping[str, str], lang: str) -> str:
    return (
        f'<p><a href="{esc(with_lang("/report", lang))}">{esc(w["report"])}</a> · '
        f'<a href="{esc(with_lang("/directory", lang))}">{esc(w["directory"])}</a></p>'
    )


def _is_overdue(data: Mapping[str, Any]) -> bool:
    due = data.get("due_at")
    if isinstance(due, str):
        try:
            due = datetime.fromisoformat(due)
        except ValueError:
            return False
    if not isinstance(due, datetime) or data.get("status") in ("resolved", "closed", "rejected"):
        return False
    if due.tzinfo is None:
        due = due.replace(tzinfo=UTC)
    return due < datetime.now(UTC)


def _facts(data: Mapping[str, Any], w: Mapping[str, str], lang: str) -> str:
    rows: list[tuple[str, str]] = [
        (w["handler"], esc(data.get("handler_name"))),
        (w["created"], esc(fmt_time(data.get("created_at")))),
    ]
    if data.get("due_at"):
        due = esc(fmt_time(data["due_at"]))
        if _is_overdue(data):
            due += f' <strong class="warn">（{esc(w["overdue"])}）</strong>'
        rows.append((w["due"], due))
    if data.get("closed_at"):
        rows.append((w["closed_at"], esc(fmt_time(data["closed_at"]))))
    if data.get("outcome"):
        rows.append((w["outcome"], esc(_label(OUTCOME, data["outcome"], lang))))
    if data.get("rejection_reason"):
        rows.append((w["rejection"], esc(data["rejection_reason"])))
    if data.get("satisfaction"):
        rows.append((w["satisfaction"], esc(_label(SATISFACTION, data["satisfaction"], lang))))
    return "".join(f"<dt>{esc(k)}</dt><dd>{v}</dd>" for k, v in rows if v)


def _timeline(events: list[Mapping[str, Any]], lang: str) -> str:
    items = []
    for e in events:
        what = _label(ACTIONS, e.get("action"), lang)
        if e.get("action") not in ACTIONS and e.get("to_status"):
            what = _label(STATUS, e["to_status"], lang)
        at = fmt_time(e.get("at"))
        reply = f'<p class="reply">{esc(e["public_reply"])}</p>' if e.get("public_reply") else ""
        items.append(
            f'<li><time datetime="{esc(e.get("at"))}">{esc(at)}</time>{esc(what)}{reply}</li>'
        )
    return f'<ol class="timeline">{"".join(items)}</ol>'


def _forms(allowed: list[str], w: Mapping[str, str]) -> str:
    out = []
    if "rate" in allowed:
        buttons = "".join(
            f'<button type="button" class="btn {cls}" data-satisfaction="{value}">'
            f"{esc(w[value])}</button>"
            for value, cls in (("satisfied", "primary"), ("dissatisfied", "secondary"))
        )
        out.append(
            f'<section class="card actions" id="rate"><h2>{esc(w["rate"])}</h2>{buttons}</section>'
        )
    if "dispute" in allowed:
        out.append(
            f'<section class="card" id="dispute"><h2>{esc(w["dispute"])}</h2>'
            f'<form id="dispute-form"><label for="dispute-note">{esc(w["dispute_hint"])}</label>'
            '<textarea id="dispute-note" maxlength="2000" rows="3" required></textarea>'
            f'<button type="submit" class="btn secondary big">{esc(w["dispute_send"])}</button>'
            "</form></section>"
        )
    if out:
        out.append('<div id="error" class="error card" role="alert" hidden></div>')
    return "".join(out)


#: The next step a resident can expect, by status.
NEXT: dict[str, tuple[str, str]] = {
    "reported": ("受理人员审核后派给承办单位", "Staff check it and send it to the handler"),
    "accepted": ("派给承办单位", "It is sent to the handler"),
    "dispatched": ("承办单位到场处理", "The handler comes to deal with it"),
    "in_progress": ("承办单位办结后核查", "Checked once the handler has finished"),
    "joint": ("各部门完成后核查", "Checked once every agency has finished"),
    "referred": ("责任单位处理", "The responsible unit deals with it"),
    "postponed": ("延期后恢复办理", "Work resumes after the postponement"),
    "reopened": ("承办单位重新处理", "The handler deals with it again"),
    "resolved": ("核查后结案，届时可评价", "Checked and closed; then you can rate it"),
}


def _reported(data: Mapping[str, Any], w: Mapping[str, str], lang: str, code: str) -> str:
    """What was reported: kind in plain words (the formal name on tap), text, photos, place."""
    plain = data.get("plain_en" if lang == "en" else "plain_zh") or data.get("type_name") or ""
    formal = data.get("type_name") or ""
    legal = (
        f'<details class="legal"><summary>{esc(w["type"])}</summary>'
        f'<p class="hint">{esc(formal)}</p></details>'
        if formal and formal != plain
        else ""
    )
    text = data.get("description") or ""
    photos = "".join(
        f'<a href="/api/v1/track/{esc(code)}/photos/{int(pid)}" target="_blank">'
        f'<img src="/api/v1/track/{esc(code)}/photos/{int(pid)}" loading="lazy" '
        f'alt="{esc(w["photo"].replace("{n}", str(n)))}" data-testid="photo"></a>'
        for n, pid in enumerate(data.get("photo_ids") or [], start=1)
    )
    names = [data.get(k) for k in ("town_name", "community_name", "property_area_name")]
    place = " · ".join(esc(n) for n in names if n)
    return (
        f'<section class="card" data-testid="reported"><h2>{esc(w["reported"])}</h2>'
        f'<p class="plain-type"><strong>{esc(plain)}</strong></p>{legal}'
        f'<p class="description" data-testid="description">'
        f"{esc(text) if text else esc(w['no_description'])}</p>"
        + (f'<div class="thumbs">{photos}</div>' if photos else "")
        + f'<p><span class="hint">{esc(w["place"])}：</span>{place}</p>'
        f'<div id="mini-map" class="mini-map" role="img" aria-label="{esc(w["map_label"])}"'
        ' data-testid="mini-map"></div></section>'
    )


def _after(data: Mapping[str, Any], w: Mapping[str, str], code: str) -> str:
    """The handler's after-photos (处置后), when there are any: what was done."""
    photos = "".join(
        f'<a href="/api/v1/track/{esc(code)}/photos/{int(pid)}" target="_blank">'
        f'<img src="/api/v1/track/{esc(code)}/photos/{int(pid)}" loading="lazy" '
        f'alt="{esc(w["after_photo"].replace("{n}", str(n)))}" data-testid="after-photo"></a>'
        for n, pid in enumerate(data.get("after_photo_ids") or [], start=1)
    )
    if not photos:
        return ""
    return (
        f'<section class="card" data-testid="after"><h2>{esc(w["after"])}</h2>'
        f'<div class="thumbs">{photos}</div></section>'
    )


def _follow_links(data: Mapping[str, Any], lang: str, code: str) -> str:
    """ "Me too" (updates of this case by SMS or e-mail) and the community's Atom feed."""
    en = lang == "en"
    links = [
        f'<a href="/track/{esc(code)}/follow">'
        f"{'Me too: follow this case' if en else '我也关注（短信/邮件通知进展）'}</a>"
    ]
    if data.get("community_code"):
        feed = f"/feeds/areas/community/{data['community_code']}.atom"
        label = "This community's cases (Atom feed)" if en else "订阅本社区案件动态"
        links.append(f'<a href="{esc(feed)}">{esc(label)}</a>')
        area = f"/follow?layer=community&code={data['community_code']}"
        label = "Follow this community by SMS or e-mail" if en else "关注本社区（短信/邮件）"
        links.append(f'<a href="{esc(area)}">{esc(label)}</a>')
    return f'<p class="actions">{" · ".join(links)}</p>'


def render_track(
    data: Mapping[str, Any],
    *,
    lang: str = "zh",
    tiles: list[dict[str, Any]] | None = None,
    crs: str = "wgs84",
) -> str:
    """The tracking page of one case (``data`` from ``incidents.service.track``, with the
    type's plain names); ``tiles`` are the basemap's tile layers for the small map (none: the
    estate and community outlines alone)."""
    w = pick(TEXTS, lang) | common_texts(lang)
    code = str(data.get("tracking_code") or "")
    status = str(data.get("status") or "")
    allowed = [a for a in data.get("allowed_actions") or [] if a in ("rate", "dispute")]
    path = f"/track/{code}"
    upcoming = NEXT.get(status)
    next_step = (
        f"<dt>{esc(w['next'])}</dt><dd>{esc(upcoming[1 if lang == 'en' else 0])}</dd>"
        if upcoming
        else ""
    )
    point = (
        {"lon": float(data["lon"]), "lat": float(data["lat"])}
        if data.get("lon") is not None and data.get("lat") is not None
        else None
    )
    body = f"""<main>
<header class="sheet-head"><h1>{esc(w["title"])}</h1>
<span class="head-tools">{large_text_toggle(lang)}{lang_switch(path, lang)}</span></header>
<section class="card"><p class="hint">{esc(w["code"])}</p><p class="code">{esc(code)}</p>
<p class="actions"><button type="button" class="btn secondary" id="copy-code">{esc(w["copy"])}
</button><button type="button" class="btn secondary" id="share-code" hidden>{esc(w["share"])}
</button></p>
<p><span class="status {esc(status)}" id="status">{esc(_label(STATUS, status, lang))}</span></p>
<dl class="facts">{_facts(data, w, lang)}{next_step}</dl></section>
{_reported(data, w, lang, code)}{_after(data, w, code)}
<section class="card"><h2>{esc(w["events"])}</h2>{_timeline(list(data.get("events") or []), lang)}
</section>
{_forms(allowed, w)}
{_follow_links(data, lang, code)}
{_lookup_form(w, lang)}
{_footer(w, lang)}
</main>
{json_script("shudi-config", {
        "code": code, "lang": lang, "t": w, "errors": error_texts(lang), "point": point,
        "tiles": tiles or [], "crs": crs, "names": [data.get("property_area_name") or ""],
    })}"""  # fmt: skip
    return plain_page(
        lang=lang,
        title=f"{w['title']} · {code}",
        body=body,
        scripts=["common", "track"],
        styles=[LEAFLET_CSS],
        vendor_scripts=[LEAFLET_JS],
    )


def render_track_lookup(*, lang: str = "zh", code: str = "", not_found: bool = False) -> str:
    """The form to look a case up (and the answer to an unknown code, with ``not_found``)."""
    w = pick(TEXTS, lang) | common_texts(lang)
    title = w["not_found"] if not_found else w["title"]
    notice = (
        f'<section class="card error" role="alert"><p class="error-title">{esc(w["not_found"])}'
        f'</p><p>{esc(code)}</p><p class="hint">{esc(w["not_found_hint"])}</p></section>'
        if not_found
        else ""
    )
    body = f"""<main>
<header class="sheet-head"><h1>{esc(w["title"])}</h1>{lang_switch("/track", lang)}</header>
{notice}{_lookup_form(w, lang, code)}{_footer(w, lang)}
</main>"""
    return plain_page(lang=lang, title=title, body=body)
