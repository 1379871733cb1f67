"""The tiny hand-made county of the import and export tests, whose answers are known.

County 620121 is the square lon 103.0-103.4, lat 36.0-36.4 (WGS84). The files imported in the tests
are built in each test: townships west/east (001 柳树镇, 002 城关镇), two villages in the west township
(south, north) and two small grids in the south village (west, east). Fixtures: `county` (the county
row only) and `gridded` (with its townships, villages and small grids imported) are in tests/geo/conftest.py.
"""

import geopandas as gpd
import pandas as pd
import pytest
import shapely
from shapely import box
from sqlalchemy import text

from geo import clock

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


def assert_fails(session, exc_type, func, *args, **kwargs):
    """The call raises exc_type and leaves grids and events as they were (the caller rolls back)."""
    before = count(session), count(session, "events")
    nested = session.begin_nested()
    with pytest.raises(exc_type) as err:
        func(session, *args, **kwargs)
    nested.rollback()
    assert (count(session), count(session, "events")) == before
    return err.value


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


def events_csv(tmp_path, **overrides):
    """A CSV of events_frame(**overrides) in tmp_path."""
    path = tmp_path / "bad.csv"
    events_frame(**overrides).to_csv(path, index=False)
    return path
