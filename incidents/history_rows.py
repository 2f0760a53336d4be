"""Checking and normalising the rows of a history file, column by column (vectorised).

Each check marks the rows it rejects with a reason; a row keeps the first reason found. The
values that pass become typed columns: store coordinates (WGS-84), the violation type code,
UTC timestamps, the mapped status and an idempotency key per row. Columns with few distinct
values (crs, type, status) are mapped once per distinct value; times in the common
``YYYY-MM-DD HH:MM[:SS]`` form are parsed in one pass, the rest by a slower, lenient parser.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime

import numpy as np
import pandas as pd

from gis.coords import CoordSystem, looks_swapped, to_wgs84
from incidents.intake import MAX_DESCRIPTION
from incidents.models import STATUSES
from jurisdictions.exceptions import InvalidCoordinates
from jurisdictions.service import to_store_coordinates

LOCAL_TZ = "Asia/Shanghai"  # times without an offset are local time of the district
#: Status words of hotline exports and spreadsheets → case status (codes map to themselves).
STATUS_WORDS: dict[str, str] = {
    "待受理": "reported", "已登记": "reported", "未处理": "reported", "待处理": "reported",
    "已受理": "accepted", "受理": "accepted",
    "已派单": "dispatched", "已派遣": "dispatched", "派单": "dispatched",
    "处理中": "in_progress", "办理中": "in_progress", "处置中": "in_progress",
    "已处置": "resolved", "已解决": "resolved", "已办理": "resolved",
    "已办结": "closed", "办结": "closed", "已结案": "closed", "结案": "closed",
    "已关闭": "closed", "已完成": "closed", "完成": "closed",
    "已退回": "rejected", "退回": "rejected", "不予受理": "rejected", "驳回": "rejected",
    "无效": "rejected", "已转办": "referred", "转办": "referred", "联合执法": "joint",
    "延期": "postponed", "缓办": "postponed", "重办": "reopened", "重新办理": "reopened",
}  # fmt: skip
FINISHED = ("closed", "rejected")
Message = str | Callable[[pd.Series], pd.Series]


@dataclass
class Checked:
    """Typed values of every row, and the reason each bad row was rejected (None = good)."""

    lon: np.ndarray  # store coordinates (WGS-84)
    lat: np.ndarray
    crs: pd.Series
    type_code: pd.Series
    reported_at: pd.Series  # datetime64 UTC
    closed_at: pd.Series  # datetime64 UTC (NaT: none); set for closed and rejected
    resolved_at: pd.Series  # datetime64 UTC (NaT: none)
    due_at: pd.Series  # datetime64 UTC (NaT: the file gives no deadline)
    status: pd.Series
    description: pd.Series
    key: pd.Series  # idempotency key of the row
    reason: pd.Series  # object: str or None


class _Reasons:
    """The first reason per row; a message may be built from the rejected rows only."""

    def __init__(self, n: int) -> None:
        self.values = np.full(n, None, dtype=object)

    def add(self, mask: np.ndarray | pd.Series, message: Message) -> None:
        mask = np.asarray(mask, dtype=bool) & pd.isna(self.values)
        if not mask.any():
            return
        self.values[mask] = message if isinstance(message, str) else message(mask).to_numpy()


def _quoted(cells: pd.Series) -> Callable[[np.ndarray], pd.Series]:
    return lambda mask: "'" + cells[mask].astype(str).str.slice(0, 60) + "'"


def _labelled(before: str, cells: pd.Series, after: str = "") -> Callable[[np.ndarray], pd.Series]:
    """A message quoting each rejected cell: ``before'cell'after``."""
    return lambda mask: before + _quoted(cells)(mask) + after


def _per_value(cells: pd.Series, fn: Callable[[str], str | None]) -> pd.Series:
    """``fn`` applied once per distinct value."""
    codes, uniques = pd.factorize(cells)
    mapped = np.array([fn(u) for u in uniques] + [None], dtype=object)
    return pd.Series(mapped[codes], index=cells.index, dtype=object)


def _lenient_text(cells: pd.Series) -> pd.Series:
    text = (
        cells.str.strip()
        .str.replace("/", "-", regex=False)
        .str.replace(r"[年月]", "-", regex=True)
        .str.replace("日", " ", regex=False)
        .str.replace(r"(\d)[时點点](\d)", r"\1:\2", regex=True)
        .str.replace(r"[分秒]", "", regex=True)
        .str.strip()
    )
    text = text.str.replace(r"^(\d{4})-(\d)(?=-)", r"\1-0\2", regex=True)
    text = text.str.replace(r"^(\d{4}-\d{2})-(\d)(?=\D|$)", r"\1-0\2", regex=True)
    return text.str.replace(r"(?<=[ T])(\d):", r"0\1:", regex=True)


def parse_times(cells: pd.Series) -> pd.Series:
    """Text → UTC timestamps (NaT when unparseable); no offset means Asia/Shanghai time.

    Accepts ISO 8601 (``2023-05-01 08:30``, ``2023-05-01T08:30:00+08:00``), slashes
    (``2023/5/1 8:30``) and ``2023年5月1日 8时30分``.
    """
    out = pd.Series(pd.NaT, index=cells.index, dtype="datetime64[ns, UTC]")
    fast = pd.to_datetime(cells, format="%Y-%m-%d %H:%M:%S", errors="coerce")
    rest = fast.isna() & (cells != "")
    if rest.any():  # other layouts: a slower, lenient pass over those rows only
        fast[rest] = pd.to_datetime(cells[rest], format="%Y-%m-%d %H:%M", errors="coerce")
        rest = fast.isna() & (cells != "")
    ok = fast.notna()
    out[ok] = fast[ok].dt.tz_localize(LOCAL_TZ).dt.tz_convert("UTC").astype(out.dtype)
    if rest.any():
        text = _lenient_text(cells[rest])
        has_tz = text.str.contains(r"(?:Z|[+-]\d{2}:?\d{2})$", regex=True)
        naive = text[~has_tz]
        if len(naive):
            local = pd.to_datetime(naive, format="ISO8601", errors="coerce")
            out[naive.index] = local.dt.tz_localize(LOCAL_TZ).dt.tz_convert("UTC").astype(out.dtype)
        aware = text[has_tz]
        if len(aware):
            out[aware.index] = pd.to_datetime(
                aware, format="ISO8601", errors="coerce", utc=True
            ).astype(out.dtype)
    return out


def _number(cells: pd.Series) -> np.ndarray:
    values: np.ndarray = pd.to_numeric(cells, errors="coerce").to_numpy(dtype=float)
    retry = ~np.isfinite(values) & (cells != "").to_numpy()
    if retry.any():
        values[retry] = pd.to_numeric(cells[retry].str.strip(), errors="coerce")
    return values


def _coordinates(raw: pd.DataFrame, crs: pd.Series, reasons: _Reasons) -> tuple[np.ndarray, ...]:
    x, y = _number(raw["lon"]), _number(raw["lat"])
    for name, values in (("lon", x), ("lat", y)):
        reasons.add((raw[name].str.strip() == "").to_numpy(), f"{name} is missing")
        reasons.add(~np.isfinite(values), _labelled(f"{name} is not a number: ", raw[name]))
    suspicious = (np.abs(x) > 180) | (np.abs(y) > 90) | (x < 72) | (x > 138) | (y < 0) | (y > 56)
    for i in np.flatnonzero(suspicious & np.isfinite(x) & np.isfinite(y)).tolist():
        if np.abs(x[i]) > 180 or np.abs(y[i]) > 90 or looks_swapped(x[i], y[i]):
            try:
                to_store_coordinates(x[i], y[i], "wgs84")
            except InvalidCoordinates as exc:
                reasons.values[i] = reasons.values[i] or exc.message
    wx, wy = np.full(len(x), np.nan), np.full(len(y), np.nan)
    for system in CoordSystem:
        sel = (crs == system.value).to_numpy() & np.isfinite(x) & np.isfinite(y)
        if sel.any():
            wx[sel], wy[sel] = to_wgs84(x[sel], y[sel], system)
    return wx, wy


def _crs(raw: pd.DataFrame, default: str, reasons: _Reasons) -> pd.Series:
    known = {c.value for c in CoordSystem}

    def norm(cell: str) -> str | None:
        value = "".join(ch for ch in cell.lower() if ch not in "-_ ") or default
        return value if value in known else None

    cells = raw["crs"] if "crs" in raw else pd.Series("", index=raw.index)
    mapped = _per_value(cells, norm)
    allowed = ", ".join(c.value for c in CoordSystem)
    reasons.add(mapped.isna(), _labelled("unknown crs ", cells, f"; use one of {allowed}"))
    return mapped.fillna(default)


def _types(raw: pd.DataFrame, names: Mapping[str, str], reasons: _Reasons) -> pd.Series:
    def find(cell: str) -> str | None:
        cell = cell.strip()
        return names.get(cell) or names.get(cell.lower())

    codes = _per_value(raw["type"], find)
    reasons.add((raw["type"].str.strip() == "").to_numpy(), "type is missing")
    reasons.add(
        codes.isna(),
        _labelled("unknown violation type ", raw["type"], " (a code or a Chinese name)"),
    )
    return codes.fillna("")


def _times(raw: pd.DataFrame, now: datetime, reasons: _Reasons) -> tuple[pd.Series, pd.Series]:
    cells = raw["reported_at"]
    reported = parse_times(cells)
    reasons.add((cells.str.strip() == "").to_numpy(), "reported_at is missing")
    reasons.add(reported.isna(), _labelled("reported_at is not a date and time: ", cells))
    now_ts = pd.Timestamp(now).tz_convert("UTC")
    reasons.add((reported > now_ts).to_numpy(), "reported_at is in the future")
    ends = raw["closed_at"] if "closed_at" in raw else pd.Series("", index=raw.index)
    closed = parse_times(ends)
    reasons.add(
        ((ends.str.strip() != "") & closed.isna()).to_numpy(),
        _labelled("closed_at is not a date and time: ", ends),
    )
    reasons.add((closed < reported).to_numpy(), "closed_at is before reported_at")
    reasons.add((closed > now_ts).to_numpy(), "closed_at is in the future")
    return reported, closed


def _deadline(raw: pd.DataFrame, reported: pd.Series, reasons: _Reasons) -> pd.Series:
    """The file's own deadline (办理时限 / 截止时间), when it has one."""
    cells = raw["due_at"] if "due_at" in raw else pd.Series("", index=raw.index)
    due = parse_times(cells)
    reasons.add(
        ((cells.str.strip() != "") & due.isna()).to_numpy(),
        _labelled("due_at (the deadline) is not a date and time: ", cells),
    )
    reasons.add((due < reported).to_numpy(), "due_at (the deadline) is before reported_at")
    return due


