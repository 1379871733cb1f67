"""The field-work jobs: the daily schedule queues the monthly assessments and the position history's
partitions and retention; their tasks issue ended months and prepare the months ahead."""

from datetime import timedelta

from sqlalchemy import text

from geo.jobs.queue import Job
from geo.jobs.schedule import queue_due, schedules
from geo.jobs.tasks import TASKS, report_areas
from tests.conftest import fast_analytics


def test_the_daily_slot_queues_assessments_per_report_area_and_one_history_job(db_session, test_clock):
    ctx = fast_analytics()
    assert {"assessments", "fixes"} <= {s.name for s in schedules(ctx)}
    test_clock.advance(timedelta(days=3, minutes=10))  # 2026-12-01 00:10, after GRID_JOBS_REPORTS_AT
    taken = queue_due(db_session, ctx)
    assert {"assessments", "fixes"} <= set(taken)
    queued = dict(
        db_session.execute(
            text("SELECT kind, count(*) FROM jobs WHERE kind IN ('assessments', 'fixes') GROUP BY 1")
        ).all()
    )
    areas = report_areas(db_session, "620121")  # the county, its 15 townships, and accounts' areas within
    assert len(areas) >= 16 and queued == {"assessments": len(areas), "fixes": 1}  # one for the database


def test_the_tasks_issue_ended_months_and_prepare_partitions(db_session, test_clock):
    ctx = fast_analytics()
    test_clock.advance(timedelta(days=3, minutes=10))
    issued = TASKS["assessments"](db_session, Job(1, "assessments", "620121003", {}, 1, "k"), ctx)
    assert issued == {"issued": ["2026-11", "2026-10"]}
    assert TASKS["assessments"](db_session, Job(2, "assessments", "620121003", {}, 1, "k"), ctx) == {
        "issued": []
    }
    history = TASKS["fixes"](db_session, Job(3, "fixes", "62", {}, 1, "k"), ctx)
    assert history["prepared"] == ["worker_fixes_y2026m12", "worker_fixes_y2027m01", "worker_fixes_y2027m02"]
    assert history["tracks"] == 0  # the demo's day is well within the retention
