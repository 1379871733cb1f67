"""A running job's progress is committed beside its open transaction, so the CLI and the API show it."""

import os
import subprocess
import sys
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text
from sqlalchemy.orm import sessionmaker

from geo.jobs import queue
from geo.jobs.runner import reporter
from tests.apps import app_for
from tests.auth_helpers import authed

ROOT = Path(__file__).resolve().parents[2]


def _running_job(engine) -> queue.Job:
    make = sessionmaker(bind=engine)
    with make() as session, session.begin():
        queue.enqueue(session, "hotspots", "620121", {"unit": "grid"})
        job = queue.claim(session, "test-worker")
    assert job is not None
    return job


def test_progress_is_seen_while_the_job_runs(fresh_db_url):
    engine = create_engine(fresh_db_url)
    job = _running_job(engine)
    make = sessionmaker(bind=engine)
    with make() as job_session, job_session.begin():  # the job's own transaction, still open
        job_session.execute(text("SELECT 1"))
        say = reporter(make, job, every_s=3600)
        say(0.4, "统计案件、计算 Gi*")
        say(0.9, "too soon: not written")
        with engine.connect() as other:
            row = other.execute(
                text("SELECT status, progress, note FROM jobs WHERE id = :i"), {"i": job.id}
            ).one()
        assert (row.status, round(row.progress, 6), row.note) == ("running", 0.4, "统计案件、计算 Gi*")
    env = {**os.environ, "DATABASE_URL": fresh_db_url}
    out = subprocess.run(
        [sys.executable, "-m", "cli.main", "jobs"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "running" in out and " 40%" in out and "hotspots" in out and "unit=grid" in out
    with TestClient(app_for(fresh_db_url)) as raw:
        county = authed(raw, fresh_db_url, "commander", "620121").get("/api/jobs").json()
        town = authed(raw, fresh_db_url, "dispatcher", "620121003").get("/api/jobs").json()
    assert [(j["kind"], j["status"], round(j["progress"], 6)) for j in county] == [
        ("hotspots", "running", 0.4)
    ]
    assert town == [], "a township sees only the jobs of its own area"
    engine.dispose()
