"""实际解决率 and 满意率: what residents say after resolution (survey answers and 回访 calls,
``incidents.followup``), counted apart from the workflow's "resolved" and beside 按期办结率.

Per case of the period's cohort (received in the period), as of ``:as_of``, the resident's
*last* answer counts (a later survey or visit replaces an earlier one; an unanswered call is no
answer). A case whose exclusion was approved (``followup_exclusion``, reviewed by a town
coordinator or an admin before ``as_of``) counts in neither rate; a pending or rejected one
changes nothing.

- 实际解决率 = cases whose resident says the problem is solved / cases with an answer on it;
- 满意率 = cases rated 4 or 5 (of 1–5) / cases rated.

Each is a per-case predicate over ``f`` (the assessment's facts), so the figures, their rankings
and the list of the cases behind them work like every other case figure.
"""

from __future__ import annotations

#: A rating at or above this counts as satisfied (满意、很满意).
SATISFIED_FROM = 4

EXCLUDED = """EXISTS (SELECT 1 FROM followup_exclusion xq WHERE xq.case_id = f.case_id
    AND xq.state = 'approved' AND xq.reviewed_at < :as_of)"""


def _last(column: str) -> str:
    return f"""(SELECT aq.{column} FROM case_followup aq WHERE aq.case_id = f.case_id
    AND aq.reached AND aq.{column} IS NOT NULL AND aq.created_at < :as_of
    ORDER BY aq.created_at DESC, aq.id DESC LIMIT 1)"""


SAID = _last("resolved")
RATING = _last("satisfaction")

#: Per-case predicates (merged into ``assessment.queries.CASE_FIGURES``).
FIGURES: dict[str, str] = {
    "followup_answered": f"{SAID} IS NOT NULL AND NOT {EXCLUDED}",
    "followup_solved": f"{SAID} AND NOT {EXCLUDED}",
    "followup_rated": f"{RATING} IS NOT NULL AND NOT {EXCLUDED}",
    "followup_satisfied": f"{RATING} >= {SATISFIED_FROM} AND NOT {EXCLUDED}",
}
#: Rates: (numerator, denominator).
RATES: dict[str, tuple[str, str]] = {
    "actual_resolution_rate": ("followup_solved", "followup_answered"),
    "satisfied_rate": ("followup_satisfied", "followup_rated"),
}
#: Chinese label and definition of each.
DEFINITIONS: dict[str, tuple[str, str]] = {
    "followup_answered": (
        "回访答复",
        "群众在回访问卷或电话回访中答复了问题是否解决的案件（核准剔除的除外）",
    ),
    "followup_solved": ("群众称已解决", "最后一次回访答复为问题已解决"),
    "actual_resolution_rate": ("实际解决率", "群众称已解决 / 回访答复"),
    "followup_rated": ("回访评分", "群众在回访中给出1–5分满意度的案件（核准剔除的除外）"),
    "followup_satisfied": ("回访满意", "最后一次回访评分为4分或5分"),
    "satisfied_rate": ("满意率", "回访满意（4–5分） / 回访评分"),
}
