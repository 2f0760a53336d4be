"""The sender: claims due messages (``FOR UPDATE SKIP LOCKED``, so several senders can run),
delivers each through its channel's transport, and records the outcome in the same
transaction. A crash between sending and that commit leaves the message pending: it is sent
again with the same idempotency key (at-least-once; the channel drops the repeat where it
honours the key).

Residents get no non-urgent SMS in quiet hours (Beijing time) and at most
``notify_rate_per_hour`` messages an hour per address: such messages wait, they are not
dropped. Failures are retried with exponential back-off; after ``notify_max_attempts`` (or at
once when the channel says retrying cannot help) a message is dead until ``shudi notify
retry``.
"""

from __future__ import annotations

import logging
import random
import re
import threading
import time as time_module
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, time, timedelta
from typing import Any

from sqlalchemy import Connection, Engine, bindparam, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.exc import SQLAlchemyError

from notify import events
from notify.channels import AliyunSms, DingTalk, FileSink, Outgoing, Smtp, Transport, Webhook
from notify.digest import DailyDigest
from notify.exceptions import ChannelConfigError, ChannelError
from notify.hotline import HotlineCallback
from notify.service import BEIJING, RECIPIENT_COLUMN
from shudi.pii import get_cipher
from shudi.settings import Settings, get_settings

log = logging.getLogger("shudi.notify")
#: Messages claimed per transaction, and sent at once (each channel's connections reused).
BATCH = 200
WORKERS = 8
MAX_BACKOFF_S = 3600.0
_DIGITS = re.compile(r"\d{7,}")

CLAIM = text("""SELECT id, key, channel, audience, template, urgent, recipient,
    recipient_masked, recipient_digest, subject, body, params, attempts
  FROM notify_message WHERE state = 'pending' AND next_attempt_at <= :now
  ORDER BY next_attempt_at, id LIMIT :n FOR UPDATE SKIP LOCKED""")
OPTED = text("SELECT recipient_digest FROM notify_optout WHERE recipient_digest = ANY(:d)")
RECENT = text("""SELECT recipient_digest, sent_at FROM (
    SELECT recipient_digest, sent_at,
           row_number() OVER (PARTITION BY recipient_digest ORDER BY sent_at DESC) AS n
      FROM notify_message WHERE state = 'sent' AND recipient_digest = ANY(:d)
       AND sent_at > :since) r
  WHERE n <= :cap ORDER BY recipient_digest, sent_at DESC""")
MARK_SENT = text("""UPDATE notify_message m SET state = 'sent', attempts = r.attempts,
    sent_at = :now, transport = r.transport, last_error = ''
  FROM jsonb_to_recordset(:rows) AS r(id bigint, attempts int, transport text)
  WHERE m.id = r.id""").bindparams(bindparam("rows", type_=JSONB))
SUPPRESS = text("""UPDATE notify_message SET state = 'suppressed', last_error = 'opted out'
  WHERE id = ANY(:ids)""")
DEFER = text("UPDATE notify_message SET next_attempt_at = :at WHERE id = :id")


def transports_for(settings: Settings) -> dict[str, Transport]:
    """The transport of each channel: its own when configured, else the webhook, else the
    file sink."""
    sink: Transport = FileSink(
        settings.notify_sink or settings.home.resolve() / "notify-sink.jsonl"
    )
    fallback: Transport = sink
    if settings.notify_webhook_url:
        fallback = Webhook(settings.notify_webhook_url, settings.notify_webhook_secret)
    out: dict[str, Transport] = {"sms": fallback, "email": fallback, "staff": fallback}
    if settings.notify_smtp_url:
        out["email"] = Smtp(
            settings.notify_smtp_url, settings.notify_smtp_from, settings.notify_smtp_ca_file
        )
    if settings.notify_sms_access_key_id:
        if not settings.notify_sms_access_key_secret:
            raise ChannelConfigError("SHUDI_NOTIFY_SMS_ACCESS_KEY_ID needs its secret")
        out["sms"] = AliyunSms(
            key_id=settings.notify_sms_access_key_id,
            secret=settings.notify_sms_access_key_secret,
            endpoint=settings.notify_sms_endpoint,
            sign_name=settings.notify_sms_sign_name,
            templates=settings.notify_sms_templates,
        )
    if settings.notify_dingtalk_url:
        out["staff"] = DingTalk(settings.notify_dingtalk_url, settings.notify_dingtalk_secret)
    out["hotline"] = sink  # the 12345 platform's callbacks (notify/hotline.py)
    if settings.hotline_callback_url:
        out["hotline"] = HotlineCallback(
            settings.hotline_callback_url, settings.hotline_callback_secret
        )
    return out


