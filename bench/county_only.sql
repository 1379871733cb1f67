-- Make a county-only database out of a copy of the province demo: keep county 620121 exactly as the
-- province holds it, so that a county account's requests can be compared on the same rows
-- (bench/bench_province.py --make-county runs this in a copy of the province database).
SET statement_timeout = 0;
DELETE FROM analytics_runs;
DELETE FROM report_drafts;
DELETE FROM reports;
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
