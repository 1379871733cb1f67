"""Indexes for the present figures of an area, as the app's role reads them.

Under row-level security a `LIKE 'prefix%'` is not an index condition (textlike is not leakproof, so it
runs after the policy), and the big screen's open cases and workers on duty of one county were found by
reading the province's: 7,490 open cases and 118,000 workers for a county's 100 and 1,400 (4-5 x the
county-only database). The queries now say their area as a code range (`~>=~`, `~<~`: leakproof, index
conditions), and these partial indexes hold exactly the rows those questions ask about.

Revision ID: 0063
Revises: 0062
Create Date: 2026-12-06
"""

from alembic import op

revision = "0063"
down_revision = "0062"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create the indexes."""
    op.execute(
        "CREATE INDEX events_open_code ON events (grid_code text_pattern_ops) "
        "WHERE status NOT IN ('closed', 'rejected', 'duplicate');"
        "CREATE INDEX workers_on_duty_code ON workers (home_grid_code text_pattern_ops) WHERE on_duty;"
    )


def downgrade() -> None:
    """Drop them."""
    op.execute("DROP INDEX IF EXISTS events_open_code, workers_on_duty_code")
