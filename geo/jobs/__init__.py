"""Long computations as jobs on a queue in PostgreSQL (table `jobs`, migration 0023).

queue.py     enqueue (writes fold into one waiting job per key), claim (FOR UPDATE SKIP LOCKED), finish
tasks.py     what each kind of job does: refresh, risk, hotspots, emerging, reports
schedule.py  periodic jobs (grades every few minutes, reports after their period, analyses nightly)
runner.py    run due jobs until idle (tests, the demo) or forever (`gridgov worker`, the serve thread)

Requests never compute: they read what the jobs stored, with its `computed_at`.
"""
