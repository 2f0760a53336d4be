"""The area-follow page (``/follow``): residents and owners' committees pick an estate or a
community — by search (keyboard) or by tapping the map — leave a phone or e-mail, confirm with
the code sent there, and then get that area's public case updates (every message carries its
stop link). The area's Atom feed is linked once an area is chosen. ``static/follow_area.js``
drives it through ``POST /api/v1/follows`` and ``/api/v1/follows/confirm``; nothing but this
server is contacted (the basemap's tiles excepted, when one is configured)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from webmap.pages.common import (
    LEAFLET_CSS,
    LEAFLET_JS,
    common_texts,
    esc,
    json_script,
    lang_switch,
    large_text_toggle,
    pick,
    plain_page,
)

TEXTS: dict[str, tuple[str, str]] = {
    "title": ("关注小区或社区动态", "Follow an estate or a community"),
    "intro": (
        "选择一个小区或社区，留下手机号码或电子邮箱：那里有新的反映、办理进展和办结时通知您。"
        "只发送公开信息，不含任何人的姓名和电话。",
        "Choose an estate or a community and leave a phone number or e-mail: you are told of "
        "new reports there and of their progress. Public information only.",
    ),
    "step1": ("1. 选择区域", "1. Choose the area"),
    "search": ("搜索小区或社区名称", "Search an estate or community by name"),
    "search_hint": (
        "输入名称后，用键盘移到结果上按回车选择（直接回车选第一个）；也可以在地图上点选。",
        "Type a name, then Tab to a result; or tap the map.",
    ),
    "no_match": ("没有找到匹配的小区或社区", "No estate or community matches"),
    "map_label": ("地图：点击小区或社区选择", "Map: tap an estate or community to choose it"),
    "chosen": ("已选择：", "Chosen: "),
    "nothing_here": (
        "这里不属于任何小区或社区，请换个位置或使用搜索",
        "No estate or community here: tap elsewhere or search",
    ),
    "feed": ("订阅本区域动态（订阅源）", "This area's feed (Atom)"),
    "step2": ("2. 接收通知的手机或邮箱", "2. Phone or e-mail for the updates"),
    "contact": ("手机号码或电子邮箱", "Mobile number or e-mail"),
    "send": ("获取验证码", "Send me a code"),
    "sent": (
        "验证码已发送至 {to}，请在下方输入（24小时内有效）；也可以直接打开消息里的确认链接。",
        "A code was sent to {to}: enter it below (valid 24 hours), or open the link in it.",
    ),
    "step3": ("3. 输入验证码", "3. Enter the code"),
    "code": ("6位验证码", "6-digit code"),
    "confirm": ("确认关注", "Confirm"),
    "done": (
        "已关注{area}。有新进展时通知 {to}；每条通知都带退订链接，点击即可退订。",
        "You now follow {area}. Updates go to {to}; each carries a link to stop them.",
    ),
    "choose_first": ("请先选择一个小区或社区", "Choose an estate or a community first"),
    "unsubscribe": (
        "退订：打开任意一条通知中的退订链接即可，无需登录。",
        "To stop: open the stop link in any of the messages; no log-in needed.",
    ),
    "layer_property_area": ("小区", "estate"),
    "layer_community": ("社区", "community"),
    "layer_town": ("镇/街道", "town"),
}


def texts(lang: str) -> dict[str, str]:
    return pick(TEXTS, lang)


def render_follow_area(
    *,
    areas: Sequence[Mapping[str, Any]],
    lang: str = "zh",
    tiles: list[dict[str, Any]] | None = None,
    crs: str = "wgs84",
    chosen: Mapping[str, Any] | None = None,
) -> str:
    """The page; ``areas`` are the followable estates and communities (``layer``, ``code``,
    ``name``, ``parent``, ``lon``/``lat`` of a point inside), ``chosen`` one preselected
    (``?layer=&code=``)."""
    w = texts(lang) | common_texts(lang)
    feed = ""
    if chosen:
        href = f"/feeds/areas/{chosen['layer']}/{chosen['code']}.atom"
        feed = f'<link rel="alternate" type="application/atom+xml" href="{esc(href)}">'
    body = f"""{feed}<main class="follow-area">
<header class="sheet-head"><h1>{esc(w["title"])}</h1>
<span class="head-tools">{large_text_toggle(lang)}{lang_switch("/follow", lang)}</span></header>
<p class="hint">{esc(w["intro"])}</p>
<section class="card" aria-labelledby="fa-step1"><h2 id="fa-step1">{esc(w["step1"])}</h2>
<label for="fa-search">{esc(w["search"])}</label>
<input id="fa-search" type="search" autocomplete="off" data-testid="area-search"
 aria-describedby="fa-search-hint" aria-controls="fa-results">
<p class="hint" id="fa-search-hint">{esc(w["search_hint"])}</p>
<ul id="fa-results" class="fa-results" aria-live="polite"></ul>
<div id="fa-map" class="mini-map fa-map" role="region" aria-label="{esc(w["map_label"])}"
 data-testid="area-map"></div>
<p id="fa-chosen" class="fa-chosen" data-testid="area-chosen" aria-live="polite" hidden></p>
</section>
<section class="card" aria-labelledby="fa-step2"><h2 id="fa-step2">{esc(w["step2"])}</h2>
<form id="fa-contact-form" novalidate><label for="fa-contact">{esc(w["contact"])}</label>
<input id="fa-contact" name="contact" required maxlength="254" autocomplete="email"
 inputmode="email" data-testid="follow-contact">
<button type="submit" class="btn" data-testid="follow-send">{esc(w["send"])}</button></form>
</section>
<section class="card" id="fa-code-card" aria-labelledby="fa-step3" hidden>
<h2 id="fa-step3">{esc(w["step3"])}</h2><p id="fa-sent" class="hint"></p>
<form id="fa-code-form" novalidate><label for="fa-code">{esc(w["code"])}</label>
<input id="fa-code" name="code" required maxlength="6" inputmode="numeric"
 autocomplete="one-time-code" pattern="[0-9]{{6}}" data-testid="follow-code">
<button type="submit" class="btn" data-testid="follow-confirm">{esc(w["confirm"])}</button>
</form></section>
<p id="fa-error" class="error" role="alert" data-testid="follow-error" hidden></p>
<section class="card" id="fa-done" data-testid="follow-done" hidden></section>
<p class="hint">{esc(w["unsubscribe"])}</p>
</main>
{json_script("shudi-config", {
        "lang": lang, "t": w, "areas": list(areas), "tiles": tiles or [], "crs": crs,
        "chosen": dict(chosen) if chosen else None,
    })}"""  # fmt: skip
    return plain_page(
        lang=lang,
        title=w["title"],
        body=body,
        scripts=["common", "follow_area"],
        styles=[LEAFLET_CSS],
        vendor_scripts=[LEAFLET_JS],
    )
