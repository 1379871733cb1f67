"""Area policies the planner reads as "about half the rows", not "0.5 %".

The area filters of 0012/0015 compare a code prefix with a setting, which the planner cannot see: it
takes the comparison for an equality of default selectivity, 0.5 %, whatever the account. For a
province account, for whom every row passes, it then plans a page of 1,000 disputes over the province
as if 475 rows matched (a nested loop over the categories, an external sort of 95,000 rows: 306 ms,
against 45 ms for the same statement without the policy). Every layer and list query states its area
itself, as a literal the planner reads against real statistics; the policy only has to stop shrinking
that estimate.

So each filter gets a first arm, `(SELECT gridgov_area() = '')`: a boolean parameter, which the
planner counts as 50 % selective, ORed with the prefix test (0.5 %): together ~50 %. The arm never
holds (gridgov_area() is digits, or 'x' when unset) and is evaluated once per statement.

Revision ID: 0019
Revises: 0018
Create Date: 2026-11-27
"""

from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None

_PREFIX = "left({col}, length((SELECT gridgov_area()))) = (SELECT gridgov_area())"
_ESTIMATE = "(SELECT gridgov_area() = '') OR "
_ANCESTORS = " OR code = ANY((SELECT gridgov_area_ancestors())::text[])"
_TABLES = {
    "events": "grid_code",
    "facilities": "grid_code",
    "grids": "code",
    "event_cells": "village_code",
    "workers": "home_grid_code",
}
_NO_CHECK = {"event_cells"}  # written only by the owner's triggers


def _policies(arm: str) -> None:
    for table, col in _TABLES.items():
        expr = f"{arm}({_PREFIX.format(col=col)})" + (_ANCESTORS if table == "grids" else "")
        op.execute(f"DROP POLICY IF EXISTS {table}_in_area ON {table}")
        check = "" if table in _NO_CHECK else f" WITH CHECK ({expr})"
        op.execute(f"CREATE POLICY {table}_in_area ON {table} TO gridgov_app USING ({expr}){check}")


def upgrade() -> None:
    """Policies with the estimate arm."""
    _policies(_ESTIMATE)


def downgrade() -> None:
    """Back to the bare prefix filters of 0012 and 0015."""
    _policies("")
