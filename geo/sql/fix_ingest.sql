-- One batch of position fixes of one worker (geo.queries.fixes.ingest_fixes), as one statement.
--
-- The fixes come as parallel arrays (device time, WGS84 lon/lat, accuracy in metres or NULL, source).
-- A fix further than :max_outside_m outside the worker's county is not recorded (a position outside the
-- county is none of its business); one already stored for the same worker and instant is skipped
-- (ON CONFLICT: a resend stores nothing twice). The newest recorded fix becomes the worker's last
-- position unless the stored one is newer (a fix dated after :now is replaced: it was a wrong clock).
-- Answers how many were sent, inside the county, stored; the county days they fall on; and whether the
-- worker's position moved.
WITH county AS MATERIALIZED (
    SELECT g.geom FROM grids g WHERE g.code = :county AND g.valid_to IS NULL
), sent AS (
    SELECT f.at, f.acc, f.src, ST_SetSRID(ST_MakePoint(f.lon, f.lat), 4326) AS geom
    FROM unnest(CAST(:ats AS timestamptz[]), CAST(:lons AS float8[]), CAST(:lats AS float8[]),
                CAST(:accs AS real[]), CAST(:sources AS text[])) AS f(at, lon, lat, acc, src)
), inside AS (
    SELECT s.* FROM sent s
    WHERE NOT EXISTS (SELECT 1 FROM county)
       OR EXISTS (SELECT 1 FROM county c
                  WHERE ST_Covers(c.geom, s.geom) OR ST_DWithin(c.geom::geography, s.geom::geography, :max_outside_m))
), stored AS (
    INSERT INTO worker_fixes (worker_id, at, received_at, geom, accuracy_m, grid_code, source, batch_key)
    SELECT :worker_id, i.at, :now, i.geom, i.acc, :grid_code, i.src, :batch_key FROM inside i
    ON CONFLICT (worker_id, at) DO NOTHING
    RETURNING at
), newest AS (
    SELECT i.at, i.geom FROM inside i ORDER BY i.at DESC LIMIT 1
), moved AS (
    UPDATE workers w SET geom = n.geom, located_at = n.at
    FROM newest n
    WHERE w.id = :worker_id AND (w.located_at IS NULL OR w.located_at > :now OR w.located_at <= n.at)
    RETURNING w.id
)
SELECT (SELECT count(*) FROM sent) AS sent,
       (SELECT count(*) FROM inside) AS inside,
       (SELECT count(*) FROM stored) AS stored,
       (SELECT coalesce(array_agg(DISTINCT (s.at AT TIME ZONE :zone)::date), '{}') FROM stored s) AS days,
       EXISTS (SELECT 1 FROM moved) AS moved
