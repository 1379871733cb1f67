"""The raster cells a bounding box touches: the hash key of the set-based event re-assignment.

`gridgov_cells(box, cell)` returns every (cx, cy) with cx from floor(xmin / cell) to floor(xmax / cell)
and cy likewise; a point (x, y) lies in cell (floor(x / cell), floor(y / cell)). geo/queries/grids.py
joins events to the current small grids on that key (a parallel hash join) instead of probing a GiST
index 1.5 M or 120 k times. It is PL/pgSQL on purpose: generate_series() in the query would do the
same, but the planner would take it for 1000 x 1000 rows per grid and plan the join from there; a
function keeps its ROWS estimate (9: a grid's box spans 2-3 cells of half its mean size each way).

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-27
"""

from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

_CELLS = """
CREATE FUNCTION gridgov_cells(b box2d, cell double precision) RETURNS TABLE (cx bigint, cy bigint)
LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE ROWS 9 AS $$
DECLARE
    x1 bigint := floor(ST_XMax(b) / cell);
    y0 bigint := floor(ST_YMin(b) / cell);
    y1 bigint := floor(ST_YMax(b) / cell);
BEGIN
    cx := floor(ST_XMin(b) / cell);
    WHILE cx <= x1 LOOP
        cy := y0;
        WHILE cy <= y1 LOOP
            RETURN NEXT;
            cy := cy + 1;
        END LOOP;
        cx := cx + 1;
    END LOOP;
END $$;
"""


def upgrade() -> None:
    """Create gridgov_cells."""
    op.execute(_CELLS)


def downgrade() -> None:
    """Drop it."""
    op.execute("DROP FUNCTION IF EXISTS gridgov_cells(box2d, double precision)")
