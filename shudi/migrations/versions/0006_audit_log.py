"""Tamper-evident audit log (hash-chained, append-only).

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-25 23:58:00

Triggers copy case events and changes of the admin tables into ``audit_log`` (unsealed: no
``seq``/``hash``); ``audit_seal()`` later chains them in transaction-id order. The application
connects as the non-owner role ``shudi_app``, which may read the log and call the sealer but
not write, update, delete or truncate it. See docs/audit.md.
"""

from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

APP_ROLE = "shudi_app"

#: Admin tables: (table, primary-key expression, columns never copied into the log).
ADMIN_TABLES = (
    ("app_user", "id", ("password_hash",)),
    ("api_key", "id", ("key_hash",)),
    ("boundary_generation", "id", ()),
    ("generation_period", "id", ()),
    ("agency", "code", ()),
    ("violation_type", "code", ()),
    ("contact", "id", ()),
)

TABLE = """
CREATE TABLE audit_log (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    xid xid8 NOT NULL DEFAULT pg_current_xact_id(),
    at timestamptz NOT NULL DEFAULT clock_timestamp(),
    table_name text NOT NULL,
    op text NOT NULL CHECK (op IN ('INSERT', 'UPDATE', 'DELETE')),
    subject text NOT NULL,
    db_user text NOT NULL DEFAULT session_user,
    actor text,
    payload jsonb NOT NULL,
    seq bigint,
    hash bytea,
    CONSTRAINT ck_audit_log_sealed CHECK ((seq IS NULL) = (hash IS NULL)),
    CONSTRAINT ck_audit_log_hash_length CHECK (hash IS NULL OR octet_length(hash) = 32)
);
CREATE UNIQUE INDEX uq_audit_log_seq ON audit_log (seq);
CREATE INDEX ix_audit_log_unsealed ON audit_log (xid, id) WHERE seq IS NULL;
CREATE INDEX ix_audit_log_subject ON audit_log (subject, id);
"""

