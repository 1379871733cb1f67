"""Import and export on a tiny hand-made county whose answers are known.

County 620121 is the square lon 103.0-103.4, lat 36.0-36.4 (WGS84). The files imported here are built in
each test: townships west/east (001 柳树镇, 002 城关镇), two villages in the west township (south, north)
and two small grids in the south village (west, east).
"""

import math
from datetime import timedelta

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pytest
import shapely
from shapely import box
from shapely.geometry import MultiPolygon, Polygon
from sqlalchemy import text

from geo import clock, io
from geo.crs import wgs84_to_gcj02, wgs84_to_shifted
from geo.errors import (
    InvalidGeometryError,
    InvalidInputError,
    NestingError,
    OutsideCountyError,
    SwappedAxesError,
    UnknownCrsError,
)

COUNTY = "620121000000000"
TOWNSHIPS = {
    "620121001000000": ("柳树镇", box(103.0, 36.0, 103.2, 36.4)),
    "620121002000000": ("城关镇", box(103.2, 36.0, 103.4, 36.4)),
}
VILLAGES = {
    "620121001001000": ("南村", box(103.0, 36.0, 103.2, 36.2)),
    "620121001002000": ("北村", box(103.0, 36.2, 103.2, 36.4)),
}
GRIDS = {
    "620121001001001": ("南村一网格", box(103.0, 36.0, 103.1, 36.2)),
    "620121001001002": ("南村二网格", box(103.1, 36.0, 103.2, 36.2)),
}


def make_county(session, code: str = COUNTY, geom=None) -> int:
    """Insert the county row the imports hang townships under."""
    geom = geom or box(103.0, 36.0, 103.4, 36.4)
    return session.execute(
        text(
            "INSERT INTO grids (code, name, level, geom, valid_from) VALUES (:c, '永登县', 'county', "
            "ST_Multi(ST_GeomFromText(:wkt, 4326)), :now) RETURNING id"
        ),
        {"c": code, "wkt": geom.wkt, "now": clock.now()},
    ).scalar_one()


def frame(features: dict, crs=4326, **extra) -> gpd.GeoDataFrame:
    """A GeoDataFrame of code/name/geometry (plus extra columns)."""
    codes = list(features)
    data = {"code": codes, "name": [features[c][0] for c in codes], **extra}
    return gpd.GeoDataFrame(data, geometry=[features[c][1] for c in codes], crs=crs)


def write(gdf: gpd.GeoDataFrame, path, **kwargs):
    gdf.to_file(path, engine="pyogrio", **kwargs)
    return path


def count(session, table: str = "grids", where: str = "true") -> int:
    return session.execute(text(f"SELECT count(*) FROM {table} WHERE {where}")).scalar_one()


def stored(session, code: str):
    return shapely.from_wkb(
        session.execute(
            text("SELECT ST_AsBinary(geom) FROM grids WHERE code = :c AND valid_to IS NULL"), {"c": code}
        ).scalar_one()
    )


@pytest.fixture
def county(empty_session):
    make_county(empty_session)
    return empty_session


@pytest.fixture
def gridded(county, tmp_path):
    """The county with its townships, villages and small grids imported."""
    io.import_grids(county, write(frame(TOWNSHIPS), tmp_path / "t.geojson"), level="township")
    io.import_grids(county, write(frame(VILLAGES), tmp_path / "v.geojson"), level="village")
    io.import_grids(county, write(frame(GRIDS), tmp_path / "g.geojson"), level="grid")
    return county


def assert_fails(session, exc_type, func, *args, **kwargs):
    """The call raises exc_type and leaves grids and events as they were (the caller rolls back)."""
    before = count(session), count(session, "events")
    nested = session.begin_nested()
    with pytest.raises(exc_type) as err:
        func(session, *args, **kwargs)
    nested.rollback()
    assert (count(session), count(session, "events")) == before
    return err.value


# --- grids: formats --------------------------------------------------------------------------------------