def _statuses(raw: pd.DataFrame, closed: pd.Series, reasons: _Reasons) -> pd.Series:
    words = {s: s for s in STATUSES} | STATUS_WORDS
    cells = raw["status"] if "status" in raw else pd.Series("", index=raw.index)
    mapped = _per_value(cells, lambda c: words.get(c.strip().lower()) if c.strip() else "")
    unknown = mapped.isna()
    default = pd.Series(np.where(closed.notna(), "closed", "reported"), index=raw.index)
    mapped = mapped.where(mapped != "", default)
    reasons.add(unknown, _labelled("unknown status ", cells, " (see docs/data-formats.md)"))
    still_open = closed.notna() & ~mapped.isin([*FINISHED, "resolved"]) & ~unknown
    reasons.add(
        still_open,
        lambda m: "closed_at is given but the status " + mapped[m].astype(str) + " is open",
    )
    return mapped.fillna("reported")


def row_keys(
    raw: pd.DataFrame, crs: pd.Series, type_code: pd.Series, reported: pd.Series
) -> pd.Series:
    """The idempotency key of each row: ``ext:<id>`` when the file has ``external_id``, else
    a 64-bit BLAKE2b digest (hex) of what the row says — lon, lat, crs, type, reported_at
    (UTC), description — and ``.k``, the occurrence number of an identical row in the file
    (so two identical rows are two cases, imported once)."""
    stamp = reported.to_numpy(dtype="datetime64[s]").astype(np.int64).tolist()
    desc = raw["description"] if "description" in raw else pd.Series("", index=raw.index)
    parts = zip(
        raw["lon"].tolist(),
        raw["lat"].tolist(),
        crs.tolist(),
        type_code.tolist(),
        stamp,
        desc.tolist(),
        strict=True,
    )
    digests = pd.Series(
        [
            hashlib.blake2b(f"{a}|{b}|{c}|{d}|{e}|{f}".encode(), digest_size=8).hexdigest()
            for a, b, c, d, e, f in parts
        ],
        index=raw.index,
        dtype=object,
    )
    nth = digests.groupby(digests, sort=False).cumcount()
    keys = digests + "." + nth.astype(str)
    if "external_id" in raw:
        ext = raw["external_id"].str.strip()
        keys = keys.where(ext == "", "ext:" + ext)
    return keys


