"""The case page's 回访 card: what the resident said after resolution (survey answers and
return visits, apart from the workflow's status), the dispatcher's form for an open 回访 call,
and the rating exclusion (proposed by a dispatcher, reviewed by a town coordinator or an admin).
Renders what ``incidents.followup`` / ``incidents.followup_review`` return."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from webmap.pages.common import esc, fmt_time, pick

TEXTS: dict[str, tuple[str, str]] = {
    "fu_title": ("回访与满意度", "Follow-up and satisfaction"),
    "fu_none": ("暂无回访结果", "No follow-up answer yet"),
    "fu_survey": ("问卷", "Survey"),
    "fu_visit": ("电话回访", "Phone call"),
    "fu_unreached": ("未接通", "Not reached"),
    "fu_solved": ("群众称已解决", "Resident says solved"),
    "fu_unsolved": ("群众称未解决", "Resident says not solved"),
    "fu_score": ("满意度{n}分", "Satisfaction {n}/5"),
    "fu_call": ("记录回访结果", "Record the call"),
    "fu_reached_q": ("是否接通", "Reached?"),
    "fu_reached": ("已接通", "Reached"),
    "fu_solved_q": ("问题是否解决", "Is it solved?"),
    "fu_yes": ("已解决", "Solved"),
    "fu_no": ("未解决（将重新办理）", "Not solved (reopens)"),
    "fu_rating": ("满意度（1–5分，选填）", "Satisfaction (1–5, optional)"),
    "fu_comment": ("群众意见", "What the resident said"),
    "fu_save": ("保存回访结果", "Save the call"),
    "fu_exclusion": ("不计入满意度（不合理诉求）", "Leave out of the rates (unreasonable demand)"),
    "fu_reason": ("理由", "Reason"),
    "fu_propose": ("提请审核", "Propose"),
    "fu_approve": ("同意剔除", "Approve"),
    "fu_reject": ("不同意", "Reject"),
    "fu_review_note": ("审核意见", "Review note"),
    "ex_pending": ("待审核", "Awaiting review"),
    "ex_approved": ("已核准剔除", "Approved: left out"),
    "ex_rejected": ("未核准", "Rejected"),
    "fu_by": ("提请人", "Proposed by"),
    "fu_reviewer": ("审核人", "Reviewed by"),
}


def _answer(a: Mapping[str, Any], w: Mapping[str, str]) -> str:
    source = w["fu_survey"] if a["source"] == "survey" else w["fu_visit"]
    if not a["reached"]:
        said = w["fu_unreached"]
    else:
        said = w["fu_solved"] if a["resolved"] else w["fu_unsolved"]
        if a.get("satisfaction"):
            said += " · " + w["fu_score"].replace("{n}", str(int(a["satisfaction"])))
    comment = f"：{esc(a['comment'])}" if a.get("comment") else ""
    return (
        f'<li data-testid="followup-row"><time>{esc(fmt_time(a.get("created_at")))}</time> '
        f"{esc(source)} · {esc(said)}{comment}</li>"
    )


def _visit_form(task_id: int, w: Mapping[str, str]) -> str:
    ratings = "".join(
        f'<label><input type="radio" name="satisfaction" value="{n}">{n}</label>'
        for n in range(1, 6)
    )
    return f"""<form id="visit-form" data-task="{int(task_id)}" data-testid="visit-form">
<h3>{esc(w["fu_call"])}</h3>
<fieldset><legend>{esc(w["fu_reached_q"])}</legend>
<label><input type="radio" name="reached" value="yes" checked>{esc(w["fu_reached"])}</label>
<label><input type="radio" name="reached" value="no">{esc(w["fu_unreached"])}</label></fieldset>
<fieldset><legend>{esc(w["fu_solved_q"])}</legend>
<label><input type="radio" name="resolved" value="yes">{esc(w["fu_yes"])}</label>
<label><input type="radio" name="resolved" value="no">{esc(w["fu_no"])}</label></fieldset>
<fieldset><legend>{esc(w["fu_rating"])}</legend>{ratings}</fieldset>
<label>{esc(w["fu_comment"])}<textarea name="comment" maxlength="2000" rows="2"></textarea></label>
<button type="submit" class="btn primary">{esc(w["fu_save"])}</button>
<div class="error" role="alert" data-testid="visit-error" hidden></div></form>"""


def _exclusion(
    case_id: int, ex: Mapping[str, Any] | None, role: str, answered: bool, w: Mapping[str, str]
) -> str:
    if ex is not None and (ex["state"] != "rejected" or role != "dispatcher"):
        state = w[f"ex_{ex['state']}"]
        who = f"{w['fu_by']}：{ex['proposed_by']}"
        if ex.get("reviewed_by"):
            who += f" · {w['fu_reviewer']}：{ex['reviewed_by']}"
        review = ""
        if ex["state"] == "pending" and role in ("town_coordinator", "admin"):
            review = (
                f'<form id="exclusion-review" data-id="{int(ex["id"])}">'
                f'<label>{esc(w["fu_review_note"])}<input name="note" maxlength="2000"></label>'
                f'<button type="submit" class="btn primary" value="yes">{esc(w["fu_approve"])}'
                f'</button><button type="submit" class="btn secondary" value="no">'
                f"{esc(w['fu_reject'])}</button>"
                '<div class="error" role="alert" hidden></div></form>'
            )
        return (
            f'<h3>{esc(w["fu_exclusion"])}</h3><p data-testid="exclusion">{esc(state)} · '
            f"{esc(w['fu_reason'])}：{esc(ex['reason'])} · {esc(who)}</p>{review}"
        )
    if role != "dispatcher" or not answered:
        return ""
    return (
        f'<form id="exclusion-form" data-case="{int(case_id)}"><h3>{esc(w["fu_exclusion"])}</h3>'
        f'<label>{esc(w["fu_reason"])}<textarea name="reason" maxlength="2000" rows="2" required>'
        f'</textarea></label><button type="submit" class="btn secondary">{esc(w["fu_propose"])}'
        '</button><div class="error" role="alert" hidden></div></form>'
    )


def followup_card(
    *,
    case_id: int,
    answers: Sequence[Mapping[str, Any]],
    exclusion: Mapping[str, Any] | None,
    open_visit: int | None,
    role: str,
    lang: str,
) -> str:
    """The card (empty when there is nothing to show or do)."""
    if not answers and open_visit is None and exclusion is None:
        return ""
    w = pick(TEXTS, lang)
    rows = "".join(_answer(a, w) for a in answers) or f"<li>{esc(w['fu_none'])}</li>"
    form = _visit_form(open_visit, w) if open_visit is not None and role == "dispatcher" else ""
    answered = any(a["reached"] for a in answers)
    return (
        f'<section class="card" id="followup" data-testid="followup"><h2>{esc(w["fu_title"])}</h2>'
        f"<ul>{rows}</ul>{form}{_exclusion(case_id, exclusion, role, answered, w)}</section>"
    )
