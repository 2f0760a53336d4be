"""联系人: the contacts each unit publishes per area (三（二）: every party's contact for each
town, community and estate); choose an area, see its contacts, add, edit or remove one.
Forms go to ``/api/v1/contacts``."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from webmap.pages.admin_shell import (
    LAYER_NAMES,
    agency_options,
    feedback,
    field,
    names,
    page,
    when,
)
from webmap.pages.common import esc

PICKED_LAYERS = ("town", "community", "property_area", "agency_unit")


def _area_picker(choices: Mapping[str, Any], area: str, counts: Mapping[str, int]) -> str:
    by_code = names(choices)
    groups = [f'<option value=":"{" selected" if area == ":" else ""}>全区（各部门总机）</option>']
    for layer in PICKED_LAYERS:
        opts = ""
        for a in choices["areas"].get(layer, []):
            key = f"{layer}:{a['code']}"
            parent = {"community": "town", "property_area": "community"}.get(layer)
            label = a["name"]
            if parent and a.get("parent_code"):
                above = by_code.get(parent + ":" + a["parent_code"], "")
                label = f"{above} · {label}"
            n = counts.get(key, 0)
            mark = " selected" if key == area else ""
            opts += f'<option value="{esc(key)}"{mark}>{esc(label)}（{n} 个联系人）</option>'
        groups.append(f'<optgroup label="{esc(LAYER_NAMES[layer])}">{opts}</optgroup>')
    return (
        '<label class="field"><span>区域</span>'
        f'<select id="area-picker" data-testid="area-picker">{"".join(groups)}</select></label>'
    )


def _contact_form(
    choices: Mapping[str, Any], layer: str, code: str, c: Mapping[str, Any] | None = None
) -> str:
    c = c or {}
    value = lambda k: esc(c.get(k) or "")  # noqa: E731
    return (
        '<form data-api="/api/v1/contacts" data-method="PUT">'
        f'<input type="hidden" name="scope_layer" value="{esc(layer)}">'
        f'<input type="hidden" name="scope_code" value="{esc(code)}">'
        '<div class="form-grid">'
        + (
            f'<input type="hidden" name="agency" value="{value("agency")}">'
            f'<input type="hidden" name="kind" value="{value("kind")}">'
            if c
            else field("部门", f'<select name="agency" required>{agency_options(choices)}</select>')
            + field("类别", '<input name="kind">', hint="仅公用事业单位填写，如供水、供电")
        )
        + field("办公地点", f'<input name="office" value="{value("office")}">')
        + field("联系人", f'<input name="person" required value="{value("person")}">')
        + field("电话", f'<input name="phone" required inputmode="tel" value="{value("phone")}">')
        + field("办公时间", f'<input name="hours" value="{value("hours")}">')
        + f'</div><button class="btn {"secondary" if c else "primary"}" type="submit">'
        f"{'保存' if c else '添加'}</button>{feedback()}</form>"
    )


def render_contacts(
    contacts: Sequence[Mapping[str, Any]],
    *,
    choices: Mapping[str, Any],
    counts: Mapping[str, int],
    area: str,
    user: Mapping[str, Any],
) -> str:
    """The area picker, the chosen area's contacts (edit, remove) and the form to add one."""
    layer, _, code = area.partition(":")
    where = names(choices).get(area, "全区") if layer else "全区"
    rows = ""
    for c in contacts:
        remove = (
            f'<form data-api="/api/v1/contacts/{int(c["id"])}" data-method="DELETE" '
            'data-confirm="确定删除该联系人？">'
            f'<button class="btn danger" type="submit">删除</button>{feedback()}</form>'
        )
        edit = f"<details><summary>编辑</summary>{_contact_form(choices, layer, code, c)}</details>"
        rows += (
            f'<tr data-testid="contact-row" data-agency="{esc(c["agency"])}">'
            f"<td>{esc(c['agency_name'])}</td><td>{esc(c['kind'] or '—')}</td>"
            f"<td>{esc(c['office'])}</td><td>{esc(c['person'])}</td>"
            f'<td translate="no">{esc(c["phone"])}</td><td>{esc(c["hours"])}</td>'
            f"<td>{esc(when(c['updated_at']))}</td>"
            f'<td><div class="row-actions">{edit}{remove}</div></td></tr>'
        )
    empty = '<p class="hint">该区域尚未公布联系人：将由上一级区域的联系人答复。</p>'
    table = (
        '<div class="table-wrap"><table class="list" data-testid="contacts"><thead><tr>'
        "<th>部门</th><th>类别</th><th>办公地点</th><th>联系人</th><th>电话</th><th>办公时间</th>"
        f"<th>更新时间</th><th>操作</th></tr></thead><tbody>{rows}</tbody></table></div>"
    )
    body = (
        _area_picker(choices, area, counts)
        + f'<h2 data-testid="area-name">{esc(LAYER_NAMES[layer])} · {esc(where)}</h2>'
        + (table if contacts else empty)
        + f'<section class="card"><h2>添加联系人</h2>{_contact_form(choices, layer, code)}'
        "</section>"
    )
    return page(user=user, current="contacts", title="联系人", body=body)
