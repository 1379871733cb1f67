"""The demo generator: counts, exact nesting in PostGIS, the point-in-grid rule, determinism, empty-only.

The county demo is loaded once per session by tests/conftest.py (seed 620121, until 2026-11-27).
"""

from dataclasses import replace
from datetime import date, datetime, timedelta

import numpy as np
import pytest
import shapely
from sqlalchemy import text

from geo import clock
from geo.demo import build_county, demo_end, load_demo, province_specs, yongdeng_spec
from geo.demo import write as demo_copy
from geo.demo.names import YONGDENG_TOWNSHIPS
from geo.errors import ConflictError
from geo.queries.grids import check_nesting, reassign_events
from tests.conftest import DEMO_UNTIL

END = demo_end(DEMO_UNTIL)


def _scalar(session, sql, **params):
    return session.execute(text(sql), params).scalar()


@pytest.mark.parametrize(
    ("level", "count"), [("county", 1), ("township", 15), ("village", 196), ("grid", 1383)]
)
def test_demo_grid_counts(db_session, level, count):
    assert (
        _scalar(db_session, "SELECT count(*) FROM grids WHERE level = :l AND valid_to IS NULL", l=level)
        == count
    )


@pytest.mark.parametrize(("kind", "count"), [("dispute", 7705), ("hazard", 9410), ("appeal", 104_000)])
def test_demo_event_counts_and_mostly_closed(db_session, kind, count):
    total, closed, open_ = db_session.execute(
        text(
            "SELECT count(*), count(*) FILTER (WHERE status = 'closed' AND closed_at IS NOT NULL), "
            "count(*) FILTER (WHERE status NOT IN ('closed', 'rejected', 'duplicate')) "
            "FROM events WHERE kind = :k"
        ),
        {"k": kind},
    ).one()
    assert total == count
    assert closed / total >= 0.99
    assert open_ > 0


def test_demo_workers_one_per_small_grid(db_session):
    assert _scalar(db_session, "SELECT count(*) FROM workers") == 1383
    assert (
        _scalar(
            db_session,
            "SELECT count(*) FROM grids g JOIN workers w ON w.id = g.worker_id "
            "WHERE g.level = 'grid' AND w.home_grid_id = g.id AND w.home_grid_code = g.code",
        )
        == 1383
    )
    assert _scalar(db_session, "SELECT count(*) FROM workers WHERE phone !~ '^1[3-9][0-9]{9}$'") == 0
    assert _scalar(db_session, "SELECT min(cardinality(skills)) FROM workers") >= 2


def test_demo_real_township_names_and_synthetic_flag(db_session):
    rows = (
        db_session.execute(text("SELECT name FROM grids WHERE level = 'township' ORDER BY code"))
        .scalars()
        .all()
    )
    assert rows == [t[0] for t in YONGDENG_TOWNSHIPS]
    county = db_session.execute(text("SELECT name, synthetic FROM grids WHERE level = 'county'")).one()
    assert county == ("永登县", False)
    assert _scalar(db_session, "SELECT bool_and(synthetic) FROM grids WHERE level <> 'county'") is True
    assert _scalar(db_session, "SELECT count(*) FROM grids WHERE level = 'village' AND name LIKE '%社区'") > 0


def test_demo_roll_ups_lie_in_day_order(db_session):
    """A window of days reads neighbouring pages (load.lay_out_by_day), as a live system's rows do."""
    stats = "SELECT correlation FROM pg_stats WHERE tablename = 'grid_days' AND attname = 'day'"
    assert _scalar(db_session, stats) > 0.9


def test_demo_codes_are_hierarchical(db_session):
    bad = _scalar(
        db_session,
        """
        SELECT count(*) FROM grids c JOIN grids p ON p.id = c.parent_id
        WHERE NOT (
            (c.level = 'township' AND left(c.code, 6) = left(p.code, 6) AND right(c.code, 6) = '000000') OR
            (c.level = 'village' AND left(c.code, 9) = left(p.code, 9) AND right(c.code, 3) = '000') OR
            (c.level = 'grid' AND left(c.code, 12) = left(p.code, 12) AND right(c.code, 3) <> '000'))""",
    )
    assert bad == 0