# One field of the canonical text: ``<bytes>:<text>,`` or ``~,`` for NULL (a netstring, so
# no value can imitate a field boundary). audit/service.py rebuilds it independently.
FUNCTIONS = r"""
CREATE FUNCTION audit_field(value text) RETURNS text
LANGUAGE sql STABLE PARALLEL SAFE AS $$
  SELECT CASE WHEN value IS NULL THEN '~,'
              ELSE octet_length(convert_to(value, 'UTF8'))::text || ':' || value || ',' END
$$;

CREATE FUNCTION audit_canonical(a audit_log, seq bigint) RETURNS bytea
LANGUAGE sql STABLE PARALLEL SAFE AS $$
  SELECT convert_to(
    audit_field(seq::text) || audit_field(a.id::text) || audit_field(a.xid::text)
    || audit_field(to_char(a.at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'))
    || audit_field(a.table_name) || audit_field(a.op) || audit_field(a.subject)
    || audit_field(a.db_user) || audit_field(a.actor) || audit_field(a.payload::text),
    'UTF8')
$$;

-- The actor the application names for this transaction (SET LOCAL shudi.actor = '...').
CREATE FUNCTION audit_actor() RETURNS text
LANGUAGE sql STABLE AS $$ SELECT nullif(current_setting('shudi.actor', true), '') $$;

-- What the log keeps of a case event. Free text (note) and event data are kept as digests:
-- personal data never enters a log that cannot be edited, and the digests still prove what
-- the event said (shudi audit verify compares every event with its entry).
CREATE FUNCTION audit_event_payload(e case_event) RETURNS jsonb
LANGUAGE sql STABLE AS $$
  SELECT jsonb_build_object(
    'event_id', e.id, 'case_id', e.case_id,
    'at', to_char(e.at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
    'actor_id', e.actor_id, 'actor_role', e.actor_role, 'action', e.action,
    'from_status', e.from_status, 'to_status', e.to_status, 'public', e.public,
    'note_sha256', encode(sha256(convert_to(e.note, 'UTF8')), 'hex'),
    'data_sha256', encode(sha256(convert_to(e.data::text, 'UTF8')), 'hex'))
$$;

CREATE FUNCTION audit_case_event() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp AS $$
BEGIN
  INSERT INTO public.audit_log (table_name, op, subject, actor, payload)
  VALUES ('case_event', 'INSERT', 'case:' || NEW.case_id, audit_actor(),
          audit_event_payload(NEW));
  RETURN NULL;
END $$;

-- TG_ARGV[0]: the primary-key column; TG_ARGV[1..]: columns left out (secrets), whose change
-- is recorded as a name in "secrets_changed".
CREATE FUNCTION audit_admin_change() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp AS $$
DECLARE
  old_row jsonb := CASE WHEN TG_OP <> 'INSERT' THEN to_jsonb(OLD) END;
  new_row jsonb := CASE WHEN TG_OP <> 'DELETE' THEN to_jsonb(NEW) END;
  secret text;
  changed text[] := '{}';
  i int;
BEGIN
  FOR i IN 1 .. TG_NARGS - 1 LOOP
    secret := TG_ARGV[i];
    IF old_row -> secret IS DISTINCT FROM new_row -> secret THEN
      changed := changed || secret;
    END IF;
    old_row := old_row - secret;
    new_row := new_row - secret;
  END LOOP;
  IF TG_OP = 'UPDATE' AND old_row = new_row AND cardinality(changed) = 0 THEN
    RETURN NULL;  -- an upsert that changed nothing
  END IF;
  INSERT INTO public.audit_log (table_name, op, subject, actor, payload)
  VALUES (TG_TABLE_NAME, TG_OP,
          TG_TABLE_NAME || ':' || (coalesce(new_row, old_row) ->> TG_ARGV[0]), audit_actor(),
          jsonb_build_object('secrets_changed', to_jsonb(changed))
            || CASE WHEN old_row IS NULL THEN '{}' ELSE jsonb_build_object('old', old_row) END
            || CASE WHEN new_row IS NULL THEN '{}' ELSE jsonb_build_object('new', new_row) END);
  RETURN NULL;
END $$;

-- Rows are immutable; the only update allowed is the sealer's one-time setting of seq/hash.
CREATE FUNCTION audit_log_guard() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'UPDATE' AND OLD.seq IS NULL AND NEW.seq IS NOT NULL
     AND current_setting('shudi.sealing', true) = 'on'
     AND (OLD.id, OLD.xid, OLD.at, OLD.table_name, OLD.op, OLD.subject, OLD.db_user,
          OLD.actor, OLD.payload)
         IS NOT DISTINCT FROM
         (NEW.id, NEW.xid, NEW.at, NEW.table_name, NEW.op, NEW.subject, NEW.db_user,
          NEW.actor, NEW.payload) THEN
    RETURN NEW;
  END IF;
  RAISE EXCEPTION 'audit_log is append-only: % refused', TG_OP
    USING ERRCODE = 'insufficient_privilege';
END $$;

-- Chain every row whose transaction ended before the oldest one still running: no row that
-- commits later can then belong before them. Returns how many rows it sealed (0 when another
-- sealer holds the lock and wait is false).
CREATE FUNCTION audit_seal(max_rows integer DEFAULT 50000, wait boolean DEFAULT false)
RETURNS integer
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp AS $$
DECLARE
  horizon xid8;
  last_seq bigint;
  last_hash bytea;
  r public.audit_log;
  n integer := 0;
BEGIN
  IF current_setting('transaction_isolation') <> 'read committed' THEN
    RAISE EXCEPTION 'audit_seal() needs READ COMMITTED (it must see the latest chain head)';
  END IF;
  IF wait THEN
    PERFORM pg_advisory_xact_lock(hashtext('shudi.audit_seal'));
  ELSIF NOT pg_try_advisory_xact_lock(hashtext('shudi.audit_seal')) THEN
    RETURN 0;
  END IF;
  horizon := pg_snapshot_xmin(pg_current_snapshot());
  SELECT a.seq, a.hash INTO last_seq, last_hash
    FROM public.audit_log a WHERE a.seq IS NOT NULL ORDER BY a.seq DESC LIMIT 1;
  IF NOT FOUND THEN
    last_seq := 0;
    last_hash := '\x0000000000000000000000000000000000000000000000000000000000000000'::bytea;
  END IF;
  PERFORM set_config('shudi.sealing', 'on', true);
  FOR r IN SELECT * FROM public.audit_log a
           WHERE a.seq IS NULL AND a.xid < horizon ORDER BY a.xid, a.id LIMIT max_rows LOOP
    last_seq := last_seq + 1;
    last_hash := sha256(last_hash || audit_canonical(r, last_seq));
    UPDATE public.audit_log SET seq = last_seq, hash = last_hash WHERE id = r.id;
    n := n + 1;
  END LOOP;
  PERFORM set_config('shudi.sealing', 'off', true);
  RETURN n;
END $$;
"""

TRIGGERS = """
CREATE TRIGGER audit_log_immutable BEFORE UPDATE OR DELETE ON audit_log
  FOR EACH ROW EXECUTE FUNCTION audit_log_guard();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
  FOR EACH STATEMENT EXECUTE FUNCTION shudi_append_only();
CREATE TRIGGER case_event_audit AFTER INSERT ON case_event
  FOR EACH ROW EXECUTE FUNCTION audit_case_event();
"""

