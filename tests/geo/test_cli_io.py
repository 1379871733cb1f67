"""`gridgov import` and `gridgov export` end to end, on a fresh database that really commits."""

import json

import geopandas as gpd
import pytest
from shapely import box
from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session

from api.settings import get_settings
from cli.main import main
from tests.geo.io_county import TOWNSHIPS, VILLAGES, events_frame, frame, make_county


@pytest.fixture
def db(fresh_db_url, monkeypatch):
    """A fresh database holding only the county, with the CLI pointed at it."""
    monkeypatch.setenv("DATABASE_URL", fresh_db_url)
    monkeypatch.delenv("GRID_DB_URL", raising=False)
    get_settings.cache_clear()
    engine = create_engine(fresh_db_url)
    with Session(engine) as session:
        make_county(session)
        session.commit()
    yield engine
    engine.dispose()
    get_settings.cache_clear()


def _count(engine, table="grids", where="true"):
    with engine.connect() as conn:
        return conn.execute(text(f"SELECT count(*) FROM {table} WHERE {where}")).scalar_one()


def test_cli_import_grids_and_events_then_export(db, tmp_path, capsys):
    frame(TOWNSHIPS).to_file(tmp_path / "t.geojson", engine="pyogrio")
    assert main(["import", "grids", str(tmp_path / "t.geojson"), "--level", "township"]) == 0
    assert "imported 2 township grids" in capsys.readouterr().out
    assert _count(db, where="level = 'township'") == 2

    events = tmp_path / "e.csv"
    events_frame().to_csv(events, index=False)
    assert main(["import", "events", str(events), "--crs", "wgs84"]) == 0
    assert _count(db, "events") == 3

    out = tmp_path / "townships.gpkg"
    assert main(["export", "townships", str(out)]) == 0
    assert "wrote 2 features" in capsys.readouterr().out
    assert len(gpd.read_file(out, engine="pyogrio")) == 2


def test_cli_import_dry_run_writes_nothing(db, tmp_path, capsys):
    frame(TOWNSHIPS).to_file(tmp_path / "t.gpkg", engine="pyogrio", driver="GPKG")
    assert main(["import", "grids", str(tmp_path / "t.gpkg"), "--level", "township", "--dry-run"]) == 0
    assert "dry run: nothing written" in capsys.readouterr().out
    assert _count(db) == 1


def test_cli_import_bad_grids_exits_1_and_writes_nothing(db, tmp_path, capsys):
    frame(TOWNSHIPS).to_file(tmp_path / "t.geojson", engine="pyogrio")
    main(["import", "grids", str(tmp_path / "t.geojson"), "--level", "township"])
    before = _count(db)
    spill = {**VILLAGES, "620121001002000": ("北村", box(103.0, 36.2, 103.3, 36.4))}
    frame(spill).to_file(tmp_path / "v.geojson", engine="pyogrio")
    capsys.readouterr()
    assert main(["import", "grids", str(tmp_path / "v.geojson"), "--level", "village"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error [feature 2, geometry]:")
    assert "620121-001-002-000 is not within its parent 620121-001-000-000" in err
    assert _count(db) == before


def test_cli_import_bad_events_exits_1_naming_the_row(db, tmp_path, capsys):
    frame(TOWNSHIPS).to_file(tmp_path / "t.geojson", engine="pyogrio")
    main(["import", "grids", str(tmp_path / "t.geojson"), "--level", "township"])
    path = tmp_path / "e.csv"
    events_frame(severity=[2, 2, 7]).to_csv(path, index=False)
    capsys.readouterr()
    assert main(["import", "events", str(path)]) == 1
    assert "row 3: severity '7' is not 1, 2, 3 or 4" in capsys.readouterr().err
    assert _count(db, "events") == 0


def test_cli_import_refuses_control_characters_naming_feature_and_row(db, tmp_path, capsys):
    doc = json.loads(frame(TOWNSHIPS).to_json())
    doc["features"][1]["properties"]["name"] = "城关\x00镇"
    (tmp_path / "t.geojson").write_text(json.dumps(doc), encoding="utf-8")
    capsys.readouterr()
    assert main(["import", "grids", str(tmp_path / "t.geojson"), "--level", "township"]) == 1
    assert capsys.readouterr().err.startswith(
        "error [feature 2, name]: feature 2: name 不能包含控制字符（位置 3"
    )
    assert _count(db) == 1  # the county only

    path = tmp_path / "e.csv"
    events_frame(description=["", "", "a\x00b"]).to_csv(path, index=False)
    assert main(["import", "events", str(path)]) == 1
    assert "row 3: description 不能包含控制字符（位置 2：U+0000）" in capsys.readouterr().err
    assert _count(db, "events") == 0


def test_cli_export_unknown_layer_exits_1(db, tmp_path, capsys):
    assert main(["export", "parties", str(tmp_path / "p.csv")]) == 1
    assert "可导出：townships, villages, grids" in capsys.readouterr().err
