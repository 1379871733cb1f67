"""The roll-ups (grid_days, grid_totals; geo.queries.rollups) give the numbers of the one definition of
each figure (geo.queries.figures) at any instant and cut-off, and stay current on every kind of write."""

from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import text

from geo import clock
from geo.queries import figures as f
from geo.queries import rollups

INSTANTS = [
    "2026-11-28T00:00:00+08:00",  # now in the tests
    "2026-11-27T23:59:59+08:00",
    "2026-11-20T14:30:00+08:00",  # a week back, mid-day
    "2026-10-01T00:00:00+08:00",  # a month boundary
]


def _direct_instant(session, area: str, at: datetime, cutoff: datetime, open_now: bool) -> dict:
    is_open = f.open_now("e", ":at") if open_now else f.open_at("e", ":at")
    row = session.execute(
        text(f"""
        SELECT left(e.grid_code, 9) AS code, count(*) FILTER (WHERE {is_open}) AS open,
               count(*) FILTER (WHERE {f.overdue_at("e", ":at")}) AS overdue
        FROM events e WHERE e.grid_code LIKE :a AND e.created_at <= :cutoff GROUP BY 1"""),
        {"a": area + "%", "at": at, "cutoff": cutoff},
    ).all()
    return {r.code: {"open": r.open, "overdue": r.overdue} for r in row if r.open or r.overdue}


def _direct_window(session, area: str, a: date, b: date, by: datetime, cutoff: datetime) -> dict:
    p = {"a": clock.midnight(a), "b": clock.midnight(b), "by": by, "cutoff": cutoff, "area": area + "%"}
    row = session.execute(
        text(f"""
        SELECT count(*) FILTER (WHERE {f.new_in("e", ":a", ":b")}) AS new,
               count(*) FILTER (WHERE {f.new_in("e", ":a", ":b")} AND {f.accepted()}) AS accepted,
               count(*) FILTER (WHERE {f.new_in("e", ":a", ":b")} AND {f.accepted()}
                                AND {f.closed_at("e", ":by")}) AS resolved,
               count(*) FILTER (WHERE e.status = 'closed' AND e.closed_at >= :a AND e.closed_at < :b) AS closed,
               coalesce(sum(e.wage_recovered) FILTER (WHERE e.status = 'closed' AND e.closed_at >= :a
                                                      AND e.closed_at < :b), 0) AS wage_recovered
        FROM events e WHERE e.grid_code LIKE :area AND e.created_at <= :cutoff"""),
        p,
    ).one()
    return row._asdict()


def _instant(session, area, at, cutoff, open_now=False) -> dict:
    got = rollups.instant(session, area, at, group="township", cutoff=cutoff, open_now=open_now)
    return {k: v for k, v in got.items() if v["open"] or v["overdue"]}


@pytest.mark.parametrize("instant", INSTANTS)
@pytest.mark.parametrize("open_now", [False, True])
def test_open_and_overdue_at_an_instant_equal_the_definition(db_session, instant, open_now):
    at = datetime.fromisoformat(instant)
    cutoff = clock.now()
    expected = _direct_instant(db_session, "620121", at, cutoff, open_now)
    assert _instant(db_session, "620121", at, cutoff, open_now) == expected
    assert sum(v["open"] for v in expected.values()) > 0 or open_now  # open_now: open then and still now
    assert sum(v["overdue"] for v in expected.values()) > 0 or instant < "2026-11-27"


@pytest.mark.parametrize(
    ("a", "b", "by"),
    [
        (date(2026, 10, 1), date(2026, 11, 1), "2026-11-01T00:00:00+08:00"),
        (date(2026, 10, 29), date(2026, 11, 28), "2026-11-28T00:00:00+08:00"),
        (date(2026, 11, 27), date(2026, 11, 28), "2026-11-27T12:00:00+08:00"),
    ],
)
def test_window_figures_equal_the_definition(db_session, a, b, by):
    by = datetime.fromisoformat(by)
    got = rollups.window(db_session, "620121", a, b, resolved_by=by).get("", {})
    expected = _direct_window(db_session, "620121", a, b, by, clock.now())
    assert {k: got.get(k, 0) for k in expected} == expected and expected["new"] > 0


