"""Outbox throughput: how fast the sender drains pending messages to real protocol servers.

Target (issue #16): ≥ 500 messages/s drained to a local SMTP server and to a local HTTP sink,
on 2 cores. In a scratch database (migrated, dropped afterwards):

1. :data:`MESSAGES` pending e-mails (residents' addresses sealed, as intake stores them) are
   drained by the sender's own loop (:func:`notify.sender.deliver_due`, one transaction per
   claimed batch, as ``shudi notify run`` does) to an ``aiosmtpd`` server in another process;
   the rate is the messages the server received ÷ the wall time until it had them all.
2. The same over HTTP: SMS through the Alibaba Cloud ``SendSms`` adapter (signed form), staff
   notices through the DingTalk robot adapter (signed URL) and the signed webhook, a third
   each, to a local HTTP/1.1 server answering each protocol.
3. Baseline of each: the same sink receiving the same number of messages from a bare loop
   calling the same transport with no outbox (no database, one connection reused).

Each sink counts raw deliveries and distinct idempotency keys; a lost or repeated message is
a figure of its own (target 0).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from functools import partial
from typing import Any

from sqlalchemy import Engine, bindparam, create_engine, text
from sqlalchemy.dialects.postgresql import JSONB

from benchmarks.common import Result, Section, database_url, log
from benchmarks.intake import scratch_database
from benchmarks.sinks import Sinks, sinks
from notify.channels import AliyunSms, DingTalk, Outgoing, Smtp, Transport, Webhook
from notify.sender import BATCH, WORKERS, deliver_due
from notify.service import RECIPIENT_COLUMN
from shudi.pii import get_cipher
from shudi.settings import Settings

MESSAGES = 3000
TARGET = 500.0  # messages/s
SECRET = "bench-secret"
#: No quiet hours, no rate cap in reach: every message is due now.
SETTINGS = Settings(notify_quiet_hours="off", notify_rate_per_hour=1_000_000)

INSERT = text("""INSERT INTO notify_message (key, channel, audience, template, template_version,
    recipient, recipient_masked, recipient_digest, subject, body, params)
  SELECT m.key, m.channel, m.audience, m.template, 1, m.recipient, m.masked, m.digest,
         m.subject, m.body, m.params
  FROM jsonb_to_recordset(:rows) AS m(key text, channel text, audience text, template text,
    recipient text, masked text, digest text, subject text, body text, params jsonb)""")


def _message(i: int, channel: str) -> dict[str, Any]:
    """One message like intake's: a resident's sealed address, or a unit's code."""
    cipher = get_cipher()
    resident = channel != "staff"
    to = f"r{i}@example.org" if channel == "email" else f"1390000{i:04d}"
    if channel == "staff":
        to = f"urban_management/unit{i % 40}"
    body = f"【属地】您反映的问题（查询码 B{i:06d}）已受理，承办：城管执法中队。"
    return {
        "key": uuid.uuid4().hex,
        "channel": channel,
        "audience": "resident" if resident else "staff",
        "template": "case_accepted" if resident else "unit_assigned",
        "recipient": cipher.seal(to, column=RECIPIENT_COLUMN) if resident else to,
        "masked": to[:3] + "****",
        "digest": cipher.digest(to, purpose="notify"),
        "subject": "您反映的问题已受理",
        "body": body,
        "params": {"code": f"B{i:06d}"},
    }


def enqueue(engine: Engine, rows: list[dict[str, Any]]) -> None:
    with engine.begin() as conn:
        conn.execute(INSERT.bindparams(bindparam("rows", type_=JSONB)), {"rows": rows})


def drain(engine: Engine, transports: dict[str, Transport]) -> int:
    """The sender's loop until nothing is due; messages handled."""
    handled = 0
    while True:
        with engine.begin() as conn:
            done = deliver_due(conn, transports=transports, settings=SETTINGS)
        n = sum(done.values())
        if not n:
            return handled
        handled += n


def bare_loop(transports: dict[str, Transport], rows: list[dict[str, Any]]) -> None:
    """The baseline: the same transports called in a loop, no database."""
    for r in rows:
        to = r["masked"]
        out = Outgoing(r["key"], r["channel"], to, r["subject"], r["body"], r["template"],
                       r["params"])  # fmt: skip
        transports[r["channel"]].send(out)


