"""The account check of every request as one function that raises: gridgov_authorize(...).

A request's first statement checks the account behind its token (active, same role, area and worker)
and configures the transaction: area, actor, clearance, then the row-level-security role. As a query
returning no row on a failed check (0006-0015) it needed its answer read before the next statement
could be sent. As a function that raises SQLSTATE 28000 it can open a pipeline: check, query and
commit go out in one round trip, and a failed check aborts the transaction before the query runs.

set_config('role', ...) is SET LOCAL ROLE: allowed here because the function is not SECURITY DEFINER;
it applies from the next statement on, so the check itself still reads `users` as the login role.
SECURITY INVOKER also means only a role that may read `users` can pass it (never gridgov_app).

Revision ID: 0016
Revises: 0015
Create Date: 2026-11-27
"""

from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None

_AUTHORIZE = """
CREATE FUNCTION gridgov_authorize(
    p_actor text, p_role text, p_area text, p_worker bigint, p_unmasked text, p_app_role text
) RETURNS void LANGUAGE plpgsql VOLATILE AS $$
BEGIN
    PERFORM 1 FROM users u
    WHERE u.name = p_actor AND u.active AND u.role = p_role AND u.area = p_area
      AND u.worker_id IS NOT DISTINCT FROM p_worker;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'account % is missing, disabled or changed', p_actor
            USING ERRCODE = 'invalid_authorization_specification';
    END IF;
    PERFORM set_config('gridgov.area', p_area, true), set_config('gridgov.actor', p_actor, true),
            set_config('gridgov.unmasked', p_unmasked, true), set_config('role', p_app_role, true);
END $$;
"""


def upgrade() -> None:
    """Create gridgov_authorize."""
    op.execute(_AUTHORIZE)


def downgrade() -> None:
    """Drop it."""
    op.execute("DROP FUNCTION IF EXISTS gridgov_authorize(text, text, text, bigint, text, text)")
