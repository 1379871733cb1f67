"""The commander's headline figures (geo.queries.summary) on the demo county, against a plain recount,
and the one definition of each figure agreeing across the big screen, the board, the overdue lists,
the risk grades and the daily report at one instant."""

from datetime import datetime, timedelta

import pytest
from sqlalchemy import text

from geo import clock
from geo.analytics import reports
from geo.analytics.risk import RiskSettings, grade_area
from geo.queries import dispatch, summary
from geo.queries.overdue import list_overdue

LAST_SECOND = datetime.fromisoformat("2026-11-27T23:59:59+08:00")  # the demo's last day, almost over


def _recount(session, area: str, at: datetime) -> dict:
    """The figures straight from the rows: every event's local date computed, no index in sight."""
    rows = session.execute(
        text(
            "SELECT kind, category, status, reported_at, closed_at, wage_recovered, wage_workers FROM events "
            "WHERE grid_code LIKE :a"
        ),
        {"a": area + "%"},
    ).all()
    day = at.date()
    local = [(r, clock.local(r.reported_at).date()) for r in rows]
    accepted = [
        r
        for r, d in local
        if day - timedelta(days=29) <= d <= day and r.status not in ("rejected", "duplicate")
    ]
    closed = [r for r in accepted if r.status == "closed" and r.closed_at <= at]
    wages = [
        r
        for r, _ in local
        if r.category == "labour_wages" and r.status == "closed" and clock.local(r.closed_at).year == day.year
    ]
    new = [(r, d) for r, d in local if d == day and r.status != "duplicate"]
    return {
        "new_disputes": sum(1 for r, _ in new if r.kind == "dispute"),
        "new_hazards": sum(1 for r, _ in new if r.kind == "hazard"),
        "new_appeals": sum(1 for r, _ in new if r.kind == "appeal"),
        "open": sum(1 for r, _ in local if r.status not in ("closed", "rejected", "duplicate")),
        "resolution_rate": round(len(closed) / len(accepted), 4),
        "wage_recovered": float(sum(r.wage_recovered or 0 for r in wages)),
        "wage_workers": sum(r.wage_workers or 0 for r in wages if (r.wage_recovered or 0) > 0),
    }


@pytest.mark.parametrize("area", ["620121", "620121003"])
def test_figures_equal_a_recount_for_the_county_and_a_township(db_session, area):
    with clock.pinned(LAST_SECOND):
        got = summary.summarize(db_session, area)
    assert got["day"] == LAST_SECOND.date() and got["as_of"] == LAST_SECOND
    expected = _recount(db_session, area, LAST_SECOND)
    assert {k: got[k] for k in expected} == expected
    assert got["new_appeals"] > 0 and got["wage_recovered"] > 0  # the comparison is not of zeros


def test_today_is_the_county_day_of_the_clock(db_session):
    # 16:30 UTC is already the next day in Beijing: the county's new day has begun, with nothing in it.
    with clock.pinned(datetime.fromisoformat("2026-11-27T16:30:00+00:00")):
        got = summary.summarize(db_session, "620121")
    assert str(got["day"]) == "2026-11-28"
    assert got["new_disputes"] == got["new_hazards"] == got["new_appeals"] == 0


def test_a_province_account_gets_its_summary(db_session):
    # The demo holds one county; give it the province above it, as the province data has.
    db_session.execute(
        text(
            "INSERT INTO grids (code, name, level, geom, valid_from) "
            "SELECT '620000000000000', '甘肃省', 'province', geom, valid_from FROM grids "
            "WHERE code = '620121000000000' AND valid_to IS NULL"
        )
    )
    assert summary.find_area(db_session, "62") == {
        "code": "620000000000000",
        "name": "甘肃省",
        "level": "province",
    }
    province, county = summary.summarize(db_session, "62"), summary.summarize(db_session, "620121")
    assert province == county  # every case and worker of the demo is in its one county


@pytest.mark.parametrize("area", ["620121", "620121003"])
def test_one_definition_of_each_figure_everywhere_at_one_instant(db_session, area, test_clock):
    test_clock.at = LAST_SECOND  # a day with cases in it
    grade_area(db_session, "620121", RiskSettings(_env_file=None))
    screen = summary.summarize(db_session, area)
    daily = reports.get_report(db_session, "daily", area, clock.today())["summary"]
    board = dispatch.get_board(db_session, area, limit=10_000)
    overdue = list_overdue(db_session, area, limit=10_000)
    open_cases = summary.list_open_events(db_session, area, limit=100_000)
    graded_overdue = db_session.execute(
        text("SELECT sum(overdue) FROM risk_grades WHERE grid_code LIKE :a"), {"a": area + "%"}
    ).scalar_one()
    assert screen["overdue"] > 0 and screen["open"] > 0 and daily["new"] > 0
    assert screen["open"] == daily["open"] == len(open_cases)
    assert (
        screen["overdue"]
        == daily["overdue"]
        == len(overdue)
        == sum(g["overdue"] for g in board["overdue_by_grid"])
        == sum(1 for e in open_cases if e["overdue"])
        == graded_overdue
    )
    assert screen["on_duty"] == daily["on_duty"]
    assert screen["new_disputes"] + screen["new_hazards"] + screen["new_appeals"] == daily["new"]
