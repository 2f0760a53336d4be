"""吹哨报到 on the staff pages: the case page's card of the called units' response clocks (with
the "I have arrived" button for the called unit and the town's 1–5 rating), the texts of the
dispatch map's badges and of the work list's clock. The data are ``incidents.report_in``'s
clocks, handed in by ``api/pages.py``; ``static/report_in.js`` sends the arrival (with the
browser's geolocation) and the rating to the API."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from webmap.pages.common import esc, fmt_time, pick

TEXTS: dict[str, tuple[str, str]] = {
    "ri_title": ("吹哨报到", "Joint call: report-in"),
    "ri_unit": ("参与单位", "Unit"),
    "ri_due": ("报到时限", "Report in by"),
    "ri_complete": ("完成时限", "Complete by"),
    "ri_reported": ("报到时间", "Reported in"),
    "ri_state_waiting": ("待报到", "Not yet reported in"),
    "ri_state_overdue": ("报到超时未到", "Overdue: not reported in"),
    "ri_state_on_time": ("按时报到", "Reported in on time"),
    "ri_state_late": ("超时报到", "Reported in late"),
    "ri_button": ("我已到场，报到", "I am on site: report in"),
    "ri_locating": ("正在获取手机位置…", "Getting the phone's location…"),
    "ri_no_geo": (
        "无法获取位置：请允许浏览器使用定位后重试",
        "No location: allow the browser to use your location and try again",
    ),
    "ri_too_far": (
        "您距离案件地点约 {d} 米，超出允许的 {tol} 米，请到达现场后再报到",
        "You are about {d} m from the case's place, more than the {tol} m allowed: report in "
        "once on site",
    ),
    "ri_vague": (
        "定位精度为 {a} 米，超过允许的 {tol} 米，请打开卫星定位或到室外后重试",
        "The location is only accurate to {a} m (more than {tol} m): turn on GPS or go outside",
    ),
    "ri_done": ("已报到", "Reported in"),
    "ri_rating": ("响应评分", "Response rating"),
    "ri_rate": ("评分", "Rate"),
    "ri_rated": ("已评分", "Rated"),
    "ri_note": ("评语（可选）", "Comment (optional)"),
    "ri_badge": ("报到超时", "Report-in late"),
    "ri_overdue_badge": ("联合执法超期未完成", "Joint task overdue"),
    "ri_clock": ("报到时限", "Report in by"),
}


def texts(lang: str) -> dict[str, str]:
    return pick(TEXTS, lang)


def report_in_card(
    clocks: Sequence[Mapping[str, Any]], *, agencies: Mapping[str, str], lang: str = "zh"
) -> str:
    """The card of a case's response clocks (empty when nobody was called)."""
    if not clocks:
        return ""
    w = texts(lang)
    rows = []
    for c in clocks:
        st = str(c["state"])
        warn = st in ("overdue", "late")
        unit = f"{agencies.get(str(c['party']), str(c['party']))} {c.get('unit_name') or ''}"
        action = ""
        if c.get("may_report_in"):
            action = (
                f'<button type="button" class="btn" data-testid="report-in" '
                f'data-task="{esc(c["task_id"])}">{esc(w["ri_button"])}</button>'
            )
        rating = ""
        if c.get("rating"):
            rating = f"<p>{esc(w['ri_rated'])}：{'★' * int(c['rating'])}</p>"
        if c.get("may_rate"):
            options = "".join(
                f'<option value="{n}"{" selected" if c.get("rating") == n else ""}>{n}</option>'
                for n in range(5, 0, -1)
            )
            rating += (
                f'<form class="rate-response row" data-task="{esc(c["task_id"])}" '
                f'data-testid="rate-{esc(c["task_id"])}"><label>{esc(w["ri_rating"])} '
                f'<select name="rating">{options}</select></label>'
                f'<input name="note" maxlength="200" placeholder="{esc(w["ri_note"])}" '
                f'aria-label="{esc(w["ri_note"])}">'
                f'<button type="submit" class="btn secondary">{esc(w["ri_rate"])}</button></form>'
            )
        reported = (
            f"<dt>{esc(w['ri_reported'])}</dt><dd>{esc(fmt_time(c.get('reported_at')))}</dd>"
            if c.get("reported_at")
            else ""
        )
        rows.append(
            f'<li class="report-in card{" late" if warn else ""}" data-testid="clock" '
            f'data-state="{esc(st)}" data-party="{esc(c["party"])}"><h3>{esc(unit.strip())} '
            f'<span class="badge{" late" if warn else ""}">{esc(w["ri_state_" + st])}</span></h3>'
            f'<dl class="facts"><dt>{esc(w["ri_due"])}</dt>'
            f"<dd>{esc(fmt_time(c['report_due_at']))}</dd>"
            f"<dt>{esc(w['ri_complete'])}</dt><dd>{esc(fmt_time(c['complete_due_at']))}</dd>"
            f"{reported}</dl>{action}{rating}</li>"
        )
    return (
        f'<section class="card" data-testid="report-ins"><h2>{esc(w["ri_title"])}</h2>'
        f'<div id="report-in-msg" class="error" role="alert" data-testid="report-in-error" '
        f'hidden></div><ul class="report-ins">{"".join(rows)}</ul></section>'
    )


def report_in_clock(clocks: Sequence[Mapping[str, Any]], lang: str = "zh") -> str:
    """The work list's line for a unit's open joint tasks on a case: when it must report in
    (or that it did), late ones marked."""
    w = texts(lang)
    parts = []
    for c in clocks:
        st = str(c["state"])
        warn = st in ("overdue", "late")
        when = fmt_time(c["reported_at"] if c.get("reported_at") else c["report_due_at"])
        label = w["ri_reported"] if c.get("reported_at") else w["ri_clock"]
        parts.append(
            f'<span class="wi-report-in{" warn" if warn else ""}" data-testid="report-in-clock" '
            f'data-state="{esc(st)}">{esc(w["ri_title"])} · {esc(label)}：{esc(when)} '
            f'<span class="badge{" late" if warn else ""}">{esc(w["ri_state_" + st])}</span>'
            "</span>"
        )
    return "".join(parts)