# Created when missing (roles belong to the whole cluster); skipped with a notice when the
# migrating user may not create roles.
APP_ROLE_SQL = f"""
DO $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{APP_ROLE}') THEN
    BEGIN
      CREATE ROLE {APP_ROLE} LOGIN;
    EXCEPTION WHEN insufficient_privilege THEN
      RAISE NOTICE 'cannot create role {APP_ROLE}; create it and grant as docs/audit.md says';
      RETURN;
    END;
  END IF;
  EXECUTE format('GRANT CONNECT, TEMPORARY ON DATABASE %I TO {APP_ROLE}', current_database());
  GRANT USAGE ON SCHEMA public TO {APP_ROLE};
  GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {APP_ROLE};
  GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {APP_ROLE};
  ALTER DEFAULT PRIVILEGES IN SCHEMA public
    GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO {APP_ROLE};
  ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT USAGE, SELECT ON SEQUENCES TO {APP_ROLE};
  REVOKE ALL ON audit_log FROM {APP_ROLE};
  GRANT SELECT ON audit_log TO {APP_ROLE};
  REVOKE UPDATE, DELETE ON case_event FROM {APP_ROLE};
  REVOKE INSERT, UPDATE, DELETE ON alembic_version FROM {APP_ROLE};
END $$;
"""

# Rows that existed before the log: one INSERT entry each, marked as a backfill, so that every
# case event has its entry and the chain starts from the state the log was switched on in.
BACKFILL = """
INSERT INTO audit_log (table_name, op, subject, payload)
SELECT 'case_event', 'INSERT', 'case:' || e.case_id,
       audit_event_payload(e) || '{"backfill": true}'
FROM case_event e ORDER BY e.id;
"""

PUBLIC_EXECUTE = """
REVOKE ALL ON audit_log FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION audit_case_event(), audit_admin_change(), audit_seal(integer, boolean)
  FROM PUBLIC;
"""


def upgrade() -> None:
    op.execute(TABLE)
    op.execute(FUNCTIONS)
    op.execute(BACKFILL)
    for table, key, secrets in ADMIN_TABLES:
        hidden = "".join(f" - '{s}'" for s in secrets)
        op.execute(
            f"""INSERT INTO audit_log (table_name, op, subject, payload)
                SELECT '{table}', 'INSERT', '{table}:' || t.{key},
                       jsonb_build_object('backfill', true, 'secrets_changed', '[]'::jsonb,
                                          'new', to_jsonb(t){hidden})
                FROM {table} t ORDER BY t.{key}"""
        )
    op.execute(TRIGGERS)
    for table, key, secrets in ADMIN_TABLES:
        args = ", ".join(f"'{a}'" for a in (key, *secrets))
        op.execute(
            f"CREATE TRIGGER {table}_audit AFTER INSERT OR UPDATE OR DELETE ON {table} "
            f"FOR EACH ROW EXECUTE FUNCTION audit_admin_change({args})"
        )
    op.execute(PUBLIC_EXECUTE)
    op.execute(APP_ROLE_SQL)
    op.execute(
        f"""DO $$ BEGIN
          IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{APP_ROLE}') THEN
            GRANT EXECUTE ON FUNCTION audit_seal(integer, boolean) TO {APP_ROLE};
          END IF;
        END $$;"""
    )


def downgrade() -> None:
    op.execute(
        f"""DO $$ BEGIN
          IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{APP_ROLE}') THEN
            ALTER DEFAULT PRIVILEGES IN SCHEMA public
              REVOKE SELECT, INSERT, UPDATE, DELETE ON TABLES FROM {APP_ROLE};
            ALTER DEFAULT PRIVILEGES IN SCHEMA public
              REVOKE USAGE, SELECT ON SEQUENCES FROM {APP_ROLE};
            REVOKE ALL ON ALL TABLES IN SCHEMA public FROM {APP_ROLE};
            REVOKE ALL ON ALL SEQUENCES IN SCHEMA public FROM {APP_ROLE};
            REVOKE ALL ON SCHEMA public FROM {APP_ROLE};
            EXECUTE format('REVOKE ALL ON DATABASE %I FROM {APP_ROLE}', current_database());
          END IF;
        END $$;"""
    )
    for table, _key, _secrets in ADMIN_TABLES:
        op.execute(f"DROP TRIGGER IF EXISTS {table}_audit ON {table}")
    op.execute("DROP TRIGGER IF EXISTS case_event_audit ON case_event")
    op.execute("DROP FUNCTION IF EXISTS audit_seal(integer, boolean)")
    op.execute("DROP FUNCTION IF EXISTS audit_canonical(audit_log, bigint)")
    op.execute("DROP TABLE audit_log")
    for fn in (
        "audit_log_guard()",
        "audit_admin_change()",
        "audit_case_event()",
        "audit_event_payload(case_event)",
        "audit_actor()",
        "audit_field(text)",
    ):
        op.execute(f"DROP FUNCTION IF EXISTS {fn}")
