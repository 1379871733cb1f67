"""The grid hierarchy on a tiny hand-drawn county whose answers are known.

County 103.00–103.02 E, 36.00–36.02 N; two townships (west, east halves), one village each,
and four small grids in a 2×2 block: SW=...001001001, NW=...001001002, SE=...002001001, NE=...002001002.
"""

import pytest
from shapely import box
from shapely.geometry import MultiPolygon
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError, IntegrityError

from geo import clock
from geo.errors import GridNotFoundError, NestingError
from geo.queries import grids
from geo.queries.grids import check_nesting, count_current, get_grid_at, reassign_events

COUNTY = "620999000000000"


def _insert(session, code, level, parent, geom, name=None):
    return session.execute(
        text(
            "INSERT INTO grids (code, name, level, parent_id, geom, valid_from) VALUES "
            "(:code, :name, :level, (SELECT id FROM grids WHERE code = :parent AND valid_to IS NULL), "
            "ST_GeomFromText(:wkt, 4326), :now) RETURNING id"
        ),
        {
            "now": clock.now(),
            "code": code,
            "name": name or code,
            "level": level,
            "parent": parent,
            "wkt": MultiPolygon([geom]).wkt,
        },
    ).scalar_one()


@pytest.fixture
def tiny(empty_session):
    s = empty_session
    _insert(s, COUNTY, "county", None, box(103.0, 36.0, 103.02, 36.02))
    _insert(s, "620999001000000", "township", COUNTY, box(103.0, 36.0, 103.01, 36.02))
    _insert(s, "620999002000000", "township", COUNTY, box(103.01, 36.0, 103.02, 36.02))
    _insert(s, "620999001001000", "village", "620999001000000", box(103.0, 36.0, 103.01, 36.02))
    _insert(s, "620999002001000", "village", "620999002000000", box(103.01, 36.0, 103.02, 36.02))
    ids = {
        "SW": _insert(s, "620999001001001", "grid", "620999001001000", box(103.0, 36.0, 103.01, 36.01)),
        "NW": _insert(s, "620999001001002", "grid", "620999001001000", box(103.0, 36.01, 103.01, 36.02)),
        "SE": _insert(s, "620999002001001", "grid", "620999002001000", box(103.01, 36.0, 103.02, 36.01)),
        "NE": _insert(s, "620999002001002", "grid", "620999002001000", box(103.01, 36.01, 103.02, 36.02)),
    }
    return s, ids


@pytest.fixture(params=["few", "many"])
def either_path(request, monkeypatch):
    """Re-assignment resolves a few suspects by GiST probes and many by a raster join: test both."""
    if request.param == "many":
        monkeypatch.setattr(grids, "FEW_SUSPECTS", 0)


def _event(session, lon, lat, category="neighbour", kind="dispute", **extra):
    now = clock.now()
    cols = {"kind": kind, "category": category, "severity": 2, "source": "patrol", "reported_at": now}
    cols = {**cols, "created_at": now, **extra}
    names = ", ".join(cols)
    values = ", ".join(f":{k}" for k in cols)
    return session.execute(
        text(
            f"INSERT INTO events ({names}, geom) "
            f"VALUES ({values}, ST_SetSRID(ST_MakePoint(:lon, :lat), 4326)) "
            "RETURNING id, grid_id, grid_code"
        ),
        {**cols, "lon": lon, "lat": lat},
    ).one()


def test_check_nesting_accepts_exact_tessellation(tiny):
    session, _ = tiny
    check_nesting(session)
    assert count_current(session, "grid", "620999001") == 2


def test_check_nesting_names_both_codes_of_overlapping_siblings(tiny):
    session, _ = tiny
    _insert(session, "620999001001003", "grid", "620999001001000", box(103.005, 36.005, 103.009, 36.009))
    with pytest.raises(NestingError) as err:
        check_nesting(session)
    assert "620999-001-001-003" in err.value.message
    assert "620999-001-001-001" in err.value.message
    assert "overlap" in err.value.message


def test_check_nesting_names_child_and_parent_when_child_spills_out(tiny):
    session, _ = tiny
    new_id = _insert(
        session, "620999001001003", "grid", "620999001001000", box(103.009, 36.0, 103.015, 36.001)
    )
    with pytest.raises(NestingError) as err:
        check_nesting(session, [new_id])
    assert "620999-001-001-003 is not within its parent 620999-001-001-000" in err.value.message


