"""The resident's report page (``/report``): a full-screen map with a bottom sheet form.

Tap the map (or use the phone's position) → where the pin landed and who manages the place →
pick the kind of problem (the reportable types are embedded, filtered in the page) → who will
handle it and whether it was reported already → describe, add photos → submit once (an
``Idempotency-Key`` kept per form) → the tracking code. ``static/report.js`` drives it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from webmap.basemaps import Basemap
from webmap.pages.common import (
    common_texts,
    esc,
    lang_switch,
    large_text_toggle,
    map_page,
    pick,
    with_lang,
)
from webmap.pages.messages import error_texts
from webmap.pages.nav import nav_bar
from webmap.pages.placesearch import place_search

TEXTS: dict[str, tuple[str, str]] = {
    "title": ("随手报 · 物业管理问题上报", "Report a problem · property management"),
    "heading": ("随手报", "Report a problem"),
    "step_place": ("① 问题位置", "① Where"),
    "tap_hint": ("点击地图放置定位点", "Tap the map to drop a pin"),
    "keyboard_hint": (
        "用键盘：按Tab进入地图，方向键移动，回车在十字处放置定位点",
        "By keyboard: Tab to the map, move with the arrow keys, Enter drops the pin at the cross",
    ),
    "map_label": (
        "地图。方向键移动地图，回车在十字处放置定位点",
        "Map. Arrow keys move it; Enter drops the pin at the cross",
    ),
    "locate": ("使用我的位置", "Use my location"),
    "locating": ("正在获取位置…", "Getting your position…"),
    "geo_unavailable": (
        "无法获取位置，请在地图上点选",
        "Your position is not available: tap the map instead",
    ),
    "step_type": ("② 遇到了什么问题", "② What is wrong"),
    "tiles_label": ("常见问题分类", "Common kinds of problem"),
    "type_search": (
        "也可以直接说说遇到的问题，如：楼上半夜装修吵",
        "Or describe it in a few words",
    ),
    "type_none": (
        "没有找到匹配的问题，请换个说法，或点上面的分类",
        "Nothing matches: try other words, or pick a category above",
    ),
    "type_more": ("按回车选择，上下键切换", "Enter chooses, arrow keys move"),
    "type_change": ("更换", "Change"),
    "back_tiles": ("返回全部分类", "All categories"),
    "legal": ("法律依据", "Legal basis"),
    "legal_name": ("规范名称：", "Formal name: "),
    "urgent_title": ("紧急情况，请先拨打电话", "An emergency: call first"),
    "urgent_then": (
        "打完电话后，仍可继续填写下面的表单上报。",
        "After calling you can still file the report below.",
    ),
    "calls_title": ("紧急情况请直接拨打", "In an emergency, call"),
    "handler": ("承办单位", "Handled by"),
    "why": ("为什么由这个单位办理", "Why this unit"),
    "dups": ("附近已有{n}件同类未结案件", "{n} open report(s) of this kind nearby"),
    "dups_hint": (
        "如是同一问题，可无需重复上报；仍可继续提交。",
        "If it is the same problem you need not report it again; you may still submit.",
    ),
    "m": ("米", "m"),
    "step_details": ("③ 问题描述", "③ Details"),
    "description": ("描述（可选）", "Description (optional)"),
    "description_ph": (
        "例如：楼顶在加建，已持续一周",
        "e.g. a rooftop extension going up all week",
    ),
    "photos": ("照片（可选，最多6张）", "Photos (optional, up to 6)"),
    "take_photo": ("拍照", "Take a photo"),
    "choose_photo": ("从相册选择", "Choose photos"),
    "photos_n": ("已选{n}张照片", "{n} photo(s) chosen"),
    "too_many_photos": ("照片最多6张，请去掉几张再提交。", "At most 6 photos: remove some."),
    "phone": ("联系电话（可选）", "Phone (optional)"),
    "phone_ok": ("", ""),
    "email": ("电子邮箱（可选，接收办理进度）", "E-mail (optional, for progress updates)"),
    "name": ("称呼（可选）", "Name (optional)"),
    "privacy": (
        "电话、邮箱和称呼仅受理和承办人员可见，不会公开；留下电话或邮箱即可收到办理进度通知。",
        "Your phone, e-mail and name are seen only by the staff handling the case, never "
        "published; leave a phone or e-mail to be told of progress.",
    ),
    "submit": ("提交", "Submit"),
    "submitting": ("正在提交…", "Submitting…"),
    "need_place": ("请先在地图上选择问题位置", "Choose the place on the map first"),
    "need_inside": (
        "所选位置不在本区服务范围内，请在地图上本区范围内重新选点。",
        "The pin is outside the district: choose a place inside it on the map.",
    ),
    "need_type": ("请选择问题类型（点分类或输入文字）", "Choose the kind of problem"),
    "done": ("已提交，请记下查询码", "Submitted. Keep your tracking code"),
    "track": ("查看办理进度", "Follow the case"),
    "copy": ("复制查询码", "Copy the code"),
    "copied": ("已复制", "Copied"),
    "due": ("办理期限", "Due"),
    "again": ("再报一件", "Report another"),
    "large": ("大字", "Large text"),
    "staff_as": ("以工作人员身份上报：{channel}", "Filing as staff: {channel}"),
    "staff_none": (
        "当前账号不能上报案件，请退出登录后以群众身份上报",
        "This account may not file reports: log out to report as a resident",
    ),
    "open_case": ("查看案件", "Open the case"),
    "refusal": (
        "已劝阻，当事人拒不改正（报告镇（街道）和执法部门）",
        "Dissuaded, and they refused to correct (report to the town and the enforcement agency)",
    ),
    "refusal_hint": (
        "依据《实施意见》第三部分（二）：发现违法违规行为要及时劝阻和制止，拒不改正的向镇（街道）和相关执法部门报告。",
        "Under part 3 (2) of the opinions: dissuade and stop violations; report those who refuse "
        "to correct to the town and the competent enforcement agency.",
    ),
    "said": (
        "劝阻内容（必填：说了什么、对方如何答复）",
        "What was said (required: what you said and how they answered)",
    ),
    "said_ph": ("例如：告知其违规搭建须停止，业主拒绝", "e.g. told them to stop building; refused"),
    "dissuaded_at": ("劝阻时间", "When you dissuaded them"),
    "party": ("当事人（可选，如：3幢502住户）", "Who was dissuaded (optional, e.g. flat 3-502)"),
    "need_said": ("请填写劝阻内容（说了什么、对方如何答复）", "Say what was said and the answer"),
    "said_future": ("劝阻时间不能晚于现在", "The time of the dissuasion cannot be in the future"),
    "refusal_scope": (
        "劝阻无效的报告只用于违法违规行为（执法类问题），请更换问题类型或取消勾选",
        "A refusal report is only for violations (enforcement types): change the type or untick",
    ),
    "refusal_done": (
        "已报告所在镇（街道）和相关执法部门",
        "Reported to the town and the competent enforcement agency",
    ),
}
#: The staff channels' names (incidents.intake.CHANNELS).
CHANNEL_NAMES: dict[str, tuple[str, str]] = {
    "phone": ("电话受理（记录来电人信息）", "a phone call (the caller's details)"),
    "patrol_community": ("社区巡查发现", "the community's patrol"),
    "patrol_property": ("物业巡查发现", "the property company's patrol"),
    "agency": ("部门发现", "found by an agency"),
}


def _type_entry(t: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "code": t["code"],
        "name_zh": t.get("name_zh") or "",
        "name_en": t.get("name_en") or "",
        "plain_zh": t.get("plain_zh") or t.get("name_zh") or "",
        "plain_en": t.get("plain_en") or t.get("name_en") or "",
        "categories": list(t.get("categories") or []),
        "urgent": list(t.get("urgent") or []),
        "scope": t.get("scope") or "",
        "clause": clause(t.get("source_ref") or [], "zh"),
        "clause_en": clause(t.get("source_ref") or [], "en"),
    }


def _staff_note(staff: Mapping[str, Any] | None, w: Mapping[str, str], lang: str) -> str:
    """Who files, for a logged-in staff member: the menu and the channel (or why not)."""
    if not staff:
        return ""
    channel = staff.get("channel")
    if channel:
        pair = CHANNEL_NAMES.get(str(channel), (str(channel), str(channel)))
        text = w["staff_as"].replace("{channel}", pair[1 if lang == "en" else 0])
        note = f'<p class="hint" data-testid="staff-channel">{esc(text)}</p>'
    else:
        note = f'<p class="error" data-testid="staff-channel">{esc(w["staff_none"])}</p>'
    return nav_bar(staff, "report", lang) + note


#: The staff channels that carry the duty to dissuade and report a refusal (三（二）).
REFUSAL_CHANNELS = frozenset({"patrol_community", "patrol_property"})


def _refusal(staff: Mapping[str, Any] | None, w: Mapping[str, str]) -> str:
    """The "found, dissuaded, refused to correct" variant: a checkbox revealing its fields."""
    if not staff or staff.get("channel") not in REFUSAL_CHANNELS:
        return ""
    return f"""
   <label class="check"><input type="checkbox" id="refusal" data-testid="refusal">
    {esc(w["refusal"])}</label>
   <div id="refusal-fields" class="refusal" hidden>
    <p class="hint">{esc(w["refusal_hint"])}</p>
    <label for="said">{esc(w["said"])}</label>
    <textarea id="said" data-testid="said" maxlength="2000" rows="3"
      placeholder="{esc(w["said_ph"])}"></textarea>
    <label for="dissuaded_at">{esc(w["dissuaded_at"])}</label>
    <input type="datetime-local" id="dissuaded_at" data-testid="dissuaded-at">
    <label for="party">{esc(w["party"])}</label>
    <input type="text" id="party" data-testid="party" maxlength="200">
   </div>"""


_PARTS = "一二三四五六七八九十"


def clause(refs: Sequence[str], lang: str) -> str:
    """Where the text says it, in words.

    ``4.2`` → 第二部分（四）第2项; ``S3.2`` → 第三部分（二）."""
    out = []
    for ref in refs:
        head, _, item = ref.partition(".")
        if head.startswith("S"):
            n = int(item)
            out.append(f"part 3 ({n})" if lang == "en" else f"第三部分（{_numeral(n)}）")
        elif item:
            p = int(head)
            out.append(
                f"part 2 ({p}), item {item}"
                if lang == "en"
                else f"第二部分（{_numeral(p)}）第{item}项"
            )
        else:
            p = int(head)
            out.append(f"part 2 ({p})" if lang == "en" else f"第二部分（{_numeral(p)}）")
    prefix = "the district's implementation opinions, " if lang == "en" else "依据《实施意见》"
    return prefix + ("; " if lang == "en" else "、").join(out) if out else ""


def _numeral(n: int) -> str:
    if n <= 10:
        return _PARTS[n - 1]
    return "十" + _PARTS[n - 11] if n < 20 else str(n)


def _tiles(categories: Sequence[Mapping[str, Any]], lang: str) -> str:
    out = []
    for c in categories:
        name = c["name_en"] if lang == "en" else c["name_zh"]
        out.append(
            f'<button type="button" class="tile" data-category="{esc(c["code"])}">'
            f'<i class="fa-solid {esc(c["icon"])}" aria-hidden="true"></i>'
            f"<span>{esc(name)}</span></button>"
        )
    return "".join(out)


def _body(
    lang: str, categories: Sequence[Mapping[str, Any]], staff: Mapping[str, Any] | None = None
) -> str:
    w = pick(TEXTS, lang) | common_texts(lang)
    track = esc(with_lang("/track", lang))
    return f"""
