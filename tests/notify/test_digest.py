"""The town coordinators' daily digest on a real PostGIS: the counts of a hand-built day, one
message per town and day however often it runs, and the sender's once-a-day trigger."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

from sqlalchemy import Connection, text
from support import IN_P111, IN_P112, IN_T2, file_report, type_of

from accounts.service import Principal
from incidents import tasks
from notify.digest import due_day, enqueue_digest, town_day

BJ = timezone(timedelta(hours=8))
DAY = date(2026, 11, 2)


def at(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 11, day, hour, minute, tzinfo=BJ)


def shape(
    conn: Connection, case_id: int, created: datetime, due: datetime, status: str = ""
) -> None:
    conn.execute(
        text("""UPDATE case_file SET created_at = :c, due_at = :d,
                    status = coalesce(nullif(:s, ''), status) WHERE id = :i"""),
        {"c": created, "d": due, "s": status, "i": case_id},
    )


def test_the_digest_of_a_hand_built_day(conn: Connection, world: dict[str, Principal]) -> None:
    kind = type_of(conn, agency="urban_management", scope="enforcement")
    dispute_type = conn.execute(
        text("""SELECT code FROM violation_type WHERE scope = 'dispute' AND reportable
                AND active ORDER BY code LIMIT 1""")
    ).scalar_one()
    c = {n: file_report(conn, IN_P111 if n % 2 else IN_P112, kind)["id"] for n in range(1, 6)}
    shape(conn, c[1], at(2, 10), at(10, 17))  # new that day, not yet due
    shape(conn, c[2], at(1, 9), at(1, 12))  # older, past due: overdue
    shape(conn, c[3], at(2, 21), at(2, 23, 50))  # new, and overdue by the day's end
    shape(conn, c[4], at(3, 0, 10), at(3, 9))  # the next day (16:10 UTC on the 2nd): not counted
    shape(conn, c[5], at(1, 8), at(1, 9), status="resolved")  # past due but resolved: not overdue
    dispute = file_report(conn, IN_P111, dispute_type)["id"]
    shape(conn, dispute, at(1, 15), at(20, 17))  # an open dispute, not new, not due
    elsewhere = file_report(conn, IN_T2, kind)["id"]  # T2: not in T1's digest
    shape(conn, elsewhere, at(2, 11), at(2, 12))
    waiting = tasks.add_task(conn, case_id=c[2], party="public_security", unit_code=None,
                             unit_name="", kind="joint", note="联合执法")  # fmt: skip
    done = tasks.add_task(conn, case_id=c[1], party="market_regulation", unit_code=None,
                          unit_name="", kind="joint", note="联合执法")  # fmt: skip
    conn.execute(text("UPDATE case_task SET created_at = :t WHERE id = ANY(:i)"),
                 {"t": at(2, 9), "i": [waiting, done]})  # fmt: skip
    conn.execute(text("UPDATE case_task SET done = true, done_at = :t WHERE id = :i"),
                 {"t": at(2, 16), "i": done})  # fmt: skip

    got = town_day(conn, town="T1", day=DAY)
    assert sorted(got["new"]) == sorted([c[1], c[3]])
    assert sorted(got["overdue"]) == sorted([c[2], c[3]])
    assert got["disputes"] == [dispute]
    assert got["joint_waiting"] == [waiting]
    assert town_day(conn, town="T2", day=DAY)["new"] == [elsewhere]

    first = {m["town"]: m for m in enqueue_digest(conn, day=DAY)}
    assert first["T1"]["enqueued"] and (first["T1"]["new"], first["T1"]["overdue"]) == (2, 2)
    again = enqueue_digest(conn, day=DAY, town="T1")
    assert again[0]["enqueued"] is False  # once per town and day
    rows = conn.execute(
        text("""SELECT channel, recipient, body FROM notify_message
                WHERE template = 'town_digest' AND recipient = 'town_government/T1'""")
    ).all()
    assert len(rows) == 1 and rows[0].channel == "staff"
    body = rows[0].body
    assert "2026-11-02" in body and "新增案件 2 件" in body and "超期未办结 2 件" in body
    assert "待调处纠纷 1 件" in body and "联合执法待报到/办理任务 1 项" in body
    assert f"#{c[2]}" in body and "13800000000" not in body and "张三" not in body


def test_the_sender_s_daily_trigger_hour() -> None:
    assert due_day(datetime(2026, 11, 3, 7, 59, tzinfo=BJ), "08:00") is None
    assert due_day(datetime(2026, 11, 3, 8, 0, tzinfo=BJ), "08:00") == DAY
    assert due_day(datetime(2026, 11, 3, 0, 30, tzinfo=UTC), "08:00") == DAY  # 08:30 BJ
    assert due_day(datetime(2026, 11, 3, 12, 0, tzinfo=BJ), "off") is None
