"""Row-level security as plain filters on the big tables, so it never out-votes the query's own index.

The area policies of events, facilities, grids and event_cells were indexable code ranges. The planner
cannot see the area behind them (a setting, so a parameter of default selectivity) and, for a province
or city account, ANDed the range with the query's own index: a z12 tile read 1.5 M grid-code index
entries (175 ms) to intersect them with 1,350 bbox hits. Written as prefix comparisons they are filters
on rows the query's own conditions found (every layer and list query states its area, bbox or ids
itself). The same change as workers_in_area in 0012.

Revision ID: 0015
Revises: 0014
Create Date: 2026-11-27
"""

from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None

_PREFIX = "left({col}, length((SELECT gridgov_area()))) = (SELECT gridgov_area())"
_RANGE = "{col} ~>=~ (SELECT gridgov_area()) AND {col} ~<~ (SELECT gridgov_area_hi())"
_ANCESTORS = " OR code = ANY((SELECT gridgov_area_ancestors())::text[])"
_TABLES = {"events": "grid_code", "facilities": "grid_code", "grids": "code", "event_cells": "village_code"}


def _policies(form: str) -> None:
    for table, col in _TABLES.items():
        expr = f"({form.format(col=col)})" + (_ANCESTORS if table == "grids" else "")
        op.execute(f"DROP POLICY IF EXISTS {table}_in_area ON {table}")
        check = "" if table == "event_cells" else f" WITH CHECK ({expr})"
        op.execute(f"CREATE POLICY {table}_in_area ON {table} TO gridgov_app USING ({expr}){check}")


def upgrade() -> None:
    """Prefix filters."""
    _policies(_PREFIX)


def downgrade() -> None:
    """Back to code ranges."""
    _policies(_RANGE)
