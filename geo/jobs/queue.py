"""The job queue: a table, at most one waiting job per dedupe key, claimed with FOR UPDATE SKIP LOCKED.

Writes enqueue with ON CONFLICT DO NOTHING, so a burst of writes to one county folds into the one job
already waiting. How long a kind of job waits after it was queued is the worker's setting (`delays`:
the refresh after a write waits GRID_JOBS_REFRESH_DELAY_S, so the writes of the next seconds fold in),
so the code that writes needs no settings. A worker claims the oldest due job whose key is not running
anywhere (two workers never compute the same thing at once), in a short transaction of its own; the
job's results and its `done` commit together.
"""

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from geo import clock


@dataclass(frozen=True)
class Job:
    """A claimed job."""

    id: int
    kind: str
    area: str
    params: dict[str, Any]
    attempts: int
    dedupe_key: str


def dedupe_key(kind: str, area: str, params: dict[str, Any] | None = None) -> str:
    """The key under which jobs of the same work fold together."""
    return f"{kind}:{area}:{json.dumps(params or {}, sort_keys=True, separators=(',', ':'))}"


_ENQUEUE = text("""
INSERT INTO jobs (kind, area, params, dedupe_key, run_after, enqueued_at)
VALUES (:kind, :area, CAST(:params AS jsonb), :key, :run_after, :now)
ON CONFLICT (dedupe_key) WHERE status = 'queued' DO NOTHING
""")


def enqueue(
    session: Session, kind: str, area: str, params: dict[str, Any] | None = None, *, delay: float = 0.0
) -> None:
    """Queue a job to run `delay` seconds from now, unless the same one is already waiting."""
    now = clock.now()
    session.execute(
        _ENQUEUE,
        {
            "kind": kind,
            "area": area,
            "params": json.dumps(params or {}),
            "key": dedupe_key(kind, area, params),
            "run_after": now + timedelta(seconds=delay),
            "now": now,
        },
    )


# Cases write to one county at a time; the refresh of that county is queued by the same statement.
_ENQUEUE_FOR_EVENT = text("""
INSERT INTO jobs (kind, area, params, dedupe_key, run_after, enqueued_at)
SELECT 'refresh', left(e.grid_code, 6), '{}', 'refresh:' || left(e.grid_code, 6) || ':{}', :run_after, :now
FROM events e WHERE e.id = :id AND e.grid_code IS NOT NULL
ON CONFLICT (dedupe_key) WHERE status = 'queued' DO NOTHING
""")


def enqueue_refresh_for_event(session: Session, event_id: int) -> None:
    """Queue the refresh of the county of a case that changed (see tasks.refresh)."""
    now = clock.now()
    session.execute(_ENQUEUE_FOR_EVENT, {"id": event_id, "now": now, "run_after": now})


_ENQUEUE_FOR_CODES = text("""
INSERT INTO jobs (kind, area, params, dedupe_key, run_after, enqueued_at)
SELECT 'refresh', county, CAST('{}' AS jsonb), 'refresh:' || county || ':{}', :run_after, :now
FROM (SELECT DISTINCT left(c, 6) AS county FROM unnest(CAST(:codes AS text[])) AS c WHERE c IS NOT NULL) u
ON CONFLICT (dedupe_key) WHERE status = 'queued' DO NOTHING
""")


def enqueue_refresh_for_codes(session: Session, codes: list[str]) -> None:
    """Queue the refresh of the counties of these grid codes (imports, re-gridding)."""
    now = clock.now()
    params = {"codes": codes, "now": now, "run_after": now}
    session.execute(_ENQUEUE_FOR_CODES, params)


_CLAIM = text("""
UPDATE jobs SET status = 'running', started_at = :now, worker = :worker, attempts = attempts + 1
WHERE id = (
    SELECT j.id FROM jobs j
    WHERE j.status = 'queued'
      AND j.run_after <= CAST(:now AS timestamptz)
          - make_interval(secs => coalesce((CAST(:delays AS jsonb) ->> j.kind)::float8, 0))
      AND NOT EXISTS (SELECT 1 FROM jobs r WHERE r.dedupe_key = j.dedupe_key AND r.status = 'running')
    ORDER BY j.run_after, j.id
    FOR UPDATE SKIP LOCKED
    LIMIT 1)
RETURNING id, kind, area, params, attempts, dedupe_key
""")


def claim(session: Session, worker: str, delays: dict[str, float] | None = None) -> Job | None:
    """Take the oldest due job, a job of kind K being due `delays[K]` seconds after it was queued (the
    caller commits at once, so other workers see it running)."""
    params = {"now": clock.now(), "worker": worker, "delays": json.dumps(delays or {})}
    row = session.execute(_CLAIM, params).first()
    return Job(*row) if row else None


