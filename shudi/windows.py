"""Fixed-window request limits, as settings spell them (``"30/1h"``, ``"10/h"``, ``"5/10m"``,
``"off"``): the one parser and window arithmetic behind the report limits (``abuse``) and the
follow limits (``notify.follow_limits``). Each caller counts in a table of its own and raises
its own error; this module only reads the spec and places a moment in its window.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import UTC, datetime

_SPEC = re.compile(r"^\s*(\d+)\s*/\s*(\d*)\s*([smhd])\s*$")
_UNIT_S = {"s": 1, "m": 60, "h": 3600, "d": 86400}


@dataclass(frozen=True)
class Limit:
    """At most ``count`` requests per key in each window of ``seconds``."""

    count: int
    seconds: int

    @classmethod
    def parse(
        cls, spec: str, *, error: type[Exception] = ValueError, what: str = "rate limit"
    ) -> Limit | None:
        """``"30/1h"``, ``"10/h"``, ``"5/10m"`` → a Limit; ``"off"`` (or empty) → None; else
        ``error`` naming ``what`` was set wrongly."""
        if spec.strip().lower() in ("off", "none", ""):
            return None
        m = _SPEC.match(spec)
        if not m or int(m.group(1)) < 1 or (m.group(2) and int(m.group(2)) < 1):
            raise error(f"{what} {spec!r} is not N/PERIOD (e.g. 30/1h, 5/10m) or off")
        return cls(int(m.group(1)), int(m.group(2) or 1) * _UNIT_S[m.group(3)])

    def window(self, now: datetime) -> tuple[datetime, int]:
        """The start of the window ``now`` falls in, and whole seconds until it ends."""
        epoch = now.timestamp()
        start = math.floor(epoch / self.seconds) * self.seconds
        return datetime.fromtimestamp(start, UTC), max(1, math.ceil(start + self.seconds - epoch))
