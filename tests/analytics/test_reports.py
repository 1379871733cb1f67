"""Period reports: bounds, figures against SQL, issued only explicitly and then frozen, late entries
counted by the next period, reads that never store."""

from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import text

from geo import clock
from geo.analytics.reports import get_report, issue_due, issue_report, period_bounds
from geo.errors import ConflictError, InvalidInputError

OCT = date(2026, 10, 15)


@pytest.mark.parametrize(
    ("period", "start", "end"),
    [
        ("daily", date(2026, 10, 15), date(2026, 10, 16)),
        ("weekly", date(2026, 10, 12), date(2026, 10, 19)),
        ("monthly", date(2026, 10, 1), date(2026, 11, 1)),
        ("quarterly", date(2026, 10, 1), date(2027, 1, 1)),
    ],
)
def test_period_bounds_in_china_time(period, start, end):
    a, b = period_bounds(period, OCT)
    assert (a.date(), b.date()) == (start, end) and a.tzinfo == clock.zone() and a.hour == 0


def test_period_bounds_rejects_unknown_periods():
    with pytest.raises(InvalidInputError, match="daily, weekly, monthly, quarterly"):
        period_bounds("yearly", OCT)


def _count(session, sql, **p):
    return session.execute(text(sql), p).scalar()


def test_monthly_report_figures_match_sql(db_session):
    r = issue_report(db_session, "monthly", "620121", OCT)
    a, b = period_bounds("monthly", OCT)
    new = _count(
        db_session,
        "SELECT count(*) FROM events WHERE reported_at >= :a AND reported_at < :b AND status <> 'duplicate'",
        a=a,
        b=b,
    )
    closed = _count(
        db_session,
        "SELECT count(*) FROM events WHERE closed_at >= :a AND closed_at < :b AND status <> 'duplicate'",
        a=a,
        b=b,
    )
    assert r["issued"] and r["summary"]["new"] == new and r["summary"]["closed"] == closed
    assert sum(t["new"] for t in r["by_township"]) == new == sum(c["new"] for c in r["by_category"])
    assert len(r["by_township"]) == 15 and r["summary"]["wage_workers"] > 0


def _late_case(session):
    """A case entered now but dated inside October (after October's cut-off)."""
    session.execute(
        text("""
        INSERT INTO events (kind, category, severity, status, title, source, reported_at, geom, created_at)
        SELECT 'dispute', 'neighbour', 2, 'registered', '补录的邻里纠纷', 'walk_in', '2026-10-20 10:00+08',
               ST_PointOnSurface(geom), :now
        FROM grids WHERE level = 'grid' AND valid_to IS NULL AND code LIKE '620121001%'
        ORDER BY code LIMIT 1"""),
        {"now": clock.now()},
    )


def test_issued_report_is_frozen_and_late_cases_show_next_period(db_session, test_clock):
    first = issue_report(db_session, "monthly", "620121", OCT)
    assert first["issued"] and first["cutoff_at"] == clock.now().isoformat()
    test_clock.advance(timedelta(seconds=1))
    _late_case(db_session)
    again = get_report(db_session, "monthly", "620121", OCT)
    assert again["summary"] == first["summary"] and again["cutoff_at"] == first["cutoff_at"]
    with pytest.raises(Exception, match="frozen"):
        with db_session.begin_nested():
            db_session.execute(text("UPDATE reports SET figures = '{}' WHERE period = 'monthly'"))
    test_clock.advance(timedelta(days=3))  # 2026-12-01: November has ended
    nov = issue_report(db_session, "monthly", "620121", date(2026, 11, 3))
    assert nov["issued"] and nov["summary"]["late"] == 1


def test_reading_a_report_never_stores_it(db_session):
    r = get_report(db_session, "monthly", "620121", OCT)  # ended, not issued yet: counted live
    assert not r["issued"] and r["issued_at"] is None and r["cutoff_at"] == clock.now().isoformat()
    stored = "SELECT count(*) FROM reports WHERE period = 'monthly' AND area = '620121'"
    assert _count(db_session, stored) == 0


def test_a_running_period_cannot_be_issued(db_session):
    with pytest.raises(ConflictError, match="尚未结束"):
        issue_report(db_session, "quarterly", "620121", OCT)  # Q4 runs until 2027-01-01


@pytest.mark.parametrize(
    ("now", "day"),
    [("2026-11-28T23:59:00+08:00", "2026-11-27"), ("2026-11-29T00:01:00+08:00", "2026-11-28")],
)
def test_daily_report_job_issues_the_day_that_ended_in_beijing_time(db_session, now, day):
    with clock.pinned(datetime.fromisoformat(now)):
        issued = issue_due(db_session, "daily", "620121", lookback=1)
        r = get_report(db_session, "daily", "620121", date.fromisoformat(day))
    assert issued == [day] and r["issued"] and r["start"] == f"{day}T00:00:00+08:00"
    assert r["cutoff_at"] == now  # and the cut-off is printed as Beijing time, with its offset


def test_township_report_counts_only_the_township(db_session):
    r = issue_report(db_session, "weekly", "620121003", OCT)
    a, b = period_bounds("weekly", OCT)
    own = _count(
        db_session,
        "SELECT count(*) FROM events WHERE reported_at >= :a AND reported_at < :b "
        "AND status <> 'duplicate' AND grid_code LIKE '620121003%'",
        a=a,
        b=b,
    )
    assert r["summary"]["new"] == own
    assert [t["code"] for t in r["by_township"]] == ["620121003"]
    assert all(code.startswith("620121003") for code in r["by_grid"])


def test_running_period_is_live_and_not_stored(db_session):
    r = get_report(db_session, "quarterly", "620121", OCT)
    assert not r["issued"]
    assert _count(db_session, "SELECT count(*) FROM reports WHERE period = 'quarterly'") == 0
