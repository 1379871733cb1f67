"""Exporting layers (GeoJSON, GeoPackage, CSV): round trips, the area restriction, no personal data."""

import geopandas as gpd
import pandas as pd
import pyogrio
import pytest
from sqlalchemy import text

from geo import io
from geo.errors import InvalidInputError
from tests.geo.io_county import count, events_frame

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