def test_a_cutoff_leaves_out_what_was_entered_after_it(db_session):
    cutoff = datetime.fromisoformat("2026-11-15T00:00:00+08:00")
    at = datetime.fromisoformat("2026-11-10T09:00:00+08:00")
    assert _instant(db_session, "620121", at, cutoff) == _direct_instant(
        db_session, "620121", at, cutoff, False
    )
    got = rollups.window(db_session, "620121", date(2026, 11, 1), date(2026, 12, 1), cutoff=cutoff).get(
        "", {}
    )
    expected = _direct_window(db_session, "620121", date(2026, 11, 1), date(2026, 12, 1), clock.now(), cutoff)
    assert (
        got["new"]
        == expected["new"]
        < _direct_window(
            db_session, "620121", date(2026, 11, 1), date(2026, 12, 1), clock.now(), clock.now()
        )["new"]
    )


_SNAPSHOT = """
SELECT 'd' || grid_code || day || kind || category, opened, accepted, resolved, closed, falls_due,
       wage_recovered, wage_workers, wage_paid_workers FROM grid_days
WHERE (opened, accepted, resolved, closed, falls_due, wage_recovered, wage_workers, wage_paid_workers)
      <> (0, 0, 0, 0, 0, 0, 0, 0)
UNION ALL SELECT 't' || grid_code || kind || category, open, 0, 0, 0, 0, 0, 0, 0 FROM grid_totals WHERE open <> 0
"""


def _snapshot(session) -> set:
    return set(session.execute(text(_SNAPSHOT)).all())


def _writes(session) -> None:
    """Every kind of change a case sees: new, registered with a deadline, dispatched, suspended, closed
    (with wages), rejected, moved to another grid, deleted."""
    now = clock.now()
    ids = [r[0] for r in session.execute(text("SELECT id FROM events ORDER BY id LIMIT 7"))]
    session.execute(
        text("""
        INSERT INTO events (kind, category, severity, status, title, source, reported_at, geom, created_at, grid_code)
        SELECT 'dispute', 'neighbour', 2, 'reported', '新案件', 'walk_in', :now, ST_PointOnSurface(geom), :now, code
        FROM grids WHERE level = 'grid' AND valid_to IS NULL AND code LIKE '620121001%' ORDER BY code LIMIT 3"""),
        {"now": now},
    )
    session.execute(
        text("UPDATE events SET status = 'registered', closed_at = NULL, deadline_at = :d WHERE id = :i"),
        {"d": now - timedelta(hours=3), "i": ids[0]},
    )
    session.execute(text("UPDATE events SET status = 'dispatched' WHERE id = :i"), {"i": ids[0]})
    session.execute(
        text(
            "UPDATE events SET status = 'in_progress', closed_at = NULL, deadline_at = :d, suspended_at = :s "
            "WHERE id = :i"
        ),
        {"d": now + timedelta(days=2), "s": now - timedelta(days=1), "i": ids[1]},
    )
    session.execute(
        text("UPDATE events SET status = 'closed', closed_at = :c WHERE id = :i"), {"c": now, "i": ids[2]}
    )
    session.execute(
        text("UPDATE events SET status = 'rejected', closed_at = NULL WHERE id = :i"), {"i": ids[3]}
    )
    session.execute(
        text(
            "UPDATE events SET grid_code = (SELECT max(code) FROM grids WHERE level = 'grid') WHERE id = :i"
        ),
        {"i": ids[4]},
    )
    session.execute(text("DELETE FROM events WHERE id = ANY(:i)"), {"i": ids[5:7]})


def test_roll_ups_stay_equal_to_a_rebuild_after_every_kind_of_write(db_session):
    db_session.execute(
        text("DELETE FROM parties WHERE event_id IN (SELECT id FROM events ORDER BY id LIMIT 7)")
    )
    before = _snapshot(db_session)
    _writes(db_session)
    kept = _snapshot(db_session)
    assert kept != before
    db_session.execute(text("SELECT gridgov_rebuild_rollups()"))
    assert _snapshot(db_session) == kept
    now = clock.now()
    assert _instant(db_session, "620121", now, now, True) == _direct_instant(
        db_session, "620121", now, now, True
    )


def test_one_scan_of_several_groups_gives_each_group_its_own_figures(db_session):
    a, b, by = date(2026, 10, 29), date(2026, 11, 28), clock.now()
    got = rollups.windows(db_session, "620121", a, b, (None, "category", "township"), resolved_by=by)
    whole = _direct_window(db_session, "620121", a, b, by, clock.now())
    assert {k: got[None][""].get(k, 0) for k in whole} == whole and whole["new"] > 0
    townships = sorted(got["township"])
    assert len(townships) >= 10
    for code in townships[:3]:
        expected = _direct_window(db_session, code, a, b, by, clock.now())
        assert {k: got["township"][code].get(k, 0) for k in expected} == expected
    assert all("|" in key for key in got["category"])
    assert sum(v["new"] for v in got["category"].values()) == whole["new"]
