"""Rate limits and bans: one autocommitted statement per report, before any work is done.

Counters are fixed windows in PostgreSQL (``rate_counter``, unlogged), so every worker and
every app server shares them. The statement runs outside the report's transaction: it holds
each counter row only for itself, never while the report is stored.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Any

import h3
from sqlalchemy import Connection, text

from abuse.exceptions import Banned, BanNotFound, InvalidBan, InvalidLimit, RateLimited
from abuse.models import BAN_KINDS
from abuse.schemas import MAX_BAN_DAYS
from shudi import windows
from shudi.pii import get_cipher

_PHONE_JUNK = re.compile(r"[\s\-().]")


class Limit(windows.Limit):
    """A report limit: a wrong spec is :class:`InvalidLimit`."""

    @classmethod
    def parse(
        cls, spec: str, *, error: type[Exception] = InvalidLimit, what: str = "rate limit"
    ) -> Limit | None:
        got = super().parse(spec, error=error, what=what)
        return cls(got.count, got.seconds) if got else None


@dataclass(frozen=True)
class Policy:
    """The limits on report submission (each None when off) and the map cell's H3 resolution."""

    per_ip: Limit | None
    per_phone: Limit | None
    per_cell: Limit | None
    cell_resolution: int = 10

    @classmethod
    def from_settings(cls, settings: Any) -> Policy:
        """The policy the settings describe (``SHUDI_REPORT_LIMIT_*``), parsed once."""
        return _policy(
            settings.report_limit_ip,
            settings.report_limit_phone,
            settings.report_limit_cell,
            settings.report_limit_cell_resolution,
        )


@lru_cache(maxsize=8)
def _policy(ip: str, phone: str, cell: str, resolution: int) -> Policy:
    return Policy(Limit.parse(ip), Limit.parse(phone), Limit.parse(cell), resolution)


_MAINLAND = re.compile(r"^(?:\+|00)?86(1[3-9]\d{9})$")


def normalize_phone(phone: str) -> str:
    """A phone number as compared, stored and hashed: digits and a leading ``+`` only, and a
    mainland mobile without its country code (``+86 138…``, ``0086138…`` and ``86138…`` are
    all ``138…``), so that no form of a number escapes its ban or its rate limit."""
    plain = _PHONE_JUNK.sub("", phone or "")
    mainland = _MAINLAND.match(plain)
    return mainland.group(1) if mainland else plain


CHECK = text("""
WITH seen AS (
  SELECT 1 FROM idempotency_key
  WHERE key = :idem AND scope = 'reports' AND created_at > now() - interval '24 hours'
), k AS (
  SELECT * FROM unnest(CAST(:keys AS text[]), CAST(:starts AS timestamptz[])) AS k(key, start)
  WHERE NOT EXISTS (SELECT 1 FROM seen)
  ORDER BY key
), counted AS (
  INSERT INTO rate_counter AS r (key, window_start, count)
  SELECT key, start, 1 FROM k
  ON CONFLICT (key, window_start) DO UPDATE SET count = r.count + 1
  RETURNING r.key, r.count
)
SELECT (SELECT json_object_agg(key, count) FROM counted) AS counts,
       (SELECT kind FROM ban
        WHERE ((kind = 'ip' AND value = :ip) OR (kind = 'phone' AND value = :phone))
          AND (expires_at IS NULL OR expires_at > now())
        ORDER BY kind = 'ip' DESC, id LIMIT 1) AS banned
""")


