"""Performance: a small index for the township lookup of the map layers.

grids_current_township_code  the current townships by code (~1.3k rows at province scale, vs 140k
                             rows in grids_current_code); the layer queries of geo/queries/layers.py
                             look up each returned row's township with a correlated scalar subquery
                             `code = left(x, 9) || '000000' AND level = 'township' AND valid_to IS NULL`,
                             which this index answers exactly.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-27
"""

from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create the partial index of current townships."""
    op.execute(
        "CREATE INDEX IF NOT EXISTS grids_current_township_code ON grids (code)"
        " WHERE level = 'township' AND valid_to IS NULL"
    )


def downgrade() -> None:
    """Drop it."""
    op.execute("DROP INDEX IF EXISTS grids_current_township_code")