def test_import_grids_geojson_inserts_townships_under_the_county(county, tmp_path):
    report = io.import_grids(county, write(frame(TOWNSHIPS), tmp_path / "t.geojson"), level="township")
    assert (report.inserted, report.retired, report.repaired) == (2, 0, [])
    rows = county.execute(
        text(
            "SELECT g.code, g.name, g.level, p.code AS parent "
            "FROM grids g JOIN grids p ON p.id = g.parent_id "
            "WHERE g.level = 'township' ORDER BY g.code"
        )
    ).all()
    assert [tuple(r) for r in rows] == [
        ("620121001000000", "柳树镇", "township", COUNTY),
        ("620121002000000", "城关镇", "township", COUNTY),
    ]
    assert "imported 2 township grids" in report.summary()


def test_import_grids_geopackage_with_dashed_codes_and_layer(county, tmp_path):
    gdf = frame(TOWNSHIPS)
    gdf["code"] = ["620121-001-000-000", "620121-002-000-000"]
    path = write(gdf, tmp_path / "t.gpkg", layer="towns", driver="GPKG")
    report = io.import_grids(county, path, level="township", layer="towns")
    assert report.inserted == 2
    assert count(county, where="level = 'township'") == 2


def test_import_grids_shapefile_gbk_without_cpg_round_trips_chinese_names(county, tmp_path):
    path = write(frame(TOWNSHIPS), tmp_path / "t.shp", encoding="GBK")
    (tmp_path / "t.cpg").unlink(missing_ok=True)
    with pytest.raises(UnicodeDecodeError):  # really GBK, not UTF-8
        (tmp_path / "t.dbf").read_bytes().decode("utf-8")
    io.import_grids(county, path, level="township")
    names = (
        county.execute(text("SELECT name FROM grids WHERE level = 'township' ORDER BY code")).scalars().all()
    )
    assert names == ["柳树镇", "城关镇"]


def test_import_grids_kml(county, tmp_path):
    path = write(frame(TOWNSHIPS), tmp_path / "t.kml", driver="KML")
    report = io.import_grids(county, path, level="township")
    assert report.inserted == 2 and report.warnings == []
    assert stored(county, "620121002000000").equals(MultiPolygon([TOWNSHIPS["620121002000000"][1]]))


@pytest.mark.parametrize("epsg", [4543, 32648])
def test_import_grids_projected_crs_is_reprojected_to_wgs84(county, tmp_path, epsg):
    path = write(frame(TOWNSHIPS).to_crs(epsg), tmp_path / "t.gpkg", driver="GPKG")
    report = io.import_grids(county, path, level="township")
    assert report.crs == f"EPSG:{epsg}"
    for code, (_, geom) in TOWNSHIPS.items():
        assert stored(county, code).hausdorff_distance(geom) < 1e-7


def test_import_grids_gcj02_labelled_wgs84_is_shifted_back(county, tmp_path):
    shifted = {c: (n, wgs84_to_shifted(g, "gcj02")) for c, (n, g) in TOWNSHIPS.items()}
    path = write(frame(shifted), tmp_path / "t.geojson")
    io.import_grids(county, path, level="township", crs="gcj02")
    for code, (_, geom) in TOWNSHIPS.items():
        assert stored(county, code).hausdorff_distance(geom) < 1e-7


# --- grids: bad input ------------------------------------------------------------------------------------


@pytest.mark.filterwarnings("ignore:'crs' was not provided")
def test_import_grids_without_crs_names_the_file(county, tmp_path):
    path = write(frame(TOWNSHIPS, crs=None), tmp_path / "nocrs.shp")
    err = assert_fails(county, UnknownCrsError, io.import_grids, path, level="township")
    assert "nocrs.shp" in err.message and "--crs" in err.message


def test_import_grids_unknown_crs_name(county, tmp_path):
    path = write(frame(TOWNSHIPS), tmp_path / "t.geojson")
    err = assert_fails(county, UnknownCrsError, io.import_grids, path, level="township", crs="mars")
    assert "mars" in err.message


BOWTIE = Polygon([(103.0, 36.0), (103.2, 36.4), (103.2, 36.0), (103.0, 36.4)])