def test_check_nesting_tolerates_float_noise(tiny):
    session, _ = tiny
    # 1e-9 degrees is about 0.1 mm: far below the 1 m² tolerance.
    session.execute(
        text("UPDATE grids SET geom = ST_Multi(ST_Translate(geom, 1e-9, 0)) WHERE code = :c"),
        {"c": "620999001001001"},
    )
    check_nesting(session)


def test_get_grid_at_returns_covering_grid(tiny):
    session, ids = tiny
    assert get_grid_at(session, 103.015, 36.015).id == ids["NE"]


def test_get_grid_at_breaks_ties_on_shared_edge_by_lowest_id(tiny):
    session, ids = tiny
    # The centre point touches all four grids; the lowest id (SW, inserted first) wins.
    assert get_grid_at(session, 103.01, 36.01).id == min(ids.values())


def test_get_grid_at_raises_outside_all_grids(tiny):
    session, _ = tiny
    with pytest.raises(GridNotFoundError):
        get_grid_at(session, 104.0, 36.0)


def test_event_gets_its_small_grid_on_insert_and_on_move(tiny):
    session, ids = tiny
    ev = _event(session, 103.005, 36.005)
    assert (ev.grid_id, ev.grid_code) == (ids["SW"], "620999001001001")
    moved = session.execute(
        text(
            "UPDATE events SET geom = ST_SetSRID(ST_MakePoint(103.015, 36.005), 4326) WHERE id = :id "
            "RETURNING grid_id"
        ),
        {"id": ev.id},
    ).scalar_one()
    assert moved == ids["SE"]


def test_event_keeps_its_grid_after_regridding(tiny):
    session, ids = tiny
    ev = _event(session, 103.005, 36.005)
    # The old version dates from last year; re-gridding retires it today.
    session.execute(
        text("UPDATE grids SET valid_from = now() - interval '1 year', valid_to = now() WHERE id = :id"),
        {"id": ids["SW"]},
    )
    new_id = _insert(session, "620999001001001", "grid", "620999001001000", box(103.0, 36.0, 103.01, 36.01))
    assert new_id != ids["SW"]
    assert (
        session.execute(text("SELECT grid_id FROM events WHERE id = :id"), {"id": ev.id}).scalar()
        == ids["SW"]
    )
    # A new report at the same place lands in the new version.
    assert _event(session, 103.005, 36.005).grid_id == new_id


def test_reassign_events_fixes_only_wrong_rows(tiny, either_path):
    session, ids = tiny
    _event(session, 103.005, 36.005)
    ev = _event(session, 103.015, 36.015)
    session.execute(text("SET LOCAL gridgov.grid_assigned = 'on'"))
    session.execute(text("UPDATE events SET grid_id = NULL, grid_code = NULL WHERE id = :id"), {"id": ev.id})
    session.execute(text("SET LOCAL gridgov.grid_assigned = 'off'"))
    assert reassign_events(session) == 1
    assert (
        session.execute(text("SELECT grid_id FROM events WHERE id = :id"), {"id": ev.id}).scalar()
        == ids["NE"]
    )


def test_reassign_events_clears_uncovered_and_takes_lowest_id_on_edges(tiny, either_path):
    session, ids = tiny
    outside = _event(session, 104.5, 37.5)  # covered by no grid
    edge = _event(session, 103.01, 36.005)  # on the SW / SE edge
    session.execute(text("SET LOCAL gridgov.grid_assigned = 'on'"))
    session.execute(
        text("UPDATE events SET grid_id = :g, grid_code = NULL WHERE id IN (:a, :b)"),
        {"g": ids["NE"], "a": outside.id, "b": edge.id},
    )
    session.execute(text("SET LOCAL gridgov.grid_assigned = 'off'"))
    session.execute(text("SET LOCAL statement_timeout = '25s'"))
    assert reassign_events(session) == 2
    rows = dict(
        session.execute(
            text("SELECT id, grid_id FROM events WHERE id IN (:a, :b)"), {"a": outside.id, "b": edge.id}
        ).all()
    )
    assert rows == {outside.id: None, edge.id: min(ids["SW"], ids["SE"])}
    assert session.execute(text("SHOW statement_timeout")).scalar() == "25s"  # restored
    assert session.execute(text("SHOW join_collapse_limit")).scalar() == "8"  # planner settings too


