"""Residents' names and phone numbers: sealed at rest, opened only for those who may see them
(every such read recorded), re-sealed on key rotation, erased after the retention period."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Connection, text
from support import IN_P111, file_report, type_of

from incidents import privacy, service
from shudi.pii import Cipher, PiiKeyError, get_cipher, new_key_line, parse_keys

PHONE = "13800000000"  # support.file_report's reporter
NAME = "张三"


def cipher_of(*lines: str) -> Cipher:
    return Cipher(tuple(parse_keys(",".join(lines))))


def test_seal_and_open() -> None:
    one, two = new_key_line(), new_key_line()
    c = cipher_of(one)
    sealed = c.seal(PHONE, column="phone")
    assert sealed.startswith(f"pii1:{c.current}:") and PHONE not in sealed
    assert c.seal(PHONE, column="phone") != sealed  # a fresh nonce every time
    assert c.open(sealed, column="phone") == PHONE
    assert c.seal("", column="phone") == "" and c.open("", column="phone") == ""
    assert c.open("13900000000", column="phone") == "13900000000"  # stored before sealing
    with pytest.raises(PiiKeyError):  # bound to its column
        c.open(sealed, column="contact_name")
    with pytest.raises(PiiKeyError):  # a key that is not configured
        cipher_of(two).open(sealed, column="phone")
    rotated = cipher_of(two, one)
    assert rotated.open(sealed, column="phone") == PHONE and not rotated.is_current(sealed)
    assert c.digest(PHONE, purpose="a") == c.digest(PHONE, purpose="a")
    assert c.digest(PHONE, purpose="a") != c.digest(PHONE, purpose="b")
    for bad in ("", "# only a comment", "k1:short", "bad id!:" + one.split(":")[1], f"{one},{one}"):
        with pytest.raises(PiiKeyError):
            parse_keys(bad)
    assert [k for k, _ in parse_keys(f"# keys\n{two}  # new\n{one}")] == [
        two.split(":")[0],
        one.split(":")[0],
    ]


def stored(conn: Connection, case_id: int) -> tuple[str, str]:
    row = conn.execute(
        text("SELECT contact_name, phone FROM case_reporter WHERE case_id = :c"), {"c": case_id}
    ).one()
    return row.contact_name, row.phone


def accesses(conn: Connection, case_id: int) -> list[str]:
    rows = conn.execute(
        text("SELECT actor FROM pii_access WHERE case_id = :c ORDER BY id"), {"c": case_id}
    )
    return [r.actor for r in rows]


def test_sealed_at_rest_and_reads_recorded(conn: Connection, world: dict) -> None:
    cid = file_report(conn, IN_P111, type_of(conn, agency="urban_management"))["id"]
    name, phone = stored(conn, cid)
    assert phone.startswith("pii1:") and PHONE not in phone and NAME not in name
    seen = service.get_case(conn, case_id=cid, principal=world["dispatcher"])
    assert seen["reporters"][0]["phone"] == PHONE and seen["reporters"][0]["contact_name"] == NAME
    assert accesses(conn, cid) == [world["dispatcher"].label]
    # a party that is not the handler sees the case (joint view) but never the reporter
    other = service.get_case(conn, case_id=cid, principal=world["community_c11"])
    assert "reporters" not in other and PHONE not in str(other)
    assert accesses(conn, cid) == [world["dispatcher"].label]
    audited = conn.execute(
        text("SELECT count(*) FROM audit_log WHERE table_name = 'pii_access'")
    ).scalar_one()
    assert audited >= 1


@pytest.mark.usefixtures("world")
def test_rotation_reseals_under_the_new_key(conn: Connection) -> None:
    code = type_of(conn, agency="urban_management")
    ids = [file_report(conn, IN_P111, code)["id"] for _ in range(3)]
    current = get_cipher()
    fresh = new_key_line()
    rotated = Cipher((parse_keys(fresh)[0], *current.keys))
    assert privacy.reseal(conn, cipher=rotated) >= 3
    only_new = cipher_of(fresh)
    for cid in ids:
        name, phone = stored(conn, cid)
        assert only_new.open(phone, column="phone") == PHONE
        assert only_new.open(name, column="contact_name") == NAME
    assert privacy.reseal(conn, cipher=rotated) == 0  # nothing left to do


@pytest.mark.usefixtures("world")
def test_anonymise_after_retention(conn: Connection) -> None:
    code = type_of(conn, agency="urban_management")
    old, recent, still_open = (file_report(conn, IN_P111, code)["id"] for _ in range(3))
    now = datetime.now(UTC)
    for cid, closed in ((old, now - timedelta(days=400)), (recent, now - timedelta(days=10))):
        conn.execute(
            text("UPDATE case_file SET status = 'closed', closed_at = :t WHERE id = :c"),
            {"t": closed, "c": cid},
        )
    assert privacy.anonymise(conn, days=365, now=now) == 1
    assert stored(conn, old) == ("", "")
    assert stored(conn, recent)[1].startswith("pii1:")
    assert stored(conn, still_open)[1].startswith("pii1:")
    event = conn.execute(
        text(
            "SELECT actor_role, public FROM case_event WHERE case_id = :c AND action = 'anonymise'"
        ),
        {"c": old},
    ).one()
    assert event.actor_role == "system" and not event.public
    assert privacy.anonymise(conn, days=365, now=now) == 0
