"""gridgov_age_text(interval): how old a position is, in Chinese (位置 3 小时前), for the candidates answer.

Candidates now keep the owning grid's and the village's workers however old their last fix is
(geo/sql/candidates.sql); the answer says how old it is instead of silently dropping them.

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-06
"""

from alembic import op

revision = "0024"
down_revision = "0023"
branch_labels = None
depends_on = None

SQL = """
CREATE FUNCTION gridgov_age_text(age interval) RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN age < interval '1 hour' THEN greatest(floor(extract(epoch FROM age) / 60), 1)::int || ' 分钟'
                WHEN age < interval '2 days' THEN floor(extract(epoch FROM age) / 3600)::int || ' 小时'
                ELSE floor(extract(epoch FROM age) / 86400)::int || ' 天' END
$$;
"""


def upgrade() -> None:
    """Create the function."""
    op.execute(SQL)


def downgrade() -> None:
    """Drop it."""
    op.execute("DROP FUNCTION IF EXISTS gridgov_age_text(interval)")
