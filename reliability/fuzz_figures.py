"""The fuzz run's figures (``reliability/fuzz.py``): totals, failures by kind, server errors,
each operation's share of success statuses against :data:`SUCCESS_FLOOR`, and samples."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from reliability.fuzz import Failure, Tally

#: The least share of an operation's cases that must get its success status (2xx).
SUCCESS_FLOOR = 0.10


def figures(tally: Tally, elapsed_s: float, per_operation: int) -> dict[str, Any]:
    """The run's figures as a JSON-able dict."""
    operations = sorted(tally.cases)
    return {
        "operations": len(operations),
        "cases": sum(tally.cases.values()),
        "cases_per_operation_min": min(tally.cases.values(), default=0),
        "cases_per_operation_target": per_operation,
        "failures": len(tally.failures),
        "failures_by_kind": dict(tally.kinds()),
        "server_errors": sum(
            n
            for counts in tally.statuses.values()
            for s, n in counts.items()
            if s >= 500 and s != 503
        ),
        "responses_scanned_for_phones": tally.responses_scanned,
        "phone_numbers_where_not_allowed": len(tally.phone_leaks),
        "time_s": round(elapsed_s, 1),
        "success_floor": SUCCESS_FLOOR,
        "success_share_min": round(
            min((tally.success_share(op) for op in operations), default=0), 3
        ),
        "operations_below_success_floor_count": len(tally.below_floor()),
        "operations_below_success_floor": tally.below_floor(),
        "valid_case_misses": {
            op: tally.valid_misses[op] for op in tally.below_floor() if tally.valid_misses[op]
        },
        "per_operation": {
            op: {
                "cases": tally.cases[op],
                "valid_cases": tally.valid_cases[op],
                "success_share": round(tally.success_share(op), 3),
                "statuses": dict(sorted(tally.statuses[op].items())),
            }
            for op in operations
        },
        "failure_samples": _samples(tally.failures),
        "phone_leak_samples": [f.as_dict() for f in tally.phone_leaks[:20]],
    }


def _samples(failures: Sequence[Failure], per_key: int = 2) -> list[dict[str, Any]]:
    """A few failures of each (operation, kind), for the report."""
    seen: Counter[tuple[str, str, int]] = Counter()
    out = []
    for f in failures:
        key = (f.operation, f.kind, f.status)
        seen[key] += 1
        if seen[key] <= per_key:
            out.append(f.as_dict() | {"count": 0})
    counts = Counter((f.operation, f.kind, f.status) for f in failures)
    for sample in out:
        sample["count"] = counts[(sample["operation"], sample["kind"], sample["status"])]
    return out