def test_demo_nesting_check_passes(db_session):
    check_nesting(db_session)  # raises NestingError on overlaps or spills


@pytest.mark.parametrize("level", ["township", "village", "grid"])
def test_demo_children_union_equals_parent(db_session, level):
    # Fixed-precision overlay (0.1 mm grid): the floating one of older GEOS (3.11) falls back to
    # snapping on thousands of nearly collinear edges and leaves slivers of its own making.
    worst = _scalar(
        db_session,
        """
        SELECT max(ST_Area(ST_SymDifference(p.geom, u.geom, 1e-9)::geography)) FROM (
            SELECT parent_id, ST_Union(geom, 1e-9) AS geom FROM grids WHERE level = :l GROUP BY parent_id
        ) u JOIN grids p ON p.id = u.parent_id""",
        l=level,
    )
    assert worst < 1.0


@pytest.mark.parametrize("level", ["township", "village", "grid"])
def test_demo_siblings_do_not_overlap(db_session, level):
    overlap = _scalar(
        db_session,
        """
        SELECT coalesce(sum(ST_Area(ST_Intersection(a.geom, b.geom)::geography)), 0)
        FROM grids a JOIN grids b ON b.parent_id = a.parent_id AND b.level = a.level AND a.id < b.id
             AND a.geom && b.geom AND ST_Relate(a.geom, b.geom, '2********')
        WHERE a.level = :l""",
        l=level,
    )
    assert overlap < 1.0


def test_demo_every_event_covered_by_its_grid(db_session):
    bad = _scalar(
        db_session,
        "SELECT count(*) FROM events e LEFT JOIN grids g ON g.id = e.grid_id "
        "WHERE g.id IS NULL OR g.code <> e.grid_code OR NOT ST_Covers(g.geom, e.geom)",
    )
    assert bad == 0


def test_demo_event_grid_equals_database_rule(db_session):
    # The full rule (lowest id first) on disputes, hazards and every tenth appeal: seconds, not minutes.
    bad = _scalar(
        db_session,
        """
        SELECT count(*) FROM events e LEFT JOIN LATERAL gridgov_small_grid_at(e.geom) s ON true
        WHERE (e.kind <> 'appeal' OR e.id % 10 = 0) AND s.id IS DISTINCT FROM e.grid_id""",
    )
    assert bad == 0


def test_demo_events_inside_the_year(db_session):
    first, last, closed = db_session.execute(
        text("SELECT min(reported_at), max(reported_at), max(closed_at) FROM events")
    ).one()
    assert last.timestamp() < END and closed.timestamp() <= END
    assert first.timestamp() >= END - 365 * 86_400


def test_demo_wages_recovered(db_session):
    workers, recovered = db_session.execute(
        text(
            "SELECT sum(wage_workers), sum(wage_recovered) FROM events WHERE category = 'labour_wages' "
            "AND status = 'closed'"
        )
    ).one()
    assert workers == 1260
    assert float(recovered) == pytest.approx(21_660_000, abs=0.01)


def test_demo_facilities_and_departments(db_session):
    kinds = dict(db_session.execute(text("SELECT kind, count(*) FROM facilities GROUP BY kind")).all())
    assert kinds["county_centre"] == 1 and kinds["township_centre"] == 15 and kinds["village_station"] == 196
    assert kinds["police_station"] == 15 and kinds["justice_office"] == 15 and kinds["court"] >= 2
    assert _scalar(db_session, "SELECT count(*) FROM facilities WHERE grid_id IS NULL") == 0
    cats = dict(db_session.execute(text("SELECT name, categories FROM departments")).all())
    assert cats["永登县劳动争议调解委员会"] == ["labour_wages"]
    assert {"police", "court", "petition", "hrss", "mediation_committee"} <= set(
        db_session.execute(text("SELECT kind FROM departments")).scalars()
    )


def test_demo_disputes_have_parties(db_session):
    assert (
        _scalar(
            db_session,
            "SELECT count(*) FROM events e WHERE kind = 'dispute' AND NOT EXISTS "
            "(SELECT 1 FROM parties p WHERE p.event_id = e.id)",
        )
        == 0
    )


