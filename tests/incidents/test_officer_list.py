"""An agency officer's list of cases (``GET /api/v1/cases``, the mix's 'officer: work list'):
the cases its unit handles and those it holds a task in, read as two parts (their own indexes)
when it holds tasks in few cases, as one condition otherwise — the same rows in the same order
either way. The expected lists are worked out by hand from the cases made here."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Connection, text
from support import IN_P111, file_report, type_of

from accounts.service import Principal
from incidents import listing, tasks, worklist

DAY = datetime(2031, 5, 1, tzinfo=UTC)
SINCE, UNTIL = datetime(2001, 1, 1, tzinfo=UTC), datetime(2001, 1, 2, tzinfo=UTC)


def _case(conn: Connection, kind: str, party: str, unit: str | None, due: int | None) -> int:
    case_id = int(file_report(conn, IN_P111, kind)["id"])
    conn.execute(  # the handler and the deadline this list is about; filed in a known window
        text("""UPDATE case_file SET handler_party = :p, handler_unit_code = :u, due_at = :d,
                    created_at = :at WHERE id = :id"""),
        {
            "p": party,
            "u": unit,
            "d": None if due is None else DAY + timedelta(days=due),
            "at": SINCE + timedelta(hours=1),
            "id": case_id,
        },
    )
    return case_id


@pytest.fixture
def cases(conn: Connection, world: dict[str, Principal]) -> dict[str, int]:
    kind = type_of(conn)
    made = {
        "handled": _case(conn, kind, "public_security", "PS1", 1),
        "other_unit": _case(conn, kind, "public_security", "PS2", 2),
        "tasked_done": _case(conn, kind, "urban_management", None, 3),
        "unit_unknown_tasked": _case(conn, kind, "public_security", None, 4),
        "handled_and_tasked": _case(conn, kind, "public_security", "PS1", 5),
        "other_unit_tasked": _case(conn, kind, "urban_management", None, 6),
        "tasked_no_deadline": _case(conn, kind, "urban_management", None, None),
    }
    for name, unit in (
        ("tasked_done", "PS1"),
        ("unit_unknown_tasked", "PS1"),
        ("handled_and_tasked", "PS1"),
        ("other_unit_tasked", "PS2"),
        ("tasked_no_deadline", "PS1"),
    ):
        task = tasks.add_task(
            conn, case_id=made[name], party="public_security", unit_code=unit, unit_name=unit
        )
        if name == "tasked_done":  # a finished part still lets the unit see its case
            tasks.mark_done(conn, task_id=task, note="done", now=DAY)
    return made


#: Police unit PS1's cases by deadline (no deadline last), each once.
PS1_BY_DUE = [
    "handled",
    "tasked_done",
    "unit_unknown_tasked",
    "handled_and_tasked",
    "tasked_no_deadline",
]


@pytest.mark.parametrize("few_tasks", [True, False], ids=["two parts", "one condition"])
def test_an_officer_lists_what_its_unit_handles_or_holds_a_task_in(
    conn: Connection,
    world: dict[str, Principal],
    cases: dict[str, int],
    few_tasks: bool,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    if not few_tasks:
        monkeypatch.setattr(tasks, "TASKED_MAX", 0)
    ps1 = world["police_ps1"]
    assert (tasks.tasked_cases(conn, principal=ps1) is None) is not few_tasks
    name = {v: k for k, v in cases.items()}

    def listed(**filters: object) -> tuple[list[str], int]:
        page = listing.list_cases(
            conn, principal=ps1, order="due", since=SINCE, until=UNTIL, **filters
        )
        return [name[c["id"]] for c in page["items"]], page["total"]

    assert listed() == (PS1_BY_DUE, 5)
    assert listed(limit=2, offset=2) == (PS1_BY_DUE[2:4], 5)
    assert listed(limit=1, offset=4) == (PS1_BY_DUE[4:], 5)
    newest = listing.list_cases(
        conn, principal=ps1, order="newest", since=SINCE, until=UNTIL, limit=3
    )
    assert [name[c["id"]] for c in newest["items"]] == [  # same moment: highest id first
        "tasked_no_deadline",
        "handled_and_tasked",
        "unit_unknown_tasked",
    ]
    status = conn.execute(
        text("SELECT status FROM case_file WHERE id = :id"), {"id": cases["handled"]}
    ).scalar_one()
    conn.execute(
        text("UPDATE case_file SET status = 'closed' WHERE id = ANY(:ids)"),
        {"ids": [cases["tasked_done"], cases["handled_and_tasked"]]},
    )
    assert listed(status=[status]) == (["handled", "unit_unknown_tasked", "tasked_no_deadline"], 3)
    # an officer of a whole agency (no unit): every case its agency handles, none of the police's
    urban = world["urban"]
    assert {
        c["id"]
        for c in listing.list_cases(conn, principal=urban, since=SINCE, until=UNTIL)["items"]
    } == {cases["tasked_done"], cases["other_unit_tasked"], cases["tasked_no_deadline"]}


@pytest.mark.parametrize("few_tasks", [True, False], ids=["two parts", "one condition"])
def test_the_work_list_of_an_officer_and_the_dispatchers_calls_to_make(
    conn: Connection,
    world: dict[str, Principal],
    cases: dict[str, int],
    few_tasks: bool,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    if not few_tasks:
        monkeypatch.setattr(tasks, "TASKED_MAX", 0)
    name = {v: k for k, v in cases.items()}
    conn.execute(
        text("UPDATE case_file SET status = 'reported' WHERE id = ANY(:ids)"),
        {"ids": list(cases.values())},
    )

    def waiting(who: Principal) -> list[tuple[str, str]]:
        found = worklist.work_list(conn, principal=who)
        return [(name[c["id"]], c["bucket"]) for c in found["items"] if c["id"] in name]

    # PS1's: the new cases its unit handles or holds an open task in (a done task is not
    # its to do), by deadline
    assert waiting(world["police_ps1"]) == [
        ("handled", "new"),
        ("unit_unknown_tasked", "new"),
        ("handled_and_tasked", "new"),
        ("tasked_no_deadline", "new"),
    ]
    # a closed phone case whose 回访 call is still to make waits for the dispatchers; one whose
    # call is made does not
    called, to_call = cases["tasked_done"], cases["other_unit"]
    conn.execute(
        text("UPDATE case_file SET status = 'closed' WHERE id = ANY(:ids)"),
        {"ids": [called, to_call]},
    )
    for case_id, done in ((called, True), (to_call, False)):
        task = tasks.add_task(
            conn,
            case_id=case_id,
            party="public_security",
            unit_code="PS2",
            unit_name="PS2",
            kind="return_visit",
        )
        if done:
            tasks.mark_done(conn, task_id=task, note="已回访", now=DAY)
    mine = dict(waiting(world["dispatcher"]))
    assert mine["other_unit"] == "visit" and "tasked_done" not in mine
    assert mine["handled"] == "new" and len(mine) == 6
    counted = worklist.work_list(conn, principal=world["dispatcher"])["counts"]
    assert counted["visit"]["n"] >= 1 and counted["new"]["n"] >= 5
    assert ("other_unit", "visit") not in waiting(world["police_ps2"])  # the dispatchers' own


def test_a_long_list_is_counted_up_to_its_cap(
    conn: Connection, world: dict[str, Principal]
) -> None:
    """Past 1,000 matches a list says "more than 1,000" (its count stops there: issue #17);
    at or below it, the exact count. 1,004 cases are copied from one in the known window."""
    first = _case(conn, type_of(conn), "public_security", "PS1", 1)
    conn.execute(
        text("""INSERT INTO case_file (tracking_code, type_code, scope, urgency, status, channel,
                    description, lon, lat, geom, town_code, community_code, handler_party,
                    handler_unit_code, due_at, created_at, routing, generations)
                SELECT 'CAP' || lpad(g::text, 9, '0'), type_code, scope, urgency, status,
                       channel, description, lon, lat, geom, town_code, community_code,
                       handler_party, handler_unit_code, due_at, created_at, routing, generations
                FROM case_file, generate_series(1, 1004) g WHERE id = :id"""),
        {"id": first},
    )
    dispatcher = world["dispatcher"]

    def page(**filters: object) -> dict:
        return listing.list_cases(conn, principal=dispatcher, since=SINCE, until=UNTIL, **filters)

    got = page(limit=50)
    assert (got["total"], got["total_capped"], len(got["items"])) == (1000, True, 50)
    # five of the 1,005 closed: the open ones number 1,000 exactly, counted exactly
    conn.execute(
        text("""UPDATE case_file SET status = 'closed' WHERE id IN (
                    SELECT id FROM case_file WHERE created_at >= :s AND created_at < :u
                    ORDER BY id DESC LIMIT 5)"""),
        {"s": SINCE, "u": UNTIL},
    )
    open_only = page(limit=10, status=["reported", "accepted", "dispatched", "in_progress"])
    assert (open_only["total"], open_only["total_capped"]) == (1000, False)
    # the list page says "1000+" and still offers the next page
    from webmap.pages.workbench import render_case_list

    html = render_case_list(
        got, user={"username": "disp", "role": "dispatcher", "display_name": "调度员"},
        names={}, types={}, status="open", type_code=None, page=1,
    )  # fmt: skip
    assert "共1000+件，显示50件" in html and "下一页" in html
