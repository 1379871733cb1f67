"""Importing events (CSV, XLSX; WGS84, GCJ-02): rows land in small grids; bad rows named, nothing written."""

import numpy as np
import pytest
from sqlalchemy import text

from geo import io
from geo.crs import wgs84_to_gcj02
from geo.errors import InvalidInputError, OutsideCountyError, SwappedAxesError, UnknownCrsError
from tests.geo.io_county import POINTS, assert_fails, count, events_csv, events_frame

# --- events ----------------------------------------------------------------------------------------------


def test_import_events_csv_with_chinese_headers_and_labels(gridded, tmp_path):
    df = events_frame(
        category=["邻里纠纷", "土地山林纠纷", "neighbour"],
        reported_at=["2026/3/5 14:00", "2026年3月6日", "2026-03-07T08:30:00+08:00"],
        severity=["1", "较大", "4"],
        source=["巡查", "hotline", "12345"],
    )
    df = df.rename(columns={"lon": "经度", "lat": "纬度", "category": "类别"})
    path = tmp_path / "e.csv"
    df.to_csv(path, index=False, encoding="utf-8-sig")
    report = io.import_events(gridded, path)
    assert report.inserted == 3
    rows = gridded.execute(
        text(
            "SELECT category, severity, source, grid_code, "
            "to_char(reported_at AT TIME ZONE 'Asia/Shanghai', 'YYYY-MM-DD HH24:MI') AS at "
            "FROM events ORDER BY id"
        )
    ).all()
    assert [tuple(r) for r in rows] == [
        ("neighbour", 1, "patrol", "620121001001001", "2026-03-05 14:00"),
        ("land_forest", 2, "hotline", "620121001001002", "2026-03-06 00:00"),
        ("neighbour", 4, "hotline", None, "2026-03-07 08:30"),
    ]
    assert report.warnings == ["1 event(s) lie in the county but in no small grid (grid left empty)"]


def test_import_events_xlsx_with_wages(gridded, tmp_path):
    df = events_frame(
        category=["labour_wages"] * 3,
        wage_owed=[1000.5, None, 20000],
        wage_recovered=[500, None, 0],
        wage_workers=[3, None, 12],
    )
    path = tmp_path / "e.xlsx"
    df.to_excel(path, index=False, sheet_name="案件")
    report = io.import_events(gridded, path, sheet="案件")
    assert report.inserted == 3
    assert gridded.execute(text("SELECT sum(wage_owed) FROM events")).scalar() == pytest.approx(21000.5)


def test_import_events_gcj02_points_are_stored_as_wgs84(gridded, tmp_path):
    lon, lat = np.array([p[0] for p in POINTS]), np.array([p[1] for p in POINTS])
    glon, glat = wgs84_to_gcj02(lon, lat)
    path = tmp_path / "gcj.csv"
    events_frame(list(zip(glon, glat, strict=True))).to_csv(path, index=False)
    report = io.import_events(gridded, path, crs="gcj02")
    assert report.crs == "gcj02"
    got = gridded.execute(text("SELECT ST_X(geom), ST_Y(geom) FROM events ORDER BY id")).all()
    for (x, y), (ex, ey) in zip(got, POINTS, strict=True):
        assert abs(x - ex) < 1e-7 and abs(y - ey) < 1e-7


