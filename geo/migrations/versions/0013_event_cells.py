"""Event counts per map cell, kept current by statement triggers: low-zoom tiles without a scan of cases.

A province z8 tile of appeals aggregates ~300 k points per request (~280 ms); from this table it sums a
few thousand cell rows. `event_cells` holds, per kind, level, village (12-digit code prefix, so that any
area from the province down to one village is an exact prefix) and cell, the number of events, the
sums of their Web Mercator x and y (for the mean position) and of their severity. A level-z cell is
64 px of a 4096-px tile at zoom z; levels 9, 8, 6 and 4 are kept, and a tile of zoom z sums the cells
of the nearest level at or above it (cell >> (level - z)), so it never reads more than 4 rows per
output cell above zoom 4. The covering index answers tiles from the index alone.

Maintained by AFTER ... FOR EACH STATEMENT triggers with transition tables: one grouped upsert per
statement, so a bulk load pays one aggregation and a status change (the usual update) pays nothing.
Rows may reach n = 0 (readers skip them). Events without a grid are not on any layer, nor here.

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-27
"""

from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

# Web Mercator of a WGS84 point by formula (as layers/tiles.py); a level-z cell is 2^-(z+6) of its width.
_WORLD_M = 2 * 20037508.342789244
_X = f"ST_X(geom) * ({_WORLD_M} / 360.0)"
_Y = "ln(tan(pi() / 4 + radians(ST_Y(geom)) / 2)) * 6378137.0"
LEVELS = (9, 8, 6, 4)


def _upsert(rows: str) -> str:
    """Add the signed rows (kind, grid_code, geom, severity, s) of `rows` to their cells at every level."""
    levels = ", ".join(f"({z})" for z in LEVELS)
    return f"""
    INSERT INTO event_cells AS c (kind, z, village_code, cx, cy, n, sx, sy, w)
    SELECT kind, l.z, left(grid_code, 12), floor(x / ({_WORLD_M} / 2 ^ (l.z + 6)))::int,
           floor(y / ({_WORLD_M} / 2 ^ (l.z + 6)))::int, sum(s), sum(s * x), sum(s * y), sum(s * severity)
    FROM (SELECT kind, grid_code, severity, s, {_X} AS x, {_Y} AS y
          FROM ({rows}) r WHERE grid_code IS NOT NULL) p
    CROSS JOIN (VALUES {levels}) AS l(z)
    GROUP BY 1, 2, 3, 4, 5
    ORDER BY 1, 2, 3, 4, 5  -- one lock order for concurrent writers
    ON CONFLICT (kind, z, village_code, cx, cy) DO UPDATE
    SET n = c.n + excluded.n, sx = c.sx + excluded.sx, sy = c.sy + excluded.sy, w = c.w + excluded.w;
"""


_CHANGED = (
    "(o.kind, o.grid_code, o.geom, o.severity) IS DISTINCT FROM (n.kind, n.grid_code, n.geom, n.severity)"
)
_UPGRADE = f"""
CREATE TABLE event_cells (
    kind         text NOT NULL,
    z            smallint NOT NULL,
    village_code varchar(12) NOT NULL,
    cx           integer NOT NULL,
    cy           integer NOT NULL,
    n            bigint NOT NULL,
    sx           double precision NOT NULL,
    sy           double precision NOT NULL,
    w            bigint NOT NULL,
    PRIMARY KEY (kind, z, village_code, cx, cy)
);
CREATE INDEX event_cells_tile ON event_cells (kind, z, cx, cy) INCLUDE (village_code, n, sx, sy, w);

CREATE FUNCTION gridgov_event_cells() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER
SET search_path = public, pg_temp AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        {_upsert("SELECT kind, grid_code, geom, severity, 1 AS s FROM new_rows")}
    ELSIF TG_OP = 'DELETE' THEN
        {_upsert("SELECT kind, grid_code, geom, severity, -1 AS s FROM old_rows")}
    ELSIF TG_OP = 'UPDATE' THEN
        {
    _upsert(
        "SELECT o.kind, o.grid_code, o.geom, o.severity, -1 AS s "
        f"FROM old_rows o JOIN new_rows n ON n.id = o.id WHERE {_CHANGED} "
        "UNION ALL SELECT n.kind, n.grid_code, n.geom, n.severity, 1 "
        f"FROM old_rows o JOIN new_rows n ON n.id = o.id WHERE {_CHANGED}"
    )
}
    ELSE  -- TRUNCATE
        TRUNCATE event_cells;
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER event_cells_insert AFTER INSERT ON events REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION gridgov_event_cells();
CREATE TRIGGER event_cells_update AFTER UPDATE ON events REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION gridgov_event_cells();
CREATE TRIGGER event_cells_delete AFTER DELETE ON events REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION gridgov_event_cells();
CREATE TRIGGER event_cells_truncate AFTER TRUNCATE ON events
    FOR EACH STATEMENT EXECUTE FUNCTION gridgov_event_cells();

{_upsert("SELECT kind, grid_code, geom, severity, 1 AS s FROM events")}

ALTER TABLE event_cells ENABLE ROW LEVEL SECURITY;
CREATE POLICY event_cells_in_area ON event_cells TO gridgov_app
    USING (village_code ~>=~ (SELECT gridgov_area()) AND village_code ~<~ (SELECT gridgov_area_hi()));
GRANT SELECT ON event_cells TO gridgov_app;
ANALYZE event_cells;
"""


def upgrade() -> None:
    """Create the table, its triggers and policy, and fill it from the events."""
    op.execute(_UPGRADE)


def downgrade() -> None:
    """Drop them."""
    op.execute(
        "DROP TRIGGER IF EXISTS event_cells_insert ON events; DROP TRIGGER IF EXISTS event_cells_update ON events; "
        "DROP TRIGGER IF EXISTS event_cells_delete ON events; DROP TRIGGER IF EXISTS event_cells_truncate ON events; "
        "DROP FUNCTION IF EXISTS gridgov_event_cells(); DROP TABLE IF EXISTS event_cells;"
    )
