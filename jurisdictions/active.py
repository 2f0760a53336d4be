"""The active boundaries as named SQL pieces, for other packages' queries: the one place that
says which rows of ``boundary`` and ``generation_period`` are current (a generation is active
while its validity period is open)."""

from __future__ import annotations

#: The ids of the active generations (one per layer, and per agency for field units):
#: ``WHERE x.generation_id IN {ACTIVE_GENERATIONS}``.
ACTIVE_GENERATIONS = "(SELECT generation_id FROM generation_period WHERE valid_to IS NULL)"

#: The boundaries of the active generations, as a table: ``FROM {ACTIVE_BOUNDARIES} b``
#: (a plain subquery: the planner flattens it into the outer query's join).
ACTIVE_BOUNDARIES = f"""(SELECT b.* FROM boundary b
    WHERE b.generation_id IN {ACTIVE_GENERATIONS})"""
