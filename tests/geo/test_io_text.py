"""Imports refuse text we cannot store (geo.io.text, geo.io.nul), naming the feature or row and the column."""

import geopandas as gpd
import pytest
from sqlalchemy import text

from geo import io
from geo.errors import InvalidInputError
from tests.geo.io_county import TOWNSHIPS, assert_fails, events_csv, events_frame, frame, write

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


@pytest.mark.parametrize("char", ["\x00", "\x07", "\x1f"])
def test_import_events_refuse_control_characters_naming_row_and_column(gridded, tmp_path, char):
    path = events_csv(tmp_path, description=["", f"ab{char}cd", ""], title=["事件0", "事件1", f"{char}"])
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
    path = events_csv(tmp_path, description=["第一行\n\t第二行", "a\r\nb", ""])
    assert io.import_events(gridded, path).inserted == 3
    got = gridded.execute(text("SELECT description FROM events ORDER BY id")).scalars().all()
    assert got == ["第一行\n\t第二行", "a\r\nb", ""]