<main id="sheet" class="sheet" aria-label="{esc(w["heading"])}">
 <button type="button" class="sheet-handle" id="sheet-toggle" aria-expanded="true"
   aria-controls="sheet-body"><span aria-hidden="true"></span>{esc(w["close"])}</button>
 <div id="sheet-body" class="sheet-body">
 <header class="sheet-head"><h1>{esc(w["heading"])}</h1>
  <span class="head-tools">{large_text_toggle(lang)}{lang_switch("/report", lang)}</span></header>
 {_staff_note(staff, w, lang)}
 <form id="report-form" novalidate>
  <section class="step" aria-labelledby="h-place">
   <h2 id="h-place">{esc(w["step_place"])}</h2>
   {place_search()}
   <p class="hint" id="place-hint">{esc(w["tap_hint"])}</p>
   <button type="button" class="btn secondary" id="locate">{esc(w["locate"])}</button>
   <p class="hint kbd-hint">{esc(w["keyboard_hint"])}</p>
   <div id="place" class="place" aria-live="polite" data-testid="owner"></div>
  </section>
  <section class="step" aria-labelledby="h-type">
   <h2 id="h-type">{esc(w["step_type"])}</h2>
   <div id="type-picked" class="picked" hidden><span id="type-name"></span>
    <button type="button" class="btn link" id="type-change">{esc(w["type_change"])}</button>
    <details id="type-legal" class="legal"><summary>{esc(w["legal"])}</summary>
     <p id="type-legal-text" class="hint"></p></details></div>
   <div id="urgent" class="urgent" role="alert" data-testid="urgent" hidden></div>
   <div id="type-choose">
    <div id="tiles" class="tiles" role="group" aria-label="{esc(w["tiles_label"])}">
     {_tiles(categories, lang)}</div>
    <div id="tile-panel" class="tile-panel" hidden>
     <button type="button" class="btn link" id="tile-back">‹ {esc(w["back_tiles"])}</button>
     <h3 id="tile-title"></h3><div id="tile-calls"></div><ul id="tile-types" class="type-list">
     </ul></div>
    <div class="combo">
     <label for="type-q" class="label">{esc(w["type_search"])}</label>
     <input type="text" id="type-q" data-testid="type" autocomplete="off" role="combobox"
      aria-autocomplete="list" aria-expanded="false" aria-controls="type-list"
      aria-describedby="type-help">
     <p id="type-help" class="hint">{esc(w["type_more"])}</p>
     <ul id="type-list" class="type-list" role="listbox" aria-label="{esc(w["step_type"])}"></ul>
    </div>
   </div>
   <div id="route" class="route" aria-live="polite"></div>
   <div id="dups" class="dups" aria-live="polite"></div>
  </section>
  <section class="step" aria-labelledby="h-details">
   <h2 id="h-details">{esc(w["step_details"])}</h2>
   {_refusal(staff, w)}
   <label for="description">{esc(w["description"])}</label>
   <textarea id="description" data-testid="description" name="description" maxlength="4000" rows="3"
     placeholder="{esc(w["description_ph"])}"></textarea>
   <span class="label">{esc(w["photos"])}</span>
   <div class="photo-row">
    <label class="btn secondary file">{esc(w["take_photo"])}<input type="file" id="photo-camera"
      accept="image/*" capture="environment" multiple></label>
    <label class="btn secondary file">{esc(w["choose_photo"])}<input type="file" id="photos"
      name="photos" accept="image/*" multiple></label>
   </div>
   <p id="photos-n" class="hint" aria-live="polite"></p>
   <div id="contact">
   <label for="phone">{esc(w["phone"])}</label>
   <input type="tel" id="phone" data-testid="phone" name="phone" maxlength="32"
    autocomplete="tel" inputmode="tel" aria-describedby="phone-error">
   <p id="phone-error" class="error field-error" data-testid="phone-error" aria-live="polite"
    hidden></p>
   <label for="email">{esc(w["email"])}</label>
   <input type="email" id="email" data-testid="email" name="email" maxlength="254"
    autocomplete="email" inputmode="email">
   <label for="contact_name">{esc(w["name"])}</label>
   <input type="text" id="contact_name" name="contact_name" maxlength="100" autocomplete="name">
   <p class="hint">{esc(w["privacy"])}</p>
   </div>
  </section>
  <div id="error" class="error" role="alert" data-testid="error" hidden></div>
  <button type="submit" class="btn primary big" id="submit" data-testid="submit">
   {esc(w["submit"])}</button>
 </form>
 <section id="done" class="done" hidden aria-live="polite">
  <p>{esc(w["done"])}</p>
  <p class="code" id="code" data-testid="tracking-code"></p>
  <p><button type="button" class="btn secondary" id="copy-code">{esc(w["copy"])}</button></p>
  <p id="done-handler" class="hint"></p>
  <p><a class="btn primary" id="track-link" href="{track}">{esc(w["track"])}</a></p>
  <p><button type="button" class="btn secondary" id="again">{esc(w["again"])}</button></p>
 </section>
 </div>
