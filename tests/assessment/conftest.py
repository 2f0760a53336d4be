"""A small, hand-made event history for the assessment (times in China time, 2026).

Cases (handler, town) and what happens to them:

- A (police PS1, T1): received 5 Jan 09:00, started 11:00 (respond by 13:00), resolved 8 Jan,
  closed 9 Jan, rated satisfied; a comment on the resolved case changes nothing.
- B (police PS1, T1): received 31 Jan 20:00 — crosses into February: accepted 1 Feb, started
  2 Feb 13:00 (respond by 12:00: late), resolved 5 Feb, failed verification 6 Feb, resolved
  again 10 Feb 10:00 (due 9 Feb 17:30: late), closed 11 Feb, rated dissatisfied.
- C (police PS1 at the end, T1): received 10 Jan; police PS1 referred it to city management
  (12:00, a response in time), which referred it back (so the police's referral was wrong,
  city management's right); police resolved it 15 Jan (due 19 Jan), closed 16 Jan.
- D (police PS2, T2): received 20 Jan, accepted, never started: overdue from 29 Jan.
- E (city management, T2): received 3 Feb, rejected.
- F (city management, T1): received 10 Feb, joint enforcement called by T1 with police PS1
  (12:00), both tasks done by 20 Feb (due 24 Feb), closed 21 Feb.
- G: received 11 Feb, merged into F (a duplicate: never counted).
- I (housing service centre, T1): received 27 Feb, started 10:00 (respond by 13:00), due 10 Mar.
- Outside the period: 31 Dec 2025 23:30 and 1 Mar 2026 00:00 (China time).

Meeting actions: police due 20 Jan done 18 Jan; police PS1 due 15 Feb done 20 Feb; T1 due
28 Feb not done; T1 due 1 Mar (the day after the period).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Connection, bindparam, text
from sqlalchemy.dialects.postgresql import JSONB
from support import IN_P111, IN_P112, IN_T2, type_of

from accounts.service import Principal
from incidents.intake import Report, create_case

CN = ZoneInfo("Asia/Shanghai")


def t(month: int, day: int, hour: int = 0, minute: int = 0, year: int = 2026) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=CN)


def new_case(
    conn: Connection,
    where: tuple[float, float],
    type_code: str,
    *,
    at: datetime,
    respond_by: datetime,
    due: datetime,
    party: str,
    unit: str | None,
) -> int:
    cid = create_case(
        conn,
        report=Report(lon=where[0], lat=where[1], type=type_code, phone="13800000000"),
        now=at,
    ).id
    conn.execute(
        text("""UPDATE case_file SET created_at = :at, respond_due_at = :r, due_at = :d,
                handler_party = :p, handler_unit_code = :u WHERE id = :i"""),
        {"at": at, "r": respond_by, "d": due, "p": party, "u": unit, "i": cid},
    )
    return int(cid)


class History:
    """Appends events with the times given (the workflow stamps the present)."""

    def __init__(self, conn: Connection, people: dict[str, Principal]) -> None:
        self.conn = conn
        self.people = people

    def __call__(
        self,
        case_id: int,
        at: datetime,
        action: str,
        to: str,
        who: str = "dispatcher",
        **data: Any,
    ) -> None:
        frm = self.conn.execute(
            text("SELECT status FROM case_file WHERE id = :i"), {"i": case_id}
        ).scalar_one()
        actor = self.people.get(who)
        self.conn.execute(
            text("""INSERT INTO case_event (case_id, at, actor_id, actor_role, action,
                        from_status, to_status, data)
                    VALUES (:c, :at, :a, :r, :act, :f, :t, :d)""").bindparams(
                bindparam("d", type_=JSONB)
            ),
            {
                "c": case_id,
                "at": at,
                "a": actor.user_id if actor else None,
                "r": actor.role.value if actor else "resident",
                "act": action,
                "f": frm,
                "t": to,
                "d": data,
            },
        )
        self.conn.execute(
            text("UPDATE case_file SET status = :s WHERE id = :i"), {"s": to, "i": case_id}
        )


def _meeting_actions(conn: Connection) -> dict[str, int]:
    meeting = conn.execute(
        text("""INSERT INTO meeting (town_code, month, as_of)
                VALUES ('T1', '2026-01-01', :at) RETURNING id"""),
        {"at": t(1, 5)},
    ).scalar_one()
    item = conn.execute(
        text("""INSERT INTO meeting_item (meeting_id, position, kind, title)
                VALUES (:m, 1, 'overdue', '超期案件') RETURNING id"""),
        {"m": meeting},
    ).scalar_one()
    ids = {}
    for name, kind, code, agency, due, done in (
        ("police", "agency", "public_security", None, date(2026, 1, 20), date(2026, 1, 18)),
        ("ps1", "agency_unit", "PS1", "public_security", date(2026, 2, 15), date(2026, 2, 20)),
        ("t1", "town", "T1", None, date(2026, 2, 28), None),
        ("t1_later", "town", "T1", None, date(2026, 3, 1), None),
    ):
        ids[name] = conn.execute(
            text("""INSERT INTO meeting_action (meeting_id, item_id, owner_kind, owner_code,
                        owner_agency, title, due_on, done_on)
                    VALUES (:m, :i, :k, :c, :a, '跟进', :due, :done) RETURNING id"""),
            {"m": meeting, "i": item, "k": kind, "c": code, "a": agency, "due": due, "done": done},
        ).scalar_one()
    return ids


@pytest.fixture
def history(conn: Connection, world: dict[str, Principal]) -> dict[str, Any]:
    ev = History(conn, world)
    police = type_of(conn, agency="public_security")
    urban = type_of(conn, agency="urban_management")
    housing = type_of(conn, agency="housing_service_center")

    a = new_case(
        conn,
        IN_P111,
        police,
        at=t(1, 5, 9),
        respond_by=t(1, 5, 13),
        due=t(1, 14, 9),
        party="public_security",
        unit="PS1",
    )
    ev(a, t(1, 5, 9, 30), "accept", "accepted")
    ev(a, t(1, 5, 10), "dispatch", "dispatched")
    ev(a, t(1, 5, 11), "start", "in_progress", "police_ps1")
    ev(a, t(1, 8, 11), "resolve", "resolved", "police_ps1")
    ev(a, t(1, 8, 12), "comment", "resolved", "dispatcher")
    ev(a, t(1, 9, 11), "verify", "closed", outcome="fixed")
    ev(a, t(1, 10, 9), "rate", "closed", "", satisfaction="satisfied")

    b = new_case(
        conn,
        IN_P111,
        police,
        at=t(1, 31, 20),
        respond_by=t(2, 2, 12),
        due=t(2, 9, 17, 30),
        party="public_security",
        unit="PS1",
    )
    ev(b, t(2, 1, 9), "accept", "accepted")
    ev(b, t(2, 2, 13), "start", "in_progress", "police_ps1")
    ev(b, t(2, 5, 13), "resolve", "resolved", "police_ps1")
    ev(b, t(2, 6, 9), "fail_verification", "reopened", "community_c11")
    ev(b, t(2, 6, 9, 30), "comment", "reopened", "dispatcher")
    ev(b, t(2, 6, 10), "start", "in_progress", "police_ps1")
    ev(b, t(2, 10, 10), "resolve", "resolved", "police_ps1")
    ev(b, t(2, 11, 9), "verify", "closed", outcome="fixed")
    ev(b, t(2, 12, 9), "rate", "closed", "", satisfaction="dissatisfied")

    c = new_case(
        conn,
        IN_P111,
        police,
        at=t(1, 10, 9),
        respond_by=t(1, 10, 13),
        due=t(1, 19, 9),
        party="public_security",
        unit="PS1",
    )
    ev(c, t(1, 10, 9, 10), "accept", "accepted")
    ev(c, t(1, 10, 9, 20), "dispatch", "dispatched")
    ev(c, t(1, 10, 12), "refer", "referred", "police_ps1", to_party="urban_management")
    ev(c, t(1, 11, 10), "refer", "referred", "urban", to_party="public_security")
    ev(c, t(1, 11, 11), "start", "in_progress", "police_ps1")
    ev(c, t(1, 15, 12), "resolve", "resolved", "police_ps1")
    ev(c, t(1, 16, 12), "verify", "closed", outcome="fixed")

    d = new_case(
        conn,
        IN_T2,
        police,
        at=t(1, 20, 9),
        respond_by=t(1, 20, 13),
        due=t(1, 29, 9),
        party="public_security",
        unit="PS2",
    )
    ev(d, t(1, 20, 10), "accept", "accepted")

    e = new_case(
        conn,
        IN_T2,
        urban,
        at=t(2, 3, 9),
        respond_by=t(2, 3, 13),
        due=t(2, 12, 9),
        party="urban_management",
        unit=None,
    )
    ev(e, t(2, 3, 10), "reject", "rejected")

    f = new_case(
        conn,
        IN_P112,
        urban,
        at=t(2, 10, 9),
        respond_by=t(2, 10, 13),
        due=t(2, 24, 9),
        party="urban_management",
        unit=None,
    )
    ev(f, t(2, 10, 9, 30), "accept", "accepted")
    ev(f, t(2, 10, 12), "joint", "joint", "town_t1")
    conn.execute(
        text("""INSERT INTO case_task (case_id, party, unit_code, done, done_at) VALUES
                (:f, 'urban_management', NULL, true, :t1),
                (:f, 'public_security', 'PS1', true, :t2)"""),
        {"f": f, "t1": t(2, 15), "t2": t(2, 20)},
    )
    ev(f, t(2, 15), "complete_task", "joint", "urban")
    ev(f, t(2, 20), "complete_task", "resolved", "police_ps1")
    ev(f, t(2, 21), "verify", "closed", outcome="fixed")

    g = new_case(
        conn,
        IN_P112,
        urban,
        at=t(2, 11, 9),
        respond_by=t(2, 11, 13),
        due=t(2, 25, 9),
        party="urban_management",
        unit=None,
    )
    ev(g, t(2, 11, 10), "merge", "closed", into=f)
    conn.execute(text("UPDATE case_file SET merged_into = :f WHERE id = :g"), {"f": f, "g": g})

    i = new_case(
        conn,
        IN_P112,
        housing,
        at=t(2, 27, 9),
        respond_by=t(2, 27, 13),
        due=t(3, 10, 9),
        party="housing_service_center",
        unit=None,
    )
    ev(i, t(2, 27, 9, 30), "accept", "accepted")
    ev(i, t(2, 27, 10), "start", "in_progress", "housing")

    before = new_case(
        conn,
        IN_P111,
        police,
        at=t(12, 31, 23, 30, year=2025),
        respond_by=t(1, 1, 9),
        due=t(1, 9, 9),
        party="public_security",
        unit="PS1",
    )
    after = new_case(
        conn,
        IN_P111,
        police,
        at=t(3, 1),
        respond_by=t(3, 2, 9),
        due=t(3, 9, 9),
        party="public_security",
        unit="PS1",
    )
    return {
        "A": a, "B": b, "C": c, "D": d, "E": e, "F": f, "G": g, "I": i,
        "before": before, "after": after, "actions": _meeting_actions(conn),
    }  # fmt: skip