def check_rows(
    raw: pd.DataFrame, *, type_names: Mapping[str, str], default_crs: str, now: datetime
) -> Checked:
    """Validate and type every row; ``type_names`` maps codes and Chinese names to codes."""
    reasons = _Reasons(len(raw))
    crs = _crs(raw, default_crs, reasons)
    lon, lat = _coordinates(raw, crs, reasons)
    type_code = _types(raw, type_names, reasons)
    reported, closed = _times(raw, now, reasons)
    due = _deadline(raw, reported, reasons)
    status = _statuses(raw, closed, reasons)
    desc = raw["description"] if "description" in raw else pd.Series("", index=raw.index)
    reasons.add(
        (desc.str.len() > MAX_DESCRIPTION).to_numpy(),
        f"the description is longer than {MAX_DESCRIPTION} characters",
    )
    if "external_id" in raw:
        ids = raw["external_id"].str.strip()
        twice = (ids != "") & ids.duplicated(keep="first")
        reasons.add(twice.to_numpy(), _labelled("external_id ", ids, " repeats"))
    finished = status.isin(FINISHED)
    return Checked(
        lon=lon,
        lat=lat,
        crs=crs,
        type_code=type_code,
        reported_at=reported,
        closed_at=closed.where(finished),
        resolved_at=closed.where(status.isin(["resolved", "closed"])),
        due_at=due,
        status=status,
        description=desc.str.strip(),
        key=row_keys(raw, crs, type_code, reported),
        reason=pd.Series(reasons.values, index=raw.index, dtype=object),
    )