def test_import_grids_invalid_geometry_names_feature_and_reason(county, tmp_path):
    bad = {**TOWNSHIPS, "620121001000000": ("柳树镇", BOWTIE)}
    path = write(frame(bad), tmp_path / "t.geojson")
    err = assert_fails(county, InvalidGeometryError, io.import_grids, path, level="township")
    assert "feature 1 (620121-001-000-000 柳树镇)" in err.message
    assert "Self-intersection" in err.message


def test_import_grids_make_valid_repairs_and_reports(county, tmp_path):
    bad = {**TOWNSHIPS, "620121001000000": ("柳树镇", BOWTIE)}
    report = io.import_grids(
        county, write(frame(bad), tmp_path / "t.geojson"), level="township", make_valid=True
    )
    assert report.inserted == 2
    assert len(report.repaired) == 1 and "620121-001-000-000" in report.repaired[0]
    assert stored(county, "620121001000000").is_valid
    assert "repaired 1 invalid geometry" in report.summary()


def test_import_grids_child_outside_parent_names_both_codes(county, tmp_path):
    io.import_grids(county, write(frame(TOWNSHIPS), tmp_path / "t.geojson"), level="township")
    spill = {"620121001001000": ("越界村", box(103.1, 36.0, 103.3, 36.2))}
    err = assert_fails(
        county, NestingError, io.import_grids, write(frame(spill), tmp_path / "v.geojson"), level="village"
    )
    assert "620121-001-001-000 is not within its parent 620121-001-000-000" in err.message


def test_import_grids_township_outside_the_county(county, tmp_path):
    far = {"620121003000000": ("远镇", box(104.0, 36.0, 104.1, 36.1))}
    err = assert_fails(
        county, NestingError, io.import_grids, write(frame(far), tmp_path / "t.geojson"), level="township"
    )
    assert "620121-003-000-000" in err.message and "620121-000-000-000" in err.message


def test_import_grids_overlapping_siblings_in_file_names_both_codes(county, tmp_path):
    overlapping = {**TOWNSHIPS, "620121002000000": ("城关镇", box(103.1, 36.0, 103.4, 36.4))}
    err = assert_fails(
        county,
        NestingError,
        io.import_grids,
        write(frame(overlapping), tmp_path / "t.geojson"),
        level="township",
    )
    assert "620121-001-000-000" in err.message and "620121-002-000-000" in err.message
    assert "overlap" in err.message


def test_import_grids_overlap_with_existing_sibling_is_caught_after_writing(county, tmp_path):
    west = {"620121001000000": TOWNSHIPS["620121001000000"]}
    io.import_grids(county, write(frame(west), tmp_path / "w.geojson"), level="township")
    east = {"620121002000000": ("城关镇", box(103.1, 36.0, 103.4, 36.4))}
    err = assert_fails(
        county, NestingError, io.import_grids, write(frame(east), tmp_path / "e.geojson"), level="township"
    )
    assert "620121-001-000-000" in err.message and "620121-002-000-000" in err.message


def test_import_grids_missing_parent_names_the_parent_code(county, tmp_path):
    err = assert_fails(
        county, NestingError, io.import_grids, write(frame(VILLAGES), tmp_path / "v.geojson"), level="village"
    )
    assert "township 620121-001-000-000 does not exist" in err.message


def test_import_grids_missing_county_names_it(empty_session, tmp_path):
    err = assert_fails(
        empty_session,
        NestingError,
        io.import_grids,
        write(frame(TOWNSHIPS), tmp_path / "t.geojson"),
        level="township",
    )
    assert "county 620121-000-000-000 does not exist" in err.message


def test_import_grids_missing_name_column_is_named(county, tmp_path):
    gdf = frame(TOWNSHIPS).drop(columns=["name"])
    err = assert_fails(
        county, InvalidInputError, io.import_grids, write(gdf, tmp_path / "t.geojson"), level="township"
    )
    assert err.where == "name" and "name" in err.message


def test_import_grids_unknown_column_is_a_warning(county, tmp_path):
    path = write(frame(TOWNSHIPS, 人口=[100, 200]), tmp_path / "t.geojson")
    report = io.import_grids(county, path, level="township")
    assert report.warnings == ["ignored unknown column '人口'"]


