"""geo.crs against an independent implementation (the coord_convert package) over Gansu, and CRS names."""

import numpy as np
import pytest
import shapely
from coord_convert.transform import bd2wgs, gcj2wgs, wgs2bd, wgs2gcj
from shapely import box

from geo.crs import (
    bd09_to_wgs84,
    from_wgs84_lonlat,
    gcj02_to_wgs84,
    parse_crs,
    shifted_to_wgs84,
    to_wgs84_lonlat,
    wgs84_to_bd09,
    wgs84_to_gcj02,
    wgs84_to_shifted,
)
from geo.errors import UnknownCrsError

# Gansu spans roughly lon 92.2-108.7, lat 32.6-42.8: a 15 x 12 grid of points over it.
LON, LAT = (a.ravel() for a in np.meshgrid(np.linspace(92.2, 108.7, 15), np.linspace(32.6, 42.8, 12)))


@pytest.mark.parametrize(("ours", "theirs"), [(wgs84_to_gcj02, wgs2gcj), (wgs84_to_bd09, wgs2bd)])
def test_forward_conversion_matches_coord_convert(ours, theirs):
    lon, lat = ours(LON, LAT)
    expected = np.array([theirs(x, y) for x, y in zip(LON, LAT, strict=True)])
    assert np.abs(lon - expected[:, 0]).max() < 1e-9
    assert np.abs(lat - expected[:, 1]).max() < 1e-9


@pytest.mark.parametrize(("forward", "inverse"), [(wgs2gcj, gcj02_to_wgs84), (wgs2bd, bd09_to_wgs84)])
def test_inverse_round_trips_below_1e7_degrees(forward, inverse):
    shifted = np.array([forward(x, y) for x, y in zip(LON, LAT, strict=True)])
    lon, lat = inverse(shifted[:, 0], shifted[:, 1])
    assert np.abs(lon - LON).max() < 1e-7
    assert np.abs(lat - LAT).max() < 1e-7


@pytest.mark.parametrize(("inverse", "theirs"), [(gcj02_to_wgs84, gcj2wgs), (bd09_to_wgs84, bd2wgs)])
def test_inverse_agrees_with_coord_convert_within_its_tolerance(inverse, theirs):
    # coord_convert stops iterating at 1e-6 degrees; ours goes further, so agreement is to about that.
    lon, lat = inverse(LON, LAT)
    expected = np.array([theirs(x, y) for x, y in zip(LON, LAT, strict=True)])
    assert np.abs(lon - expected[:, 0]).max() < 2e-6
    assert np.abs(lat - expected[:, 1]).max() < 2e-6


def test_outside_china_is_unchanged_by_gcj02():
    lon, lat = wgs84_to_gcj02(np.array([2.35]), np.array([48.85]))
    assert (lon[0], lat[0]) == (2.35, 48.85)


@pytest.mark.parametrize("name", ["gcj02", "bd09"])
def test_lonlat_helpers_round_trip(name):
    lon, lat = from_wgs84_lonlat(LON, LAT, name)
    back_lon, back_lat = to_wgs84_lonlat(lon, lat, name)
    assert np.abs(back_lon - LON).max() < 1e-7 and np.abs(back_lat - LAT).max() < 1e-7


def test_geometry_helpers_round_trip():
    polygon = box(103.0, 36.0, 103.4, 36.4)
    shifted = wgs84_to_shifted(polygon, "gcj02")
    assert shifted.hausdorff_distance(polygon) > 1e-3  # a few hundred metres
    assert shapely.hausdorff_distance(shifted_to_wgs84(shifted, "gcj02"), polygon) < 1e-7


def test_to_wgs84_lonlat_refuses_projected_crs():
    with pytest.raises(UnknownCrsError):
        to_wgs84_lonlat([500000.0], [4000000.0], "EPSG:4543")


@pytest.mark.parametrize(
    ("value", "name"),
    [
        ("gcj02", "gcj02"),
        ("GCJ-02", "gcj02"),
        ("amap", "gcj02"),
        ("Gaode", "gcj02"),
        ("tencent", "gcj02"),
        ("bd09", "bd09"),
        ("BD-09", "bd09"),
        ("baidu", "bd09"),
        ("bd09ll", "bd09"),
    ],
)
def test_parse_crs_shifted_aliases(value, name):
    parsed = parse_crs(value)
    assert parsed.is_shifted and parsed.name == name


@pytest.mark.parametrize(
    ("value", "epsg"),
    [
        ("wgs84", 4326),
        ("WGS-84", 4326),
        (4326, 4326),
        ("4326", 4326),
        ("EPSG:4490", 4490),
        ("epsg:4543", 4543),
        ("32648", 32648),
    ],
)
def test_parse_crs_epsg_aliases(value, epsg):
    parsed = parse_crs(value)
    assert not parsed.is_shifted and parsed.pyproj.to_epsg() == epsg


def test_parse_crs_crs84_is_lon_lat_wgs84():
    parsed = parse_crs("crs84")
    assert parsed.pyproj.is_geographic and not parsed.is_shifted


@pytest.mark.parametrize("value", ["mars", "EPSG:999999", "", "gcj03"])
def test_parse_crs_unknown_names_say_what_is_allowed(value):
    with pytest.raises(UnknownCrsError) as err:
        parse_crs(value)
    assert "gcj02" in err.value.message and "EPSG" in err.value.message
    assert err.value.where == "crs"
