"""The access log never holds a secret or a resident's data: API keys, tokens, phone numbers
and tracking codes in a request's path or query string are replaced by ``[redacted]``.

A filter on uvicorn's ``uvicorn.access`` logger rewrites the logged path (its third argument)
before any handler formats it.
"""

from __future__ import annotations

import logging
import re
from urllib.parse import parse_qsl, urlencode

#: Query parameters whose values are never logged.
SECRET_PARAMS = frozenset(
    {
        "api_key",
        "apikey",
        "key",
        "token",
        "access_token",
        "password",
        "phone",
        "tracking_code",
        "code",
        "email",
        "name",
        "contact_name",
        "first_name",
        "last_name",
    }
)
#: Paths that carry a tracking code (residents' pages and API): the code is the last segment.
TRACKING_PATH = re.compile(r"^(/(?:track|api/v1/track|api/v1/reports/track)/)[^/?]+")
PHONE = re.compile(r"(?<!\d)(?:\+?86[\s-]?)?1[3-9]\d{9}(?!\d)")
REDACTED = "[redacted]"


def redact_path(full_path: str) -> str:
    """``full_path`` (path and query) with secrets and personal data replaced."""
    path, sep, query = full_path.partition("?")
    path = TRACKING_PATH.sub(lambda m: m.group(1) + REDACTED, path)
    path = PHONE.sub(REDACTED, path)
    if sep:
        pairs = parse_qsl(query, keep_blank_values=True)
        clean = [
            (k, REDACTED if k.lower() in SECRET_PARAMS else PHONE.sub(REDACTED, v))
            for k, v in pairs
        ]
        query = urlencode(clean, safe="[]:,")
    return path + sep + query


class RedactAccessLog(logging.Filter):
    """Rewrites the path argument of uvicorn's access-log records."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and len(args) >= 3 and isinstance(args[2], str):
            record.args = (*args[:2], redact_path(args[2]), *args[3:])
        return True


def install() -> None:
    """Add the filter to the access logger (once)."""
    logger = logging.getLogger("uvicorn.access")
    if not any(isinstance(f, RedactAccessLog) for f in logger.filters):
        logger.addFilter(RedactAccessLog())
