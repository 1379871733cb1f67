"""Periodic jobs. Each schedule has slots (every N minutes, or a time of day in the county's zone);
the first worker to see a new slot records it in `job_schedules` and queues that slot's jobs, so
several workers queue each slot once. A worker that was down queues only the latest slot it missed
(the report job itself catches up on the periods it missed).
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, time, timedelta

from sqlalchemy import text
from sqlalchemy.orm import Session

from geo import clock
from geo.analytics.reports import PERIODS
from geo.jobs.queue import enqueue
from geo.jobs.tasks import Context, counties, report_areas


@dataclass(frozen=True)
class Schedule:
    """A named schedule: when its slots fall, and what it queues in each."""

    name: str
    slot: Callable[[datetime], datetime]
    queue: Callable[[Session], int]


def every(minutes: int) -> Callable[[datetime], datetime]:
    """Slots every `minutes` minutes from midnight."""

    def slot(now: datetime) -> datetime:
        start = clock.midnight(now.date())
        return start + timedelta(minutes=minutes * ((now - start) // timedelta(minutes=minutes)))

    return slot


def daily(at: str) -> Callable[[datetime], datetime]:
    """One slot a day at HH:MM in the county's zone."""
    hh, mm = (int(x) for x in at.split(":"))

    def slot(now: datetime) -> datetime:
        today = datetime.combine(now.date(), time(hh, mm), clock.zone())
        return today if now >= today else today - timedelta(days=1)

    return slot


def _queue_risk(session: Session) -> int:
    held = counties(session)
    for county in held:
        enqueue(session, "risk", county)
    return len(held)


def _queue_reports(session: Session) -> int:
    n = 0
    for county in counties(session):
        for area in report_areas(session, county):
            for period in PERIODS:
                enqueue(session, "reports", area, {"period": period})
                n += 1
    return n


def _queue_assessments(session: Session) -> int:
    n = 0
    for county in counties(session):
        for area in report_areas(session, county):
            enqueue(session, "assessments", area)
            n += 1
    return n


def _queue_fixes(session: Session) -> int:
    """One job for the whole database: partitions and retention are not per area."""
    held = counties(session)
    if held:
        enqueue(session, "fixes", held[0][:2])
    return int(bool(held))


def _queue_refresh(session: Session) -> int:
    held = counties(session)
    for county in held:
        enqueue(session, "refresh", county)
    return len(held)


def schedules(ctx: Context) -> list[Schedule]:
    """The product's schedules under these settings."""
    return [
        Schedule("risk", every(ctx.jobs.risk_every_min), _queue_risk),
        Schedule("reports", daily(ctx.jobs.reports_at), _queue_reports),
        Schedule("analytics", daily(ctx.jobs.analytics_at), _queue_refresh),
        Schedule("assessments", daily(ctx.jobs.reports_at), _queue_assessments),
        Schedule("fixes", daily(ctx.jobs.reports_at), _queue_fixes),
    ]


_TAKE_SLOT = text("""
INSERT INTO job_schedules (name, last_slot) VALUES (:name, :slot)
ON CONFLICT (name) DO UPDATE SET last_slot = EXCLUDED.last_slot
    WHERE job_schedules.last_slot < EXCLUDED.last_slot
RETURNING name
""")


def queue_due(session: Session, ctx: Context) -> list[str]:
    """Queue the jobs of every schedule whose current slot nobody has queued yet; their names."""
    now = clock.now()
    taken = []
    for schedule in schedules(ctx):
        if session.execute(_TAKE_SLOT, {"name": schedule.name, "slot": schedule.slot(now)}).first():
            schedule.queue(session)
            taken.append(schedule.name)
    return taken