def _measure(
    sink: Sinks, sink_names: list[str], run: Callable[[], Any], n: int
) -> tuple[float, int, int]:
    """(messages/s, lost, repeated) of ``run`` delivering ``n`` messages to ``sink_names``."""
    before = sink.stats()
    start = time.perf_counter()
    run()
    deadline = time.perf_counter() + 60
    while True:
        after = sink.stats()
        unique = sum(
            after.get(s, {}).get("unique", 0) - before.get(s, {}).get("unique", 0)
            for s in sink_names
        )
        if unique >= n or time.perf_counter() > deadline:
            break
        time.sleep(0.02)
    seconds = time.perf_counter() - start
    raw = sum(after.get(s, {}).get("raw", 0) - before.get(s, {}).get("raw", 0) for s in sink_names)
    return n / seconds, max(n - unique, 0), raw - unique


def outbox(n: int = MESSAGES) -> Section:
    sec = Section(f"Outbox sender throughput ({n:,} messages per sink, local protocol servers)")
    with scratch_database(database_url()) as url, sinks() as sink:
        engine = create_engine(url, pool_size=2, max_overflow=0)
        smtp: dict[str, Transport] = {"email": Smtp(sink.smtp_url, "shudi@bench.local")}
        http: dict[str, Transport] = {
            "sms": AliyunSms(
                key_id="bench",
                secret=SECRET,
                endpoint=f"{sink.http_url}/sms",
                sign_name="属地",
                templates="case_accepted=SMS_1",
            ),
            "staff": DingTalk(f"{sink.http_url}/dingtalk", SECRET),
            "email": Webhook(f"{sink.http_url}/hook", SECRET),
        }
        cases: list[tuple[str, dict[str, Transport], list[str], list[str]]] = [
            ("SMTP (aiosmtpd)", smtp, ["smtp"], ["email"]),
            (
                "HTTP (SendSms, DingTalk, webhook)",
                http,
                ["sms", "dingtalk", "hook"],
                ["sms", "staff", "email"],
            ),
        ]
        for label, transports, sink_names, channels in cases:
            rows = [_message(i, channels[i % len(channels)]) for i in range(n)]
            log(f"outbox: {label}: bare loop of {n} messages")
            base, _, _ = _measure(sink, sink_names, partial(bare_loop, transports, rows), n)
            fresh = [r | {"key": uuid.uuid4().hex} for r in rows]
            enqueue(engine, fresh)
            log(f"outbox: {label}: draining {n} pending messages")
            rate, lost, repeated = _measure(sink, sink_names, partial(drain, engine, transports), n)
            log(f"outbox: {label}: {rate:.0f}/s (bare loop {base:.0f}/s), lost {lost}, "
                f"repeated {repeated}")  # fmt: skip
            sec.results += [
                Result(f"{label}: drained by the sender", rate, "messages/s", "min",
                       target=TARGET, baseline=base, baseline_name="bare loop, no outbox"),
                Result(f"{label}: messages lost or repeated", lost + repeated, "messages", "max",
                       target=0),
            ]  # fmt: skip
        with engine.connect() as conn:
            left = conn.execute(
                text("SELECT count(*) FROM notify_message WHERE state <> 'sent'")
            ).scalar_one()
        sec.results.append(Result("messages not marked sent", left, "messages", "max", target=0))
        engine.dispose()
    sec.notes += [
        f"The sender claims {BATCH} due messages per transaction (`FOR UPDATE SKIP LOCKED`), "
        f"reads opt-outs and rate caps for the batch in two statements, sends up to {WORKERS} "
        "at once over connections kept alive per channel (SMTP sessions, HTTP/1.1), and marks "
        "the batch in one `UPDATE`; the receivers run in a process of their own.",
        "The rate is the messages the receiver holds (distinct keys) ÷ the wall time from the "
        "start of the drain until it holds them all; the baseline is the same receiver fed "
        "the same number of messages by a bare loop over the same transport (no database).",
        f"Measured {datetime.now(UTC):%Y-%m-%d %H:%M} UTC.",
    ]
    sec.commands.append("python -m benchmarks.run --only outbox")
    return sec
