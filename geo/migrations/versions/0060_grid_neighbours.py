"""grid_neighbours: which current small grids touch (queen contiguity), kept by triggers, read by analyses.

The hot spot analyses need each small grid's neighbours. Joining grids to themselves at analysis time
cost 4.3 s for the province's 120,000 grids (351,521 pairs) every time an area was analysed; held here,
an area's pairs are one index range scan (both codes in the area's prefix range). Both directions are
stored (a, b) and (b, a), so a range on `a` finds every pair of an area's grids.

Statement triggers keep it current: a write to small grids recomputes the pairs of the grids it wrote
(old or new code), one GiST probe per grid. A bulk loader that sets gridgov.cores_deferred = 'on' (the
demo) refreshes every grid once at the end (gridgov_refresh_neighbours), as it does the cores (0018).

Revision ID: 0060
Revises: 0040
Create Date: 2026-12-06
"""

from alembic import op

revision = "0060"
down_revision = "0040"
branch_labels = None
depends_on = None

_CHANGED = (
    "(n.level = 'grid' OR o.level = 'grid') AND (n.geom IS DISTINCT FROM o.geom OR n.level IS DISTINCT FROM "
    "o.level OR n.valid_to IS DISTINCT FROM o.valid_to OR n.code IS DISTINCT FROM o.code)"
)

_UPGRADE = f"""
CREATE TABLE grid_neighbours (
    a varchar(15) NOT NULL,
    b varchar(15) NOT NULL
);
CREATE UNIQUE INDEX grid_neighbours_key ON grid_neighbours (a text_pattern_ops, b);
REVOKE ALL ON grid_neighbours FROM gridgov_app;  -- read by the analysis jobs only

-- Recompute the pairs of these small-grid codes against every current small grid. The codes are joined
-- as a set (unnest), not tested with = ANY(array): a parameter array is searched linearly per row, and a
-- statement writing a county's grids passes thousands of codes.
CREATE FUNCTION gridgov_refresh_neighbours(codes text[]) RETURNS void
LANGUAGE sql SECURITY DEFINER SET search_path = public, pg_temp AS $$
    DELETE FROM grid_neighbours n USING (SELECT DISTINCT unnest(codes) AS code) c WHERE n.a = c.code;
    DELETE FROM grid_neighbours n USING (SELECT DISTINCT unnest(codes) AS code) c WHERE n.b = c.code;
    INSERT INTO grid_neighbours (a, b)
    SELECT p.a, p.b FROM (
        SELECT x.code AS a, y.code AS b FROM (SELECT DISTINCT unnest(codes) AS code) c
        JOIN grids x ON x.code = c.code AND x.level = 'grid' AND x.valid_to IS NULL
        JOIN grids y ON y.geom && x.geom AND y.code <> x.code AND ST_Intersects(x.geom, y.geom)
                    AND y.level = 'grid' AND y.valid_to IS NULL
    ) q CROSS JOIN LATERAL (VALUES (q.a, q.b), (q.b, q.a)) AS p(a, b)
    ON CONFLICT DO NOTHING;
$$;
REVOKE EXECUTE ON FUNCTION gridgov_refresh_neighbours(text[]) FROM PUBLIC;

CREATE FUNCTION gridgov_grid_neighbours() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER
SET search_path = public, pg_temp AS $$
DECLARE
    codes text[];
BEGIN
    IF current_setting('gridgov.cores_deferred', true) = 'on' THEN
        RETURN NULL;
    END IF;
    IF TG_OP = 'INSERT' THEN
        SELECT array_agg(DISTINCT n.code) INTO codes FROM new_rows n WHERE n.level = 'grid';
    ELSIF TG_OP = 'DELETE' THEN
        SELECT array_agg(DISTINCT o.code) INTO codes FROM old_rows o WHERE o.level = 'grid';
    ELSE
        SELECT array_agg(DISTINCT c) INTO codes FROM (
            SELECT unnest(ARRAY[n.code, o.code]) AS c
            FROM old_rows o JOIN new_rows n ON n.id = o.id WHERE {_CHANGED}) s;
    END IF;
    IF codes IS NOT NULL THEN
        PERFORM gridgov_refresh_neighbours(codes);
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER grid_neighbours_insert AFTER INSERT ON grids REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION gridgov_grid_neighbours();
CREATE TRIGGER grid_neighbours_update AFTER UPDATE ON grids REFERENCING OLD TABLE AS old_rows
    NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION gridgov_grid_neighbours();
CREATE TRIGGER grid_neighbours_delete AFTER DELETE ON grids REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION gridgov_grid_neighbours();

SELECT gridgov_refresh_neighbours(array_agg(code)) FROM grids WHERE level = 'grid' AND valid_to IS NULL;
ANALYZE grid_neighbours;
"""


def upgrade() -> None:
    """Create grid_neighbours, its function and triggers, and fill it."""
    op.execute(_UPGRADE)


def downgrade() -> None:
    """Drop them."""
    op.execute(
        "DROP TRIGGER IF EXISTS grid_neighbours_insert ON grids; "
        "DROP TRIGGER IF EXISTS grid_neighbours_update ON grids; "
        "DROP TRIGGER IF EXISTS grid_neighbours_delete ON grids; "
        "DROP FUNCTION IF EXISTS gridgov_grid_neighbours(); "
        "DROP FUNCTION IF EXISTS gridgov_refresh_neighbours(text[]); DROP TABLE IF EXISTS grid_neighbours;"
    )
