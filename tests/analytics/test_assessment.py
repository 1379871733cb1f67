"""The monthly worker assessment (网格员考核) of the demo's November: every figure against SQL written
here, the ranking per township, frozen once issued, never issued by a read; HTML and XLSX."""

import io
from datetime import date, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from geo import clock
from geo.analytics.assessment import get_assessment, issue_assessment, issue_due
from geo.errors import ConflictError
from geo.settings import FieldSettings
from tests.apps import app_for
from tests.auth_helpers import authed

NOV = date(2026, 11, 1)
SETTINGS = FieldSettings(_env_file=None)
T0, T1 = "2026-11-01T00:00:00+08:00", "2026-12-01T00:00:00+08:00"

# Each figure counted the plain way, one query per figure: worker id -> value.
EXPECTED = {
    "days_on_patrol": "SELECT worker_id, count(DISTINCT day) FROM patrol_tracks "
    "WHERE day >= '2026-11-01' AND day < '2026-12-01' GROUP BY 1",
    "km": "SELECT worker_id, round((sum(length_m) / 1000)::numeric, 2)::float8 FROM patrol_tracks "
    "WHERE day >= '2026-11-01' AND day < '2026-12-01' GROUP BY 1",
    "visits": f"SELECT worker_id, count(*) FROM visits WHERE at >= '{T0}' AND at < '{T1}' GROUP BY 1",
    "cases_found": "SELECT reporter_worker_id, count(*) FROM events WHERE reporter_worker_id IS NOT NULL "
    f"AND reported_at >= '{T0}' AND reported_at < '{T1}' AND status <> 'duplicate' GROUP BY 1",
    "handled_on_time": f"""
        SELECT e.assignee_id, count(*) FROM events e
        JOIN (SELECT event_id, min(at) AS at FROM event_log WHERE action = 'handle' GROUP BY 1) h ON h.event_id = e.id
        WHERE h.at >= '{T0}' AND h.at < '{T1}' AND (e.deadline_at IS NULL OR h.at <= e.deadline_at)
        GROUP BY 1""",
    "verified_first_pass": f"""
        SELECT e.assignee_id, count(*) FROM events e
        JOIN (SELECT event_id, min(at) AS at FROM event_log WHERE action = 'verify' GROUP BY 1) v ON v.event_id = e.id
        WHERE v.at >= '{T0}' AND v.at < '{T1}'
          AND NOT EXISTS (SELECT 1 FROM event_log r WHERE r.event_id = e.id AND r.action = 'rework' AND r.at < v.at)
        GROUP BY 1""",
    "overdue": f"""
        SELECT e.assignee_id, count(*) FROM events e
        LEFT JOIN (SELECT event_id, min(at) AS at FROM event_log WHERE action = 'handle' GROUP BY 1) h ON h.event_id = e.id
        WHERE e.assignee_id IS NOT NULL AND e.status NOT IN ('rejected', 'duplicate')
          AND e.deadline_at >= '{T0}' AND e.deadline_at < :cutoff AND (h.at IS NULL OR h.at > e.deadline_at)
        GROUP BY 1""",
}


def test_the_demo_months_figures_match_sql_for_every_worker(db_session):
    a = get_assessment(db_session, "620121", NOV, SETTINGS)
    rows = {r["worker_id"]: r for r in a["rows"]}
    assert len(rows) == 1383 and not a["issued"]
    for figure, sql in EXPECTED.items():
        expected = dict(db_session.execute(text(sql), {"cutoff": clock.now()}).all())
        got = {w: r[figure] for w, r in rows.items() if r[figure]}
        assert got == expected, figure
    # a plausible month: everyone patrolled on their last day, most visited, most handled cases on time
    assert all(r["days_on_patrol"] == 1 for r in rows.values())
    assert 0.85 < sum(r["visits"] >= 2 for r in rows.values()) / len(rows) < 0.97
    assert (
        sum(r["handled_on_time"] for r in rows.values())
        > 0.8 * sum(r["handled"] for r in rows.values())
        > 5000
    )
    assert (
        0 < sum(r["verified_first_pass"] for r in rows.values()) < sum(r["verified"] for r in rows.values())
    )


