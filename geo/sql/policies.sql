-- Who may read and write what: every table's grants and row-level security, as they are today.
--
-- Applied by geo.db.policies.apply_policies (migration 0031, and every later migration that changes a
-- table's access): each block below starts with `-- table: NAME`; for every table that exists, its
-- grants to the two roles are revoked, its policies dropped, and its block run. So this file is the
-- whole truth of the database's access rules, and `tests/ops/test_policies.py` checks that every table
-- of the schema has a block.
--
-- The roles (migrations 0006, 0030, 0050):
--   gridgov_app   NOLOGIN. Every request's transaction switches to it (gridgov_authorize) with the
--                 requester's area (gridgov.area), actor, role and clearance; every policy TO gridgov_app
--                 keeps it inside that area.
--   gridgov_department  NOLOGIN, a member of gridgov_app: the requests of department accounts switch
--                 to it instead; the restrictive policies TO it narrow what gridgov_app may do.
--   gridgov_auth  NOLOGIN. Logging in before there is a user: read accounts, start and end sessions,
--                 count failures and locks, write the audit rows of all that.
--   the login     (gridgov_web by default; `gridgov migrate` creates it from the app's URL) is a member of
--                 both, neither superuser nor owner: policies TO either role apply to it too.
-- The owner (migrations, the demo loader, the CLI's admin commands, job workers) is not subject to RLS.
--
-- Area filter (0012/0015/0019): a prefix comparison with an "about half" estimate arm, so that it never
-- out-votes a query's own index; the functions sit in scalar subqueries, evaluated once per statement.

-- table: events
ALTER TABLE events ENABLE ROW LEVEL SECURITY;
CREATE POLICY events_in_area ON events TO gridgov_app
    USING ((SELECT gridgov_area() = '') OR left(grid_code, length((SELECT gridgov_area()))) = (SELECT gridgov_area()))
    WITH CHECK ((SELECT gridgov_area() = '') OR left(grid_code, length((SELECT gridgov_area()))) = (SELECT gridgov_area()));
GRANT SELECT, INSERT, UPDATE ON events TO gridgov_app;
-- A department account (its requests run as gridgov_department, a member of gridgov_app) sees only the
-- cases whistled or referred to its department, and changes none.
CREATE POLICY events_of_department ON events AS RESTRICTIVE TO gridgov_department
    USING (id = ANY ((SELECT gridgov_department_events())::bigint[])) WITH CHECK (false);

-- table: parties
ALTER TABLE parties ENABLE ROW LEVEL SECURITY;
CREATE POLICY parties_in_area ON parties TO gridgov_app
    USING (EXISTS (SELECT 1 FROM events e WHERE e.id = parties.event_id))
    WITH CHECK (EXISTS (SELECT 1 FROM events e WHERE e.id = parties.event_id));
GRANT SELECT, INSERT ON parties TO gridgov_app;
CREATE POLICY parties_kept_from_department ON parties AS RESTRICTIVE FOR INSERT TO gridgov_department
    WITH CHECK (false);

-- table: event_log
-- The case timeline is append-only for the app: no UPDATE or DELETE grant, and the trigger of 0031.
ALTER TABLE event_log ENABLE ROW LEVEL SECURITY;
CREATE POLICY event_log_in_area ON event_log TO gridgov_app
    USING (EXISTS (SELECT 1 FROM events e WHERE e.id = event_log.event_id))
    WITH CHECK (EXISTS (SELECT 1 FROM events e WHERE e.id = event_log.event_id));
GRANT SELECT, INSERT ON event_log TO gridgov_app;
-- A department writes only its own task steps, as itself.
CREATE POLICY event_log_of_department ON event_log AS RESTRICTIVE FOR INSERT TO gridgov_department
    WITH CHECK (action IN ('whistle_sign', 'whistle_response', 'whistle_feedback')
                AND actor = current_setting('gridgov.actor', true));

-- table: event_photos
ALTER TABLE event_photos ENABLE ROW LEVEL SECURITY;
CREATE POLICY event_photos_in_area ON event_photos TO gridgov_app
    USING (EXISTS (SELECT 1 FROM events e WHERE e.id = event_photos.event_id))
    WITH CHECK (EXISTS (SELECT 1 FROM events e WHERE e.id = event_photos.event_id));
GRANT SELECT, INSERT ON event_photos TO gridgov_app;
-- A department adds photos only with its answers.
CREATE POLICY event_photos_of_department ON event_photos AS RESTRICTIVE FOR INSERT TO gridgov_department
    WITH CHECK (whistle_id IS NOT NULL);

-- table: idempotency_keys
-- An account sees and claims only its own keys (0030: the key is unique per account).
ALTER TABLE idempotency_keys ENABLE ROW LEVEL SECURITY;
CREATE POLICY idempotency_keys_own ON idempotency_keys TO gridgov_app
    USING (actor = (SELECT current_setting('gridgov.actor', true)))
    WITH CHECK (actor = (SELECT current_setting('gridgov.actor', true)));
GRANT SELECT, INSERT, UPDATE ON idempotency_keys TO gridgov_app;
CREATE POLICY idempotency_keys_kept_from_department ON idempotency_keys AS RESTRICTIVE FOR INSERT
    TO gridgov_department WITH CHECK (false);

-- table: whistles
ALTER TABLE whistles ENABLE ROW LEVEL SECURITY;
CREATE POLICY whistles_in_area ON whistles TO gridgov_app
    USING (EXISTS (SELECT 1 FROM events e WHERE e.id = whistles.event_id))
    WITH CHECK (EXISTS (SELECT 1 FROM events e WHERE e.id = whistles.event_id));
GRANT SELECT, INSERT, UPDATE ON whistles TO gridgov_app;
-- A department sees and answers its own department's tasks only.
CREATE POLICY whistles_of_department ON whistles AS RESTRICTIVE TO gridgov_department
    USING (department_id = (SELECT gridgov_department())) WITH CHECK (department_id = (SELECT gridgov_department()));

-- table: workers
ALTER TABLE workers ENABLE ROW LEVEL SECURITY;
CREATE POLICY workers_in_area ON workers TO gridgov_app
    USING ((SELECT gridgov_area() = '') OR left(home_grid_code, length((SELECT gridgov_area()))) = (SELECT gridgov_area()))
    WITH CHECK ((SELECT gridgov_area() = '') OR left(home_grid_code, length((SELECT gridgov_area()))) = (SELECT gridgov_area()));
GRANT SELECT, UPDATE ON workers TO gridgov_app;
CREATE POLICY workers_kept_from_department ON workers AS RESTRICTIVE FOR UPDATE TO gridgov_department
    USING (false);

-- table: facilities
ALTER TABLE facilities ENABLE ROW LEVEL SECURITY;
CREATE POLICY facilities_in_area ON facilities TO gridgov_app
    USING ((SELECT gridgov_area() = '') OR left(grid_code, length((SELECT gridgov_area()))) = (SELECT gridgov_area()));
GRANT SELECT ON facilities TO gridgov_app;

-- table: grids
-- The grids above the area (its village, township, county ...) are context: their outlines are shown.
ALTER TABLE grids ENABLE ROW LEVEL SECURITY;
CREATE POLICY grids_in_area ON grids TO gridgov_app
    USING ((SELECT gridgov_area() = '') OR left(code, length((SELECT gridgov_area()))) = (SELECT gridgov_area())
           OR code = ANY((SELECT gridgov_area_ancestors())::text[]));
GRANT SELECT ON grids TO gridgov_app;

-- table: grid_cores
-- Written by the owner's triggers (0018); the app never reads it.
ALTER TABLE grid_cores ENABLE ROW LEVEL SECURITY;

-- table: event_cells
ALTER TABLE event_cells ENABLE ROW LEVEL SECURITY;
CREATE POLICY event_cells_in_area ON event_cells TO gridgov_app
    USING ((SELECT gridgov_area() = '') OR left(village_code, length((SELECT gridgov_area()))) = (SELECT gridgov_area()));
GRANT SELECT ON event_cells TO gridgov_app;

-- table: departments
ALTER TABLE departments ENABLE ROW LEVEL SECURITY;
CREATE POLICY departments_in_area ON departments TO gridgov_app
    USING (left(county_code, least(length((SELECT gridgov_area())), 6)) = (SELECT left(gridgov_area(), 6)));
GRANT SELECT ON departments TO gridgov_app;

-- table: mediators
ALTER TABLE mediators ENABLE ROW LEVEL SECURITY;
CREATE POLICY mediators_in_area ON mediators TO gridgov_app
    USING (EXISTS (SELECT 1 FROM departments d WHERE d.id = mediators.department_id));
GRANT SELECT ON mediators TO gridgov_app;

-- table: categories
ALTER TABLE categories ENABLE ROW LEVEL SECURITY;
CREATE POLICY categories_read ON categories FOR SELECT TO gridgov_app USING (true);
GRANT SELECT ON categories TO gridgov_app;

-- table: time_limits
ALTER TABLE time_limits ENABLE ROW LEVEL SECURITY;
CREATE POLICY time_limits_read ON time_limits FOR SELECT TO gridgov_app USING (true);
GRANT SELECT ON time_limits TO gridgov_app;

-- table: holidays
-- The holiday calendar is written by `gridgov migrate` and `gridgov calendar import` (the owner).
ALTER TABLE holidays ENABLE ROW LEVEL SECURITY;
CREATE POLICY holidays_read ON holidays FOR SELECT TO gridgov_app USING (true);
GRANT SELECT ON holidays TO gridgov_app;

-- table: calendar_years
ALTER TABLE calendar_years ENABLE ROW LEVEL SECURITY;
CREATE POLICY calendar_years_read ON calendar_years FOR SELECT TO gridgov_app USING (true);
GRANT SELECT ON calendar_years TO gridgov_app;

-- table: data_changes
-- Change counters, written by the owner's statement triggers (0017); read to validate cached tiles.
ALTER TABLE data_changes ENABLE ROW LEVEL SECURITY;
CREATE POLICY data_changes_read ON data_changes FOR SELECT TO gridgov_app USING (true);
GRANT SELECT ON data_changes TO gridgov_app;

-- table: analytics_runs
-- Analyses are computed and stored by the jobs (the owner); requests only read them.
ALTER TABLE analytics_runs ENABLE ROW LEVEL SECURITY;
CREATE POLICY analytics_runs_in_area ON analytics_runs TO gridgov_app
    USING (area ~>=~ (SELECT gridgov_area()) AND area ~<~ (SELECT gridgov_area_hi()));
GRANT SELECT ON analytics_runs TO gridgov_app;

-- table: hotspot_cells
ALTER TABLE hotspot_cells ENABLE ROW LEVEL SECURITY;
CREATE POLICY hotspot_cells_in_area ON hotspot_cells TO gridgov_app
    USING (EXISTS (SELECT 1 FROM analytics_runs r WHERE r.id = hotspot_cells.run_id));
GRANT SELECT ON hotspot_cells TO gridgov_app;

-- table: emerging_cells
ALTER TABLE emerging_cells ENABLE ROW LEVEL SECURITY;
CREATE POLICY emerging_cells_in_area ON emerging_cells TO gridgov_app
    USING (EXISTS (SELECT 1 FROM analytics_runs r WHERE r.id = emerging_cells.run_id));
GRANT SELECT ON emerging_cells TO gridgov_app;

-- table: risk_grades
-- The one risk grade, written by the `risk` job (the owner).
ALTER TABLE risk_grades ENABLE ROW LEVEL SECURITY;
CREATE POLICY risk_grades_in_area ON risk_grades TO gridgov_app
    USING (grid_code ~>=~ (SELECT gridgov_area()) AND grid_code ~<~ (SELECT gridgov_area_hi()));
GRANT SELECT ON risk_grades TO gridgov_app;

-- table: reports
-- Issued reports are append-only for the app (issuing inserts; the trigger of 0031 refuses the rest).
ALTER TABLE reports ENABLE ROW LEVEL SECURITY;
CREATE POLICY reports_in_area ON reports TO gridgov_app
    USING (area ~>=~ (SELECT gridgov_area()) AND area ~<~ (SELECT gridgov_area_hi()))
    WITH CHECK (area ~>=~ (SELECT gridgov_area()) AND area ~<~ (SELECT gridgov_area_hi()));
GRANT SELECT, INSERT ON reports TO gridgov_app;

-- table: jobs
-- A change of a case queues its county's refresh: the job's area is the county above (or an area
-- within) the requester's. Claiming and finishing jobs is the workers' (the owner's) business.
ALTER TABLE jobs ENABLE ROW LEVEL SECURITY;
CREATE POLICY jobs_near_area ON jobs TO gridgov_app
    USING (left((SELECT gridgov_area()), length(area)) = area OR left(area, length((SELECT gridgov_area()))) = (SELECT gridgov_area()))
    WITH CHECK (left((SELECT gridgov_area()), length(area)) = area OR left(area, length((SELECT gridgov_area()))) = (SELECT gridgov_area()));
GRANT SELECT, INSERT ON jobs TO gridgov_app;

-- table: job_schedules
-- The workers' own bookkeeping.
ALTER TABLE job_schedules ENABLE ROW LEVEL SECURITY;

-- table: users
-- Logging in reads accounts with their hashes (gridgov_auth). Inside a request, the system and security
-- administrators see and manage the accounts of their area, without the hashes, and only accounts of
-- the business roles: the three administrators are made by the operator's CLI (三员分立).
ALTER TABLE users ENABLE ROW LEVEL SECURITY;
CREATE POLICY users_login ON users TO gridgov_auth USING (true) WITH CHECK (true);
CREATE POLICY users_in_area ON users TO gridgov_app
    USING (left(area, length((SELECT gridgov_area()))) = (SELECT gridgov_area()))
    WITH CHECK (left(area, length((SELECT gridgov_area()))) = (SELECT gridgov_area())
                AND role IN ('commander', 'dispatcher', 'planner', 'grid_worker', 'department'));
GRANT SELECT, UPDATE (password_hash, must_change_password, password_changed_at) ON users TO gridgov_auth;
GRANT SELECT (id, name, role, area, worker_id, department_id, active, demo, must_change_password,
              password_changed_at, created_at) ON users TO gridgov_app;
GRANT INSERT (name, password_hash, role, area, worker_id, department_id, active, must_change_password,
              password_changed_at, created_at) ON users TO gridgov_app;
GRANT UPDATE (role, area, worker_id, department_id, active, password_hash, must_change_password,
              password_changed_at) ON users TO gridgov_app;

-- table: user_sessions
-- Sessions start and end at login and logout (gridgov_auth); administrators end the sessions of the
-- accounts they disable or change (gridgov_app, accounts of their area only).
ALTER TABLE user_sessions ENABLE ROW LEVEL SECURITY;
CREATE POLICY user_sessions_login ON user_sessions TO gridgov_auth USING (true) WITH CHECK (true);
CREATE POLICY user_sessions_in_area ON user_sessions TO gridgov_app
    USING (EXISTS (SELECT 1 FROM users u WHERE u.id = user_sessions.user_id));
GRANT SELECT, INSERT, UPDATE (last_seen_at, revoked_at, revoked_by, revoked_reason) ON user_sessions
    TO gridgov_auth;
GRANT SELECT (id, user_id, scope, created_at, last_seen_at, expires_at, revoked_at),
      UPDATE (revoked_at, revoked_by, revoked_reason) ON user_sessions TO gridgov_app;

-- table: login_failures
ALTER TABLE login_failures ENABLE ROW LEVEL SECURITY;
CREATE POLICY login_failures_login ON login_failures TO gridgov_auth USING (true) WITH CHECK (true);
CREATE POLICY login_failures_security ON login_failures FOR SELECT TO gridgov_app
    USING ((SELECT current_setting('gridgov.user_role', true)) = 'secadmin');
GRANT SELECT, INSERT ON login_failures TO gridgov_auth;
GRANT SELECT ON login_failures TO gridgov_app;

-- table: login_locks
-- Only the security administrator lifts a lock.
ALTER TABLE login_locks ENABLE ROW LEVEL SECURITY;
CREATE POLICY login_locks_login ON login_locks TO gridgov_auth USING (true) WITH CHECK (true);
CREATE POLICY login_locks_security ON login_locks TO gridgov_app
    USING ((SELECT current_setting('gridgov.user_role', true)) = 'secadmin')
    WITH CHECK ((SELECT current_setting('gridgov.user_role', true)) = 'secadmin');
GRANT SELECT, INSERT ON login_locks TO gridgov_auth;
GRANT SELECT, UPDATE (unlocked_at, unlocked_by) ON login_locks TO gridgov_app;

-- table: audit_log
-- Append-only for everyone (the trigger of 0031 refuses every UPDATE, and a DELETE younger than 180
-- days); chained by hash (0032). A request writes audit rows in its own name only; only the audit
-- administrator reads them. Rows of changes are written by the owner's trigger (gridgov_audit).
ALTER TABLE audit_log ENABLE ROW LEVEL SECURITY;
CREATE POLICY audit_log_login ON audit_log FOR INSERT TO gridgov_auth WITH CHECK (true);
CREATE POLICY audit_log_own_rows ON audit_log FOR INSERT TO gridgov_app
    WITH CHECK (actor = (SELECT current_setting('gridgov.actor', true)));
CREATE POLICY audit_log_auditor ON audit_log FOR SELECT TO gridgov_app
    USING ((SELECT current_setting('gridgov.user_role', true)) = 'auditor');
GRANT INSERT ON audit_log TO gridgov_auth;
GRANT SELECT, INSERT ON audit_log TO gridgov_app;

-- table: audit_chain
-- The head of the audit hash chain (0032), kept by the owner's trigger; the audit administrator reads it
-- to check the chain.
ALTER TABLE audit_chain ENABLE ROW LEVEL SECURITY;
CREATE POLICY audit_chain_auditor ON audit_chain FOR SELECT TO gridgov_app
    USING ((SELECT current_setting('gridgov.user_role', true)) = 'auditor');
GRANT SELECT ON audit_chain TO gridgov_app;

-- table: alembic_version
ALTER TABLE alembic_version ENABLE ROW LEVEL SECURITY;

-- Field work (migration 0040). A department account has no business with positions, tracks or visits.

-- table: worker_fixes
-- The position history, partitioned by month; the partitions themselves are the owner's alone
-- (gridgov_fix_partition revokes them): the app reads and writes through this parent only.
ALTER TABLE worker_fixes ENABLE ROW LEVEL SECURITY;
CREATE POLICY worker_fixes_in_area ON worker_fixes TO gridgov_app
    USING ((SELECT gridgov_area() = '') OR left(grid_code, length((SELECT gridgov_area()))) = (SELECT gridgov_area()))
    WITH CHECK ((SELECT gridgov_area() = '') OR left(grid_code, length((SELECT gridgov_area()))) = (SELECT gridgov_area()));
CREATE POLICY worker_fixes_kept_from_department ON worker_fixes AS RESTRICTIVE TO gridgov_department
    USING (false) WITH CHECK (false);
GRANT SELECT, INSERT ON worker_fixes TO gridgov_app;

-- table: fix_batches
ALTER TABLE fix_batches ENABLE ROW LEVEL SECURITY;
CREATE POLICY fix_batches_in_area ON fix_batches TO gridgov_app
    USING (EXISTS (SELECT 1 FROM workers w WHERE w.id = fix_batches.worker_id))
    WITH CHECK (EXISTS (SELECT 1 FROM workers w WHERE w.id = fix_batches.worker_id));
CREATE POLICY fix_batches_kept_from_department ON fix_batches AS RESTRICTIVE TO gridgov_department
    USING (false) WITH CHECK (false);
GRANT SELECT, INSERT, UPDATE ON fix_batches TO gridgov_app;

-- table: patrol_tracks
-- Derived from the fixes by gridgov_rebuild_tracks (SECURITY DEFINER): the app only reads them.
ALTER TABLE patrol_tracks ENABLE ROW LEVEL SECURITY;
CREATE POLICY patrol_tracks_in_area ON patrol_tracks TO gridgov_app
    USING ((SELECT gridgov_area() = '') OR left(grid_code, length((SELECT gridgov_area()))) = (SELECT gridgov_area()));
CREATE POLICY patrol_tracks_kept_from_department ON patrol_tracks AS RESTRICTIVE TO gridgov_department
    USING (false);
GRANT SELECT ON patrol_tracks TO gridgov_app;

-- table: patrol_grids
ALTER TABLE patrol_grids ENABLE ROW LEVEL SECURITY;
CREATE POLICY patrol_grids_in_area ON patrol_grids TO gridgov_app
    USING ((SELECT gridgov_area() = '') OR left(grid_code, length((SELECT gridgov_area()))) = (SELECT gridgov_area()));
CREATE POLICY patrol_grids_kept_from_department ON patrol_grids AS RESTRICTIVE TO gridgov_department
    USING (false);
GRANT SELECT ON patrol_grids TO gridgov_app;

-- table: visits
ALTER TABLE visits ENABLE ROW LEVEL SECURITY;
CREATE POLICY visits_in_area ON visits TO gridgov_app
    USING ((SELECT gridgov_area() = '') OR left(grid_code, length((SELECT gridgov_area()))) = (SELECT gridgov_area()))
    WITH CHECK ((SELECT gridgov_area() = '') OR left(grid_code, length((SELECT gridgov_area()))) = (SELECT gridgov_area()));
CREATE POLICY visits_kept_from_department ON visits AS RESTRICTIVE TO gridgov_department
    USING (false) WITH CHECK (false);
GRANT SELECT, INSERT, UPDATE ON visits TO gridgov_app;

-- table: assessments
-- Issued monthly assessments are frozen (a trigger of 0040 refuses updates).
ALTER TABLE assessments ENABLE ROW LEVEL SECURITY;
CREATE POLICY assessments_in_area ON assessments TO gridgov_app
    USING (area ~>=~ (SELECT gridgov_area()) AND area ~<~ (SELECT gridgov_area_hi()))
    WITH CHECK (area ~>=~ (SELECT gridgov_area()) AND area ~<~ (SELECT gridgov_area_hi()));
CREATE POLICY assessments_kept_from_department ON assessments AS RESTRICTIVE TO gridgov_department
    USING (false) WITH CHECK (false);
GRANT SELECT, INSERT ON assessments TO gridgov_app;

-- Province scale (migrations 0060-0062): neighbours, roll-ups, stored chronic cases and report drafts.

-- table: grid_neighbours
-- Read by the analysis jobs (the owner) only.
ALTER TABLE grid_neighbours ENABLE ROW LEVEL SECURITY;

-- table: rollup_zone
-- The zone the roll-ups count days in (one row): the summary reads it.
ALTER TABLE rollup_zone ENABLE ROW LEVEL SECURITY;
CREATE POLICY rollup_zone_read ON rollup_zone FOR SELECT TO gridgov_app USING (true);
GRANT SELECT ON rollup_zone TO gridgov_app;

-- table: grid_days
-- Written by the owner's triggers on events; the form of 0019: the planner reads them as about half the
-- rows and takes its estimate from the statement's own prefix condition.
ALTER TABLE grid_days ENABLE ROW LEVEL SECURITY;
CREATE POLICY grid_days_in_area ON grid_days TO gridgov_app
    USING ((SELECT gridgov_area() = '') OR left(grid_code, length((SELECT gridgov_area()))) = (SELECT gridgov_area()));
GRANT SELECT ON grid_days TO gridgov_app;

-- table: grid_totals
ALTER TABLE grid_totals ENABLE ROW LEVEL SECURITY;
CREATE POLICY grid_totals_in_area ON grid_totals TO gridgov_app
    USING ((SELECT gridgov_area() = '') OR left(grid_code, length((SELECT gridgov_area()))) = (SELECT gridgov_area()));
GRANT SELECT ON grid_totals TO gridgov_app;

-- table: chronic_groups
-- Stored by the `chronic` job (the owner); requests only read them.
ALTER TABLE chronic_groups ENABLE ROW LEVEL SECURITY;
CREATE POLICY chronic_groups_in_area ON chronic_groups TO gridgov_app
    USING (EXISTS (SELECT 1 FROM analytics_runs r WHERE r.id = chronic_groups.run_id));
GRANT SELECT ON chronic_groups TO gridgov_app;

-- table: report_drafts
-- The running periods' hot spot sections, stored by the `drafts` job (the owner).
ALTER TABLE report_drafts ENABLE ROW LEVEL SECURITY;
CREATE POLICY report_drafts_in_area ON report_drafts TO gridgov_app
    USING (area ~>=~ (SELECT gridgov_area()) AND area ~<~ (SELECT gridgov_area_hi()));
GRANT SELECT ON report_drafts TO gridgov_app;
