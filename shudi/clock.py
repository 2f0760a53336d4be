"""Beijing time for everything a person reads: one rule for pages, exports and labels.

Moments are stored and exchanged (APIs, ``as_of`` fields) as aware UTC datetimes; whatever a
person reads — a page, a PDF, a spreadsheet, a sentence such as "数据截至 …" — shows them as
Beijing wall time (UTC+8; China keeps no daylight saving time) through :func:`beijing` /
:func:`beijing_text`, labelled with :data:`LABEL`.
"""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

BEIJING = ZoneInfo("Asia/Shanghai")
LABEL = "北京时间"


def beijing(moment: datetime) -> datetime:
    """``moment`` as Beijing wall time (a naive datetime is taken to be UTC)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(BEIJING)


def beijing_text(value: object, *, label: bool = False, seconds: bool = False) -> str:
    """A moment (datetime or ISO text) as ``YYYY-MM-DD HH:MM`` Beijing time, with
    `` 北京时间`` when ``label``; empty for ``None``; other text is returned as it is."""
    if value is None or value == "":
        return ""
    moment = value
    if isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            return value
    if not isinstance(moment, datetime):
        return str(value)
    text = beijing(moment).strftime("%Y-%m-%d %H:%M:%S" if seconds else "%Y-%m-%d %H:%M")
    return f"{text} {LABEL}" if label else text
