"""One file of access rules (geo/sql/policies.sql), and append-only case timelines and reports.

Until now the grants and policies of the app's role were spread over migrations 0006-0023 (and the
login was the cluster's superuser, which row-level security does not bind). geo/sql/policies.sql now
holds every table's grants and policies as they are today; this migration applies it (dropping what
was there). It also takes back what the app never needed: DELETE on cases, parties, photos, workers,
whistles; UPDATE and DELETE on the case timeline and on issued reports; writes to the analyses, which
only the jobs (the owner) store; reading `alembic_version` and `job_schedules`.

event_log and reports are append-only for the app twice over: no UPDATE or DELETE grant, and a trigger
(gridgov_append_only) that refuses both to any role that is neither superuser nor the table's owner,
should a grant ever come back. The owner keeps them: deleting a case removes its timeline (cascade).

Revision ID: 0031
Revises: 0030
Create Date: 2026-12-06
"""

from alembic import op

from geo.db.policies import apply_policies

revision = "0031"
down_revision = "0030"
branch_labels = None
depends_on = None

APPEND_ONLY = """
CREATE FUNCTION gridgov_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NOT (SELECT rolsuper FROM pg_roles WHERE rolname = current_user)
       AND NOT pg_has_role(current_user, (SELECT relowner FROM pg_class WHERE oid = TG_RELID), 'USAGE') THEN
        RAISE EXCEPTION '% is append-only: rows are added, never changed or removed', TG_TABLE_NAME
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN CASE WHEN TG_OP = 'DELETE' THEN OLD ELSE NEW END;
END $$;
CREATE TRIGGER event_log_append_only BEFORE UPDATE OR DELETE ON event_log
    FOR EACH ROW EXECUTE FUNCTION gridgov_append_only();
CREATE TRIGGER event_log_no_truncate BEFORE TRUNCATE ON event_log
    FOR EACH STATEMENT EXECUTE FUNCTION gridgov_append_only();
CREATE TRIGGER reports_append_only BEFORE UPDATE OR DELETE ON reports
    FOR EACH ROW EXECUTE FUNCTION gridgov_append_only();
CREATE TRIGGER reports_no_truncate BEFORE TRUNCATE ON reports
    FOR EACH STATEMENT EXECUTE FUNCTION gridgov_append_only();
"""


def upgrade() -> None:
    """Apply the policies file; make the timeline and reports append-only."""
    apply_policies(op.get_bind())
    op.execute(APPEND_ONLY)


# Tables without row-level security before this migration, and the grants the app had (0006-0023).
_NO_RLS_BEFORE = (
    "idempotency_keys",
    "grid_cores",
    "categories",
    "time_limits",
    "holidays",
    "calendar_years",
    "data_changes",
    "jobs",
    "job_schedules",
    "users",
    "user_sessions",
    "login_failures",
    "login_locks",
    "audit_log",
    "alembic_version",
)
_GRANTS_BEFORE = """
GRANT SELECT ON ALL TABLES IN SCHEMA public TO gridgov_app;
REVOKE ALL ON users, grid_cores FROM gridgov_app;
GRANT INSERT, UPDATE, DELETE ON events, parties, event_log, idempotency_keys, whistles, workers, analytics_runs,
    hotspot_cells, emerging_cells, reports TO gridgov_app;
GRANT INSERT, DELETE ON event_photos TO gridgov_app;
GRANT INSERT ON jobs, audit_log TO gridgov_app;
"""


def downgrade() -> None:
    """Drop the append-only triggers, the policies of tables that had none, and give back the old grants."""
    for table in _NO_RLS_BEFORE:
        op.execute(
            f"DO $$ DECLARE p text; BEGIN IF to_regclass('public.{table}') IS NOT NULL THEN "
            f"FOR p IN SELECT policyname FROM pg_policies WHERE tablename = '{table}' LOOP "
            f"EXECUTE format('DROP POLICY %I ON {table}', p); END LOOP; "
            f"ALTER TABLE {table} DISABLE ROW LEVEL SECURITY; END IF; END $$"
        )
    op.execute(_GRANTS_BEFORE)
    op.execute(
        "DROP TRIGGER IF EXISTS event_log_append_only ON event_log;"
        "DROP TRIGGER IF EXISTS event_log_no_truncate ON event_log;"
        "DROP TRIGGER IF EXISTS reports_append_only ON reports;"
        "DROP TRIGGER IF EXISTS reports_no_truncate ON reports;"
        "DROP FUNCTION IF EXISTS gridgov_append_only();"
    )
