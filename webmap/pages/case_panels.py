"""Panels of the staff case page that are not workflow actions: the photos by stage with the
handler's before/after upload (处置前后, ``POST /api/v1/cases/{id}/evidence``), and the
dispatcher's decision on whether the handling unit sees the reporters
(``POST /api/v1/cases/{id}/reporter-disclosure``). Sent by ``static/case_panels.js``."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from webmap.pages.common import esc, pick

TEXTS: dict[str, tuple[str, str]] = {
    "photos": ("照片", "Photos"),
    "no_photos": ("无照片", "No photos"),
    "stage_report": ("群众上报", "Sent with the report"),
    "stage_before": ("处置前", "Before handling"),
    "stage_after": ("处置后", "After handling"),
    "evidence_title": ("上传处置照片", "Add photos of the handling"),
    "evidence_needed": (
        "此类问题办结前须有处置前、处置后照片（群众上报的照片可作处置前照片）。尚缺：{missing}。",
        "This kind of problem is resolved only with photos from before and after handling (the "
        "report's photos count as before). Still missing: {missing}.",
    ),
    "evidence_done": ("处置前后照片已齐。", "Photos from before and after are in."),
    "stage": ("照片类别", "Which photos"),
    "files": ("选择照片（最多6张）", "Choose photos (up to 6)"),
    "note": ("处置说明（选填）", "What was done (optional)"),
    "upload": ("上传照片", "Upload photos"),
    "uploading": ("正在上传…", "Uploading…"),
    "reporters_title": ("举报人信息", "Reporters' details"),
    "revealed": (
        "承办单位（{handler}）可以看到举报人的姓名和电话。",
        "The handling unit ({handler}) sees the reporters' names and phone numbers.",
    ),
    "withheld": (
        "承办单位（{handler}）看不到举报人的姓名和电话。",
        "The handling unit ({handler}) does not see the reporters' names and phone numbers.",
    ),
    "reason": ("理由（记入案件历史）", "Why (kept in the history)"),
    "reveal": ("向承办单位公开举报人", "Show the reporters to the handling unit"),
    "withhold": ("收回，不再向承办单位公开", "Withhold them again"),
}

STAGES = ("report", "before", "after")


def _thumbs(case_id: int, photos: Sequence[Mapping[str, Any]], label: str) -> str:
    return "".join(
        f'<a href="/api/v1/cases/{case_id}/photos/{p["id"]}" target="_blank" rel="noopener">'
        f'<img src="/api/v1/cases/{case_id}/photos/{p["id"]}" alt="{esc(label)} {n}" '
        f'width="{esc(p.get("width") or 160)}" height="{esc(p.get("height") or 120)}" '
        f'data-testid="photo-{esc(p.get("stage") or "report")}"></a>'
        for n, p in enumerate(photos, start=1)
    )


def photos_card(
    case_id: int,
    photos: Sequence[Mapping[str, Any]],
    *,
    evidence: Mapping[str, Any],
    lang: str,
) -> str:
    """The case's photos grouped by stage; for the handler, the before/after upload form.
    ``evidence``: ``needed``, ``missing`` (stages) and ``may_add`` for this user."""
    w = pick(TEXTS, lang)
    groups = []
    for stage in STAGES:
        mine = [p for p in photos if (p.get("stage") or "report") == stage]
        if mine:
            title = w[f"stage_{stage}"]
            groups.append(
                f'<h3>{esc(title)}</h3><div class="photos">{_thumbs(case_id, mine, title)}</div>'
            )
    shown = "".join(groups) or f'<p class="hint">{esc(w["no_photos"])}</p>'
    status = ""
    if evidence.get("needed"):
        missing = evidence.get("missing") or []
        lacking = "、".join(w["stage_" + s] for s in missing)
        status = (
            f'<p class="hint warn" data-testid="evidence-missing">'
            f"{esc(w['evidence_needed'].replace('{missing}', lacking))}</p>"
            if missing
            else f'<p class="hint" data-testid="evidence-complete">{esc(w["evidence_done"])}</p>'
        )
    form = ""
    if evidence.get("may_add"):
        options = "".join(
            f'<label class="choice"><input type="radio" name="stage" value="{s}"'
            f"{' checked' if s == ((evidence.get('missing') or ['after'])[0]) else ''}> "
            f"{esc(w['stage_' + s])}</label>"
            for s in ("before", "after")
        )
        form = f"""<form class="evidence" id="evidence-form" data-testid="evidence-form"
 enctype="multipart/form-data" novalidate>
<h3>{esc(w["evidence_title"])}</h3>
<fieldset><legend>{esc(w["stage"])}</legend>{options}</fieldset>
<label for="evidence-photos">{esc(w["files"])}</label>
<input id="evidence-photos" name="photos" type="file" accept="image/*" capture="environment"
 multiple required>
<label for="evidence-note">{esc(w["note"])}</label>
<textarea id="evidence-note" name="note" rows="2" maxlength="2000"></textarea>
<div class="error" role="alert" data-testid="evidence-error" hidden></div>
<p><button type="submit" class="btn secondary">{esc(w["upload"])}</button></p></form>"""
    return (
        f'<section class="card" data-testid="photos"><h2>{esc(w["photos"])}</h2>'
        f"{status}{shown}{form}</section>"
    )


def disclosure_card(disclosure: Mapping[str, Any] | None, *, lang: str) -> str:
    """The dispatcher's switch: may the handling unit see the reporters? ``disclosure`` is
    ``revealed`` and ``handler`` (None: not this user's decision, or no handler yet)."""
    if not disclosure:
        return ""
    w = pick(TEXTS, lang)
    revealed = bool(disclosure.get("revealed"))
    state = w["revealed" if revealed else "withheld"].replace(
        "{handler}", str(disclosure.get("handler") or "")
    )
    button = w["withhold" if revealed else "reveal"]
    return f"""<section class="card" data-testid="disclosure"><h2>{esc(w["reporters_title"])}</h2>
<p data-testid="disclosure-state" data-revealed="{str(revealed).lower()}">{esc(state)}</p>
<form class="disclosure" id="disclosure-form" data-reveal="{str(not revealed).lower()}" novalidate>
<label for="disclosure-note">{esc(w["reason"])}</label>
<textarea id="disclosure-note" name="note" rows="2" maxlength="2000" required></textarea>
<div class="error" role="alert" data-testid="disclosure-error" hidden></div>
<p><button type="submit" class="btn secondary" data-testid="disclosure-submit">
{esc(button)}</button></p></form></section>"""