def quiet_window(spec: str) -> tuple[time, time] | None:
    """``22:00-08:00`` as two times (``off``: None)."""
    if spec.strip().lower() in ("", "off", "none"):
        return None
    try:
        start, end = (time.fromisoformat(p.strip()) for p in spec.split("-"))
    except ValueError as exc:
        raise ChannelConfigError("SHUDI_NOTIFY_QUIET_HOURS is HH:MM-HH:MM or off") from exc
    return start, end


def quiet_until(now: datetime, window: tuple[time, time] | None) -> datetime | None:
    """When the quiet hours around ``now`` end (Beijing time), or None outside them."""
    if window is None:
        return None
    start, end = window
    local = now.astimezone(BEIJING)
    t = local.time()
    inside = (start <= t or t < end) if start > end else (start <= t < end)
    if not inside:
        return None
    until = local.replace(hour=end.hour, minute=end.minute, second=0, microsecond=0)
    if until <= local:
        until += timedelta(days=1)
    return until.astimezone(UTC)


def backoff(attempts: int, base_s: float) -> timedelta:
    """The wait after the ``attempts``-th failure: base·2^(n-1), at most an hour, +0-10%."""
    wait = min(base_s * 2 ** max(attempts - 1, 0), MAX_BACKOFF_S)
    return timedelta(seconds=wait * (1 + random.random() / 10))


def _scrub(error: str) -> str:
    """An error as stored and logged: long digit runs (numbers) masked."""
    return _DIGITS.sub(lambda m: m.group()[:3] + "****", error)[:500]


def _recent_sends(
    conn: Connection, digests: list[str], now: datetime, cap: int
) -> dict[str, list[datetime]]:
    """Each address's sends in the last hour, newest first, at most ``cap`` (one statement)."""
    if not digests:
        return {}
    rows = conn.execute(RECENT, {"d": digests, "since": now - timedelta(hours=1), "cap": cap})
    out: dict[str, list[datetime]] = {}
    for r in rows:
        out.setdefault(r.recipient_digest, []).append(r.sent_at)
    return out


def _set(conn: Connection, msg_id: int, **cols: Any) -> None:
    sets = ", ".join(f"{k} = :{k}" for k in cols)
    conn.execute(text(f"UPDATE notify_message SET {sets} WHERE id = :id"), cols | {"id": msg_id})


def _attempt(transport: Transport, out: Outgoing) -> Exception | None:
    try:
        transport.send(out)
    except Exception as exc:  # the outcome is recorded, whatever it was
        return exc
    return None


def deliver_due(
    conn: Connection,
    *,
    transports: dict[str, Transport],
    settings: Settings | None = None,
    now: datetime | None = None,
    limit: int = BATCH,
    workers: int = WORKERS,
) -> dict[str, int]:
    """Expand up to ``limit`` notification events into their messages (notify.events), then
    claim up to ``limit`` due messages in ``conn``'s transaction and deliver them, up to
    ``workers`` at a time (kept-alive connections per channel); counts. The outcomes are
    written in a few statements at the end of the batch, in the same transaction."""
    s = settings or get_settings()
    now = now or datetime.now(UTC)
    window = quiet_window(s.notify_quiet_hours)
    cipher = get_cipher()
    done = {"sent": 0, "retry": 0, "dead": 0, "deferred": 0, "suppressed": 0}
    events.expand_due(conn, limit=limit)  # reports' events become their messages first
    claimed = conn.execute(CLAIM, {"now": now, "n": limit}).mappings().all()
    resident_digests = sorted(
        {m["recipient_digest"] for m in claimed if m["audience"] == "resident"}
    )
    opted: set[str] = set()
    if resident_digests:
        opted = set(conn.execute(OPTED, {"d": resident_digests}).scalars())
    recent = _recent_sends(conn, resident_digests, now, s.notify_rate_per_hour)
    suppressed: list[int] = []
    deferred: list[tuple[int, datetime]] = []
    todo: list[tuple[Any, Transport, Outgoing]] = []
    for m in claimed:
        resident = m["audience"] == "resident"
        if resident and m["recipient_digest"] in opted:
            suppressed.append(m["id"])
            continue
        later = None
        if resident and m["channel"] == "sms" and not m["urgent"]:
            later = quiet_until(now, window)
        if resident and later is None:
            sent = recent.setdefault(m["recipient_digest"], [])
            cap = s.notify_rate_per_hour
            if len(sent) >= cap:
                later = sent[cap - 1] + timedelta(hours=1)
            else:
                sent.insert(0, now)  # this one counts against the next of the same address
        if later is not None:
            deferred.append((m["id"], later))
            continue
        to = m["recipient"]  # a unit code, a published office number, or sealed (opened here)
        if m["channel"] in ("sms", "email"):
            to = cipher.open(to, column=RECIPIENT_COLUMN)
        out = Outgoing(m["key"], m["channel"], to, m["subject"], m["body"], m["template"],
                       dict(m["params"]))  # fmt: skip
        todo.append((m, transports[m["channel"]], out))
    if len(todo) > 1 and workers > 1:
        with ThreadPoolExecutor(max_workers=min(workers, len(todo))) as pool:
            outcomes = list(pool.map(lambda t: _attempt(t[1], t[2]), todo))
    else:
        outcomes = [_attempt(t, out) for _, t, out in todo]
    sent_rows: list[dict[str, Any]] = []
    for (m, transport, _), exc in zip(todo, outcomes, strict=True):
        attempts = m["attempts"] + 1
        if exc is None:
            sent_rows.append({"id": m["id"], "attempts": attempts, "transport": transport.name})
            log.info("message %s (%s) sent to %s via %s", m["key"], m["template"],
                     m["recipient_masked"], transport.name)  # fmt: skip
            continue
        permanent = isinstance(exc, ChannelError) and exc.permanent
        error = _scrub(f"{type(exc).__name__}: {exc}")
        dead = permanent or attempts >= s.notify_max_attempts
        _set(conn, m["id"], attempts=attempts, last_error=error, transport=transport.name,
             state="dead" if dead else "pending",
             next_attempt_at=now + backoff(attempts, s.notify_backoff_s))  # fmt: skip
        log.warning("message %s to %s via %s failed (try %d%s): %s", m["key"],
                    m["recipient_masked"], transport.name, attempts,
                    ", dead" if dead else "", error)  # fmt: skip
        done["dead" if dead else "retry"] += 1
    if sent_rows:
        conn.execute(MARK_SENT, {"rows": sent_rows, "now": now})
    if suppressed:
        conn.execute(SUPPRESS, {"ids": suppressed})
    if deferred:
        conn.execute(DEFER, [{"id": i, "at": at} for i, at in deferred])
    done["sent"] = len(sent_rows)
    done["suppressed"] = len(suppressed)
    done["deferred"] = len(deferred)
    return done


