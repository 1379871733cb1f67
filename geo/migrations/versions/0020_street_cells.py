"""event_cells at level 11 too: heatmaps at street zoom without reading every case.

A heatmap's cell is 8 screen pixels at its zoom (geo.queries.mapview.cell_for_zoom). From zoom 11 on that
is finer than level 9, the finest level of 0013, so an unfiltered heatmap read every case of its kind
in the area: ~300 ms for the demo county's 104,000 appeals at zoom 12 (two passes when the first cell
size gave too many cells). Level-11 cells (1/64 of a zoom-11 tile, ~270 m here) answer it from a few
thousand cell rows. Tiles are unaffected: they aggregate below zoom 10, from level 9 down.

The trigger function of 0013 is recreated with the extra level (its statement is copied here, as a
migration must not change when later code does), and level 11 is filled from the events.

Revision ID: 0020
Revises: 0019
Create Date: 2026-11-27
"""

from alembic import op

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None

_WORLD_M = 2 * 20037508.342789244
_X = f"ST_X(geom) * ({_WORLD_M} / 360.0)"
_Y = "ln(tan(pi() / 4 + radians(ST_Y(geom)) / 2)) * 6378137.0"
_CHANGED = (
    "(o.kind, o.grid_code, o.geom, o.severity) IS DISTINCT FROM (n.kind, n.grid_code, n.geom, n.severity)"
)


def _upsert(rows: str, levels: tuple[int, ...]) -> str:
    """Add the signed rows (kind, grid_code, geom, severity, s) of `rows` to their cells at `levels`."""
    values = ", ".join(f"({z})" for z in levels)
    return f"""
    INSERT INTO event_cells AS c (kind, z, village_code, cx, cy, n, sx, sy, w)
    SELECT kind, l.z, left(grid_code, 12), floor(x / ({_WORLD_M} / 2 ^ (l.z + 6)))::int,
           floor(y / ({_WORLD_M} / 2 ^ (l.z + 6)))::int, sum(s), sum(s * x), sum(s * y), sum(s * severity)
    FROM (SELECT kind, grid_code, severity, s, {_X} AS x, {_Y} AS y
          FROM ({rows}) r WHERE grid_code IS NOT NULL) p
    CROSS JOIN (VALUES {values}) AS l(z)
    GROUP BY 1, 2, 3, 4, 5
    ORDER BY 1, 2, 3, 4, 5  -- one lock order for concurrent writers
    ON CONFLICT (kind, z, village_code, cx, cy) DO UPDATE
    SET n = c.n + excluded.n, sx = c.sx + excluded.sx, sy = c.sy + excluded.sy, w = c.w + excluded.w;
"""


def _function(levels: tuple[int, ...]) -> str:
    """The trigger function of event_cells, keeping `levels`."""
    changed = f"FROM old_rows o JOIN new_rows n ON n.id = o.id WHERE {_CHANGED}"
    update = _upsert(
        f"SELECT o.kind, o.grid_code, o.geom, o.severity, -1 AS s {changed} "
        f"UNION ALL SELECT n.kind, n.grid_code, n.geom, n.severity, 1 {changed}",
        levels,
    )
    return f"""
CREATE OR REPLACE FUNCTION gridgov_event_cells() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER
SET search_path = public, pg_temp AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        {_upsert("SELECT kind, grid_code, geom, severity, 1 AS s FROM new_rows", levels)}
    ELSIF TG_OP = 'DELETE' THEN
        {_upsert("SELECT kind, grid_code, geom, severity, -1 AS s FROM old_rows", levels)}
    ELSIF TG_OP = 'UPDATE' THEN
        {update}
    ELSE  -- TRUNCATE
        TRUNCATE event_cells;
    END IF;
    RETURN NULL;
END $$;
"""


def upgrade() -> None:
    """Keep level 11 from now on, and fill it."""
    op.execute(_function((11, 9, 8, 6, 4)))
    op.execute(_upsert("SELECT kind, grid_code, geom, severity, 1 AS s FROM events", (11,)))
    op.execute("ANALYZE event_cells")


def downgrade() -> None:
    """Back to levels 9, 8, 6 and 4."""
    op.execute(_function((9, 8, 6, 4)))
    op.execute("DELETE FROM event_cells WHERE z = 11")