@pytest.mark.parametrize(
    ("overrides", "exc", "fragment"),
    [
        ({"lon": [103.05, "abc", 103.3]}, InvalidInputError, "row 2: lon 'abc' is not a number"),
        ({"lat": [36.1, 36.15, float("nan")]}, InvalidInputError, "row 3: lat is empty"),
        ({"lat": [36.1, "NaN", 36.3]}, InvalidInputError, "row 2: lat 'NaN' is not a finite number"),
        ({"lon": [103.05, "inf", 103.3]}, InvalidInputError, "row 2: lon 'inf' is not a finite number"),
        (
            {"lon": [103.05, 103.15, 110.0]},
            OutsideCountyError,
            "row 3: lon 110.0, lat 36.3 (wgs84) lies outside",
        ),
        (
            {"lon": [103.05, 36.15, 103.3], "lat": [36.1, 103.15, 36.3]},
            SwappedAxesError,
            "row 2: longitude and latitude appear swapped",
        ),
        (
            {"category": ["neighbour", "no_such", "neighbour"]},
            InvalidInputError,
            "row 2: category 'no_such' is unknown",
        ),
        (
            {"category": ["neighbour", "fire", "neighbour"]},
            InvalidInputError,
            "row 2: category 'fire' is a hazard category, not a dispute one",
        ),
        ({"severity": [2, 5, 2]}, InvalidInputError, "row 2: severity '5' is not 1, 2, 3 or 4"),
        (
            {"source": ["patrol", "wechat", "patrol"]},
            InvalidInputError,
            "row 2: source 'wechat' is not one of",
        ),
        (
            {"status": ["reported", "lost", "reported"]},
            InvalidInputError,
            "row 2: status 'lost' is not one of",
        ),
        (
            {"reported_at": ["2026-03-05", "yesterday", "2026-03-05"]},
            InvalidInputError,
            "row 2: reported_at 'yesterday' is not a date",
        ),
        (
            {"wage_owed": [None, 100, None]},
            InvalidInputError,
            "row 2: wage_owed is only for the labour_wages category",
        ),
    ],
)
def test_import_events_bad_rows_are_named_and_nothing_is_written(gridded, tmp_path, overrides, exc, fragment):
    err = assert_fails(gridded, exc, io.import_events, events_csv(tmp_path, **overrides))
    assert fragment in err.message
    assert err.errors[0]["row"] == int(fragment.split()[1].rstrip(":"))


def test_import_events_collects_every_bad_row(gridded, tmp_path):
    path = events_csv(tmp_path, severity=[9, 9, 9])
    err = assert_fails(gridded, InvalidInputError, io.import_events, path)
    assert [e["row"] for e in err.errors] == [1, 2, 3]
    assert "(and 2 more problem(s))" in err.message


def test_import_events_missing_column_is_named(gridded, tmp_path):
    path = tmp_path / "e.csv"
    events_frame().drop(columns=["category"]).to_csv(path, index=False)
    err = assert_fails(gridded, InvalidInputError, io.import_events, path)
    assert err.where == "category" and "missing required column(s) category" in err.message


def test_import_events_refuses_projected_crs(gridded, tmp_path):
    assert_fails(gridded, UnknownCrsError, io.import_events, events_csv(tmp_path), crs="EPSG:4543")


def test_import_events_without_any_county(empty_session, tmp_path):
    err = assert_fails(empty_session, OutsideCountyError, io.import_events, events_csv(tmp_path))
    assert "no county boundary is loaded" in err.message


# --- on the demo county (Yongdeng, real boundary) --------------------------------------------------------


def test_demo_events_csv_lands_in_small_grids_and_swapped_rows_are_named(db_session, tmp_path):
    points = db_session.execute(
        text(
            "SELECT ST_X(p), ST_Y(p), code FROM (SELECT ST_PointOnSurface(geom) AS p, code FROM grids "
            "WHERE level = 'grid' AND valid_to IS NULL AND county_code = '620121' ORDER BY code LIMIT 3) s"
        )
    ).all()
    before = count(db_session, "events")
    path = tmp_path / "e.csv"
    events_frame([(x, y) for x, y, _ in points]).to_csv(path, index=False)
    assert io.import_events(db_session, path).inserted == 3
    got = db_session.execute(text("SELECT grid_code FROM events ORDER BY id DESC LIMIT 3")).scalars().all()
    assert sorted(got) == sorted(code for _, _, code in points)
    assert count(db_session, "events") == before + 3
    swapped = events_frame([(y, x) for x, y, _ in points])
    swapped.to_csv(path, index=False)
    err = assert_fails(db_session, SwappedAxesError, io.import_events, path)
    assert err.message.startswith("row 1: longitude and latitude appear swapped")
