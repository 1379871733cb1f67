"""Department accounts (部门): 吹哨报到 and referrals answered by the department itself.

users          + department_id: a `department` account is bound to one department (and, like every
               account, to an area); the role list is the whole product's (security splits admin)
whistles       a department's task on a case: a whistle (吹哨) or a referral (移交 to the court, the
               police, the petition office). The department signs for it (签收), reports (报到, by
               respond_by) and reports back when done (办结反馈, by finish_by); the centre reads every
               step and its lateness. One open task per case and department (a second whistle is
               refused); a referral taken back withdraws its task.
event_photos   + whistle_id: photos a department sends with its answer.

Row-level security: department requests run as `gridgov_department`, a member of `gridgov_app`, so
every area policy of the app role applies to them too, and these RESTRICTIVE policies narrow them
further (other roles never meet them, so no other query's plan or estimate changes):

events         only the cases whistled or referred to the account's department; never written
whistles       only the department's own tasks
event_log      read as the case allows; written only for the department's own steps, as itself
event_photos   written only as part of one of its tasks
parties, idempotency_keys, workers, reports, analytics_*: never written

gridgov_department() names the account's department (SECURITY DEFINER: the app role cannot read
users) from gridgov.actor, which gridgov_authorize set after checking the account; the list of its
cases, gridgov_department_events(), reads whistles as the owner, so the events policy does not
recurse into the whistles policy.

Revision ID: 0050
Revises: 0024
Create Date: 2026-12-07
"""

from alembic import op

revision = "0050"
down_revision = "0024"
branch_labels = None
depends_on = None

# Every role of the product (commander ... auditor), plus the old 'admin', which migration 0030 splits
# into the three administrators.
ROLES = (
    "commander",
    "dispatcher",
    "planner",
    "grid_worker",
    "department",
    "sysadmin",
    "secadmin",
    "auditor",
    "admin",
)
_ROLE_LIST = ", ".join(f"'{r}'" for r in ROLES)

SCHEMA = f"""
ALTER TABLE users DROP CONSTRAINT IF EXISTS users_role_check;
ALTER TABLE users ADD CONSTRAINT users_role_check CHECK (role IN ({_ROLE_LIST}));
ALTER TABLE users ADD COLUMN department_id bigint REFERENCES departments(id);
ALTER TABLE users ADD CONSTRAINT users_department_bound
    CHECK ((role = 'department') = (department_id IS NOT NULL));

ALTER TABLE whistles
    ADD COLUMN kind         text NOT NULL DEFAULT 'whistle' CHECK (kind IN ('whistle', 'referral')),
    ADD COLUMN note         text NOT NULL DEFAULT '',
    ADD COLUMN signed_at    timestamptz,
    ADD COLUMN signed_by    text,
    ADD COLUMN responded_by text,
    ADD COLUMN finish_by    timestamptz,
    ADD COLUMN finished_at  timestamptz,
    ADD COLUMN finished_by  text,
    ADD COLUMN feedback     text,
    ADD COLUMN withdrawn_at timestamptz;
UPDATE whistles SET finish_by = respond_by;
ALTER TABLE whistles ALTER COLUMN finish_by SET NOT NULL,
    ADD CONSTRAINT whistles_finish_after CHECK (finish_by >= respond_by),
    ADD CONSTRAINT whistles_signed_pair CHECK ((signed_at IS NULL) = (signed_by IS NULL)),
    ADD CONSTRAINT whistles_finished_pair CHECK ((finished_at IS NULL) = (feedback IS NULL));
-- Earlier duplicates (the same case whistled to the same department twice, before this rule) are
-- withdrawn at the time they were made, keeping the first.
UPDATE whistles w SET withdrawn_at = w.requested_at
WHERE w.responded_at IS NULL AND EXISTS (
    SELECT 1 FROM whistles o WHERE o.event_id = w.event_id AND o.department_id = w.department_id
      AND o.responded_at IS NULL AND o.id < w.id);
CREATE UNIQUE INDEX whistles_open_once ON whistles (event_id, department_id)
    WHERE finished_at IS NULL AND withdrawn_at IS NULL;
CREATE INDEX whistles_department ON whistles (department_id, requested_at DESC);

ALTER TABLE event_photos ADD COLUMN whistle_id bigint REFERENCES whistles(id) ON DELETE SET NULL;
"""

ROLE = """
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'gridgov_department') THEN
        CREATE ROLE gridgov_department NOLOGIN INHERIT;
    END IF;
    IF NOT pg_has_role('gridgov_department', 'gridgov_app', 'MEMBER') THEN
        GRANT gridgov_app TO gridgov_department;
    END IF;
    IF NOT pg_has_role(current_user, 'gridgov_department', 'MEMBER') THEN
        EXECUTE format('GRANT gridgov_department TO %I', current_user);
    END IF;
END $$;
"""

