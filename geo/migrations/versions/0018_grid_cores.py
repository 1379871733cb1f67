"""grid_cores: the part of each current small grid whose points certainly belong to it.

Re-assigning events (geo/queries/grids.py) puts each event in the lowest-id current small grid that
covers it. An event already in grid g keeps it when it lies in g's core: g shrunk by CORE_MARGIN
(1e-9 degrees, about 0.1 mm), minus its overlaps with lower-id small grids. Inside that, g covers the
point and no lower grid can (their interiors would have to meet g's, and every such overlap is cut
out), so one point-in-polygon test against the event's own core settles ~all events; the few outside
(on an edge, in an overlap, in a retired grid) get the full test. The margin is why float noise along
shared edges is harmless: the demo's Voronoi neighbours overlap by slivers ~1e-12 degrees wide, which
an overlay may drop but which never reach into the core.

Statement triggers keep the table current: a write to small grids recomputes the cores of the grids
it wrote and of every current small grid touching them (old or new shape), one GiST probe per grid
written. A bulk loader that writes many grids in one transaction (the demo: county after county,
before any statistics exist) sets gridgov.cores_deferred = 'on' and refreshes every core once at the
end (gridgov_refresh_cores), as it sets gridgov.grid_assigned for the events. The owner writes it
(SECURITY DEFINER): a core depends on neighbours the writer's account may not see. The app role has
no access; only re-assignment reads it.

Revision ID: 0018
Revises: 0017
Create Date: 2026-11-27
"""

from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None

CORE_MARGIN = 1e-9

# A small grid counts as changed when it is (or was) one and its shape, level, validity or code moved.
_CHANGED = (
    "(n.level = 'grid' OR o.level = 'grid') AND (n.geom IS DISTINCT FROM o.geom OR n.level IS DISTINCT FROM "
    "o.level OR n.valid_to IS DISTINCT FROM o.valid_to OR n.code IS DISTINCT FROM o.code)"
)

_UPGRADE = f"""
CREATE TABLE grid_cores (
    grid_id bigint PRIMARY KEY REFERENCES grids (id) ON DELETE CASCADE,
    code    varchar(15) NOT NULL,
    geom    geometry(MultiPolygon, 4326) NOT NULL
);
REVOKE ALL ON grid_cores FROM gridgov_app;  -- granted by default (0006); outlines of every area

CREATE FUNCTION gridgov_grid_core(grid_id bigint, shape geometry) RETURNS geometry
LANGUAGE sql STABLE PARALLEL SAFE SET search_path = public, pg_temp AS $$
    SELECT ST_Multi(ST_CollectionExtract(
        CASE WHEN count(h.id) = 0 THEN ST_Buffer(shape, -{CORE_MARGIN})
             ELSE ST_Difference(ST_Buffer(shape, -{CORE_MARGIN}), ST_Union(h.geom)) END, 3))
    FROM grids h
    WHERE h.level = 'grid' AND h.valid_to IS NULL AND h.id < grid_id AND h.geom && shape
      AND ST_Relate(shape, h.geom, '2********')
$$;

-- Recompute the cores of the given grids (those that are current small grids get one; the rest none).
CREATE FUNCTION gridgov_refresh_cores(ids bigint[]) RETURNS void
LANGUAGE sql SECURITY DEFINER SET search_path = public, pg_temp AS $$
    DELETE FROM grid_cores WHERE grid_id = ANY(ids);
    INSERT INTO grid_cores (grid_id, code, geom)
    SELECT g.id, g.code, gridgov_grid_core(g.id, g.geom) FROM grids g
    WHERE g.id = ANY(ids) AND g.level = 'grid' AND g.valid_to IS NULL;
$$;
REVOKE EXECUTE ON FUNCTION gridgov_refresh_cores(bigint[]) FROM PUBLIC;

CREATE FUNCTION gridgov_grid_cores() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER
SET search_path = public, pg_temp AS $$
DECLARE
    changed geometry[];
    ids bigint[];
BEGIN
    IF current_setting('gridgov.cores_deferred', true) = 'on' THEN
        RETURN NULL;
    END IF;
    IF TG_OP = 'INSERT' THEN
        SELECT array_agg(n.id), array_agg(n.geom) INTO ids, changed FROM new_rows n WHERE n.level = 'grid';
    ELSIF TG_OP = 'DELETE' THEN
        SELECT array_agg(o.id), array_agg(o.geom) INTO ids, changed FROM old_rows o WHERE o.level = 'grid';
    ELSE
        SELECT array_agg(n.id), array_agg(n.geom) || array_agg(o.geom) INTO ids, changed
        FROM old_rows o JOIN new_rows n ON n.id = o.id WHERE {_CHANGED};
    END IF;
    IF ids IS NULL THEN
        RETURN NULL;
    END IF;
    -- The grids written, and every current small grid touching their old or new shape.
    SELECT array_agg(DISTINCT x) INTO ids FROM (
        SELECT unnest(ids) AS x
        UNION ALL
        SELECT t.id FROM unnest(changed) AS c(geom) CROSS JOIN LATERAL (
            SELECT g.id FROM grids g WHERE g.geom && c.geom AND g.level = 'grid' AND g.valid_to IS NULL
        ) t
    ) s;
    PERFORM gridgov_refresh_cores(ids);
    RETURN NULL;
END $$;

CREATE TRIGGER grid_cores_insert AFTER INSERT ON grids REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION gridgov_grid_cores();
CREATE TRIGGER grid_cores_update AFTER UPDATE ON grids REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION gridgov_grid_cores();
CREATE TRIGGER grid_cores_delete AFTER DELETE ON grids REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION gridgov_grid_cores();

SELECT gridgov_refresh_cores(array_agg(id)) FROM grids WHERE level = 'grid' AND valid_to IS NULL;
ANALYZE grid_cores;
"""


def upgrade() -> None:
    """Create grid_cores, its functions and triggers, and fill it."""
    op.execute(_UPGRADE)


def downgrade() -> None:
    """Drop them."""
    op.execute(
        "DROP TRIGGER IF EXISTS grid_cores_insert ON grids; DROP TRIGGER IF EXISTS grid_cores_update ON grids; "
        "DROP TRIGGER IF EXISTS grid_cores_delete ON grids; DROP FUNCTION IF EXISTS gridgov_grid_cores(); "
        "DROP FUNCTION IF EXISTS gridgov_refresh_cores(bigint[]); "
        "DROP FUNCTION IF EXISTS gridgov_grid_core(bigint, geometry); DROP TABLE IF EXISTS grid_cores;"
    )
