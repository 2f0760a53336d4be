"""A case's messages, for the staff who see the case: the case's visibility (``access``) is
incidents' to check, the messages and their delivery state are the outbox's."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, text

from accounts.service import Principal
from incidents import access
from incidents.exceptions import CaseNotFound
from notify.service import messages_of


def case_messages(conn: Connection, *, case_id: int, principal: Principal) -> list[dict[str, Any]]:
    """The messages case ``case_id`` caused and their delivery state (recipients masked);
    :class:`CaseNotFound` when ``principal`` may not see the case."""
    where, params = access.content_visibility(principal)
    seen = conn.execute(
        text(f"SELECT 1 FROM case_file c WHERE c.id = :id AND {where}"), {"id": case_id, **params}
    ).first()
    if seen is None:
        raise CaseNotFound(f"no case {case_id}")
    return messages_of(conn, case_id=case_id)
