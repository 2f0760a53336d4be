"""Log-in throttling: too many failed log-ins for one account, or from one address, within a
window and further log-ins are refused — even with the right password — until the oldest
failure counted leaves the window.

Failures are rows of ``login_failure`` (shared by every worker and server). The user name is
compared as typed, lower-cased, so that guessing at a name that does not exist is throttled
the same way (and answers the same).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection, text

from accounts.exceptions import LoginThrottled


@dataclass(frozen=True)
class LoginPolicy:
    """At most ``per_account`` failures per user name and ``per_address`` per client address
    in any ``window_s`` seconds (0: no limit)."""

    per_account: int = 5
    per_address: int = 20
    window_s: int = 900


RECENT = text("""
SELECT count(*) AS n,
       ceil(extract(epoch FROM min(at) + make_interval(secs => :w) - now()))::int AS wait
FROM (SELECT at FROM login_failure
      WHERE {column} = :v AND at > now() - make_interval(secs => :w)
      ORDER BY at DESC LIMIT :n) recent
""")


def check_login(conn: Connection, *, username: str, address: str, policy: LoginPolicy) -> None:
    """Raise :class:`LoginThrottled` when the account or the address has failed too often."""
    for column, value, limit, what in (
        ("username", username.strip().lower(), policy.per_account, "this account"),
        ("address", address, policy.per_address, "this address"),
    ):
        if limit <= 0 or not value:
            continue
        row = conn.execute(
            text(RECENT.text.format(column=column)),
            {"v": value, "w": policy.window_s, "n": limit},
        ).one()
        if row.n >= limit:
            wait = max(1, int(row.wait or 1))
            raise LoginThrottled(
                f"too many failed log-ins for {what}; try again in {wait} s",
                retry_after_s=wait,
            )


def record_failure(conn: Connection, *, username: str, address: str) -> None:
    """Remember one failed log-in (and forget those older than a day)."""
    conn.execute(
        text("INSERT INTO login_failure (username, address) VALUES (:u, :a)"),
        {"u": username.strip().lower()[:200], "a": address},
    )
    conn.execute(text("DELETE FROM login_failure WHERE at < now() - interval '1 day'"))


def clear_account(conn: Connection, *, username: str) -> None:
    """Forget an account's failures (after a successful log-in or a password reset)."""
    conn.execute(
        text("DELETE FROM login_failure WHERE username = :u"), {"u": username.strip().lower()}
    )
