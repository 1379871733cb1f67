"""Statistics on the keys the roll-ups are grouped by, so the planner hashes instead of sorting.

A report groups a quarter of grid_days (445,000 rows for the province) by category and by county or
township in one scan (GROUPING SETS, geo.queries.rollups.windows). Without statistics on those
expressions PostgreSQL guesses a group per few rows, finds no hash table fits work_mem and sorts the
rows on disk instead (953 ms); knowing there are 87 counties and ~60 categories it hashes them in 3 MB
(297 ms). ANALYZE (autovacuum, the demo loader) keeps them current.

Revision ID: 0064
Revises: 0063
Create Date: 2026-12-07
"""

from alembic import op

revision = "0064"
down_revision = "0063"
branch_labels = None
depends_on = None

# name -> the grouping expression of geo.queries.rollups._group (codes of each level, kind|category)
KEYS = {
    "grid_days_city": "left(grid_code, 4)",
    "grid_days_county": "left(grid_code, 6)",
    "grid_days_township": "left(grid_code, 9)",
    "grid_days_village": "left(grid_code, 12)",
    "grid_days_category": "kind || '|' || category",
}


def upgrade() -> None:
    """Create the statistics and gather them."""
    for name, expression in KEYS.items():
        op.execute(f"CREATE STATISTICS {name} ON ({expression}) FROM grid_days")
    op.execute("ANALYZE grid_days")


def downgrade() -> None:
    """Drop them."""
    op.execute("DROP STATISTICS IF EXISTS " + ", ".join(KEYS))
