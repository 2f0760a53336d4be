"""The tamper-evident audit log: what is logged, sealing order, the app role, verify."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import psycopg2.errors
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Connection, Engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ProgrammingError
from support import IN_P111, file_report, load_mini, type_of

from accounts import service as accounts
from api.app import create_app
from audit import service
from audit.exceptions import AuditChainBroken, InvalidHead, UnauditedEvent
from jurisdictions import catalog, published_contacts
from shudi import database, embedded, settings
from shudi.database import make_engine

# the shudi_app role is the whole cluster's: one such module at a time (tests/conftest.py)
pytestmark = pytest.mark.usefixtures("app_role_lock")

SHUDI = str(Path(sys.executable).with_name("shudi"))
ADMIN_TABLES = {
    "app_user",
    "api_key",
    "boundary_generation",
    "generation_period",
    "agency",
    "violation_type",
    "reference_data",
    "contact",
}


def _populate(conn: Connection) -> None:
    load_mini(conn)
    catalog.sync_taxonomy(conn)
    accounts.create_user(conn, username="auditor", password="a long password", role="admin")
    accounts.create_api_key(conn, name="311 client")
    published_contacts.set_contact(
        conn, agency="urban_management", person="王五", phone="0571-8888"
    )
    for _ in range(3):
        file_report(conn, IN_P111, type_of(conn, agency="urban_management"))


@pytest.fixture(scope="module")
def audit_engine(module_scratch_db_url: str) -> Iterator[Engine]:
    eng = make_engine(module_scratch_db_url)
    with eng.begin() as conn:
        _populate(conn)
    _seal_all(eng)
    yield eng
    eng.dispose()


def _seal_all(eng: Engine) -> None:
    """Seal until nothing is left (writing transactions elsewhere in the cluster delay it)."""
    for _ in range(300):
        service.seal_pending(eng)
        with eng.connect() as c:
            if service.status(c)["unsealed"] == 0:
                return
        time.sleep(0.1)
    pytest.fail("the audit log could not be sealed within 30 s")


@pytest.fixture
def tx(audit_engine: Engine) -> Iterator[Connection]:
    """A transaction on the populated database, rolled back afterwards (tampering stays here)."""
    with audit_engine.connect() as c:
        t = c.begin()
        try:
            yield c
        finally:
            t.rollback()


def test_case_events_and_admin_changes_are_logged_without_personal_data(tx: Connection) -> None:
    tables = set(tx.execute(text("SELECT DISTINCT table_name FROM audit_log")).scalars())
    assert tables == ADMIN_TABLES | {"case_event"}
    dump = tx.execute(text("SELECT string_agg(payload::text, ' ') FROM audit_log")).scalar_one()
    # reporters' phones and names, free-text notes and secrets never enter the log
    assert "13800000000" not in dump and "张三" not in dump and "测试" not in dump
    assert "$argon2" not in dump and '"password_hash":' not in dump and '"key_hash":' not in dump
    user = tx.execute(
        text("SELECT payload FROM audit_log WHERE subject LIKE 'app_user:%' AND op = 'INSERT'")
    ).scalar_one()
    assert user["new"]["username"] == "auditor" and user["secrets_changed"] == ["password_hash"]
    event = tx.execute(
        text("SELECT payload FROM audit_log WHERE table_name = 'case_event' LIMIT 1")
    ).scalar_one()
    assert event["action"] == "report" and len(event["note_sha256"]) == 64
    # a change is logged with before and after; an upsert that changes nothing is not
    before = tx.execute(text("SELECT count(*) FROM audit_log")).scalar_one()
    catalog.sync_taxonomy(tx)
    assert tx.execute(text("SELECT count(*) FROM audit_log")).scalar_one() == before
    tx.execute(text("UPDATE agency SET name_en = 'Renamed' WHERE code = 'urban_management'"))
    change = tx.execute(
        text(
            "SELECT op, payload FROM audit_log WHERE subject = 'agency:urban_management' "
            "ORDER BY id DESC LIMIT 1"
        )
    ).one()
    assert change.op == "UPDATE" and change.payload["new"]["name_en"] == "Renamed"
    assert change.payload["old"]["name_en"] != "Renamed"


def test_verify_passes_on_an_intact_chain(tx: Connection) -> None:
    result = service.verify(tx)
    assert result.rows > 100 and result.unsealed == 0
    assert service.verify(tx, expect=result.head).head == result.head
    assert service.verify(tx, expect=service.ChainHead(5, _hash_of(tx, 5))).rows == result.rows


def _hash_of(conn: Connection, seq: int) -> str:
    return bytes(
        conn.execute(text("SELECT hash FROM audit_log WHERE seq = :s"), {"s": seq}).scalar_one()
    ).hex()


def _as_owner_without_guard(conn: Connection, sql: str) -> None:
    conn.execute(text("ALTER TABLE audit_log DISABLE TRIGGER audit_log_immutable"))
    conn.execute(text(sql))
    conn.execute(text("ALTER TABLE audit_log ENABLE TRIGGER audit_log_immutable"))


def test_verify_names_the_first_altered_row(tx: Connection) -> None:
    _as_owner_without_guard(
        tx,
        "UPDATE audit_log SET payload = jsonb_set(payload, '{new,role}', '\"dispatcher\"') "
        "WHERE subject LIKE 'app_user:%'",
    )
    seq = tx.execute(text("SELECT seq FROM audit_log WHERE subject LIKE 'app_user:%'")).scalar()
    with pytest.raises(AuditChainBroken, match=f"at seq {seq}: row altered") as err:
        service.verify(tx)
    assert err.value.seq == seq


def test_verify_names_a_removed_row(tx: Connection) -> None:
    _as_owner_without_guard(tx, "DELETE FROM audit_log WHERE seq IN (7, 9)")
    with pytest.raises(AuditChainBroken, match="at seq 7: row missing"):
        service.verify(tx)


def test_a_removed_tail_is_caught_against_a_recorded_head(tx: Connection) -> None:
    head = service.verify(tx).head
    _as_owner_without_guard(tx, f"DELETE FROM audit_log WHERE seq >= {head.seq - 1}")
    # the shorter chain is consistent on its own; here the tail held case events, whose
    # comparison with case_event gives it away, but admin rows would pass unseen
    with pytest.raises(UnauditedEvent):
        service.verify(tx)
    with pytest.raises(AuditChainBroken, match=f"at seq {head.seq - 1}: row missing"):
        service.verify(tx, expect=head)
    with pytest.raises(InvalidHead):
        service.parse_head("12:nothex")


def test_verify_compares_case_events_with_their_entries(tx: Connection) -> None:
    event = tx.execute(text("SELECT min(id) FROM case_event")).scalar_one()
    seq = tx.execute(
        text("SELECT seq FROM audit_log WHERE (payload ->> 'event_id')::bigint = :e"), {"e": event}
    ).scalar_one()
    tx.execute(text("ALTER TABLE case_event DISABLE TRIGGER case_event_append_only"))
    tx.execute(text("SAVEPOINT s"))
    tx.execute(text("UPDATE case_event SET note = 'rewritten' WHERE id = :e"), {"e": event})
    with pytest.raises(AuditChainBroken, match=f"at seq {seq}: case event {event} altered"):
        service.verify(tx)
    tx.execute(text("ROLLBACK TO SAVEPOINT s"))
    tx.execute(text("DELETE FROM case_event WHERE id = :e"), {"e": event})
    with pytest.raises(AuditChainBroken, match=f"at seq {seq}: case event {event} removed"):
        service.verify(tx)
    tx.execute(text("ROLLBACK TO SAVEPOINT s"))
    tx.execute(text("ALTER TABLE case_event DISABLE TRIGGER case_event_audit"))
    new = tx.execute(
        text("""INSERT INTO case_event (case_id, actor_role, action) SELECT case_id, 'system',
                'note' FROM case_event WHERE id = :e RETURNING id"""),
        {"e": event},
    ).scalar_one()
    with pytest.raises(UnauditedEvent, match=f"case event {new} has no audit entry"):
        service.verify(tx)


@pytest.mark.parametrize(
    "sql",
    [
        "UPDATE audit_log SET actor = 'x'",
        "DELETE FROM audit_log",
        "TRUNCATE audit_log",
        "INSERT INTO audit_log (table_name, op, subject, payload) "
        "VALUES ('x', 'INSERT', 'x', '{}')",
        "UPDATE audit_log SET seq = NULL, hash = NULL",
        "ALTER TABLE audit_log DISABLE TRIGGER audit_log_immutable",
    ],
)
def test_the_app_role_cannot_change_the_log(tx: Connection, sql: str) -> None:
    tx.execute(text(f"SET LOCAL ROLE {service.APP_ROLE}"))
    with pytest.raises(ProgrammingError) as err:
        tx.execute(text(sql))
    assert isinstance(err.value.orig, psycopg2.errors.InsufficientPrivilege)


def test_the_app_role_works_and_its_changes_are_audited(tx: Connection) -> None:
    tx.execute(text(f"SET LOCAL ROLE {service.APP_ROLE}"))
    tx.execute(text("SET LOCAL shudi.actor = 'user:1'"))
    case = file_report(tx, IN_P111, type_of(tx, agency="urban_management"))
    accounts.create_user(tx, username="clerk", password="another long one", role="dispatcher")
    rows = tx.execute(
        text("SELECT db_user, actor, subject FROM audit_log WHERE seq IS NULL ORDER BY id")
    ).all()
    assert {r.subject for r in rows} >= {f"case:{case['id']}"}
    assert all(r.actor == "user:1" for r in rows)
    # case events stay append-only for the app role too
    with pytest.raises(ProgrammingError):
        tx.execute(text("UPDATE case_event SET note = 'x'"))


def test_the_even_owner_cannot_rewrite_sealed_rows_with_the_guard_on(tx: Connection) -> None:
    with pytest.raises(Exception, match="append-only"):
        tx.execute(text("UPDATE audit_log SET actor = 'x' WHERE seq = 1"))


def test_rows_of_a_running_transaction_wait_and_keep_their_place(audit_engine: Engine) -> None:
    early = audit_engine.connect()
    late = audit_engine.connect()
    try:
        t_early = early.begin()
        early.execute(text("UPDATE agency SET name_en = name_en || '.' WHERE code = 'planning'"))
        with late.begin():
            late.execute(
                text("UPDATE agency SET name_en = name_en || '.' WHERE code = 'public_security'")
            )
        assert service.seal_pending(audit_engine) == 0  # the later commit waits for the earlier
        t_early.commit()
        # both now seal, in xid order; the horizon is the cluster's oldest running transaction,
        # so another database's transaction (the suite's other worker) may hold them a while
        sealed, deadline = 0, time.monotonic() + 60
        while sealed < 2 and time.monotonic() < deadline:
            sealed += service.seal_pending(audit_engine)
            if sealed < 2:
                time.sleep(0.2)
        assert sealed == 2
        with audit_engine.connect() as c:
            last = c.execute(
                text(
                    "SELECT subject FROM audit_log WHERE seq IS NOT NULL ORDER BY seq DESC LIMIT 2"
                )
            ).scalars()
            assert list(last) == ["agency:public_security", "agency:planning"]
            service.verify(c)
    finally:
        early.close()
        late.close()


def test_a_busy_sealer_is_skipped_not_waited_for(audit_engine: Engine) -> None:
    with audit_engine.connect() as holder, audit_engine.connect() as other:
        holder.begin()
        service.seal(holder, wait=True)  # holds the sealer's lock until rollback
        started = time.perf_counter()
        with other.begin():
            assert service.seal(other, wait=False) == 0
        assert time.perf_counter() - started < 1
        holder.rollback()


def test_the_server_seals_in_the_background(
    audit_engine: Engine, module_scratch_db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    with audit_engine.begin() as conn:
        conn.execute(text("UPDATE agency SET name_en = name_en || '!' WHERE code = 'planning'"))
    monkeypatch.setenv("SHUDI_DATABASE_URL", module_scratch_db_url)
    monkeypatch.setenv("SHUDI_AUDIT_SEAL_INTERVAL_S", "0.05")
    settings.get_settings.cache_clear()
    database.get_engine.cache_clear()
    try:
        with TestClient(create_app()):
            for _ in range(100):
                with audit_engine.connect() as c:
                    if service.status(c)["unsealed"] == 0:
                        break
                time.sleep(0.05)
            else:
                pytest.fail("the background sealer did not seal")
    finally:
        monkeypatch.undo()
        settings.get_settings.cache_clear()
        database.get_engine.cache_clear()


def test_the_app_serves_and_administers_as_the_app_role(
    audit_engine: Engine, module_scratch_db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Reports, admin commands and verify all work for the non-owner role (on the embedded
    cluster, with the password `shudi db migrate` gives it)."""
    url = make_url(module_scratch_db_url)
    s = settings.Settings()
    cluster = embedded.Cluster(root=s.pg_dir, db_name=str(url.database))
    if url.query.get("host") != str(cluster.socket_dir):
        pytest.skip("the app role's password is the operator's on an external server")
    assert embedded.set_app_password(cluster)
    url = url.set(username=service.APP_ROLE, password=cluster.password(service.APP_ROLE))
    app_url = url.render_as_string(hide_password=False)
    monkeypatch.setenv("SHUDI_DATABASE_URL", app_url)
    settings.get_settings.cache_clear()
    database.get_engine.cache_clear()
    try:
        with audit_engine.connect() as c:
            type_code = type_of(c, agency="urban_management")
        client = TestClient(create_app())
        report = {"lon": IN_P111[0], "lat": IN_P111[1], "type": type_code, "phone": "13900000000"}
        r = client.post("/api/v1/reports", json=report, headers={"Idempotency-Key": "app-role-1"})
        assert r.status_code == 201, r.text
        with database.get_engine().connect() as c:
            assert c.execute(text("SELECT current_user")).scalar_one() == service.APP_ROLE
    finally:
        monkeypatch.undo()
        settings.get_settings.cache_clear()
        database.get_engine.cache_clear()
    password = "planner two pass"
    added = _cli(app_url, "users", "add", "planner2", "--role", "planner", "--password", password)
    assert added.returncode == 0, added.stderr
    assert _cli(app_url, "apikey", "create", "client2").returncode == 0
    verified = _cli(app_url, "audit", "verify")
    assert verified.returncode == 0 and verified.stdout.startswith("ok: "), verified.stderr
    with audit_engine.connect() as c:
        subjects = set(
            c.execute(
                text("SELECT subject FROM audit_log WHERE db_user = :u"), {"u": service.APP_ROLE}
            ).scalars()
        )
    assert any(s.startswith("case:") for s in subjects)
    assert any(s.startswith("app_user:") for s in subjects)
    assert any(s.startswith("api_key:") for s in subjects)


