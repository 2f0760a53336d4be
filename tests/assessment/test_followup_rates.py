"""实际解决率 and 满意率 (issue #16), worked out by hand over a small set of cases in town T1
(urban management), each taken through the real workflow to "resolved":

    case  how the resident answered                     exclusion
    A     survey: solved, 5                             —
    B     survey: solved, 3                             —
    C     survey: not solved, 2 (reopens)               —
    D     phone 回访, reached: solved, 4                 —
    E     phone 回访, not reached                        —  (no answer: counts nowhere)
    F     survey: solved, no rating                     —
    G     survey: not solved, 1 (reopens)               approved → counts nowhere
    H     survey: solved, 1                             pending  → counts as usual

Answered A B C D F H = 6, of which solved A B D F H = 5: 实际解决率 5/6.
Rated A B C D H = 5, of which 4 or 5: A D = 2: 满意率 2/5.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from followup_support import resolved_case
from sqlalchemy import Connection

from assessment import service
from assessment.period import period
from incidents import followup, followup_review, tasks


def test_rates_by_hand(conn: Connection, world: dict) -> None:
    d, t1 = world["dispatcher"], world["town_t1"]
    ids = {}

    def survey(name: str, solved: bool, rating: int | None, comment: str = "") -> None:
        case = resolved_case(conn, world)
        ids[name] = case["id"]
        followup.answer_survey(conn, tracking_code=case["code"], resolved=solved,
                               satisfaction=rating, comment=comment)  # fmt: skip

    survey("A", True, 5)
    survey("B", True, 3)
    survey("C", False, 2, "仍有占道")
    for name in ("D", "E"):
        ids[name] = resolved_case(conn, world, by_phone=True)["id"]
    visits = {t["case_id"]: t["id"] for t in tasks.work_list(conn, principal=d)
              if t["kind"] == "return_visit"}  # fmt: skip
    followup.record_visit(conn, principal=d, task_id=visits[ids["D"]], reached=True,
                          resolved=True, satisfaction=4)  # fmt: skip
    followup.record_visit(conn, principal=d, task_id=visits[ids["E"]], reached=False)
    survey("F", True, None)
    survey("G", False, 1, "要求赔偿十万元")
    survey("H", True, 1)
    g = followup_review.propose(conn, principal=d, case_id=ids["G"], reason="索赔，超出职责范围")
    followup_review.review(conn, principal=t1, exclusion_id=g["id"], approve=True)
    followup_review.propose(conn, principal=d, case_id=ids["H"], reason="与本案无关的诉求")

    today = datetime.now(UTC)
    p = period(first=(today - timedelta(days=1)).date(), last=(today + timedelta(days=1)).date())
    town = next(u for u in service.assess(conn, p=p)["units"]
                if u["kind"] == "town" and u["unit"] == "T1")  # fmt: skip
    assert town["followup_answered"] == 6 and town["followup_solved"] == 5
    assert town["followup_rated"] == 5 and town["followup_satisfied"] == 2
    assert town["actual_resolution_rate"] == pytest.approx(5 / 6, abs=1e-4)
    assert town["satisfied_rate"] == pytest.approx(2 / 5, abs=1e-4)

    # Each figure opens the cases behind it.
    def behind(figure: str) -> set[int]:
        found = service.audit(conn, p=p, kind="town", unit="T1", figure=figure)
        return set(found["case_ids"])

    assert behind("followup_solved") == {ids[n] for n in "ABDFH"}
    assert behind("followup_answered") == {ids[n] for n in "ABCDFH"}
    assert behind("followup_satisfied") == {ids[n] for n in "AD"}
    assert behind("followup_rated") == {ids[n] for n in "ABCDH"}
