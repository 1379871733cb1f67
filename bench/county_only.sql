-- Make a county-only database out of a copy of the province demo: keep county 620121 exactly as the
-- province holds it, so that a county account's requests can be compared on the same rows.
-- By hand, on a copy of the province database (about 30 minutes on 2 cores: the roll-up triggers):
--   createdb -T province county_only && psql -d county_only -f bench/county_only.sql && vacuumdb -z -d county_only
SET statement_timeout = 0;
-- Foreign keys whose referencing side has no index of its own would check each deleted row with a scan:
-- index them for the deletion, and drop those indexes again at the end.
CREATE INDEX tmp_events_duplicate ON events (duplicate_of);
CREATE INDEX tmp_events_assignee ON events (assignee_id);
CREATE INDEX tmp_grids_worker ON grids (worker_id);
CREATE INDEX tmp_grids_parent ON grids (parent_id);
CREATE INDEX tmp_workers_home ON workers (home_grid_id);
CREATE INDEX tmp_facilities_grid ON facilities (grid_id);
CREATE INDEX tmp_idempotency_event ON idempotency_keys (event_id);
CREATE INDEX tmp_departments_facility ON departments (facility_id);
-- The county's own analyses (its hot spots, emerging hot spots, chronic cases, drafts) stay: they are the
-- same rows the province holds for it, so a county account reads the same answers in both databases.
DELETE FROM analytics_runs WHERE area NOT LIKE '620121%';
DELETE FROM report_drafts WHERE area NOT LIKE '620121%';
DELETE FROM reports WHERE area NOT LIKE '620121%';
DELETE FROM jobs;
DELETE FROM job_schedules;
DELETE FROM risk_grades WHERE grid_code NOT LIKE '620121%';
DELETE FROM events WHERE grid_code IS NULL OR grid_code NOT LIKE '620121%';
DELETE FROM whistles w USING departments d WHERE w.department_id = d.id AND d.county_code <> '620121';
DELETE FROM departments WHERE county_code <> '620121';
DELETE FROM facilities WHERE grid_code IS NULL OR grid_code NOT LIKE '620121%';
UPDATE users SET worker_id = NULL
 WHERE worker_id IN (SELECT id FROM workers WHERE home_grid_code IS NULL OR home_grid_code NOT LIKE '620121%');
UPDATE grids SET worker_id = NULL WHERE code NOT LIKE '620121%';
DELETE FROM workers WHERE home_grid_code IS NULL OR home_grid_code NOT LIKE '620121%';
UPDATE grids SET parent_id = NULL WHERE code = '620121000000000';
DELETE FROM grids WHERE code NOT LIKE '620121%';
DROP INDEX tmp_events_duplicate, tmp_events_assignee, tmp_grids_worker, tmp_grids_parent, tmp_workers_home,
    tmp_facilities_grid, tmp_idempotency_event, tmp_departments_facility;