_FINISH = text("""
UPDATE jobs SET status = 'done', finished_at = :now, progress = 1, result = CAST(:result AS jsonb),
                error = NULL
WHERE id = :id
""")


def finish(session: Session, job: Job, result: dict[str, Any]) -> None:
    """Mark the job done with its result (in the job's own transaction)."""
    session.execute(_FINISH, {"id": job.id, "now": clock.now(), "result": json.dumps(result, default=str)})


_FAIL = text("""
UPDATE jobs SET status = 'failed', finished_at = :now, error = :error WHERE id = :id
""")


def fail(session: Session, job: Job, error: str, retry_in: float | None) -> None:
    """Mark the job failed; queue it again after `retry_in` seconds unless None (or one is waiting)."""
    session.execute(_FAIL, {"id": job.id, "now": clock.now(), "error": error[:2000]})
    if retry_in is not None:
        enqueue(session, job.kind, job.area, job.params, delay=retry_in)


_LOST = text("""
UPDATE jobs SET status = 'failed', finished_at = :now, error = 'worker lost (no answer before the timeout)'
WHERE status = 'running' AND started_at < :before
RETURNING id
""")


def release_lost(session: Session, timeout: timedelta) -> int:
    """Fail jobs that have been running longer than `timeout` (their worker died); how many."""
    now = clock.now()
    return len(session.execute(_LOST, {"now": now, "before": now - timeout}).all())


_PROGRESS = text("UPDATE jobs SET progress = :fraction, note = :note WHERE id = :id AND status = 'running'")


def set_progress(session: Session, job_id: int, fraction: float, note: str) -> None:
    """Record how far a running job is (the worker commits this on a connection of its own, so that
    others see it while the job's own transaction is still open)."""
    session.execute(_PROGRESS, {"id": job_id, "fraction": max(0.0, min(1.0, fraction)), "note": note[:200]})


_LATEST = text("""
SELECT id, kind, area, params, status, enqueued_at, started_at, finished_at, progress, note, error, result
FROM jobs WHERE kind = :kind AND area = :area ORDER BY id DESC LIMIT 1
""")


def latest(session: Session, kind: str, area: str) -> dict[str, Any] | None:
    """The newest job of a kind for an area, if any (for progress and as-of displays)."""
    row = session.execute(_LATEST, {"kind": kind, "area": area}).mappings().first()
    return dict(row) if row else None


_OPEN = text("""
SELECT id, kind, area, params, status, enqueued_at, run_after, started_at, progress, note, worker
FROM jobs
WHERE status IN ('queued', 'running') AND area ~>=~ :lo AND area ~<~ :hi
ORDER BY status DESC, run_after, id LIMIT :limit
""")


def list_open(session: Session, area: str = "", limit: int = 200) -> list[dict[str, Any]]:
    """Jobs waiting or running for areas within `area` (all when empty), running first, with progress."""
    return [
        dict(r) for r in session.execute(_OPEN, {"lo": area, "hi": area + ":", "limit": limit}).mappings()
    ]


_OPEN_FOR = text("""
SELECT id, kind, status, progress, note, run_after FROM jobs
WHERE area = :area AND kind = ANY(:kinds) AND status IN ('queued', 'running')
ORDER BY status DESC, run_after, id LIMIT 1
""")


def open_for(session: Session, area: str, kinds: tuple[str, ...]) -> dict[str, Any] | None:
    """The job of one of these kinds waiting or running for exactly this area (running first)."""
    row = session.execute(_OPEN_FOR, {"area": area, "kinds": list(kinds)}).mappings().first()
    return dict(row) if row else None


_RECENT = text("""
SELECT id, kind, area, params, status, enqueued_at, started_at, finished_at, progress, note, worker, error
FROM jobs WHERE area ~>=~ :lo AND area ~<~ :hi ORDER BY id DESC LIMIT :limit
""")


def list_recent(session: Session, area: str = "", limit: int = 50) -> list[dict[str, Any]]:
    """The newest jobs of areas within `area` (all when empty), whatever their status."""
    return [
        dict(r) for r in session.execute(_RECENT, {"lo": area, "hi": area + ":", "limit": limit}).mappings()
    ]


def pending(session: Session, at: datetime | None = None) -> int:
    """How many jobs are waiting (due by `at`, when given)."""
    sql = "SELECT count(*) FROM jobs WHERE status = 'queued'"
    if at is not None:
        sql += " AND run_after <= :at"
    return int(session.execute(text(sql), {"at": at}).scalar_one())