def _cli(url: str, *args: str) -> subprocess.CompletedProcess:
    env = os.environ | {"SHUDI_DATABASE_URL": url, "COLUMNS": "200"}
    return subprocess.run([SHUDI, *args], capture_output=True, text=True, env=env, timeout=120)


def test_cli_verify_exits_non_zero_naming_the_first_bad_row(scratch_db_url: str) -> None:
    eng = make_engine(scratch_db_url)
    with eng.begin() as conn:
        load_mini(conn)
        catalog.sync_taxonomy(conn)
    ok = _cli(scratch_db_url, "audit", "verify")
    assert ok.returncode == 0 and ok.stdout.startswith("ok: "), ok.stderr
    head = ok.stdout.split("head ")[1].split(";")[0]
    with eng.begin() as conn:
        _as_owner_without_guard(
            conn, "UPDATE audit_log SET payload = payload || '{\"x\": 1}' WHERE seq = 4"
        )
    bad = _cli(scratch_db_url, "audit", "verify", "--head", head)
    assert bad.returncode == 1
    assert bad.stderr.strip().splitlines() == [
        "shudi: error: audit log broken at seq 4: row altered (hash mismatch)"
    ]
    eng.dispose()


def test_cli_sets_the_app_role_password_from_the_environment(scratch_db_url: str) -> None:
    env = os.environ | {"SHUDI_DATABASE_URL": scratch_db_url, "SHUDI_APP_DB_PASSWORD": "short"}
    weak = subprocess.run(
        [SHUDI, "audit", "app-password"], capture_output=True, text=True, env=env, timeout=60
    )
    assert weak.returncode == 1 and "12 characters" in weak.stderr
    env["SHUDI_APP_DB_PASSWORD"] = "a-long-enough-password"
    try:
        ok = subprocess.run(
            [SHUDI, "audit", "app-password"], capture_output=True, text=True, env=env, timeout=60
        )
        assert ok.returncode == 0 and "password of shudi_app set" in ok.stdout, ok.stderr
    finally:  # the role is the whole cluster's: give the embedded app its own password back
        url = make_url(scratch_db_url)
        cluster = embedded.Cluster(root=settings.Settings().pg_dir, db_name=str(url.database))
        if url.query.get("host") == str(cluster.socket_dir):
            embedded.set_app_password(cluster)
