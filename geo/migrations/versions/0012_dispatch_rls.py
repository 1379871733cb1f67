"""Row-level security that keeps the dispatch KNN walk on its index, and departments of wide areas.

workers_in_area    was an indexable code range. With it beside the candidates query's own filters
                   the planner read every worker of the unit through the code index and sorted them
                   by distance (1,383 rows per case in the demo) instead of walking the GiST index in
                   distance order and stopping after k. Written as a prefix comparison it is a plain
                   filter; queries that need a code range over workers state their own (indexable) one.
departments_in_area compared a department's county with the first 6 digits of the area, which hid
                   every department from city and province accounts (0010); now a department is
                   visible inside its county and to the city and province above it.

Revision ID: 0012
Revises: 0010
Create Date: 2026-11-27
"""

from alembic import op

revision = "0012"
down_revision = "0010"
branch_labels = None
depends_on = None

_WORKERS = "left(home_grid_code, length((SELECT gridgov_area()))) = (SELECT gridgov_area())"
_WORKERS_BEFORE = (
    "home_grid_code ~>=~ (SELECT gridgov_area()) AND home_grid_code ~<~ (SELECT gridgov_area_hi())"
)
_DEPARTMENTS = (
    "left(county_code, least(length((SELECT gridgov_area())), 6)) = (SELECT left(gridgov_area(), 6))"
)
_DEPARTMENTS_BEFORE = "county_code = (SELECT left(gridgov_area(), 6))"


def _policy(table: str, expr: str) -> None:
    op.execute(f"DROP POLICY IF EXISTS {table}_in_area ON {table}")
    op.execute(f"CREATE POLICY {table}_in_area ON {table} TO gridgov_app USING ({expr}) WITH CHECK ({expr})")


def upgrade() -> None:
    """Replace the two policies."""
    _policy("workers", _WORKERS)
    _policy("departments", _DEPARTMENTS)


def downgrade() -> None:
    """Back to the policies of 0006."""
    _policy("workers", _WORKERS_BEFORE)
    _policy("departments", _DEPARTMENTS_BEFORE)
