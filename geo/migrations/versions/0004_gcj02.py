"""GCJ-02 in the database: gridgov_wgs84_to_gcj02(geometry), for map outputs on Gaode-style basemaps.

The same published formula as geo.crs.wgs84_to_gcj02 (verified against it in tests/layers), applied per
vertex so that GeoJSON for a GCJ-02 basemap is still built entirely by PostGIS.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-27
"""

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

SQL = r"""
-- The GCJ-02 offset (degrees) at a WGS84 position; zero outside China's box, as in geo.crs.
CREATE FUNCTION gridgov_gcj02_delta(lon float8, lat float8, OUT dlon float8, OUT dlat float8)
LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE AS $$
DECLARE
    a  CONSTANT float8 := 6378245.0;
    ee CONSTANT float8 := 0.00669342162296594323;
    x float8 := lon - 105.0;
    y float8 := lat - 35.0;
    rad float8; magic float8; sm float8;
BEGIN
    IF lon < 72.004 OR lon > 137.8347 OR lat < 0.8293 OR lat > 55.8271 THEN
        dlon := 0; dlat := 0; RETURN;
    END IF;
    dlat := -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * sqrt(abs(x));
    dlat := dlat + (20.0 * sin(6.0 * x * pi()) + 20.0 * sin(2.0 * x * pi())) * 2.0 / 3.0;
    dlat := dlat + (20.0 * sin(y * pi()) + 40.0 * sin(y / 3.0 * pi())) * 2.0 / 3.0;
    dlat := dlat + (160.0 * sin(y / 12.0 * pi()) + 320 * sin(y * pi() / 30.0)) * 2.0 / 3.0;
    dlon := 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * sqrt(abs(x));
    dlon := dlon + (20.0 * sin(6.0 * x * pi()) + 20.0 * sin(2.0 * x * pi())) * 2.0 / 3.0;
    dlon := dlon + (20.0 * sin(x * pi()) + 40.0 * sin(x / 3.0 * pi())) * 2.0 / 3.0;
    dlon := dlon + (150.0 * sin(x / 12.0 * pi()) + 300.0 * sin(x / 30.0 * pi())) * 2.0 / 3.0;
    rad := lat / 180.0 * pi();
    magic := 1 - ee * sin(rad) ^ 2;
    sm := sqrt(magic);
    dlat := (dlat * 180.0) / ((a * (1 - ee)) / (magic * sm) * pi());
    dlon := (dlon * 180.0) / (a / sm * cos(rad) * pi());
END $$;

-- Shift every vertex of a WGS84 point, line or polygon (multi or not) to GCJ-02, keeping the type.
-- Polygons are rebuilt ring by ring from ST_DumpPoints paths (polygon, ring, vertex).
CREATE FUNCTION gridgov_wgs84_to_gcj02(g geometry) RETURNS geometry
LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE AS $$
DECLARE
    t text := GeometryType(g);
    r geometry;
BEGIN
    IF t = 'POINT' THEN
        SELECT ST_SetSRID(ST_MakePoint(ST_X(g) + d.dlon, ST_Y(g) + d.dlat), ST_SRID(g)) INTO r
        FROM gridgov_gcj02_delta(ST_X(g), ST_Y(g)) d;
        RETURN r;
    ELSIF t = 'MULTIPOINT' THEN
        SELECT ST_Multi(ST_Collect(gridgov_wgs84_to_gcj02(d.geom) ORDER BY d.path)) INTO r FROM ST_Dump(g) d;
        RETURN r;
    ELSIF t IN ('LINESTRING', 'MULTILINESTRING') THEN
        WITH pts AS (SELECT dp.path, gridgov_wgs84_to_gcj02(dp.geom) AS geom
                     FROM ST_DumpPoints(ST_Multi(g)) dp),
        parts AS (SELECT path[1] AS p, ST_MakeLine(geom ORDER BY path[2]) AS geom FROM pts GROUP BY path[1])
        SELECT ST_Multi(ST_Collect(geom ORDER BY p)) INTO r FROM parts;
        RETURN CASE WHEN t = 'LINESTRING' THEN ST_GeometryN(r, 1) ELSE r END;
    ELSIF t IN ('POLYGON', 'MULTIPOLYGON') THEN
        WITH pts AS (SELECT dp.path, gridgov_wgs84_to_gcj02(dp.geom) AS geom
                     FROM ST_DumpPoints(ST_Multi(g)) dp),
        rings AS (SELECT path[1] AS p, path[2] AS ring, ST_MakeLine(geom ORDER BY path[3]) AS line
                  FROM pts GROUP BY path[1], path[2]),
        polys AS (SELECT p, ST_MakePolygon((array_agg(line ORDER BY ring))[1],
                                           coalesce((array_agg(line ORDER BY ring))[2:], '{}')) AS geom
                  FROM rings GROUP BY p)
        SELECT ST_Multi(ST_Collect(geom ORDER BY p)) INTO r FROM polys;
        RETURN CASE WHEN t = 'POLYGON' THEN ST_GeometryN(r, 1) ELSE r END;
    END IF;
    RAISE EXCEPTION 'gridgov_wgs84_to_gcj02: unsupported geometry type %', t;
END $$;
"""


def upgrade() -> None:
    op.execute(SQL)


def downgrade() -> None:
    op.execute(
        "DROP FUNCTION IF EXISTS gridgov_wgs84_to_gcj02(geometry);"
        "DROP FUNCTION IF EXISTS gridgov_gcj02_delta(float8, float8);"
    )
