-- Candidate workers for one case, ranked, as one JSON answer (geo.queries.dispatch.candidates_json).
--
-- The pool, each part a small index scan:
--   owner     the owning small grid's responsible worker;
--   village   every worker of the case's village (a handful);
--   township  the :k nearest of the township (never wider than the scope), and the :k nearest with
--             the case's skill;
--   scope     the :k nearest within the dispatch scope (:scope_digits of the grid code: 12 village,
--             9 township, 6 county), a KNN walk on the workers' GiST index.
-- Every tier is clamped to the requester's area ([:area_lo, :area_hi)). A worker must be on duty,
-- available and below capacity. The owner and the village's workers are candidates however old their
-- last fix is, placed at their grid's point when they have none: an old fix lowers their rank (`stale`)
-- but never drops them. Wider tiers count only fixes at or after :fresh_after.
-- Ranked by tier (属地: the owning grid first), fresh before stale, skill, load, distance in metres.
-- Names and phones go through gridgov_person_*: masked for uncleared roles, noted for the audit otherwise.
-- An empty list says why (`empty_reason`, counted over the scope's workers only then): nobody there,
-- nobody on duty, nobody available, everybody at capacity, or (the owner and village being out) no
-- fresh fix among those who could go. Otherwise `empty_reason` is null.
-- No row: the case is not in the area (404).
WITH ev AS MATERIALIZED (
    SELECT e.id, e.kind, e.category, e.grid_code, e.geom, c.label_zh, g.worker_id AS owner_id,
           u.village, u.village || ':' AS village_hi, u.township, u.township || ':' AS township_hi,
           u.scope, u.scope || ':' AS scope_hi
    FROM events e
    JOIN categories c ON c.code = e.category
    LEFT JOIN grids g ON g.code = e.grid_code AND g.valid_to IS NULL
    CROSS JOIN LATERAL (
        SELECT left(e.grid_code, greatest(12, length(:area_lo))) AS village,
               left(e.grid_code, greatest(9, CAST(:scope_digits AS int), length(:area_lo))) AS township,
               left(e.grid_code, greatest(CAST(:scope_digits AS int), length(:area_lo))) AS scope) u
    WHERE e.id = :id AND e.grid_code ~>=~ :area_lo AND e.grid_code ~<~ :area_hi
), free AS NOT MATERIALIZED (  -- who could take a case now, whatever their position (inlined per use)
    SELECT w.id, w.name, w.phone, w.home_grid_code, w.open_tasks, w.capacity, w.located_at, w.skills,
           w.geom AS fix, w.home_grid_id
    FROM workers w
    WHERE w.on_duty AND w.available AND w.open_tasks < w.capacity
      AND w.home_grid_code ~>=~ :area_lo AND w.home_grid_code ~<~ :area_hi
), pool AS (
    (SELECT f.* FROM free f WHERE f.id = (SELECT owner_id FROM ev))
    UNION ALL
    (SELECT f.* FROM free f
     WHERE f.home_grid_code ~>=~ (SELECT village FROM ev) AND f.home_grid_code ~<~ (SELECT village_hi FROM ev))
    UNION ALL
    (SELECT f.* FROM free f
     WHERE f.home_grid_code ~>=~ (SELECT township FROM ev) AND f.home_grid_code ~<~ (SELECT township_hi FROM ev)
       AND f.located_at >= :fresh_after
     ORDER BY f.fix <-> (SELECT geom FROM ev), f.id LIMIT :k)
    UNION ALL
    (SELECT f.* FROM free f
     WHERE f.home_grid_code ~>=~ (SELECT township FROM ev) AND f.home_grid_code ~<~ (SELECT township_hi FROM ev)
       AND f.located_at >= :fresh_after AND (SELECT category FROM ev) = ANY(f.skills)
     ORDER BY f.fix <-> (SELECT geom FROM ev), f.id LIMIT :k)
    UNION ALL
    (SELECT f.* FROM free f
     WHERE f.home_grid_code ~>=~ (SELECT scope FROM ev) AND f.home_grid_code ~<~ (SELECT scope_hi FROM ev)
       AND f.located_at >= :fresh_after
     ORDER BY f.fix <-> (SELECT geom FROM ev), f.id LIMIT :k)
), placed AS (  -- a worker without a fix stands at their grid's point
    SELECT p.*, coalesce(p.fix, (SELECT ST_PointOnSurface(h.geom) FROM grids h WHERE h.id = p.home_grid_id))
               AS geom, p.fix IS NULL AS by_grid
    FROM pool p
), ranked AS (
    SELECT DISTINCT ON (p.id) p.id AS worker_id, p.name, p.phone, p.home_grid_code AS grid_code,
           p.open_tasks, p.capacity, p.located_at, p.by_grid,
           CASE WHEN p.id = ev.owner_id THEN 0 WHEN left(p.home_grid_code, 12) = left(ev.grid_code, 12) THEN 1
                WHEN left(p.home_grid_code, 9) = left(ev.grid_code, 9) THEN 2 ELSE 3 END AS tier,
           (p.located_at IS NULL OR p.located_at < :fresh_after) AS stale,
           ev.category = ANY(p.skills) AS skill_match,
           ST_Distance(p.geom::geography, ev.geom::geography) AS distance_m
    FROM placed p CROSS JOIN ev ORDER BY p.id
), best AS (
    SELECT * FROM ranked ORDER BY tier, stale, skill_match DESC, open_tasks, distance_m, worker_id LIMIT :k
)
SELECT json_build_object(
    'event_id', ev.id,
    'grid_code', ev.grid_code,
    'candidates', (SELECT coalesce(json_agg(json_build_object(
            'worker_id', b.worker_id, 'name', gridgov_person_name(b.name),
            'phone', gridgov_person_phone(b.phone), 'grid_code', b.grid_code,
            'distance_m', round(b.distance_m::numeric, 1), 'open_tasks', b.open_tasks,
            'capacity', b.capacity, 'tier', b.tier, 'skill_match', b.skill_match,
            'located_at', b.located_at, 'position', CASE WHEN b.by_grid THEN 'grid' ELSE 'fix' END,
            'stale', b.stale,
            'reasons', array_remove(ARRAY[
                (CAST(:tier_reasons AS text[]))[b.tier + 1],
                CASE WHEN b.skill_match THEN '技能匹配（' || ev.label_zh || '）' END,
                CASE WHEN b.by_grid THEN '按网格估计位置'
                     WHEN b.stale THEN '位置' || gridgov_age_text(CAST(:now AS timestamptz) - b.located_at) || '前' END,
                '当前任务' || b.open_tasks || '件（容量' || b.capacity || '）',
                '距离约' || to_char(round(b.distance_m), 'FM999,999,999,990') || '米'], NULL))
        ORDER BY b.tier, b.stale, b.skill_match DESC, b.open_tasks, b.distance_m, b.worker_id), '[]') FROM best b),
    'empty_reason', CASE WHEN NOT EXISTS (SELECT 1 FROM best) THEN (
        SELECT CASE WHEN count(*) = 0 THEN '调度范围内没有网格员'
                    WHEN count(*) FILTER (WHERE w.on_duty) = 0 THEN '调度范围内 ' || count(*) || ' 名网格员均不在岗'
                    WHEN count(*) FILTER (WHERE w.on_duty AND w.available) = 0
                        THEN '在岗的 ' || count(*) FILTER (WHERE w.on_duty) || ' 名网格员均为不可派状态'
                    WHEN count(*) FILTER (WHERE w.on_duty AND w.available AND w.open_tasks < w.capacity) = 0
                        THEN '在岗可派的 ' || count(*) FILTER (WHERE w.on_duty AND w.available) || ' 名网格员均已满负荷'
                    ELSE '本网格及同村（社区）无可派网格员；其余 '
                         || count(*) FILTER (WHERE w.on_duty AND w.available AND w.open_tasks < w.capacity)
                         || ' 名可派网格员均无' || gridgov_age_text(CAST(:now AS timestamptz) - :fresh_after)
                         || '内的定位' END
        FROM workers w
        WHERE w.home_grid_code ~>=~ ev.scope AND w.home_grid_code ~<~ ev.scope_hi
          AND w.home_grid_code ~>=~ :area_lo AND w.home_grid_code ~<~ :area_hi)
    END,
    'mediation_committees', CASE WHEN ev.kind = 'dispute' THEN (
        SELECT coalesce(json_agg(m ORDER BY m.id), '[]') FROM (
            SELECT d.id, d.code, d.name, d.phone,
                   coalesce(json_agg(json_build_object('id', md.id, 'name', gridgov_person_name(md.name),
                                                       'phone', gridgov_person_phone(md.phone))
                                     ORDER BY md.id) FILTER (WHERE md.id IS NOT NULL), '[]') AS mediators
            FROM departments d LEFT JOIN mediators md ON md.department_id = d.id AND md.on_call
            WHERE d.kind = 'mediation_committee' AND d.county_code = left(ev.grid_code, 6)
              AND ev.category = ANY(d.categories)
            GROUP BY d.id ORDER BY d.id LIMIT 5) m)
    ELSE '[]' END)::text AS answer
FROM ev