def check_report(
    conn: Connection,
    *,
    policy: Policy,
    ip: str | None,
    phone: str,
    lon: float,
    lat: float,
    type_code: str,
    idempotency_key: str | None,
    now: datetime | None = None,
) -> None:
    """Count one report against every limit; raise :class:`Banned` or :class:`RateLimited`.

    ``lon``/``lat`` are WGS-84 (store coordinates). A retry of a report already answered
    (same Idempotency-Key) is not counted again.
    """
    now = now or datetime.now(UTC)
    phone = normalize_phone(phone)
    limits: dict[str, tuple[Limit, datetime, int]] = {}
    wanted = (
        ("ip", ip, policy.per_ip),
        ("phone", phone or None, policy.per_phone),
        (
            "cell",
            f"{h3.latlng_to_cell(lat, lon, policy.cell_resolution)}:{type_code}",
            policy.per_cell,
        ),
    )
    cipher = get_cipher()
    for kind, value, limit in wanted:
        if value and limit:
            if kind == "phone":  # counters never hold the number itself
                value = cipher.digest(value, purpose="rate-limit phone")
            start, left = limit.window(now)
            limits[f"report:{kind}:{limit.seconds}:{value}"] = (limit, start, left)
    row = conn.execute(
        CHECK,
        {
            "idem": idempotency_key or "",
            "keys": list(limits),
            "starts": [s for _, s, _ in limits.values()],
            "ip": ip or "",
            "phone": phone,
        },
    ).one()
    over = [
        (key, left)
        for key, count in (row.counts or {}).items()
        for limit, _, left in [limits[key]]
        if count > limit.count
    ]
    # in the order of the checks one by one: the address's ban, its limit, the phone's ban,
    # the phone's and the map cell's limits
    address_over = [o for o in over if o[0].startswith("report:ip:")]
    if row.banned is not None and (row.banned == "ip" or not address_over):
        raise Banned(
            "reports from this address or phone number are not accepted; "
            "please call the 12345 hotline"
        )
    over = address_over or over
    if over:
        kinds = sorted({key.split(":")[1] for key, _ in over})
        wait = max(left for _, left in over)
        raise RateLimited(
            f"too many reports ({', '.join(kinds)}); try again in {wait} s",
            retry_after_s=wait,
            limits=kinds,
        )


def add_ban(
    conn: Connection,
    *,
    kind: str,
    value: str,
    reason: str,
    created_by: str = "",
    days: float | None = None,
) -> dict[str, Any]:
    """Refuse reports from an address or phone number (for ``days``, or until lifted)."""
    if kind not in BAN_KINDS:
        raise InvalidBan(f"a ban is on one of {', '.join(BAN_KINDS)}, not {kind!r}")
    value = normalize_phone(value) if kind == "phone" else value.strip()
    if not value:
        raise InvalidBan(f"the {kind} to ban is empty")
    if not reason.strip():
        raise InvalidBan("a ban needs a reason")
    if days is not None and not 0 < days <= MAX_BAN_DAYS:  # NaN too
        raise InvalidBan(f"a ban lasts a positive number of days, at most {MAX_BAN_DAYS}")
    expires = datetime.now(UTC) + timedelta(days=days) if days is not None else None
    row = conn.execute(
        text("""INSERT INTO ban (kind, value, reason, created_by, expires_at)
                VALUES (:k, :v, :r, :b, :e)
                RETURNING id, kind, value, reason, created_by, created_at, expires_at"""),
        {"k": kind, "v": value, "r": reason.strip(), "b": created_by, "e": expires},
    )
    return dict(row.mappings().one())


def list_bans(conn: Connection, *, include_expired: bool = False) -> list[dict[str, Any]]:
    """Bans in force (or all), newest first."""
    rows = conn.execute(
        text("""SELECT id, kind, value, reason, created_by, created_at, expires_at FROM ban
                WHERE CAST(:all AS boolean) OR expires_at IS NULL OR expires_at > now()
                ORDER BY id DESC"""),
        {"all": include_expired},
    )
    return [dict(r) for r in rows.mappings()]


def lift_ban(conn: Connection, *, ban_id: int) -> None:
    """Remove a ban."""
    if not conn.execute(text("DELETE FROM ban WHERE id = :i"), {"i": ban_id}).rowcount:
        raise BanNotFound(f"no ban {ban_id}")


def purge(conn: Connection, *, policy: Policy, now: datetime | None = None) -> int:
    """Forget the counters of windows that ended (a day's margin)."""
    longest = max(
        (lim.seconds for lim in (policy.per_ip, policy.per_phone, policy.per_cell) if lim),
        default=0,
    )
    return conn.execute(
        text("""DELETE FROM rate_counter
                WHERE window_start < CAST(:t AS timestamptz) - make_interval(secs => :keep)"""),
        {"t": now or datetime.now(UTC), "keep": longest + 86400},
    ).rowcount
