"""The case page's action forms (``webmap.pages.case``): one form per workflow action the user
may take now, in three groups (primary, secondary, destructive), each field an input of the
kind the action needs. ``static/case.js`` sends them."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from webmap.pages.common import esc, label_in
from webmap.pages.track import ACTIONS

GROUPS: dict[str, tuple[str, str]] = {
    "primary": ("主要操作", "Next step"),
    "secondary": ("其他操作", "Other actions"),
    "destructive": ("需谨慎的操作", "Actions that cannot be undone easily"),
}


def field_input(name: str, w: Mapping[str, str], choices: Mapping[str, Any], required: bool) -> str:
    """The input of one field an action needs."""
    req = " required" if required else ""
    label = w.get("type_code" if name == "type" else name, w["field"])
    if name == "note":
        control = f'<textarea name="note" rows="2" maxlength="4000"{req}></textarea>'
    elif name == "public_reply":
        control = f'<textarea name="public_reply" rows="2" maxlength="1000"{req}></textarea>'
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


def _actionlabel_in(a: Mapping[str, Any], lang: str) -> str:
    name = str(a["action"])
    if lang == "en":
        return ACTIONS[name][1] if name in ACTIONS else name.replace("_", " ").capitalize()
    return str(a.get("summary") or label_in(ACTIONS, name, lang))


def action_form(
    a: Mapping[str, Any], w: Mapping[str, str], choices: Mapping[str, Any], lang: str
) -> str:
    requires = tuple(a.get("requires") or ())
    fields = [field_input(n, w, choices, True) for n in requires]
    if "note" not in requires:
        fields.append(field_input("note", w, choices, False))
    if a.get("public") and a["action"] not in ("rate", "dispute"):
        fields.append(field_input("public_reply", w, choices, False))
    weight = str(a.get("weight") or "secondary")
    cls = {"primary": "primary", "destructive": "danger"}.get(weight, "secondary")
    confirm = ' data-confirm="1"' if weight == "destructive" else ""
    return (
        f'<form class="action card" data-action="{esc(a["action"])}" data-weight="{esc(weight)}"'
        f'{confirm} data-testid="action-{esc(a["action"])}">{"".join(fields)}'
        f'<button type="submit" class="btn {cls}">{esc(_actionlabel_in(a, lang))}</button>'
        "</form>"
    )


def action_forms(
    actions: Sequence[Mapping[str, Any]],
    w: Mapping[str, str],
    choices: Mapping[str, Any],
    lang: str,
) -> str:
    """The allowed actions in three groups: primary (open), secondary, destructive (each
    asks for a confirmation before it is sent)."""
    if not actions:
        return f'<p class="hint">{esc(w["no_actions"])}</p>'
    out = []
    for group in ("primary", "secondary", "destructive"):
        forms = "".join(
            action_form(a, w, choices, lang)
            for a in actions
            if str(a.get("weight") or "secondary") == group
        )
        if forms:
            title = esc(label_in(GROUPS, group, lang))
            out.append(
                f'<section class="action-group {group}" data-testid="actions-{group}">'
                f"<h3>{title}</h3>{forms}</section>"
            )
    return "".join(out)