@pytest.mark.parametrize(
    ("code", "msg"),
    [
        ("620121001", "not 15 digits"),
        ("620121001001000", "is not a township code"),
        ("620121000000000", "is not a township code"),
    ],
)
def test_import_grids_bad_code_is_named(county, tmp_path, code, msg):
    gdf = frame(TOWNSHIPS)
    gdf.loc[1, "code"] = code
    err = assert_fails(
        county, InvalidInputError, io.import_grids, write(gdf, tmp_path / "t.geojson"), level="township"
    )
    assert err.message.startswith("feature 2") and msg in err.message
    assert err.errors[0]["field"] == "code"


def test_import_grids_swapped_axes(county, tmp_path):
    swapped = {c: (n, shapely.transform(g, lambda xy: xy[:, ::-1])) for c, (n, g) in TOWNSHIPS.items()}
    err = assert_fails(
        county,
        SwappedAxesError,
        io.import_grids,
        write(frame(swapped), tmp_path / "t.geojson"),
        level="township",
    )
    assert "swapped" in err.message


# --- grids: text we cannot store (geo.io.text, geo.io.nul) -----------------------------------------------


def _geojson_with(tmp_path, features, **properties):
    """A GeoJSON file of the features whose second feature's properties are overridden (NUL included:
    json writes it as \\u0000, which GDAL would cut the text at)."""
    import json

    doc = json.loads(frame(features).to_json())
    doc["features"][1]["properties"].update(properties)
    path = tmp_path / "t.geojson"
    path.write_text(json.dumps(doc), encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("field", "value", "position"), [("name", "城关\x00镇", 3), ("name", "城\x07关镇", 2)]
)
def test_import_grids_geojson_refuses_control_characters_naming_the_feature(
    county, tmp_path, field, value, position
):
    path = _geojson_with(tmp_path, TOWNSHIPS, **{field: value})
    err = assert_fails(county, InvalidInputError, io.import_grids, path, level="township")
    assert err.where == f"feature 2, {field}"
    assert f"feature 2: {field} 不能包含控制字符（位置 {position}：U+" in err.message
    assert err.errors == [{"feature": 2, "field": field, "msg": err.message}]


def test_import_grids_names_the_files_column_and_every_bad_feature(county, tmp_path):
    gdf = frame(TOWNSHIPS).rename(columns={"name": "名称", "code": "网格编码"})
    gdf["名称"] = ["柳树\x1b镇", "城关\x0c镇"]
    path = write(gdf, tmp_path / "t.geojson")
    err = assert_fails(county, InvalidInputError, io.import_grids, path, level="township")
    assert [(e["feature"], e["field"]) for e in err.errors] == [(1, "name"), (2, "name")]
    assert "feature 1: name （列“名称”）不能包含控制字符（位置 3：U+001B）" in err.message


def test_import_grids_geopackage_with_nul_is_refused(county, tmp_path):
    import sqlite3

    path = write(frame(TOWNSHIPS), tmp_path / "t.gpkg", driver="GPKG", layer="towns", SPATIAL_INDEX="NO")
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE towns SET name = '城关' || char(0) || '镇' WHERE fid = 2")
    assert gpd.read_file(path, engine="pyogrio")["name"][1] == "城关"  # GDAL cuts it: hence geo.io.nul
    err = assert_fails(county, InvalidInputError, io.import_grids, path, level="township")
    assert err.where == "feature 2, name" and "位置 3：U+0000" in err.message


def test_import_grids_shapefile_with_nul_is_refused(county, tmp_path):
    path = write(frame(TOWNSHIPS), tmp_path / "t.shp", encoding="UTF-8")
    dbf = tmp_path / "t.dbf"
    dbf.write_bytes(dbf.read_bytes().replace("城关镇".encode(), "城".encode() + b"\x00" * 3 + "镇".encode()))
    err = assert_fails(county, InvalidInputError, io.import_grids, path, level="township")
    assert err.where == "feature 2, name" and "位置 2：U+0000" in err.message


