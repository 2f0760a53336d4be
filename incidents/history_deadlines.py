"""Deadlines of imported cases: open ones are on the clock like live ones.

* A row whose file gives a deadline (``due_at``: 办理时限 / 截止时间, or any column mapped with
  ``--field due_at=COLUMN``) keeps it as its resolution deadline, open or closed; the file
  says nothing of the response and stop deadlines, which stay empty.
* An open row without one gets the deadlines a live report of its type would have got at its
  reported time (:meth:`incidents.deadlines.Policy.deadlines_for`: the type's time limit on the
  working-day calendar), so that it appears in reminders, overdue lists, agendas and the
  assessment like any other case.
* A closed (or rejected) row without one keeps no deadline.

Each distinct (type, reported time) pair of the open rows is computed once.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from incidents.deadlines import Deadlines, load_policy
from incidents.history_rows import FINISHED

NO_TIME = np.iinfo(np.int64).min  # a missing time (NULL in SQL), as history_store counts it
URGENCIES = ("emergency", "urgent", "ordinary", "complex")
DEFAULT_URGENCY = "ordinary"


@dataclass
class DeadlineColumns:
    """Per row: the three deadlines (integer microseconds, :data:`NO_TIME` for none), the
    urgency level and the basis of the deadline (shown to staff)."""

    respond_due_at: np.ndarray
    stop_due_at: np.ndarray
    due_at: np.ndarray
    urgency: np.ndarray
    basis: list[str]


def _micros(stamps: pd.Series) -> np.ndarray:
    us = stamps.to_numpy(dtype="datetime64[us]").astype(np.int64)
    return np.where(stamps.notna().to_numpy(), us, NO_TIME)


def _us(value: object) -> int:
    return NO_TIME if value is None else int(pd.Timestamp(value).value // 1000)


def deadline_columns(
    *,
    status: pd.Series,
    type_code: pd.Series,
    scope_of: Mapping[str, str],
    reported_at: pd.Series,
    file_due: pd.Series,
    file: str,
) -> DeadlineColumns:
    """The deadline columns of the rows (all series aligned, times UTC; see the module)."""
    n = len(status)
    policy = load_policy()
    given = file_due.notna().to_numpy()
    still_open = ~status.isin(FINISHED).to_numpy()
    respond = np.full(n, NO_TIME, dtype=np.int64)
    stop = np.full(n, NO_TIME, dtype=np.int64)
    due = np.where(given, _micros(file_due), NO_TIME)
    urgency = np.full(n, DEFAULT_URGENCY, dtype=object)
    basis = np.full(n, "", dtype=object)
    basis[given] = f"办理时限取自导入文件（{file}）"
    memo: dict[tuple[str, pd.Timestamp], Deadlines] = {}
    codes = type_code.to_numpy()
    starts = reported_at.tolist()  # aware Timestamps
    for i in np.flatnonzero(still_open).tolist():
        key = (codes[i], starts[i])
        dl = memo.get(key)
        if dl is None:
            start = starts[i].to_pydatetime()
            dl = policy.deadlines_for(codes[i], scope_of[codes[i]], start=start)
            memo[key] = dl
        urgency[i] = dl.urgency
        if given[i]:
            continue
        respond[i] = _us(dl.respond_by)
        stop[i] = _us(dl.stop_by)
        due[i] = _us(dl.resolve_by)
        basis[i] = f"{dl.basis_zh}；自上报时间起算（导入）"
    return DeadlineColumns(respond, stop, due, urgency, basis.tolist())
