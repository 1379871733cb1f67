"""The commander's headline figures (geo.queries.summary) on the demo county, against a plain recount."""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import text

from geo.queries import summary

TZ = ZoneInfo("Asia/Shanghai")


def _recount(session, area: str, day) -> dict:
    """The figures straight from the rows: every event's local date computed, no index in sight."""
    rows = session.execute(
        text(
            "SELECT kind, category, status, reported_at, wage_recovered, wage_workers FROM events "
            "WHERE grid_code LIKE :a"
        ),
        {"a": area + "%"},
    ).all()
    local = [(r, r.reported_at.astimezone(TZ).date()) for r in rows]
    last30 = [r for r, d in local if day - timedelta(days=29) <= d <= day]
    counted = [r for r in last30 if r.status not in ("rejected", "duplicate")]
    wages = [r for r, d in local if r.category == "labour_wages" and d.year == day.year and d <= day]
    return {
        "new_disputes": sum(1 for r, d in local if d == day and r.kind == "dispute"),
        "new_hazards": sum(1 for r, d in local if d == day and r.kind == "hazard"),
        "new_appeals": sum(1 for r, d in local if d == day and r.kind == "appeal"),
        "resolution_rate": round(
            100 * sum(1 for r in counted if r.status in ("handled", "verified", "closed")) / len(counted), 1
        ),
        "wage_recovered": float(sum(r.wage_recovered or 0 for r in wages)),
        "wage_workers": sum(r.wage_workers or 0 for r in wages if (r.wage_recovered or 0) > 0),
    }


def test_figures_equal_a_recount_for_the_county_and_a_township(db_session):
    for area in ("620121", "620121003"):
        got = summary.summarize(db_session, area)
        newest = db_session.execute(
            text("SELECT max(reported_at) FROM events WHERE grid_code LIKE :a AND reported_at <= now()"),
            {"a": area + "%"},
        ).scalar_one()
        assert got["day"] == newest.astimezone(TZ).date()
        expected = _recount(db_session, area, got["day"])
        assert {k: got[k] for k in expected} == expected
        assert got["new_appeals"] > 0 and got["wage_recovered"] > 0  # the comparison is not of zeros


def test_a_province_account_gets_its_summary(db_session):
    # The demo holds one county; give it the province above it, as the province data has.
    db_session.execute(
        text(
            "INSERT INTO grids (code, name, level, geom) "
            "SELECT '620000000000000', '甘肃省', 'province', geom FROM grids "
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


def test_today_is_never_after_the_real_today(db_session):
    future = datetime.now(TZ) + timedelta(days=3)
    moved = db_session.execute(
        text(
            "UPDATE events SET reported_at = :at WHERE id = (SELECT min(id) FROM events WHERE closed_at IS NULL) "
            "RETURNING id"
        ),
        {"at": future},
    ).scalar_one()
    assert moved
    assert summary.summarize(db_session, "620121")["day"] < future.date()
