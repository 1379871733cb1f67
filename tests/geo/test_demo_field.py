"""The demo's day of field work: a patrol track for every worker ending at their last fix, inside their
own grid, split at lunch for some, wild fixes dropped; visits along the way; the same for a seed and
`until`; and the last month's handling history the assessment counts."""

import numpy as np
from sqlalchemy import text

from geo.demo import build_county, demo_end, yongdeng_spec
from geo.demo.field import build_patrols, build_visits
from tests.conftest import DEMO_SEED, DEMO_UNTIL

END = demo_end(DEMO_UNTIL)


def _one(session, sql: str):
    return session.execute(text(sql)).one()


def test_every_worker_has_one_track_ending_at_their_last_fix(db_session):
    workers, tracks, ends_there = _one(
        db_session,
        "SELECT (SELECT count(*) FROM workers), count(*), count(*) FILTER (WHERE t.ended_at = w.located_at"
        " AND ST_DWithin(ST_EndPoint(ST_GeometryN(t.geom, ST_NumGeometries(t.geom))), w.geom, 1e-9))"
        " FROM patrol_tracks t JOIN workers w ON w.id = t.worker_id",
    )
    assert workers == tracks == ends_there == 1383


def test_tracks_are_plausible_walks_inside_the_workers_own_grid(db_session):
    km, hours, split, inside = _one(
        db_session,
        "SELECT avg(t.length_m) / 1000, avg(t.duration_s) / 3600.0, avg((t.segments > 1)::int),"
        " avg(((SELECT count(*) FROM patrol_grids p WHERE p.worker_id = t.worker_id AND p.day = t.day"
        "      AND p.grid_code <> t.grid_code) = 0)::int)::float"
        " FROM patrol_tracks t",
    )
    assert 3 < km < 15 and 1 < hours < 4.5  # about a walking pace, for two or three hours
    assert 0.15 < split < 0.45  # a lunch break splits some tracks
    assert (
        inside == 1.0
    )  # a worker patrols their own grid; the wild fixes (hundreds of metres off) are dropped
    dropped = _one(
        db_session,
        "SELECT count(*) FROM worker_fixes WHERE accuracy_m > 100",
    )[0]
    assert (
        dropped > 1000
        and _one(db_session, "SELECT sum(fixes) FROM patrol_tracks")[0]
        < _one(db_session, "SELECT count(*) FROM worker_fixes")[0]
    )


def test_visits_lie_on_the_patrol_in_the_workers_grid(db_session):
    visits, own_grid, on_patrol = _one(
        db_session,
        "SELECT count(*), count(*) FILTER (WHERE v.grid_code = w.home_grid_code),"
        " count(*) FILTER (WHERE EXISTS (SELECT 1 FROM worker_fixes f WHERE f.worker_id = v.worker_id AND f.at = v.at))"
        " FROM visits v JOIN workers w ON w.id = v.worker_id",
    )
    assert visits == own_grid == on_patrol > 4000


def test_the_same_seed_and_until_give_the_same_day():
    def day():
        plan = build_county(yongdeng_spec(), DEMO_SEED, END)
        rng = np.random.default_rng([DEMO_SEED, 620121, 40])
        fixes = build_patrols(rng, plan)
        return fixes, build_visits(rng, plan, fixes)

    (f1, v1), (f2, v2) = day(), day()
    assert all(np.array_equal(f1[k], f2[k]) for k in f1)
    assert np.array_equal(v1["idx"], v2["idx"]) and v1["household"] == v2["household"]


def test_the_last_months_closed_cases_have_their_handling_history(db_session):
    cases, assigned, logged = _one(
        db_session,
        "SELECT count(*), count(*) FILTER (WHERE e.assignee_id IS NOT NULL AND e.deadline_at IS NOT NULL),"
        " count(*) FILTER (WHERE (SELECT array_agg(l.action ORDER BY l.at) FROM event_log l WHERE l.event_id = e.id)"
        "     IN (ARRAY['start','handle','verify','close'], ARRAY['start','handle','rework','handle','verify','close']))"
        " FROM events e WHERE e.status = 'closed' AND e.closed_at >= '2026-10-28T00:00:00+08:00'",
    )
    assert cases == assigned == logged > 9000
