"""Reimporting grids makes a new version: the old one retired, events and children keep their grid."""

from datetime import timedelta

from shapely import box
from sqlalchemy import text

from geo import clock, io
from tests.geo.io_county import VILLAGES, count, frame, write

# --- grids: versions -------------------------------------------------------------------------------------


def test_reimport_retires_old_version_and_events_keep_their_grid(gridded, tmp_path, test_clock):
    session = gridded
    test_clock.advance(timedelta(hours=1))  # the redrawn version starts later than the first
    old_id = session.execute(text("SELECT id FROM grids WHERE code = '620121001001001'")).scalar_one()
    event = session.execute(
        text(
            "INSERT INTO events (kind, category, severity, source, geom, reported_at, created_at) "
            "VALUES ('dispute', 'neighbour', 2, 'patrol', "
            "ST_SetSRID(ST_MakePoint(103.05, 36.1), 4326), :now, :now) RETURNING id, grid_id"
        ),
        {"now": clock.now()},
    ).one()
    assert event.grid_id == old_id
    smaller = {"620121001001001": ("南村一网格(新)", box(103.0, 36.0, 103.1, 36.15))}
    report = io.import_grids(session, write(frame(smaller), tmp_path / "g2.geojson"), level="grid")
    assert (report.inserted, report.retired) == (1, 1)
    rows = session.execute(
        text(
            "SELECT id, name, valid_to IS NULL AS current FROM grids "
            "WHERE code = '620121001001001' ORDER BY valid_from"
        )
    ).all()
    assert [(r.id == old_id, r.current) for r in rows] == [(True, False), (False, True)]
    assert rows[1].name == "南村一网格(新)"
    assert (
        session.execute(text("SELECT grid_id FROM events WHERE id = :id"), {"id": event.id}).scalar()
        == old_id
    )


def test_reimport_of_a_village_repoints_its_children(gridded, tmp_path, test_clock):
    test_clock.advance(timedelta(hours=1))  # the redrawn version starts later than the first
    session = gridded
    io.import_grids(session, write(frame(VILLAGES), tmp_path / "v2.geojson"), level="village")
    parents = (
        session.execute(
            text(
                "SELECT DISTINCT p.valid_to IS NULL FROM grids g JOIN grids p ON p.id = g.parent_id "
                "WHERE g.level = 'grid' AND g.valid_to IS NULL"
            )
        )
        .scalars()
        .all()
    )
    assert parents == [True]
    assert count(session, where="level = 'village'") == 4
    assert count(session, where="level = 'village' AND valid_to IS NULL") == 2


def test_demo_grid_export_then_reimport_makes_a_new_version(db_session, tmp_path):
    village = db_session.execute(
        text(
            "SELECT left(code, 12) FROM grids "
            "WHERE level = 'grid' AND valid_to IS NULL AND county_code = '620121' "
            "ORDER BY code LIMIT 1"
        )
    ).scalar_one()
    out = tmp_path / "grids.gpkg"
    n = io.export_layer(db_session, "grids", out, area=village)
    assert n > 0
    report = io.import_grids(db_session, out, level="grid")
    assert (report.inserted, report.retired) == (n, n)
    assert count(db_session, where=f"level = 'grid' AND code LIKE '{village}%' AND valid_to IS NULL") == n
