"""Two `gridgov worker` processes share one queue: every job runs once, both take part, and no analysis
is computed twice (each computation allocates one analytics_runs id)."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session

from geo.jobs.queue import enqueue
from geo.jobs.tasks import ANALYSES
from tests.api.console_fixtures import copy_demo
from tests.waits import WAIT_S

ROOT = Path(__file__).resolve().parents[2]
AREAS = ["620121"] + [f"620121{t:03d}" for t in range(1, 16)]


@pytest.fixture(scope="module")
def copy_url(pg_server, engine):
    return copy_demo(pg_server, engine, "gridgov_workers")


def _worker(url: str, name: str) -> subprocess.Popen:
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "PGAPPNAME": name,
        "GRID_JOBS_POLL_S": "0.1",
        "GRID_ANALYTICS_WEEKS": "12",
    }
    args = [sys.executable, "-m", "cli.main", "worker"]
    return subprocess.Popen(
        args, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    )


def _until(engine, sql: str, ok, what: str) -> None:
    deadline = time.monotonic() + WAIT_S
    while True:
        with engine.connect() as conn:
            value = conn.execute(text(sql)).scalar()
        if ok(value):
            return
        assert time.monotonic() < deadline, f"{what}: {value}"
        time.sleep(0.2)


def test_two_workers_share_the_queue_and_never_compute_the_same_thing_twice(copy_url):
    engine = create_engine(copy_url)
    procs = [_worker(copy_url, f"gridgov-test-worker-{i}") for i in range(2)]
    try:
        names = "SELECT count(DISTINCT application_name) FROM pg_stat_activity WHERE application_name LIKE 'gridgov-test-worker-%'"
        _until(engine, names, lambda n: n == 2, "workers connected")
        with Session(engine) as session, session.begin():
            first_run = session.execute(text("SELECT coalesce(max(id), 0) FROM analytics_runs")).scalar_one()
            first_job = session.execute(text("SELECT coalesce(max(id), 0) FROM jobs")).scalar_one()
            for _ in range(2):  # the second round folds into the waiting jobs
                for area in AREAS:
                    for kind, params in ANALYSES:
                        enqueue(session, kind, area, params)
        mine = f"FROM jobs WHERE id > {first_job} AND kind IN ('hotspots', 'emerging', 'chronic')"
        _until(
            engine,
            f"SELECT count(*) {mine} AND status IN ('queued', 'running')",
            lambda n: n == 0,
            "jobs left",
        )
    finally:
        for p in procs:
            p.send_signal(signal.SIGINT)
        errors = [p.communicate(timeout=WAIT_S)[1] for p in procs]
    with engine.connect() as conn:
        jobs = conn.execute(text(f"SELECT dedupe_key, status, worker, result {mine}")).all()
        runs = (
            conn.execute(text("SELECT id FROM analytics_runs WHERE id > :f"), {"f": first_run})
            .scalars()
            .all()
        )
        allocated = conn.execute(text("SELECT max(id) FROM analytics_runs")).scalar_one() - first_run
    engine.dispose()
    keys = [j.dedupe_key for j in jobs]
    assert len(keys) == len(set(keys)) == len(AREAS) * len(ANALYSES), "one job per key, folded"
    assert {j.status for j in jobs} == {"done"}, errors
    assert len({j.worker.split(":")[1] for j in jobs}) == 2, "both processes took jobs"
    assert sorted(j.result["run"] for j in jobs) == sorted(runs)
    assert allocated == len(keys), "every analysis computed exactly once"