def test_import_grids_keeps_tabs_and_newlines(county, tmp_path):
    path = _geojson_with(tmp_path, TOWNSHIPS, name="城关\t镇\n东")
    io.import_grids(county, path, level="township")
    assert (
        county.execute(text("SELECT name FROM grids WHERE code = '620121002000000'")).scalar()
        == "城关\t镇\n东"
    )


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


# --- events ----------------------------------------------------------------------------------------------

POINTS = [(103.05, 36.1), (103.15, 36.15), (103.3, 36.3)]  # two in small grids, one in the east township only


def events_frame(points=POINTS, **overrides) -> pd.DataFrame:
    n = len(points)
    data = {
        "lon": [p[0] for p in points],
        "lat": [p[1] for p in points],
        "kind": ["dispute"] * n,
        "category": ["neighbour"] * n,
        "severity": [2] * n,
        "status": ["reported"] * n,
        "reported_at": ["2026-03-05 14:00"] * n,
        "source": ["patrol"] * n,
        "title": [f"事件{i}" for i in range(n)],
        "description": [""] * n,
    }
    data.update(overrides)
    return pd.DataFrame(data)


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


def _bad_csv(tmp_path, **overrides):
    path = tmp_path / "bad.csv"
    events_frame(**overrides).to_csv(path, index=False)
    return path


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
    err = assert_fails(gridded, exc, io.import_events, _bad_csv(tmp_path, **overrides))
    assert fragment in err.message
    assert err.errors[0]["row"] == int(fragment.split()[1].rstrip(":"))


def test_import_events_collects_every_bad_row(gridded, tmp_path):
    path = _bad_csv(tmp_path, severity=[9, 9, 9])
    err = assert_fails(gridded, InvalidInputError, io.import_events, path)
    assert [e["row"] for e in err.errors] == [1, 2, 3]
    assert "(and 2 more problem(s))" in err.message


def test_import_events_missing_column_is_named(gridded, tmp_path):
    path = tmp_path / "e.csv"
    events_frame().drop(columns=["category"]).to_csv(path, index=False)
    err = assert_fails(gridded, InvalidInputError, io.import_events, path)
    assert err.where == "category" and "missing required column(s) category" in err.message


def test_import_events_refuses_projected_crs(gridded, tmp_path):
    assert_fails(gridded, UnknownCrsError, io.import_events, _bad_csv(tmp_path), crs="EPSG:4543")


def test_import_events_without_any_county(empty_session, tmp_path):
    err = assert_fails(empty_session, OutsideCountyError, io.import_events, _bad_csv(tmp_path))
    assert "no county boundary is loaded" in err.message


@pytest.mark.parametrize("char", ["\x00", "\x07", "\x1f"])
def test_import_events_refuse_control_characters_naming_row_and_column(gridded, tmp_path, char):
    path = _bad_csv(tmp_path, description=["", f"ab{char}cd", ""], title=["事件0", "事件1", f"{char}"])
    err = assert_fails(gridded, InvalidInputError, io.import_events, path)
    assert err.where == "row 2, description"
    assert [(e["row"], e["field"]) for e in err.errors] == [(2, "description"), (3, "title")]
    assert f"row 2: description 不能包含控制字符（位置 3：U+{ord(char):04X}）" in err.message
    assert err.errors[1]["msg"].startswith(f"row 3: title 不能包含控制字符（位置 1：U+{ord(char):04X}）")


def test_import_events_name_the_files_column_and_check_code_cells_too(gridded, tmp_path):
    df = events_frame(category=["neighbour", "neigh\x00bour", "neighbour"]).rename(
        columns={"description": "描述"}
    )
    df["描述"] = ["", "", "楼上\x08漏水"]
    path = tmp_path / "e.csv"
    df.to_csv(path, index=False)
    err = assert_fails(gridded, InvalidInputError, io.import_events, path)
    assert [(e["row"], e["field"]) for e in err.errors] == [(2, "category"), (3, "description")]
    assert err.errors[0]["msg"].startswith("row 2: category 不能包含控制字符（位置 6：U+0000）")
    assert err.errors[1]["msg"].startswith(
        "row 3: description （列“描述”）不能包含控制字符（位置 3：U+0008）"
    )