def run_once(engine: Engine, *, transports: dict[str, Transport], limit: int = BATCH) -> int:
    """One batch in one transaction; how many messages it handled."""
    with engine.begin() as conn:
        return sum(deliver_due(conn, transports=transports, limit=limit).values())


class Every:
    """A job of the sender's loop run at most every ``seconds`` (0: never), e.g. the deadline
    reminders (督办, ``incidents.reminders.run_due``) handed in by ``shudi serve`` and ``shudi
    notify run``: the outbox sits below the case domain, so it is told what to call. The job's
    own transaction makes it harmless when several senders run it."""

    def __init__(self, seconds: float, job: Callable[[Engine], Any], name: str) -> None:
        self.seconds, self.job, self.name = seconds, job, name
        self.last: float | None = None

    def tick(self, engine: Engine, now: float | None = None) -> bool:
        now = time_module.monotonic() if now is None else now
        if self.seconds <= 0 or (self.last is not None and now - self.last < self.seconds):
            return False
        self.last = now  # a failing job waits its interval too; the sender goes on
        try:
            done = self.job(engine)
        except SQLAlchemyError:
            raise  # the loop waits the database out
        except Exception:
            log.exception("%s failed", self.name)
            return True
        if done:
            log.info("%s: %s", self.name, done)
        return True


def run_forever(
    stop: threading.Event,
    *,
    engine_factory: Callable[[], Engine],
    transports: dict[str, Transport] | None = None,
    jobs: list[Every] | None = None,
) -> None:
    """Deliver until ``stop`` is set: batches back to back while there is work, then a poll
    every ``notify_poll_s``; a database outage is logged and waited out. ``jobs`` run on
    their own intervals (first at start)."""
    s = get_settings()
    transports = transports or transports_for(s)
    daily = DailyDigest()  # the town coordinators' digests, once a day (notify.digest)
    while not stop.is_set():
        try:
            daily.tick(engine_factory())
            for job in jobs or ():
                job.tick(engine_factory())
            handled = run_once(engine_factory(), transports=transports)
        except SQLAlchemyError as exc:
            log.warning("outbox sender: database error, retrying (%s)", type(exc).__name__)
            handled = 0
            stop.wait(max(s.notify_poll_s, 2.0))
        if not handled:
            stop.wait(s.notify_poll_s)


def start_thread(
    engine_factory: Callable[[], Engine], jobs: list[Every] | None = None
) -> tuple[threading.Thread, threading.Event]:
    """The sender in a daemon thread of this process (``shudi serve``'s lifespan)."""
    transports = transports_for(get_settings())  # a bad setting fails here, at start-up
    if not log.handlers:  # beside uvicorn's lines: what was sent to whom (masked)
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(levelname)s:     %(name)s: %(message)s"))
        log.addHandler(handler)
        log.setLevel(logging.INFO)
    stop = threading.Event()
    thread = threading.Thread(
        target=run_forever,
        args=(stop,),
        kwargs={"engine_factory": engine_factory, "transports": transports, "jobs": jobs},
        name="shudi-notify",
        daemon=True,
    )
    thread.start()
    return thread, stop
