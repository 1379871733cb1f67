"""Importing grids on the tiny county: file formats, CRSs, and bad input named by feature and code (io_county)."""

import math

import pytest
import shapely
from shapely import box
from shapely.geometry import MultiPolygon, Polygon
from sqlalchemy import text

from geo import io
from geo.crs import wgs84_to_shifted
from geo.errors import (
    InvalidGeometryError,
    InvalidInputError,
    NestingError,
    SwappedAxesError,
    UnknownCrsError,
)
from tests.geo.io_county import COUNTY, TOWNSHIPS, VILLAGES, assert_fails, count, frame, stored, write

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


def test_area_approximation_matches_geography(county):
    # The in-file nesting pre-check uses an approximate area; it must agree with PostGIS within a few percent.
    from geo.io.grid_rows import area_m2 as _area_m2

    geom = box(103.0, 36.0, 103.01, 36.01)
    exact = county.execute(
        text("SELECT ST_Area(ST_GeomFromText(:w, 4326)::geography)"), {"w": geom.wkt}
    ).scalar()
    assert math.isclose(_area_m2(geom), exact, rel_tol=0.01)


def test_import_grids_warns_about_layers_it_did_not_read(county, tmp_path):
    path = tmp_path / "two.gpkg"
    write(frame(TOWNSHIPS), path, layer="towns", driver="GPKG")
    write(frame(VILLAGES), path, layer="villages", driver="GPKG")
    report = io.import_grids(county, path, level="township")
    assert report.warnings == [
        "read layer 'towns' only; the file also holds 'villages' (choose one with --layer)"
    ]
