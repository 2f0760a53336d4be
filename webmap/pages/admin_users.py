"""用户管理: every staff account with its role, scope and state; add one (role and scope
pickers: agency and unit, town, community, property company by its estates), disable or
enable, reset a password, change a role and scope. Forms go to ``/api/v1/users…``."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from webmap.pages.admin_shell import (
    agency_options,
    area_options,
    company_options,
    feedback,
    field,
    names,
    options,
    page,
    unit_options,
)
from webmap.pages.common import esc
from webmap.pages.nav import ROLE_NAMES

ROLES_NEEDING = {
    "agency": "agency_officer",
    "town_code": "town_coordinator",
    "community_code": "community_worker",
    "company": "property_company",
}


def scope_fields(choices: Mapping[str, Any], user: Mapping[str, Any] | None = None) -> str:
    """The role picker and the scope pickers each role uses (``admin.js`` shows only the
    chosen role's)."""
    u = user or {}
    role = options(((k, v[0]) for k, v in ROLE_NAMES.items()), u.get("role"), blank="（请选择）")
    return "".join(
        (
            field("角色", f'<select name="role" required>{role}</select>'),
            field(
                "部门",
                f'<select name="agency" data-null>{agency_options(choices, u.get("agency"))}'
                "</select>",
                attrs=' data-for-roles="agency_officer"',
            ),
            field(
                "辖区单位（派出所、中队等）",
                f'<select name="agency_unit" data-null>'
                f"{unit_options(choices, u.get('agency_unit'))}</select>",
                attrs=' data-for-roles="agency_officer"',
            ),
            field(
                "镇/街道",
                f'<select name="town_code" data-null>'
                f"{area_options(choices, 'town', u.get('town_code'))}</select>",
                attrs=' data-for-roles="town_coordinator"',
            ),
            field(
                "社区",
                f'<select name="community_code" data-null>'
                f"{area_options(choices, 'community', u.get('community_code'))}</select>",
                attrs=' data-for-roles="community_worker"',
            ),
            field(
                "物业企业（按所管小区）",
                f'<select name="company" data-null>'
                f"{company_options(choices, u.get('company'))}</select>",
                attrs=' data-for-roles="property_company"',
            ),
        )
    )


def _scope_text(u: Mapping[str, Any], by_code: Mapping[str, str]) -> str:
    parts = []
    if u.get("agency"):
        parts.append(by_code.get(f"agency:{u['agency']}", u["agency"]))
    if u.get("agency_unit"):
        parts.append(by_code.get(f"agency_unit:{u['agency_unit']}", u["agency_unit"]))
    if u.get("town_code"):
        parts.append(by_code.get(f"town:{u['town_code']}", u["town_code"]))
    if u.get("community_code"):
        parts.append(by_code.get(f"community:{u['community_code']}", u["community_code"]))
    if u.get("company"):
        parts.append(str(u["company"]))
    return " · ".join(parts) or "全区"


def _row(u: Mapping[str, Any], choices: Mapping[str, Any], me: str) -> str:
    name = esc(u["username"])
    hidden = f'<input type="hidden" name="username" value="{name}">'
    active = bool(u["active"])
    toggle = (
        f'<form data-api="/api/v1/users/{{username}}/{"disable" if active else "enable"}" '
        f'data-confirm="{"确定停用该账号？其所有登录会话将立即结束。" if active else ""}">'
        f'{hidden}<button class="btn {"danger" if active else "secondary"}" type="submit" '
        f'data-action="{"disable" if active else "enable"}">{"停用" if active else "启用"}'
        f"</button>{feedback()}</form>"
    )
    if u["username"] == me:
        toggle = '<span class="hint">（当前登录账号）</span>'
    reset = (
        '<details><summary>重置密码</summary><form data-api="/api/v1/users/{username}/password" '
        f'data-then="password">{hidden}'
        + field(
            "新密码",
            '<input name="password" type="password" autocomplete="new-password" data-null>',
            hint="留空则随机生成",
        )
        + f'<button class="btn secondary" type="submit">重置</button>{feedback()}</form></details>'
    )
    change = f'<a href="/admin/users?edit={name}#edit" data-action="edit">修改角色与范围</a>'
    role = ROLE_NAMES.get(str(u["role"]), (str(u["role"]),))[0]
    return (
        f'<tr data-testid="user-row" data-username="{name}" data-active="{str(active).lower()}"'
        f"{'' if active else ' class=inactive'}>"
        f'<td translate="no">{name}</td><td translate="no">{esc(u.get("display_name") or "")}</td>'
        f"<td>{esc(role)}</td><td>{esc(_scope_text(u, names(choices)))}</td>"
        f"<td>{'在用' if active else '已停用'}</td><td class='num'>{esc(u['sessions'])}</td>"
        f'<td><div class="row-actions">{toggle}{reset}{change}</div></td></tr>'
    )


def _edit(u: Mapping[str, Any], choices: Mapping[str, Any]) -> str:
    """The form changing one user's role and scope (one at a time: the pickers are long)."""
    name = esc(u["username"])
    return (
        f'<section class="card" id="edit"><h2>修改 <span translate="no">{name}</span> 的角色与范围'
        '</h2><p class="hint">保存后该用户的登录会话结束，重新登录即按新的角色与范围工作。</p>'
        '<form data-api="/api/v1/users/{username}/access" data-method="PUT" data-scope '
        f'data-testid="edit-user"><input type="hidden" name="username" value="{name}">'
        f'<div class="form-grid">{scope_fields(choices, u)}</div>'
        '<button class="btn primary" type="submit">保存</button> '
        f'<a class="btn secondary" href="/admin/users">取消</a>{feedback()}</form></section>'
    )


def render_users(
    users: Sequence[Mapping[str, Any]],
    *,
    choices: Mapping[str, Any],
    user: Mapping[str, Any],
    edit: str | None = None,
) -> str:
    """The user list, the form to add one, and the role form of the user being edited."""
    rows = "".join(_row(u, choices, str(user.get("username"))) for u in users)
    editing = next((_edit(u, choices) for u in users if u["username"] == edit), "")
    add = (
        '<section class="card"><h2>新增用户</h2>'
        '<form data-api="/api/v1/users" data-then="password" data-scope data-testid="add-user">'
        '<div class="form-grid">'
        + field("用户名", '<input name="username" required autocomplete="off" translate="no">')
        + field("姓名", '<input name="display_name" autocomplete="off">')
        + field(
            "初始密码",
            '<input name="password" type="password" autocomplete="new-password" data-null>',
            hint="至少 8 位（管理员 12 位），不能是常见密码；留空则随机生成",
        )
        + scope_fields(choices)
        + '</div><button class="btn primary" type="submit">新增</button>'
        + feedback()
        + "</form></section>"
    )
    table = (
        '<div class="table-wrap"><table class="list" data-testid="users"><thead><tr>'
        "<th>用户名</th><th>姓名</th><th>角色</th><th>范围</th><th>状态</th><th>在线会话</th>"
        f"<th>操作</th></tr></thead><tbody>{rows}</tbody></table></div>"
    )
    return page(
        user=user,
        current="users",
        title="用户管理",
        body=editing
        + add
        + '<p class="hint">所有变更记入审计日志（操作人与请求编号）。</p>'
        + table,
    )
