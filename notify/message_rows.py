"""One outbox row: a template rendered for one channel and one stored address.

Every writer of ``notify_message`` rows (case events, followers, duty contacts, estate notices)
builds its rows here, so a row always has the same keys, an SMS that cannot be rendered is
stored dead with its reason instead of stopping the change that caused it, and only the
template's own variables are kept as the row's parameters. The caller seals the address
(residents' and contacts' addresses are sealed; a unit's inbox or a published office number is
not) and gives its masked form.
"""

from __future__ import annotations

import secrets
from typing import Any

from sqlalchemy import Connection, text

from notify import templates as tpl
from notify.exceptions import TemplateError
from shudi.pii import Cipher
from shudi.settings import Settings


def rendered(
    template: tpl.Template, params: dict[str, Any], *, channel: str, s: Settings,
    staff: bool = False,
) -> dict[str, str]:  # fmt: skip
    """``subject``, ``body``, ``state`` and ``error`` of ``template`` sent over ``channel``:
    an SMS fitted to the configured parts (``dead`` with the reason when it cannot be), else
    an e-mail or a staff message (``staff``: the staff wording)."""
    out = {"subject": "", "body": "", "state": "", "error": ""}
    if channel == "sms":
        try:
            out["body"] = tpl.render_sms(
                template, params, sign=s.notify_sms_sign_name,
                max_segments=s.notify_sms_max_segments,
            )  # fmt: skip
        except TemplateError as exc:  # an unrenderable message never stops the change
            out |= {"state": "dead", "error": str(exc)}
    elif staff:
        out["subject"], out["body"] = tpl.render_staff(template, params)
    else:
        out["subject"], out["body"] = tpl.render_email(template, params)
    return out


def used_params(template: tpl.Template, params: dict[str, Any]) -> dict[str, str]:
    """The template's own variables among ``params``, cleaned for storage."""
    return {k: tpl.clean(params[k]) for k in sorted(template.variables) if k in params}


def message_row(
    template: tpl.Template, params: dict[str, Any], *, channel: str, recipient: str,
    masked: str, digest: str, s: Settings, staff: bool = False,
) -> dict[str, Any]:  # fmt: skip
    """The outbox row telling ``recipient`` (stored as given) what ``template`` says."""
    return rendered(template, params, channel=channel, s=s, staff=staff) | {
        "key": secrets.token_hex(16),
        "channel": channel,
        "audience": template.audience,
        "template": template.name,
        "version": template.version,
        "urgent": template.urgent,
        "recipient": recipient,
        "masked": masked,
        "digest": digest,
        "params": used_params(template, params),
    }


def reseal_column(conn: Connection, *, cipher: Cipher, table: str, column: str,
                  where: str = "TRUE") -> int:  # fmt: skip
    """Seal ``table.recipient`` (sealed for ``column``) under the current key where it is
    not yet (key rotation); how many rows changed. ``table``/``where`` are the caller's
    constants, never input."""
    rows = conn.execute(text(f"SELECT id, recipient FROM {table} WHERE {where}")).all()
    stale = [r for r in rows if not cipher.is_current(r.recipient)]
    if stale:
        conn.execute(
            text(f"UPDATE {table} SET recipient = :r WHERE id = :i"),
            [{"i": r.id, "r": cipher.seal(cipher.open(r.recipient, column=column), column=column)}
             for r in stale],
        )  # fmt: skip
    return len(stale)