FUNCTIONS = """
CREATE FUNCTION gridgov_department() RETURNS bigint LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = public, pg_temp AS $$
    SELECT u.department_id FROM users u
    WHERE u.name = current_setting('gridgov.actor', true) AND u.role = 'department' AND u.active
$$;
CREATE FUNCTION gridgov_department_events() RETURNS bigint[] LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = public, pg_temp AS $$
    SELECT coalesce(array_agg(DISTINCT w.event_id), '{}') FROM whistles w
    WHERE w.department_id = gridgov_department()
$$;
REVOKE ALL ON FUNCTION gridgov_department(), gridgov_department_events() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION gridgov_department(), gridgov_department_events() TO gridgov_app;
-- Department requests see parties masked like every other uncleared request of the app.
CREATE OR REPLACE FUNCTION gridgov_masked() RETURNS boolean LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT current_user IN ('gridgov_app', 'gridgov_department')
       AND coalesce(current_setting('gridgov.unmasked', true), '') <> 'on'
$$;
"""
_MASKED_BEFORE = """
CREATE OR REPLACE FUNCTION gridgov_masked() RETURNS boolean LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT current_user = 'gridgov_app' AND coalesce(current_setting('gridgov.unmasked', true), '') <> 'on'
$$;
"""

_OWN_DEPARTMENT = "department_id = (SELECT gridgov_department())"
_OWN_STEPS = (
    "action IN ('whistle_sign', 'whistle_response', 'whistle_feedback') "
    "AND actor = current_setting('gridgov.actor', true)"
)
# (name, table, command, USING, WITH CHECK): restrictive, for gridgov_department only.
POLICIES = [
    (
        "events_of_department",
        "events",
        "ALL",
        "id = ANY ((SELECT gridgov_department_events())::bigint[])",
        "false",
    ),
    ("whistles_of_department", "whistles", "ALL", _OWN_DEPARTMENT, _OWN_DEPARTMENT),
    ("event_log_of_department", "event_log", "INSERT", None, _OWN_STEPS),
    ("event_log_kept_by_department", "event_log", "UPDATE", "false", None),
    ("event_log_kept_from_department", "event_log", "DELETE", "false", None),
    ("event_photos_of_department", "event_photos", "INSERT", None, "whistle_id IS NOT NULL"),
    ("event_photos_kept_from_department", "event_photos", "DELETE", "false", None),
    ("whistles_kept_from_department", "whistles", "DELETE", "false", None),
]
# Tables the app role writes that a department never does.
READ_ONLY = ["parties", "idempotency_keys", "workers"]
OPTIONAL_READ_ONLY = ["analytics_runs", "hotspot_cells", "emerging_cells", "reports"]


def _policy(name: str, table: str, command: str, using: str | None, check: str | None) -> str:
    clauses = (f" USING ({using})" if using else "") + (f" WITH CHECK ({check})" if check else "")
    return f"CREATE POLICY {name} ON {table} AS RESTRICTIVE FOR {command} TO gridgov_department{clauses}"


def _read_only(table: str) -> list[str]:
    return [
        _policy(f"{table}_kept_from_department_i", table, "INSERT", None, "false"),
        _policy(f"{table}_kept_from_department_u", table, "UPDATE", "false", None),
        _policy(f"{table}_kept_from_department_d", table, "DELETE", "false", None),
    ]


def _if_exists(table: str, sql: str) -> str:
    body = sql.replace("'", "''")
    return f"DO $$ BEGIN IF to_regclass('public.{table}') IS NOT NULL THEN EXECUTE '{body}'; END IF; END $$"


def upgrade() -> None:
    """Bind accounts to departments, give whistles their steps, and secure what departments see."""
    op.execute(SCHEMA)
    op.execute(ROLE)
    op.execute(FUNCTIONS)
    for policy in POLICIES:
        op.execute(_policy(*policy))
    for table in READ_ONLY:
        for stmt in _read_only(table):
            op.execute(stmt)
    for table in OPTIONAL_READ_ONLY:
        for stmt in _read_only(table):
            op.execute(_if_exists(table, stmt))


def _drop(name: str, table: str) -> str:
    return _if_exists(table, f"DROP POLICY IF EXISTS {name} ON {table}")


def downgrade() -> None:
    """Back to 0024 (the cluster-wide role stays)."""
    for name, table, *_ in POLICIES:
        op.execute(_drop(name, table))
    for table in READ_ONLY + OPTIONAL_READ_ONLY:
        for suffix in "iud":
            op.execute(_drop(f"{table}_kept_from_department_{suffix}", table))
    op.execute(_MASKED_BEFORE)
    op.execute(
        "DROP FUNCTION IF EXISTS gridgov_department_events(), gridgov_department();"
        "ALTER TABLE event_photos DROP COLUMN IF EXISTS whistle_id;"
        "DROP INDEX IF EXISTS whistles_open_once, whistles_department;"
        "ALTER TABLE whistles DROP CONSTRAINT IF EXISTS whistles_finish_after,"
        " DROP CONSTRAINT IF EXISTS whistles_signed_pair, DROP CONSTRAINT IF EXISTS whistles_finished_pair,"
        " DROP COLUMN IF EXISTS kind, DROP COLUMN IF EXISTS note, DROP COLUMN IF EXISTS signed_at,"
        " DROP COLUMN IF EXISTS signed_by, DROP COLUMN IF EXISTS responded_by,"
        " DROP COLUMN IF EXISTS finish_by, DROP COLUMN IF EXISTS finished_at,"
        " DROP COLUMN IF EXISTS finished_by, DROP COLUMN IF EXISTS feedback,"
        " DROP COLUMN IF EXISTS withdrawn_at;"
        "ALTER TABLE users DROP CONSTRAINT IF EXISTS users_department_bound,"
        " DROP COLUMN IF EXISTS department_id, DROP CONSTRAINT IF EXISTS users_role_check;"
        "ALTER TABLE users ADD CONSTRAINT users_role_check"
        " CHECK (role IN ('commander','dispatcher','planner','grid_worker','admin'));"
    )