def _set_grid(session, event_id, grid_id):
    """Write an event's grid by hand, as a bulk load would (the trigger stays out of it)."""
    session.execute(text("SET LOCAL gridgov.grid_assigned = 'on'"))
    session.execute(text("UPDATE events SET grid_id = :g WHERE id = :e"), {"g": grid_id, "e": event_id})
    session.execute(text("SET LOCAL gridgov.grid_assigned = 'off'"))


def _grid_of(session, event_id):
    return session.execute(text("SELECT grid_id FROM events WHERE id = :e"), {"e": event_id}).scalar()


def test_reassign_events_moves_an_edge_event_to_the_lower_id_that_also_covers_it(tiny, either_path):
    session, ids = tiny
    edge = _event(session, 103.01, 36.005)  # on the SW / SE edge: both cover it
    _set_grid(session, edge.id, max(ids["SW"], ids["SE"]))
    assert reassign_events(session) == 1
    assert _grid_of(session, edge.id) == min(ids["SW"], ids["SE"])


def test_reassign_events_takes_the_lowest_id_inside_an_overlap(tiny, either_path):
    session, ids = tiny
    inner = _insert(
        session, "620999001001003", "grid", "620999001001000", box(103.002, 36.002, 103.004, 36.004)
    )
    inside = _event(session, 103.003, 36.003)  # strictly inside SW and inside the (later) inner grid
    assert inside.grid_id == ids["SW"]
    assert reassign_events(session) == 0
    _set_grid(session, inside.id, inner)
    assert reassign_events(session) == 1
    assert _grid_of(session, inside.id) == ids["SW"]


def test_reassign_events_follows_a_regridding(tiny, either_path):
    session, ids = tiny
    ev = _event(session, 103.005, 36.005)
    keep = _event(session, 103.015, 36.015)
    session.execute(
        text("UPDATE grids SET valid_from = now() - interval '1 year', valid_to = now() WHERE id = :id"),
        {"id": ids["SW"]},
    )
    new_id = _insert(session, "620999001001001", "grid", "620999001001000", box(103.0, 36.0, 103.01, 36.01))
    assert reassign_events(session) == 1
    assert (_grid_of(session, ev.id), _grid_of(session, keep.id)) == (new_id, ids["NE"])
    code = session.execute(text("SELECT grid_code FROM events WHERE id = :e"), {"e": ev.id}).scalar()
    assert code == "620999001001001"


def test_reassign_events_follows_a_reshaped_grid(tiny, either_path):
    session, ids = tiny
    ev = _event(session, 103.009, 36.005)  # in SW, near the SE edge
    # SW gives up its eastern strip to SE (edited in place, no new version).
    session.execute(
        text(
            "UPDATE grids SET geom = ST_Multi(ST_MakeEnvelope(103.0, 36.0, 103.008, 36.01, 4326)) WHERE id = :id"
        ),
        {"id": ids["SW"]},
    )
    session.execute(
        text(
            "UPDATE grids SET geom = ST_Multi(ST_MakeEnvelope(103.008, 36.0, 103.02, 36.01, 4326)) WHERE id = :id"
        ),
        {"id": ids["SE"]},
    )
    assert reassign_events(session) == 1
    assert _grid_of(session, ev.id) == ids["SE"]


def test_reassign_events_moves_events_under_a_lower_id_grid_reshaped_over_them(tiny, either_path):
    session, ids = tiny
    ev = _event(session, 103.012, 36.005)  # in SE
    assert ev.grid_id == ids["SE"]
    # SW (the lower id) is stretched over SE's western strip: SE's core must give that strip up.
    session.execute(
        text(
            "UPDATE grids SET geom = ST_Multi(ST_MakeEnvelope(103.0, 36.0, 103.015, 36.01, 4326)) WHERE id = :id"
        ),
        {"id": ids["SW"]},
    )
    assert reassign_events(session) == 1
    assert _grid_of(session, ev.id) == ids["SW"]


def test_reassign_events_resolves_float_noise_along_a_shared_edge(tiny, either_path):
    session, ids = tiny
    # SE's west edge sits 1e-13 degrees inside SW, as independently clipped neighbours do: a sliver.
    session.execute(
        text(
            "UPDATE grids SET geom = ST_Multi(ST_MakeEnvelope(103.01 - 1e-13, 36.0, 103.02, 36.01, 4326)) "
            "WHERE id = :id"
        ),
        {"id": ids["SE"]},
    )
    ev = _event(session, 103.01 - 5e-14, 36.005)  # strictly inside both
    assert ev.grid_id == min(ids["SW"], ids["SE"])
    _set_grid(session, ev.id, max(ids["SW"], ids["SE"]))
    assert reassign_events(session) == 1
    assert _grid_of(session, ev.id) == min(ids["SW"], ids["SE"])


