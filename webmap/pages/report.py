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
from webmap.pages.common import common_texts, esc, lang_switch, map_page, pick, with_lang
from webmap.pages.placesearch import place_search

TEXTS: dict[str, tuple[str, str]] = {
    "title": ("随手报 · 物业管理问题上报", "Report a problem · property management"),
    "heading": ("随手报", "Report a problem"),
    "step_place": ("① 问题位置", "① Where"),
    "tap_hint": ("点击地图放置定位点", "Tap the map to drop a pin"),
    "locate": ("使用我的位置", "Use my location"),
    "locating": ("正在获取位置…", "Getting your position…"),
    "geo_unavailable": (
        "无法获取位置，请在地图上点选",
        "Your position is not available: tap the map instead",
    ),
    "step_type": ("② 问题类型", "② What"),
    "type_search": (
        "搜索问题类型，如：违建、噪音、漏水",
        "Search, e.g. illegal building, noise, leak",
    ),
    "type_none": ("没有匹配的类型，请换个关键词", "No matching type: try another word"),
    "type_change": ("更换", "Change"),
    "handler": ("承办单位", "Handled by"),
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
    "too_many_photos": ("照片最多6张", "At most 6 photos"),
    "phone": ("联系电话（可选）", "Phone (optional)"),
    "name": ("称呼（可选）", "Name (optional)"),
    "privacy": (
        "电话和称呼仅受理和承办人员可见，不会公开。",
        "Your phone and name are seen only by the staff handling the case, never published.",
    ),
    "submit": ("提交", "Submit"),
    "submitting": ("正在提交…", "Submitting…"),
    "need_place": ("请先在地图上选择问题位置", "Choose the place on the map first"),
    "need_type": ("请选择问题类型", "Choose the kind of problem"),
    "key_reused": (
        "此前已用相同凭据提交过不同内容，请再点一次提交",
        "A different report was sent with this form before: press submit again",
    ),
    "done": ("已提交，请记下查询码", "Submitted. Keep your tracking code"),
    "track": ("查看办理进度", "Follow the case"),
    "due": ("办理期限", "Due"),
    "again": ("再报一件", "Report another"),
}


def _type_entry(t: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "code": t["code"],
        "name_zh": t.get("name_zh") or "",
        "name_en": t.get("name_en") or "",
        "keywords": list(t.get("keywords") or []),
    }


def _body(lang: str) -> str:
    w = pick(TEXTS, lang) | common_texts(lang)
    track = esc(with_lang("/track", lang))
    return f"""
<main id="sheet" class="sheet" aria-label="{esc(w["heading"])}">
 <button type="button" class="sheet-handle" id="sheet-toggle" aria-expanded="true"
   aria-controls="sheet-body"><span aria-hidden="true"></span>{esc(w["close"])}</button>
 <div id="sheet-body" class="sheet-body">
 <header class="sheet-head"><h1>{esc(w["heading"])}</h1>{lang_switch("/report", lang)}</header>
 <form id="report-form" novalidate>
  <section class="step" aria-labelledby="h-place">
   <h2 id="h-place">{esc(w["step_place"])}</h2>
   {place_search()}
   <p class="hint" id="place-hint">{esc(w["tap_hint"])}</p>
   <button type="button" class="btn secondary" id="locate">{esc(w["locate"])}</button>
   <div id="place" class="place" aria-live="polite" data-testid="owner"></div>
  </section>
  <section class="step" aria-labelledby="h-type">
   <h2 id="h-type">{esc(w["step_type"])}</h2>
   <div id="type-picked" class="picked" hidden><span id="type-name"></span>
    <button type="button" class="btn link" id="type-change">{esc(w["type_change"])}</button></div>
   <div id="type-search-box"><input type="search" id="type-q" data-testid="type" autocomplete="off"
     aria-label="{esc(w["type_search"])}" placeholder="{esc(w["type_search"])}">
    <ul id="type-list" class="type-list"></ul></div>
   <div id="route" class="route" aria-live="polite"></div>
   <div id="dups" class="dups" aria-live="polite"></div>
  </section>
  <section class="step" aria-labelledby="h-details">
   <h2 id="h-details">{esc(w["step_details"])}</h2>
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
   <label for="phone">{esc(w["phone"])}</label>
   <input type="tel" id="phone" data-testid="phone" name="phone" maxlength="32"
    autocomplete="tel" inputmode="tel">
   <label for="contact_name">{esc(w["name"])}</label>
   <input type="text" id="contact_name" name="contact_name" maxlength="100" autocomplete="name">
   <p class="hint">{esc(w["privacy"])}</p>
  </section>
  <div id="error" class="error" role="alert" data-testid="error" hidden></div>
  <button type="submit" class="btn primary big" id="submit" data-testid="submit">
   {esc(w["submit"])}</button>
 </form>
 <section id="done" class="done" hidden aria-live="polite">
  <p>{esc(w["done"])}</p>
  <p class="code" id="code" data-testid="tracking-code"></p>
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
    boundaries: Mapping[str, Mapping[str, Any]],
    basemap: Basemap,
    lang: str = "zh",
) -> str:
    """The report page; ``types`` are the reportable violation types (name_zh, name_en,
    keywords), ``boundaries`` the WGS-84 town and community FeatureCollections."""
    words = pick(TEXTS, lang) | common_texts(lang)
    return map_page(
        basemap=basemap,
        lang=lang,
        title=words["title"],
        boundaries=boundaries,
        body=_body(lang),
        config={
            "page": "report",
            "t": words,
            "types": [_type_entry(t) for t in types],
            "trackBase": "/track/",
        },
        scripts=["common", "report"],
    )
