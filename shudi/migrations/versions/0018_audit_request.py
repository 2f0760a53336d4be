"""Audit entries name the acting user's id and the request: ``actor_id`` and ``request_id``.

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-07 18:30:00

The application sets ``shudi.actor_id`` and ``shudi.request_id`` per transaction (with
``shudi.actor``, ``set_config(..., true)``); the triggers copy them into the entry. The
canonical text a row's hash covers gains the two fields at its end only when either is set, so
every row sealed before this migration still verifies.
"""

from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None

COLUMNS = """
ALTER TABLE audit_log ADD COLUMN actor_id integer, ADD COLUMN request_id text;
"""

FUNCTIONS = r"""
CREATE FUNCTION audit_actor_id() RETURNS integer
LANGUAGE sql STABLE AS $$
  SELECT CASE WHEN current_setting('shudi.actor_id', true) ~ '^[0-9]{1,9}$'
              THEN current_setting('shudi.actor_id', true)::integer END
$$;

CREATE FUNCTION audit_request_id() RETURNS text
LANGUAGE sql STABLE AS $$
  SELECT left(nullif(current_setting('shudi.request_id', true), ''), 64)
$$;

CREATE OR REPLACE FUNCTION audit_canonical(a audit_log, seq bigint) RETURNS bytea
LANGUAGE sql STABLE PARALLEL SAFE AS $$
  SELECT convert_to(
    audit_field(seq::text) || audit_field(a.id::text) || audit_field(a.xid::text)
    || audit_field(to_char(a.at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'))
    || audit_field(a.table_name) || audit_field(a.op) || audit_field(a.subject)
    || audit_field(a.db_user) || audit_field(a.actor) || audit_field(a.payload::text)
    || CASE WHEN a.actor_id IS NULL AND a.request_id IS NULL THEN ''
            ELSE audit_field(a.actor_id::text) || audit_field(a.request_id) END,
    'UTF8')
$$;

CREATE OR REPLACE FUNCTION audit_case_event() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp AS $$
BEGIN
  INSERT INTO public.audit_log (table_name, op, subject, actor, payload, actor_id, request_id)
  VALUES ('case_event', 'INSERT', 'case:' || NEW.case_id, audit_actor(),
          audit_event_payload(NEW), audit_actor_id(), audit_request_id());
  RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION audit_admin_change() RETURNS trigger
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
  INSERT INTO public.audit_log (table_name, op, subject, actor, payload, actor_id, request_id)
  VALUES (TG_TABLE_NAME, TG_OP,
          TG_TABLE_NAME || ':' || (coalesce(new_row, old_row) ->> TG_ARGV[0]), audit_actor(),
          jsonb_build_object('secrets_changed', to_jsonb(changed))
            || CASE WHEN old_row IS NULL THEN '{}' ELSE jsonb_build_object('old', old_row) END
            || CASE WHEN new_row IS NULL THEN '{}' ELSE jsonb_build_object('new', new_row) END,
          audit_actor_id(), audit_request_id());
  RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION audit_log_guard() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'UPDATE' AND OLD.seq IS NULL AND NEW.seq IS NOT NULL
     AND current_setting('shudi.sealing', true) = 'on'
     AND (OLD.id, OLD.xid, OLD.at, OLD.table_name, OLD.op, OLD.subject, OLD.db_user,
          OLD.actor, OLD.payload, OLD.actor_id, OLD.request_id)
         IS NOT DISTINCT FROM
         (NEW.id, NEW.xid, NEW.at, NEW.table_name, NEW.op, NEW.subject, NEW.db_user,
          NEW.actor, NEW.payload, NEW.actor_id, NEW.request_id) THEN
    RETURN NEW;
  END IF;
  RAISE EXCEPTION 'audit_log is append-only: % refused', TG_OP
    USING ERRCODE = 'insufficient_privilege';
END $$;
"""

OLD_FUNCTIONS = r"""

CREATE OR REPLACE FUNCTION audit_canonical(a audit_log, seq bigint) RETURNS bytea
LANGUAGE sql STABLE PARALLEL SAFE AS $$
  SELECT convert_to(
    audit_field(seq::text) || audit_field(a.id::text) || audit_field(a.xid::text)
    || audit_field(to_char(a.at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'))
    || audit_field(a.table_name) || audit_field(a.op) || audit_field(a.subject)
    || audit_field(a.db_user) || audit_field(a.actor) || audit_field(a.payload::text),
    'UTF8')
$$;

CREATE OR REPLACE FUNCTION audit_case_event() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp AS $$
BEGIN
  INSERT INTO public.audit_log (table_name, op, subject, actor, payload)
  VALUES ('case_event', 'INSERT', 'case:' || NEW.case_id, audit_actor(),
          audit_event_payload(NEW));
  RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION audit_admin_change() RETURNS trigger
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
    RETURN NULL;
  END IF;
  INSERT INTO public.audit_log (table_name, op, subject, actor, payload)
  VALUES (TG_TABLE_NAME, TG_OP,
          TG_TABLE_NAME || ':' || (coalesce(new_row, old_row) ->> TG_ARGV[0]), audit_actor(),
          jsonb_build_object('secrets_changed', to_jsonb(changed))
            || CASE WHEN old_row IS NULL THEN '{}' ELSE jsonb_build_object('old', old_row) END
            || CASE WHEN new_row IS NULL THEN '{}' ELSE jsonb_build_object('new', new_row) END);
  RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION audit_log_guard() RETURNS trigger
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

DROP FUNCTION IF EXISTS audit_actor_id();
DROP FUNCTION IF EXISTS audit_request_id();
"""


def upgrade() -> None:
    op.execute(COLUMNS)
    op.execute(FUNCTIONS)


def downgrade() -> None:
    op.execute(OLD_FUNCTIONS)
    op.execute("ALTER TABLE audit_log DROP COLUMN actor_id, DROP COLUMN request_id")
