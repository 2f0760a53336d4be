"""The resident's 回访 survey (``/track/{code}/survey``): is the problem solved, how satisfied
(1–5), a comment — on a phone, Chinese first. Shows what ``incidents.followup.survey_state``
returns (no personal data)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from webmap.pages.common import (
    common_texts,
    esc,
    json_script,
    lang_switch,
    large_text_toggle,
    pick,
    plain_page,
    with_lang,
)
from webmap.pages.messages import error_texts

TEXTS: dict[str, tuple[str, str]] = {
    "title": ("回访问卷", "Follow-up survey"),
    "intro": (
        "您反映的问题已办结。请告诉我们问题是否真正解决、您是否满意。",
        "Your report has been resolved. Tell us whether the problem is really solved and how "
        "satisfied you are.",
    ),
    "code": ("查询码", "Tracking code"),
    "solved_q": ("问题解决了吗？", "Is the problem solved?"),
    "yes": ("已解决", "Solved"),
    "no": ("未解决", "Not solved"),
    "rating_q": ("您对办理结果满意吗？（1–5分）", "How satisfied are you? (1–5)"),
    "r1": ("1 很不满意", "1 very dissatisfied"),
    "r2": ("2 不满意", "2 dissatisfied"),
    "r3": ("3 一般", "3 neither"),
    "r4": ("4 满意", "4 satisfied"),
    "r5": ("5 很满意", "5 very satisfied"),
    "comment": ("意见或建议（选填）", "Comment (optional)"),
    "comment_needed": (
        "问题未解决时，请说明仍存在的情况，案件将重新办理。",
        "If it is not solved, say what is still wrong: the case will be reopened.",
    ),
    "send": ("提交", "Send"),
    "sending": ("正在提交…", "Sending…"),
    "choose_solved": ("请选择问题是否解决", "Say whether the problem is solved"),
    "thanks": ("感谢您的反馈！", "Thank you for your answer!"),
    "answered": ("您已填写过问卷：", "You have answered already:"),
    "not_open": (
        "案件办结后才能填写回访问卷。",
        "The survey opens once the case is resolved.",
    ),
    "solved": ("问题已解决", "Solved"),
    "unsolved": ("问题未解决，已重新办理", "Not solved: the case was reopened"),
    "rating": ("满意度", "Satisfaction"),
    "back": ("查看办理进度", "See the case's progress"),
}


def _answer(answer: Mapping[str, Any], w: Mapping[str, str]) -> str:
    said = w["solved"] if answer.get("resolved") else w["unsolved"]
    rating = (
        f"<li>{esc(w['rating'])}：{int(answer['satisfaction'])}/5</li>"
        if answer.get("satisfaction")
        else ""
    )
    comment = f"<li>{esc(answer['comment'])}</li>" if answer.get("comment") else ""
    return (
        f'<section class="card" data-testid="survey-answer"><p>{esc(w["answered"])}</p>'
        f"<ul><li>{esc(said)}</li>{rating}{comment}</ul></section>"
    )


def _form(w: Mapping[str, str]) -> str:
    ratings = "".join(
        f'<label class="choice"><input type="radio" name="satisfaction" value="{n}">'
        f"{esc(w[f'r{n}'])}</label>"
        for n in range(5, 0, -1)
    )
    return f"""<form id="survey-form" class="card" data-testid="survey-form">
<fieldset><legend>{esc(w["solved_q"])}</legend>
<label class="choice"><input type="radio" name="resolved" value="yes">{esc(w["yes"])}</label>
<label class="choice"><input type="radio" name="resolved" value="no">{esc(w["no"])}</label>
</fieldset>
<fieldset><legend>{esc(w["rating_q"])}</legend>{ratings}</fieldset>
<label for="survey-comment">{esc(w["comment"])}</label>
<p class="hint">{esc(w["comment_needed"])}</p>
<textarea id="survey-comment" name="comment" maxlength="2000" rows="3"></textarea>
<button type="submit" class="btn primary big">{esc(w["send"])}</button>
<div id="error" class="error" role="alert" hidden></div>
</form>"""


def render_survey(state: Mapping[str, Any], *, lang: str = "zh") -> str:
    """The survey page of one tracking code (``state`` from ``survey_state``)."""
    w = pick(TEXTS, lang) | common_texts(lang)
    code = str(state["code"])
    path = f"/track/{code}/survey"
    if state.get("answer"):
        main = _answer(state["answer"], w)
    elif state.get("open"):
        main = _form(w)
    else:
        main = (
            f'<section class="card" data-testid="survey-closed"><p>{esc(w["not_open"])}</p>'
            "</section>"
        )
    body = f"""<main>
<header class="sheet-head"><h1>{esc(w["title"])}</h1>
<span class="head-tools">{large_text_toggle(lang)}{lang_switch(path, lang)}</span></header>
<section class="card"><p>{esc(w["intro"])}</p>
<p class="hint">{esc(w["code"])}</p><p class="code">{esc(code)}</p></section>
{main}
<p><a href="{esc(with_lang(f"/track/{code}", lang))}">{esc(w["back"])}</a></p>
</main>
{json_script("shudi-config", {"code": code, "lang": lang, "t": w, "errors": error_texts(lang)})}"""
    return plain_page(lang=lang, title=f"{w['title']} · {code}", body=body,
                      scripts=["common", "survey"])  # fmt: skip