</main>
"""


def render_report(
    *,
    types: Sequence[Mapping[str, Any]],
    categories: Sequence[Mapping[str, Any]] = (),
    boundaries: Mapping[str, Mapping[str, Any]],
    basemap: Basemap,
    lang: str = "zh",
    staff: Mapping[str, Any] | None = None,
    tiles: Mapping[str, str] | None = None,
) -> str:
    """The report page; ``types`` are the types offered to residents (with their plain names,
    categories and urgent calls), ``categories`` the tiles, ``boundaries`` the WGS-84 town and
    community FeatureCollections; ``staff`` the logged-in staff member (``username``, ``role``,
    ``channel``: the channel their reports go through, None if their role files none); ``tiles`` the
    active layers' vector tile URLs (``map_page``)."""
    words = pick(TEXTS, lang) | common_texts(lang)
    return map_page(
        basemap=basemap,
        lang=lang,
        title=words["title"],
        boundaries=boundaries,
        body=_body(lang, categories, staff),
        config={
            "page": "report",
            "t": words,
            "errors": error_texts(lang),
            "types": [_type_entry(t) for t in types],
            "categories": [
                {k: c[k] for k in ("code", "name_zh", "name_en", "types", "calls")}
                for c in categories
            ],
            "trackBase": "/track/",
            "channel": (staff or {}).get("channel"),
            "staffBlocked": bool(staff) and not (staff or {}).get("channel"),
            "casePage": "/cases/" if staff else None,
            "refusal": (staff or {}).get("channel") in REFUSAL_CHANNELS,
        },
        scripts=["common", "report"],
        tiles=tiles,
    )
