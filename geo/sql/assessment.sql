-- The monthly assessment (网格员考核) of every worker whose home grid lies in the area (:lo, :hi), for the county month
-- [:t0, :t1) (days [:d0, :d1)), as the database knew it at :cutoff (geo.analytics.assessment).
--
--   days_on_patrol       county days with a patrol track (patrol_tracks)
--   km                   kilometres of those tracks
--   visits               household visits recorded in the month (received by the cut-off)
--   cases_found          cases the worker's account reported in the month (merged duplicates excepted)
--   handled              cases assigned to the worker first handled (处置完毕) in the month ...
--   handled_on_time      ... by their deadline (a case without a deadline is never late)
--   verified             the worker's cases verified (核查通过) in the month ...
--   verified_first_pass  ... without being sent back (回退重办) before
--   overdue              the worker's cases whose deadline fell in the month (by the cut-off) and that were
--                        not handled by it (rejected and merged cases excepted)
-- The score (0..100) weighs the first three against the month's targets and the rates of the rest;
-- each overdue case takes two points. Ranked per township: score, then worker id.
WITH w AS MATERIALIZED (
    SELECT w.id, w.home_grid_code AS grid_code FROM workers w WHERE w.home_grid_code ~>=~ :lo AND w.home_grid_code ~<~ :hi
), patrol AS (
    SELECT t.worker_id AS id, count(DISTINCT t.day) AS days, sum(t.length_m) / 1000.0 AS km
    FROM patrol_tracks t WHERE t.worker_id IN (SELECT id FROM w) AND t.day >= :d0 AND t.day < :d1
    GROUP BY 1
), visited AS (
    SELECT v.worker_id AS id, count(*) AS n FROM visits v
    WHERE v.worker_id IN (SELECT id FROM w) AND v.at >= :t0 AND v.at < :t1 AND v.received_at <= :cutoff
    GROUP BY 1
), found AS (
    SELECT e.reporter_worker_id AS id, count(*) AS n FROM events e
    WHERE e.reporter_worker_id IN (SELECT id FROM w) AND e.reported_at >= :t0 AND e.reported_at < :t1
      AND e.status <> 'duplicate' AND e.created_at <= :cutoff
    GROUP BY 1
), first_handled AS (
    SELECT e.id, e.assignee_id, e.deadline_at, min(l.at) AS at
    FROM events e JOIN event_log l ON l.event_id = e.id AND l.action = 'handle' AND l.at <= :cutoff
    WHERE e.assignee_id IN (SELECT id FROM w)
    GROUP BY e.id
), handled AS (
    SELECT h.assignee_id AS id, count(*) AS n,
           count(*) FILTER (WHERE h.deadline_at IS NULL OR h.at <= h.deadline_at) AS on_time
    FROM first_handled h WHERE h.at >= :t0 AND h.at < :t1 GROUP BY 1
), verified AS (
    SELECT v.assignee_id AS id, count(*) AS n, count(*) FILTER (WHERE NOT v.reworked) AS first_pass
    FROM (
        SELECT e.id, e.assignee_id,
               EXISTS (SELECT 1 FROM event_log r WHERE r.event_id = e.id AND r.action = 'rework'
                         AND r.at < min(l.at)) AS reworked
        FROM events e JOIN event_log l ON l.event_id = e.id AND l.action = 'verify'
        WHERE e.assignee_id IN (SELECT id FROM w) AND l.at >= :t0 AND l.at < :t1 AND l.at <= :cutoff
        GROUP BY e.id
    ) v GROUP BY 1
), overdue AS (
    SELECT e.assignee_id AS id, count(*) AS n FROM events e
    LEFT JOIN first_handled h ON h.id = e.id
    WHERE e.assignee_id IN (SELECT id FROM w) AND e.status NOT IN ('rejected', 'duplicate')
      AND e.deadline_at >= :t0 AND e.deadline_at < least(:t1, :cutoff)
      AND (h.at IS NULL OR h.at > e.deadline_at)
    GROUP BY 1
), figures AS (
    SELECT w.id AS worker_id, w.grid_code, left(w.grid_code, 9) AS township_code,
           coalesce(p.days, 0)::int AS days_on_patrol, round(coalesce(p.km, 0)::numeric, 2)::float8 AS km,
           coalesce(v.n, 0)::int AS visits, coalesce(f.n, 0)::int AS cases_found,
           coalesce(h.n, 0)::int AS handled, coalesce(h.on_time, 0)::int AS handled_on_time,
           coalesce(r.n, 0)::int AS verified, coalesce(r.first_pass, 0)::int AS verified_first_pass,
           coalesce(o.n, 0)::int AS overdue
    FROM w
    LEFT JOIN patrol p ON p.id = w.id LEFT JOIN visited v ON v.id = w.id LEFT JOIN found f ON f.id = w.id
    LEFT JOIN handled h ON h.id = w.id LEFT JOIN verified r ON r.id = w.id LEFT JOIN overdue o ON o.id = w.id
), scored AS (
    SELECT x.*, greatest(0, round((
        30 * least(x.days_on_patrol / CAST(:days_target AS float8), 1)
      + 20 * least(x.visits / CAST(:visits_target AS float8), 1)
      + 10 * least(x.km / CAST(:km_target AS float8), 1)
      + 20 * coalesce(x.handled_on_time / nullif(x.handled, 0)::float8, 1)
      + 20 * coalesce(x.verified_first_pass / nullif(x.verified, 0)::float8, 1)
      - 2 * x.overdue)::numeric, 1))::float8 AS score
    FROM figures x
)
SELECT s.*, t.name AS township,
       rank() OVER (PARTITION BY s.township_code ORDER BY s.score DESC) AS township_rank,
       count(*) OVER (PARTITION BY s.township_code) AS township_workers
FROM scored s
LEFT JOIN grids t ON t.code = s.township_code || '000000' AND t.level = 'township' AND t.valid_to IS NULL
ORDER BY s.township_code, s.score DESC, s.worker_id