def test_import_events_keep_tabs_and_newlines(gridded, tmp_path):
    path = _bad_csv(tmp_path, description=["第一行\n\t第二行", "a\r\nb", ""])
    assert io.import_events(gridded, path).inserted == 3
    got = gridded.execute(text("SELECT description FROM events ORDER BY id")).scalars().all()
    assert got == ["第一行\n\t第二行", "a\r\nb", ""]


# --- export ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("suffix", [".geojson", ".gpkg", ".csv"])
@pytest.mark.parametrize(
    ("layer", "where"),
    [
        ("grids", "level = 'grid' AND valid_to IS NULL"),
        ("townships", "level = 'township' AND valid_to IS NULL"),
        ("disputes", "kind = 'dispute'"),
    ],
)
def test_export_layer_round_trip(gridded, tmp_path, suffix, layer, where):
    path = tmp_path / "e.csv"
    events_frame().to_csv(path, index=False)
    io.import_events(gridded, path)
    table = "events" if layer == "disputes" else "grids"
    out = tmp_path / f"{layer}{suffix}"
    written = io.export_layer(gridded, layer, out)
    assert written == count(gridded, table, where) > 0
    if suffix == ".csv":
        assert out.read_bytes().startswith(b"\xef\xbb\xbf")
        back = pd.read_csv(out, encoding="utf-8-sig")
        assert {"lon", "lat"} <= set(back.columns)
        assert all(103.0 <= x <= 103.4 for x in back["lon"])
    else:
        back = gpd.read_file(out, engine="pyogrio")
        assert back.crs.to_epsg() == 4326
    assert len(back) == written
    if layer == "townships":
        assert list(back["name"]) == ["柳树镇", "城关镇"]


def test_export_layer_area_restricts_by_code_prefix(gridded, tmp_path):
    assert io.export_layer(gridded, "villages", tmp_path / "v.geojson", area="620121-001") == 2
    assert io.export_layer(gridded, "villages", tmp_path / "v.geojson", area="620121-002") == 0
    assert pyogrio.read_info(tmp_path / "v.geojson")["features"] == 0


def test_export_layer_omits_parties(gridded, tmp_path):
    path = tmp_path / "e.csv"
    events_frame().to_csv(path, index=False)
    io.import_events(gridded, path)
    gridded.execute(
        text(
            "INSERT INTO parties (event_id, role, name, phone, id_number) "
            "SELECT id, 'applicant', '张三', '13800000000', '620121199001011234' FROM events"
        )
    )
    out = tmp_path / "d.csv"
    io.export_layer(gridded, "disputes", out)
    content = out.read_text(encoding="utf-8-sig")
    assert "张三" not in content and "13800000000" not in content


@pytest.mark.parametrize(
    ("layer", "name", "fragment"),
    [
        ("parties", "x.geojson", "可导出：townships, villages, grids"),
        ("grids", "x.shp", ".geojson, .json, .gpkg, .csv"),
    ],
)
def test_export_layer_refuses_unknown_layer_or_format(county, tmp_path, layer, name, fragment):
    with pytest.raises(InvalidInputError) as err:
        io.export_layer(county, layer, tmp_path / name)
    assert fragment in err.value.message


def test_area_approximation_matches_geography(county):
    # The in-file nesting pre-check uses an approximate area; it must agree with PostGIS within a few percent.
    from geo.io.grid_rows import area_m2 as _area_m2

    geom = box(103.0, 36.0, 103.01, 36.01)
    exact = county.execute(
        text("SELECT ST_Area(ST_GeomFromText(:w, 4326)::geography)"), {"w": geom.wkt}
    ).scalar()
    assert math.isclose(_area_m2(geom), exact, rel_tol=0.01)


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


def test_import_grids_warns_about_layers_it_did_not_read(county, tmp_path):
    path = tmp_path / "two.gpkg"
    write(frame(TOWNSHIPS), path, layer="towns", driver="GPKG")
    write(frame(VILLAGES), path, layer="villages", driver="GPKG")
    report = io.import_grids(county, path, level="township")
    assert report.warnings == [
        "read layer 'towns' only; the file also holds 'villages' (choose one with --layer)"
    ]
