"""封禁管理: the phone numbers and addresses whose reports are refused; add one with a reason
(and a duration), lift one. Forms go to ``/api/v1/bans``."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from webmap.pages.admin_shell import feedback, field, options, page, when
from webmap.pages.common import esc

KINDS = {"phone": "手机号", "ip": "IP 地址"}


def render_bans(bans: Sequence[Mapping[str, Any]], *, user: Mapping[str, Any]) -> str:
    """The bans in force and the form to add one."""
    rows = ""
    for b in bans:
        lift = (
            f'<form data-api="/api/v1/bans/{int(b["id"])}" data-method="DELETE" '
            'data-confirm="确定解除该封禁？">'
            f'<button class="btn secondary" type="submit" data-action="lift">解除</button>'
            f"{feedback()}</form>"
        )
        rows += (
            f'<tr data-testid="ban-row" data-ban-id="{int(b["id"])}">'
            f"<td>{esc(KINDS.get(b['kind'], b['kind']))}</td>"
            f'<td translate="no">{esc(b["value"])}</td><td>{esc(b["reason"])}</td>'
            f'<td translate="no">{esc(b["created_by"])}</td><td>{esc(when(b["created_at"]))}</td>'
            f"<td>{esc(when(b['expires_at'])) if b['expires_at'] else '解除前一直有效'}</td>"
            f"<td>{lift}</td></tr>"
        )
    table = (
        '<div class="table-wrap"><table class="list" data-testid="bans"><thead><tr>'
        "<th>类型</th><th>号码或地址</th><th>原因</th><th>设置人</th><th>设置时间</th>"
        f"<th>到期</th><th>操作</th></tr></thead><tbody>{rows}</tbody></table></div>"
        if bans
        else '<p class="hint" data-testid="no-bans">目前没有生效的封禁。</p>'
    )
    add = (
        '<section class="card"><h2>新增封禁</h2>'
        '<form data-api="/api/v1/bans"><div class="form-grid">'
        + field("类型", f'<select name="kind" required>{options(KINDS.items())}</select>')
        + field("手机号或 IP 地址", '<input name="value" required autocomplete="off">')
        + field("原因", '<input name="reason" required>')
        + field(
            "天数",
            '<input name="days" type="number" min="1" max="36500" step="1" data-number>',
            hint="留空则解除前一直有效",
        )
        + f'</div><button class="btn primary" type="submit">封禁</button>{feedback()}</form>'
        "</section>"
    )
    body = (
        '<p class="hint">被封禁的手机号或 IP 地址不能再提交上报；封禁和解除均记入审计日志。</p>'
        + table
        + add
    )
    return page(user=user, current="bans", title="封禁管理", body=body)
