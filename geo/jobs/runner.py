"""Running jobs: one at a time per worker, each in a transaction of its own.

A worker claims a job in a short committed transaction (so other workers see it running), runs the
task and marks it done in one more (results and `done` commit together); a failing task is rolled
back and marked failed, then queued again while it has retries left. `run_until_idle` serves tests and
the demo loader; `run_forever` is `gridgov worker` and the worker threads of `gridgov serve`.
"""

import logging
import os
import socket
import threading
import time
from datetime import timedelta

from sqlalchemy.orm import Session, sessionmaker

from geo.jobs import queue, schedule
from geo.jobs.tasks import TASKS, Context, Progress

log = logging.getLogger("gridgov.jobs")


def worker_name() -> str:
    """host:pid:thread, as shown on the jobs it runs."""
    return f"{socket.gethostname()}:{os.getpid()}:{threading.current_thread().name}"


def run_job(session: Session, job: queue.Job, ctx: Context) -> None:
    """Run one claimed job inside the session's current transaction and mark it done."""
    task = TASKS.get(job.kind)
    if task is None:
        raise ValueError(f"unknown job kind {job.kind!r}")
    queue.finish(session, job, task(session, job, ctx))


def reporter(make_session: sessionmaker, job: queue.Job, every_s: float = 1.0) -> Progress:
    """A progress callback for a running job: logs each step and commits it to the job row on a
    connection of its own (at most once per `every_s`), so other sessions see it during the job."""
    last = [0.0]

    def progress(fraction: float, note: str) -> None:
        log.info("job %s %s %s: %3.0f%% %s", job.id, job.kind, job.area, 100 * fraction, note)
        if time.monotonic() - last[0] < every_s:
            return
        last[0] = time.monotonic()
        try:
            with make_session() as session, session.begin():
                queue.set_progress(session, job.id, fraction, note)
        except Exception:  # noqa: BLE001 - progress is a courtesy: it must never fail the job
            log.warning("job %s: progress not recorded", job.id, exc_info=True)

    return progress


def run_one(make_session: sessionmaker, ctx: Context, worker: str | None = None) -> bool:
    """Claim and run the oldest due job; False when none is due."""
    worker = worker or worker_name()
    with make_session() as session, session.begin():
        job = queue.claim(session, worker, ctx.delays)
    if job is None:
        return False
    try:
        with make_session() as session, session.begin():
            run_job(session, job, ctx.reporting(reporter(make_session, job)))
    except Exception as exc:  # noqa: BLE001 - a failing job must not stop the worker
        log.exception("job %s (%s %s) failed", job.id, job.kind, job.area)
        retry = 60.0 * job.attempts if job.attempts <= ctx.jobs.retries else None
        with make_session() as session, session.begin():
            queue.fail(session, job, f"{type(exc).__name__}: {exc}", retry)
    return True


def tick(make_session: sessionmaker, ctx: Context) -> list[str]:
    """Queue due schedules and fail lost jobs (every worker does this each poll)."""
    with make_session() as session, session.begin():
        queue.release_lost(session, timedelta(seconds=ctx.jobs.timeout_s))
        return schedule.queue_due(session, ctx)


def run_until_idle(make_session: sessionmaker, ctx: Context, max_jobs: int = 100_000) -> int:
    """Run due jobs until none is left (or `max_jobs`); how many ran. Schedules are not consulted."""
    done = 0
    while done < max_jobs and run_one(make_session, ctx):
        done += 1
    return done


def run_in_session(session: Session, ctx: Context, max_jobs: int = 100_000) -> int:
    """Run due jobs inside one session, each in a savepoint (tests that roll everything back)."""
    done = 0
    while done < max_jobs:
        job = queue.claim(session, "in-session", ctx.delays)
        if job is None:
            return done
        with session.begin_nested():
            run_job(session, job, ctx)
        done += 1
    return done


def run_forever(make_session: sessionmaker, ctx: Context, stop: threading.Event) -> None:
    """Poll, queue schedules and run jobs until `stop` is set."""
    log.info("job worker %s started", worker_name())
    while not stop.is_set():
        try:
            tick(make_session, ctx)
            while not stop.is_set() and run_one(make_session, ctx):
                pass
        except Exception:  # noqa: BLE001 - a lost database connection must not end the worker
            log.exception("job worker poll failed; retrying")
        stop.wait(ctx.jobs.poll_s)


def start_threads(make_session: sessionmaker, ctx: Context, count: int) -> tuple[threading.Event, list]:
    """Start `count` worker threads (gridgov serve); set the event to stop them."""
    stop = threading.Event()
    threads = [
        threading.Thread(target=run_forever, args=(make_session, ctx, stop), name=f"jobs-{i}", daemon=True)
        for i in range(count)
    ]
    for t in threads:
        t.start()
    return stop, threads
