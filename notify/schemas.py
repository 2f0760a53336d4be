"""Response shapes of the notification API."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel


class MessageOut(BaseModel):
    """One message of a case as staff see it: the recipient masked."""

    id: int
    key: str
    channel: str
    audience: str
    template: str
    template_version: int
    urgent: bool
    recipient: str
    subject: str
    body: str
    state: str
    attempts: int
    last_error: str
    transport: str
    created_at: datetime
    next_attempt_at: datetime
    sent_at: datetime | None


class CountOut(BaseModel):
    state: str
    channel: str
    n: int


class StatusOut(BaseModel):
    """The outbox at a glance (admins, dispatchers): counts, backlog age, dead letters."""

    counts: list[CountOut]
    oldest_pending_s: float | None
    dead: list[dict]


class OptOutOut(BaseModel):
    addresses: int
