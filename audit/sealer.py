"""The server's background sealer: seals the audit log every few seconds, never blocking."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from anyio import to_thread
from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from audit.service import seal_pending

log = logging.getLogger("shudi.audit")


async def seal_forever(interval_s: float, engine: Callable[[], Engine]) -> None:
    """Seal every ``interval_s`` seconds until cancelled; failures are logged and retried.

    Several workers may run one each: a sealer that finds another one busy skips its turn
    (``audit_seal(wait => false)``), so intake never waits on sealing.
    """
    while True:
        await asyncio.sleep(interval_s)
        try:
            await to_thread.run_sync(lambda: seal_pending(engine(), wait=False))
        except SQLAlchemyError as exc:
            log.warning("audit sealing failed (will retry): %s", exc)