def _cores(session):
    return dict(session.execute(text("SELECT grid_id, ST_Area(geom) FROM grid_cores")).all())


def test_grid_cores_follow_writes_to_small_grids(tiny):
    session, ids = tiny
    cores = _cores(session)
    assert set(cores) == set(ids.values())  # only current small grids have one
    # Each is its grid less a hair's breadth along the edge (0.01 x 0.01 degree boxes).
    assert all(0.9999 * 1e-4 < area < 1e-4 for area in cores.values())
    session.execute(text("UPDATE grids SET valid_to = now() WHERE id = :id"), {"id": ids["NW"]})
    assert ids["NW"] not in _cores(session)
    inner = _insert(
        session, "620999001001003", "grid", "620999001001000", box(103.002, 36.002, 103.004, 36.004)
    )
    assert _cores(session)[inner] == 0  # wholly inside the lower-id SW: nothing certainly its own
    session.execute(text("DELETE FROM grids WHERE id = :id"), {"id": inner})
    assert inner not in _cores(session)


def test_grid_cores_are_not_readable_by_the_app_role(tiny):
    session, _ = tiny
    session.execute(text("SET LOCAL ROLE gridgov_app"))
    with pytest.raises(DBAPIError, match="permission denied"):
        session.execute(text("SELECT count(*) FROM grid_cores"))


@pytest.mark.parametrize(
    ("sql", "constraint"),
    [
        (
            "INSERT INTO grids (code, name, level, geom, valid_from) VALUES ('62099900100100X', 'x', 'grid', "
            "ST_Multi(ST_MakeEnvelope(0,0,1,1,4326)), '2026-01-01 00:00+08')",
            "code",
        ),
        (
            "INSERT INTO grids (code, name, level, geom, valid_from) VALUES ('620999003000000', 'x', 'township', "
            "ST_Multi(ST_MakeEnvelope(0,0,1,1,4326)), '2026-01-01 00:00+08')",
            "parent",
        ),
        (
            "INSERT INTO grids (code, name, level, geom, valid_from) VALUES ('620999000000000', 'dup', 'county', "
            "ST_Multi(ST_MakeEnvelope(0,0,1,1,4326)), '2026-01-01 00:00+08')",
            "current code",
        ),
    ],
)
def test_grid_constraints_refuse_bad_rows(tiny, sql, constraint):
    session, _ = tiny
    with pytest.raises(IntegrityError), session.begin_nested():
        session.execute(text(sql))


def test_grid_refuses_invalid_polygon(tiny):
    session, _ = tiny
    bowtie = "MULTIPOLYGON(((0 0,1 1,1 0,0 1,0 0)))"
    with pytest.raises(DBAPIError), session.begin_nested():
        session.execute(
            text(
                "INSERT INTO grids (code, name, level, geom, valid_from) VALUES "
                "('620998000000000', 'x', 'county', ST_GeomFromText(:w, 4326), '2026-01-01 00:00+08')"
            ),
            {"w": bowtie},
        )


@pytest.mark.parametrize(
    "extra",
    [
        {"severity": 5},
        {"category": "fire"},  # a hazard category on a dispute
        {"wage_owed": 100},  # wage figures on a neighbour dispute
        {"status": "lost"},
        {"source": "rumour"},
    ],
)
def test_event_constraints_refuse_bad_rows(tiny, extra):
    session, _ = tiny
    with pytest.raises(IntegrityError), session.begin_nested():
        _event(session, 103.005, 36.005, **extra)


def test_wage_case_keeps_amounts(tiny):
    session, _ = tiny
    ev = _event(
        session,
        103.005,
        36.005,
        category="labour_wages",
        wage_owed=120000,
        wage_recovered=80000,
        wage_workers=6,
    )
    row = session.execute(
        text("SELECT wage_owed, wage_recovered, wage_workers FROM events WHERE id = :id"), {"id": ev.id}
    ).one()
    assert (float(row.wage_owed), float(row.wage_recovered), row.wage_workers) == (120000, 80000, 6)
    with pytest.raises(IntegrityError), session.begin_nested():
        _event(session, 103.005, 36.005, category="labour_wages", wage_owed=100, wage_recovered=200)