def test_load_demo_if_empty_skips_loaded_database(db_session):
    assert load_demo(db_session, if_empty=True, progress=False) == {"skipped": 1}


def test_load_demo_refuses_non_empty_database(db_session):
    with pytest.raises(ConflictError):
        load_demo(db_session, progress=False)


def _small_spec(spec=None):
    spec = spec or yongdeng_spec()
    return replace(
        spec,
        villages=30,
        grids=90,
        disputes=300,
        hazards=200,
        appeals=500,
        wage_workers=40,
        wage_recovered_yuan=500_000.0,
    )


def _fingerprint(plan):
    grids = plan.levels["grid"]
    return (
        grids.codes,
        grids.names,
        shapely.to_wkb(grids.geoms).tolist(),
        plan.events["title"],
        plan.events["xy"].tolist(),
        plan.events["reported"].tolist(),
        plan.workers["name"],
    )


def test_build_county_is_deterministic():
    spec = _small_spec()
    assert _fingerprint(build_county(spec, 7, END)) == _fingerprint(build_county(spec, 7, END))
    assert _fingerprint(build_county(spec, 8, END)) != _fingerprint(build_county(spec, 7, END))


def test_build_county_nests_exactly_in_memory():
    plan = build_county(_small_spec(), 7, END)
    for child, parent in (("township", "county"), ("village", "township"), ("grid", "village")):
        c, p = plan.levels[child], plan.levels[parent]
        for i, geom in enumerate(p.geoms):
            union = shapely.union_all(c.geoms[np.array(c.parents) == i])
            assert shapely.area(shapely.symmetric_difference(union, geom)) < 1e-12
    assert (np.bincount(plan.levels["grid"].parents) >= 1).all()


def test_province_builder_on_two_small_counties(empty_session):
    specs = {s.adcode: s for s in province_specs()}
    assert len(specs) == 87
    pair = [specs["622901"], specs["620200"]]  # 临夏市, 嘉峪关市 (the city with no city grid of its own)
    assert all(s.grids >= s.villages >= s.townships >= 3 for s in pair)
    parents = demo_copy.write_regions(empty_session, pair, END)
    assert "620200" not in parents and "622901" in parents
    for spec in pair:
        demo_copy.write_plan(empty_session, build_county(spec, 1, END), END, parents.get(spec.adcode))
    check_nesting(empty_session)
    assert reassign_events(empty_session) == 0
    assert _scalar(empty_session, "SELECT count(*) FROM grids WHERE level = 'grid'") == sum(
        s.grids for s in pair
    )


def test_worker_fixes_are_as_old_as_the_plan_makes_them_at_the_end_of_the_demo_year(db_session):
    # The demo is data of its `until`: fixes are stamped back from the end of that day (TEST_NOW here),
    # not from the moment of loading, so the same seed and `until` give the same data at any time.
    end = clock.now()
    newest, fresh, on_duty_oldest = db_session.execute(
        text(
            "SELECT max(located_at), count(*) FILTER (WHERE located_at >= :end - interval '30 minutes'), "
            "max(:end - located_at) FILTER (WHERE on_duty) FROM workers"
        ),
        {"end": end},
    ).one()
    assert newest <= end and fresh >= 20 and on_duty_oldest <= timedelta(hours=6)


def test_a_demo_loaded_today_ends_now_and_reports_nothing_from_the_future():
    later = datetime.fromisoformat("2026-11-27T15:30:00+08:00")
    with clock.pinned(later):
        assert demo_end(None) == int(later.timestamp())  # `until` defaults to the county's today
        assert demo_end(date(2026, 11, 26)) == int(
            datetime.fromisoformat("2026-11-27T00:00:00+08:00").timestamp()
        )


def test_every_small_grid_of_the_demo_has_its_core(db_session):
    # The loader defers the core triggers and computes every core once at the end (migration 0018).
    grids, cores = db_session.execute(
        text(
            "SELECT (SELECT count(*) FROM grids WHERE level = 'grid' AND valid_to IS NULL), "
            "(SELECT count(*) FROM grid_cores c JOIN grids g ON g.id = c.grid_id AND g.code = c.code)"
        )
    ).one()
    assert cores == grids == 1383