def test_workers_are_ranked_by_score_within_their_township(db_session):
    rows = get_assessment(db_session, "620121", NOV, SETTINGS)["rows"]
    townships = {r["township_code"] for r in rows}
    assert len(townships) == 15
    for code in townships:
        mine = sorted(
            (r for r in rows if r["township_code"] == code),
            key=lambda r: (r["township_rank"], r["worker_id"]),
        )
        assert mine[0]["township_rank"] == 1 and all(r["township_workers"] == len(mine) for r in mine)
        assert [r["score"] for r in mine] == sorted((r["score"] for r in mine), reverse=True)
        assert all(0 <= r["score"] <= 100 for r in mine) and mine[0]["township"]


def test_a_month_is_issued_once_ended_and_then_frozen(db_session, test_clock):
    with pytest.raises(ConflictError, match="尚未结束"):
        issue_assessment(db_session, "620121", NOV, SETTINGS)
    test_clock.advance(timedelta(days=3, minutes=10))  # 2026-12-01 00:10
    live = get_assessment(db_session, "620121", NOV, SETTINGS)
    assert not live["issued"] and db_session.execute(text("SELECT count(*) FROM assessments")).scalar() == 0
    assert issue_due(db_session, "620121", SETTINGS) == ["2026-11", "2026-10"]
    issued = get_assessment(db_session, "620121", NOV, SETTINGS)
    assert issued["issued"] and issued["cutoff_at"].startswith("2026-12-01T00:10")
    worker = issued["rows"][0]["worker_id"]
    db_session.execute(
        text(
            "INSERT INTO visits (worker_id, client_key, at, received_at, grid_code, address, recorded_by) "
            "SELECT id, 'late', '2026-11-20T10:00+08', '2026-11-20T10:00+08', home_grid_code, 'x', 'test' "
            "FROM workers WHERE id = :w"
        ),
        {"w": worker},
    )
    again = get_assessment(db_session, "620121", NOV, SETTINGS)
    assert again["rows"] == issued["rows"] and issue_due(db_session, "620121", SETTINGS) == []
    assert get_assessment(db_session, "620121", date(2026, 12, 1), SETTINGS)["issued"] is False
    nested = db_session.begin_nested()
    with pytest.raises(DBAPIError, match="frozen"):
        db_session.execute(text("UPDATE assessments SET figures = '{}'"))
    nested.rollback()


@pytest.fixture(scope="module")
def planner(demo_db_url):
    with TestClient(app_for(demo_db_url)) as c:
        yield authed(c, demo_db_url, role="planner")


def test_the_api_serves_json_html_and_xlsx_and_masks_names_for_the_planner(planner):
    from openpyxl import load_workbook

    body = planner.get("/api/assessments/2026-11?area=620121003").json()
    assert (
        body["issued"] is False
        and body["rows"]
        and all(r["grid_code"].startswith("620121003") for r in body["rows"])
    )
    assert all("某" in r["name"] or r["name"].endswith("*") for r in body["rows"])
    html = planner.get("/api/assessments/2026-11?area=620121003&format=html")
    assert html.status_code == 200 and "网格员考核" in html.text and "尚未签发" in html.text
    xlsx = planner.get("/api/assessments/2026-11?area=620121003&format=xlsx")
    sheet = load_workbook(io.BytesIO(xlsx.content)).active
    assert sheet.max_row == len(body["rows"]) + 1 and sheet["C1"].value == "网格员"
    assert planner.post("/api/assessments/2026-11/issue").status_code == 403  # planners issue nothing
    assert planner.get("/api/assessments/2026-13").status_code == 400
