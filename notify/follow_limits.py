"""Rate limits on follow requests: per client address, per phone or e-mail address (the
confirmation messages it receives: nobody can be flooded by others' requests) and per case
(tracking code) or area. Fixed windows counted in ``notify_follow_counter`` (unlogged, shared
by every worker); keys hold keyed digests, never an address. This module owns the writes to
that table.

A request over any limit raises :class:`FollowRateLimited` (HTTP 429, ``follow_rate_limited``,
a Chinese message, ``retry_after_s`` and which ``limits``). The count is made in the request's
transaction: a refused request counts nothing, so each window admits its N requests.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

from sqlalchemy import Connection, text

from notify.exceptions import ChannelConfigError, FollowRateLimited
from shudi.pii import get_cipher
from shudi.settings import Settings
from shudi.windows import Limit

WHAT_ZH = {"ip": "本网络", "contact": "该手机号码或邮箱", "target": "该案件或区域"}
COUNT = text("""
INSERT INTO notify_follow_counter AS r (key, window_start, count)
SELECT k, s, 1 FROM unnest(CAST(:keys AS text[]), CAST(:starts AS timestamptz[])) AS t(k, s)
ORDER BY k
ON CONFLICT (key, window_start) DO UPDATE SET count = r.count + 1
RETURNING r.key, r.count""")


def check(
    conn: Connection, *, s: Settings, ip: str | None, contact_digest: str, target: str,
    now: datetime | None = None,
) -> None:  # fmt: skip
    """Count one follow request against every limit; raise :class:`FollowRateLimited` when
    one is exceeded. ``target`` is ``case:<code>`` or ``<layer>:<code>``."""
    now = now or datetime.now(UTC)
    digest = get_cipher().digest
    wanted = (
        ("ip", digest(ip, purpose="follow ip") if ip else None, s.notify_follow_limit_ip),
        ("contact", contact_digest, s.notify_follow_limit_contact),
        ("target", digest(target, purpose="follow target"), s.notify_follow_limit_target),
    )
    limits: dict[str, tuple[str, Limit, datetime, int]] = {}
    for kind, value, spec in wanted:
        limit = Limit.parse(spec, error=ChannelConfigError, what="follow limit")
        if value and limit:
            start, left = limit.window(now)
            limits[f"follow:{kind}:{limit.seconds}:{value}"] = (kind, limit, start, left)
    if not limits:
        return
    counts = conn.execute(
        COUNT, {"keys": list(limits), "starts": [v[2] for v in limits.values()]}
    ).all()
    over = [limits[k] for k, n in counts if n > limits[k][1].count]
    if over:
        kinds = sorted({kind for kind, *_ in over})
        wait = max(left for *_, left in over)
        said = "、".join(WHAT_ZH[k] for k in kinds)
        raise FollowRateLimited(
            f"{said}的关注申请过于频繁，请 {_human(wait)}后再试",
            retry_after_s=wait,
            limits=kinds,
        )


def _human(seconds: int) -> str:
    if seconds < 60:
        return f"{seconds} 秒"
    if seconds < 3600:
        return f"{math.ceil(seconds / 60)} 分钟"
    return f"{math.ceil(seconds / 3600)} 小时"


def purge(conn: Connection, *, now: datetime | None = None) -> int:
    """Forget the counters of windows that ended more than two days ago."""
    cut = (now or datetime.now(UTC)) - timedelta(days=2)
    return int(
        conn.execute(
            text("DELETE FROM notify_follow_counter WHERE window_start < :c"), {"c": cut}
        ).rowcount
    )
