"""Chronic disputes (重复纠纷) and the backlog (积案) on hand-placed cases in one village of the demo county.

The rule under test: the same place means one category within the snapped cell, at least three cases;
the same party at least two; first and last at least 30 days apart. Two unrelated disputes on either
side of New Year (the case that made the old "calendar years touched" rule wrong) are not chronic.
"""

from datetime import timedelta

from sqlalchemy import text

from geo import clock
from geo.analytics.chronic import ChronicRule, chronic_sheets, list_backlog, list_chronic, refresh_chronic
from geo.analytics.settings import AnalyticsSettings
from geo.io.workbook import cell_value

VILLAGE = "620121004008"  # a village of 武胜驿镇 with no demo repeats
SETTINGS = AnalyticsSettings(
    _env_file=None, chronic_metres=50, chronic_place_cases=3, chronic_party_cases=2, chronic_min_days=30
)
RULE = ChronicRule.of(SETTINGS)

_ADD = text("""
INSERT INTO events (kind, category, severity, status, title, source, reported_at, closed_at, geom, created_at)
SELECT 'dispute', :category, 2, :status, :title, 'patrol', CAST(:at AS timestamptz),
       CASE WHEN :status = 'closed' THEN CAST(:at AS timestamptz) + interval '3 days' END,
       ST_Translate(ST_PointOnSurface(g.geom), :dx, 0), :now
FROM grids g WHERE g.level = 'village' AND g.valid_to IS NULL AND g.code = rpad(:village, 15, '0')
RETURNING id
""")


def _dispute(session, category, at, title, *, dx=0.0, status="closed"):
    params = {"category": category, "at": at, "title": title, "dx": dx, "status": status, "now": clock.now()}
    return session.execute(_ADD, {**params, "village": VILLAGE}).scalar_one()


def _party(session, event_id, name, id_number):
    session.execute(
        text(
            "INSERT INTO parties (event_id, role, name, phone, id_number) VALUES (:e, 'applicant', :n, NULL, :i)"
        ),
        {"e": event_id, "n": name, "i": id_number},
    )


def _chronic(session):
    """What the chronic job stores for the village now, as a request reads it."""
    refresh_chronic(session, VILLAGE, SETTINGS, clock.now())
    return list_chronic(session, VILLAGE, RULE)


def _groups(session, basis):
    return [g for g in _chronic(session)["groups"] if g["basis"] == basis]


def test_three_disputes_of_one_category_at_one_place_over_months_are_chronic(db_session):
    ids = [
        _dispute(db_session, "land_forest", "2026-03-02 09:00+08", "耕地边界争执"),
        _dispute(db_session, "land_forest", "2026-06-10 09:00+08", "耕地边界再起争执", dx=0.0001),
        _dispute(db_session, "land_forest", "2026-10-20 09:00+08", "耕地边界三度争执", status="registered"),
    ]
    (group,) = _groups(db_session, "place")
    assert group["category"] == "土地山林纠纷" and group["cases"] == 3 and group["open_cases"] == 1
    assert [c["id"] for c in group["history"]] == ids  # the evidence, oldest first
    assert group["span_days"] == 232


def test_two_unrelated_disputes_across_new_year_are_not_chronic(db_session):
    _dispute(db_session, "neighbour", "2025-12-01 09:00+08", "噪音扰邻")
    _dispute(db_session, "contract_debt", "2026-03-27 09:00+08", "货款拖欠")  # 116 days later, another matter
    _dispute(db_session, "neighbour", "2026-03-28 09:00+08", "噪音扰邻再起")  # same matter, but only twice
    assert _groups(db_session, "place") == []


def test_a_burst_in_one_week_is_duplicates_not_chronic(db_session):
    for day in (1, 2, 3, 4):
        _dispute(db_session, "land_forest", f"2026-05-0{day} 09:00+08", "同一争执重复上报")
    assert _groups(db_session, "place") == []


def test_the_same_party_twice_a_month_apart_is_chronic_and_says_how_it_was_matched(db_session):
    first = _dispute(db_session, "marriage_family", "2026-01-05 09:00+08", "婚姻家庭纠纷", dx=0.01)
    second = _dispute(db_session, "contract_debt", "2026-04-05 09:00+08", "借款纠纷", dx=-0.01)
    for event_id in (first, second):
        _party(db_session, event_id, "王建国", "620121199001011234")
    groups = [g for g in _groups(db_session, "parties") if {c["id"] for c in g["history"]} == {first, second}]
    assert len(groups) == 1 and groups[0]["matched_on"] == "id_number" and groups[0]["party"] == "王建国"


def test_backlog_lists_cases_open_longer_than_the_setting_oldest_first(db_session):
    now = clock.now()
    old = _dispute(
        db_session, "neighbour", (now - timedelta(days=120)).isoformat(), "久拖未决", status="registered"
    )
    newer = _dispute(
        db_session, "neighbour", (now - timedelta(days=95)).isoformat(), "拖了三个月", status="dispatched"
    )
    recent = _dispute(
        db_session, "neighbour", (now - timedelta(days=30)).isoformat(), "一个月", status="registered"
    )
    closed = _dispute(db_session, "neighbour", (now - timedelta(days=200)).isoformat(), "早已办结")
    rows = [r for r in list_backlog(db_session, VILLAGE, 90) if r["id"] in (old, newer, recent, closed)]
    assert [r["id"] for r in rows] == [old, newer] and [r["open_days"] for r in rows] == [120, 95]


def test_the_workbook_holds_the_groups_their_evidence_and_the_backlog(db_session):
    assert _groups(db_session, "place") == []
    for month in ("03", "06", "09"):
        _dispute(db_session, "land_forest", f"2026-{month}-02 09:00+08", "耕地边界争执")
    chronic = _chronic(db_session)
    sheets = chronic_sheets(chronic, list_backlog(db_session, VILLAGE, 90), 90)
    assert [s.name for s in sheets] == ["重复纠纷", "证据", "积案（在办超过90天）"]
    evidence = list(sheets[1].rows)
    assert len(evidence) == sum(g["cases"] for g in chronic["groups"])
    assert cell_value(evidence[0]["reported_at"]) == "2026-03-02 09:00:00+08:00"  # county time, offset shown
