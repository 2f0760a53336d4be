"""Units' duty contacts (督办): the e-mail boxes and mobiles of an agency, one of its field
units, a town or a community, to which deadline reminders and joint-enforcement report-in
reminders go beside the work-notice channel (DingTalk / WeCom / webhook).

A contact belongs to a ``party`` (agency code) and a ``unit_code`` ('' for the agency as a
whole, e.g. 区物价局 which has no field units); a message to ``party/unit`` reaches the contacts
of exactly that unit. Addresses are sealed (shudi.pii) with a masked form and a keyed digest, as
residents' are: staff views and logs show only the masked form. This module owns the writes to
``notify_unit_contact``.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, text

from notify import templates as tpl
from notify.exceptions import FollowError, UnitContactNotFound
from notify.follow import parse_contact
from notify.message_rows import message_row, reseal_column
from shudi.pii import Cipher, get_cipher
from shudi.settings import Settings

COLUMN = "notify_recipient"


def add_contact(
    conn: Connection, *, party: str, unit_code: str = "", label: str = "", contact: str
) -> dict[str, Any]:
    """Register a duty contact (a mobile or an e-mail) of a unit; adding it twice is once."""
    party, unit_code = party.strip(), unit_code.strip()
    known = conn.execute(text("SELECT 1 FROM agency WHERE code = :p"), {"p": party}).first()
    if known is None:
        raise FollowError(f"没有编码为 {party} 的单位 (no agency {party!r})")
    channel, address, masked = parse_contact(contact)
    cipher = get_cipher()
    row = conn.execute(
        text("""INSERT INTO notify_unit_contact (party, unit_code, label, channel, recipient,
                    recipient_masked, recipient_digest)
                VALUES (:p, :u, :l, :ch, :r, :m, :d)
                ON CONFLICT (party, unit_code, recipient_digest) DO UPDATE SET label = :l
                RETURNING id"""),
        {"p": party, "u": unit_code, "l": label.strip(), "ch": channel,
         "r": cipher.seal(address, column=COLUMN), "m": masked,
         "d": cipher.digest(address, purpose="notify")},
    ).scalar_one()  # fmt: skip
    return {"id": int(row), "party": party, "unit_code": unit_code, "label": label.strip(),
            "channel": channel, "recipient": masked}  # fmt: skip


def list_contacts(conn: Connection, *, party: str | None = None) -> list[dict[str, Any]]:
    """The duty contacts (masked), of one agency or all."""
    rows = conn.execute(
        text("""SELECT id, party, unit_code, label, channel, recipient_masked AS recipient
                FROM notify_unit_contact WHERE CAST(:p AS text) IS NULL OR party = :p
                ORDER BY party, unit_code, id"""),
        {"p": party},
    )
    return [dict(r) for r in rows.mappings()]


def remove_contact(conn: Connection, *, contact_id: int) -> None:
    gone = conn.execute(text("DELETE FROM notify_unit_contact WHERE id = :i"), {"i": contact_id})
    if not gone.rowcount:
        raise UnitContactNotFound(f"no unit contact {contact_id}")


def rows_for(
    conn: Connection, *, targets: list[tuple[str, str]], template: tpl.Template,
    params: dict[str, Any], s: Settings, cipher: Cipher,
) -> list[dict[str, Any]]:  # fmt: skip
    """Outbox rows (SMS or e-mail) telling the duty contacts of each ``party/unit`` target,
    with the target's label as ``unit``; [] for units without contacts."""
    wanted = [t.split("/", 1) for t, _ in targets]
    if not wanted:
        return []
    found = conn.execute(
        text("""SELECT party, unit_code, label, channel, recipient, recipient_masked,
                       recipient_digest
                FROM notify_unit_contact
                WHERE (party, unit_code) IN (SELECT * FROM unnest(CAST(:p AS text[]),
                                                                  CAST(:u AS text[])))
                ORDER BY id"""),
        {"p": [p for p, _ in wanted], "u": [u for _, u in wanted]},
    ).mappings()
    labels = {tuple(t.split("/", 1)): label for t, label in targets}
    rows = []
    for c in found:
        p = params | {"unit": labels.get((c["party"], c["unit_code"]), c["label"])}
        rows.append(message_row(
            template, p, channel=c["channel"], recipient=c["recipient"],  # sealed already
            masked=f"{c['label'] or p['unit']} {c['recipient_masked']}".strip(),
            digest=c["recipient_digest"], s=s, staff=True,
        ) | {"audience": "staff"})  # fmt: skip
    return rows


def reseal(conn: Connection, *, cipher: Cipher) -> int:
    """Seal the contacts' addresses under the current key (key rotation); a count."""
    return reseal_column(conn, cipher=cipher, table="notify_unit_contact", column=COLUMN)
