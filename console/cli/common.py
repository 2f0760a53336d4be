"""Shared CLI plumbing: one-line errors on stderr, JSON output, a transaction helper."""

from __future__ import annotations

import getpass
import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime
from typing import Any, NoReturn

from sqlalchemy import Connection, text

from shudi.database import get_engine


def fail(message: str, code: int = 1) -> NoReturn:
    """Print ``shudi: error: message`` on stderr and exit non-zero."""
    sys.stderr.write(f"shudi: error: {message}\n")
    raise SystemExit(code)


def _default(obj: Any) -> Any:
    if isinstance(obj, datetime | date):
        return obj.isoformat()
    raise TypeError(type(obj).__name__)


def echo_json(payload: Any) -> None:
    """Pretty JSON on stdout, Chinese left readable."""
    sys.stdout.write(json.dumps(payload, ensure_ascii=False, indent=2, default=_default) + "\n")


@contextmanager
def transaction() -> Iterator[Connection]:
    """One database transaction for a command; the audit log names ``cli:<OS user>`` as the
    actor of its changes."""
    with get_engine().begin() as conn:
        conn.execute(
            text("SELECT set_config('shudi.actor', :a, true)"), {"a": f"cli:{getpass.getuser()}"}
        )
        yield conn
