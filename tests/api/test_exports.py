"""Exports (GeoJSON, GeoPackage, CSV) inside the requester's area, and case photos by type and size."""

import io
import json
import struct
import zlib

import geopandas
import pandas as pd
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from api.settings import PhotoSettings
from tests.apps import app_for
from tests.auth_helpers import authed

TOWNSHIP = "620121003"


@pytest.fixture(scope="module")
def photo_db(pg_server, engine) -> str:
    """A copy of the demo database for the photo tests, which commit (made before anything connects)."""
    from tests.api.console_fixtures import copy_demo

    return copy_demo(pg_server, engine, "console_b_photos")


@pytest.fixture(scope="module")
def app(demo_db_url, photo_db):
    return app_for(demo_db_url)


@pytest.fixture(scope="module")
def planner(app, demo_db_url):
    with TestClient(app) as c:
        yield authed(c, demo_db_url, role="planner", area=TOWNSHIP)


def count(engine, sql: str, **params) -> int:
    with engine.connect() as conn:
        return conn.execute(text(sql), params).scalar_one()


@pytest.mark.parametrize("fmt", ["geojson", "gpkg", "csv"])
def test_disputes_export_matches_sql_within_the_area(planner, engine, fmt, tmp_path):
    resp = planner.get(f"/api/exports/disputes.{fmt}")
    assert resp.status_code == 200, resp.text
    expected = count(
        engine, "SELECT count(*) FROM events WHERE kind = 'dispute' AND grid_code LIKE :a", a=TOWNSHIP + "%"
    )
    assert expected > 0 and int(resp.headers["X-Feature-Count"]) == expected
    assert f"gridgov-disputes-{TOWNSHIP}.{fmt}" in resp.headers["Content-Disposition"]
    path = tmp_path / f"x.{fmt}"
    path.write_bytes(resp.content)
    if fmt == "csv":
        frame = pd.read_csv(path, dtype={"grid_code": str})
        assert {"lon", "lat", "category_zh"} <= set(frame.columns)
    else:
        frame = geopandas.read_file(path)
        assert frame.crs.to_epsg() == 4326
        assert set(frame.geometry.geom_type) == {"Point"}
    assert len(frame) == expected
    assert frame["grid_code"].astype(str).str.startswith(TOWNSHIP).all()
    # no personal data of parties in any column
    assert not {"name", "phone", "id_number"} & set(frame.columns)


def test_grids_geopackage_and_narrower_area(planner, engine, tmp_path):
    village = count(
        engine,
        "SELECT left(code, 12) FROM grids WHERE level = 'village' AND valid_to IS NULL AND code LIKE :a "
        "ORDER BY code LIMIT 1",
        a=TOWNSHIP + "%",
    )
    resp = planner.get(
        "/api/exports/grids.gpkg", params={"area": f"{village[:6]}-{village[6:9]}-{village[9:]}"}
    )
    assert resp.status_code == 200, resp.text
    path = tmp_path / "g.gpkg"
    path.write_bytes(resp.content)
    frame = geopandas.read_file(path)
    expected = count(
        engine,
        "SELECT count(*) FROM grids WHERE level = 'grid' AND valid_to IS NULL AND code LIKE :v",
        v=village + "%",
    )
    assert len(frame) == expected > 0
    assert set(frame.geometry.geom_type) == {"MultiPolygon"}


def test_export_refusals(planner):
    assert planner.get("/api/exports/grids.gpkg", params={"area": "620121004"}).status_code == 403
    assert planner.get("/api/exports/workers.csv").status_code == 403  # names and phones: cleared roles only
    for name in ("parties.csv", "disputes.shp", "disputes"):
        resp = planner.get(f"/api/exports/{name}")
        assert resp.status_code == 400
        assert resp.headers["content-type"].startswith("application/problem+json")


def test_export_is_limited_by_row_level_security(demo_db_url):
    """A township user's export stays in the township (the DB enforces it too)."""
    # its own app: two lifespans on one app would overwrite (and leak) the other's engine
    app = app_for(demo_db_url)
    with TestClient(app) as c:
        authed(c, demo_db_url, role="commander", area=TOWNSHIP)
        resp = c.get("/api/exports/hazards.geojson")
    data = json.loads(resp.content)
    assert data["features"] and all(
        f["properties"]["grid_code"].startswith(TOWNSHIP) for f in data["features"]
    )


def test_categories_route(planner):
    rows = planner.get("/api/categories").json()
    assert len(rows) == 23 and {"code", "kind", "label_zh", "label_en"} <= set(rows[0])


# ---- photos


def png_bytes(width: int = 4, height: int = 3) -> bytes:
    """A valid tiny PNG (red pixels), built by hand so the test needs no imaging library."""
    raw = b"".join(b"\x00" + b"\xff\x00\x00" * width for _ in range(height))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(raw))
        + chunk(b"IEND", b"")
    )


JPEG = b"\xff\xd8\xff\xe0" + b"\x00\x10JFIF\x00" + b"\x00" * 100 + b"\xff\xd9"


@pytest.fixture
def photo_client(photo_db):
    """A case-working client on a committed copy of the demo database, photo cap 2 KB."""
    url = photo_db
    app = app_for(url, photos=PhotoSettings(_env_file=None, max_bytes=2048))
    with TestClient(app) as c:
        authed(c, url, role="dispatcher", area=TOWNSHIP)
        event_id = c.get("/api/board").json()["queue"][0]["id"]
        yield c, event_id, url


def upload(client, event_id, data, filename="p.jpg", content_type="image/jpeg", key=None):
    headers = {"Idempotency-Key": key} if key else {}
    return client.post(
        f"/api/events/{event_id}/photos",
        files={"photo": (filename, io.BytesIO(data), content_type)},
        headers=headers,
    )


def test_photos_accepted_by_magic_bytes_and_read_back(photo_client):
    client, event_id, _ = photo_client
    png = png_bytes()
    resp = upload(client, event_id, png, "shot.jpg", "image/jpeg", key="k-1")  # wrong label, real PNG
    assert resp.status_code == 201, resp.text
    body = resp.json()
    assert body["content_type"] == "image/png" and body["size"] == len(png)
    again = upload(client, event_id, png, key="k-1")
    assert again.status_code == 200 and again.json()["id"] == body["id"]  # resent: stored once
    got = client.get(body["url"])
    assert got.status_code == 200 and got.content == png
    assert got.headers["content-type"] == "image/png" and got.headers["x-content-type-options"] == "nosniff"
    assert upload(client, event_id, JPEG).status_code == 201
    assert [p["content_type"] for p in client.get(f"/api/events/{event_id}/photos").json()] == [
        "image/png",
        "image/jpeg",
    ]


def test_photos_refused_by_type_size_and_area(photo_client, engine):
    client, event_id, _ = photo_client
    gif = b"GIF89a" + b"\x00" * 50
    html = b"<html><script>alert(1)</script></html>"
    for data, ctype in ((gif, "image/jpeg"), (html, "image/png"), (b"", "image/png")):
        resp = upload(client, event_id, data, content_type=ctype)
        assert resp.status_code == 400, resp.text
        assert resp.json()["where"] == "photo"
    big = JPEG[:-2] + b"\x00" * 4096 + b"\xff\xd9"
    resp = upload(client, event_id, big)
    assert resp.status_code == 400 and "KB" in resp.json()["detail"]
    other = count(
        engine, "SELECT id FROM events WHERE grid_code NOT LIKE :a ORDER BY id LIMIT 1", a=TOWNSHIP + "%"
    )
    assert upload(client, other, JPEG).status_code == 404  # another township's case: not even there
    assert client.get(f"/api/events/{event_id}/photos/999999").status_code == 404


def test_planner_may_not_upload(planner, engine):
    event_id = count(
        engine, "SELECT id FROM events WHERE grid_code LIKE :a ORDER BY id LIMIT 1", a=TOWNSHIP + "%"
    )
    assert upload(planner, event_id, JPEG).status_code == 403


def test_xlsx_and_the_pages_filters_over_http(planner, engine, tmp_path):
    params = {"from": "2026-06-01", "to": "2026-06-30", "category": "neighbour,land_forest"}
    resp = planner.get("/api/exports/disputes.xlsx", params=params)
    assert resp.status_code == 200 and resp.headers["content-type"].startswith(
        "application/vnd.openxmlformats"
    )
    expected = count(
        engine,
        "SELECT count(*) FROM events WHERE kind = 'dispute' AND grid_code LIKE :a AND category IN "
        "('neighbour', 'land_forest') AND reported_at >= '2026-06-01 00:00+08' AND reported_at < '2026-07-01 00:00+08'",
        a=TOWNSHIP + "%",
    )
    assert int(resp.headers["X-Feature-Count"]) == expected > 0
    import openpyxl

    (tmp_path / "x.xlsx").write_bytes(resp.content)
    assert openpyxl.load_workbook(tmp_path / "x.xlsx").active.max_row == expected + 1
    bad = planner.get("/api/exports/disputes.csv", params={"bbox": "103,36"})
    assert bad.status_code == 400 and bad.json()["where"] == "bbox" and "bbox" in bad.json()["detail"]


def test_the_stored_analyses_export_as_they_are_shown(planner, engine):
    risk = planner.get("/api/exports/risk.geojson")
    assert risk.status_code == 200
    graded = count(
        engine,
        "SELECT count(*) FROM grids WHERE level = 'grid' AND valid_to IS NULL AND code LIKE :a",
        a=TOWNSHIP + "%",
    )
    features = json.loads(risk.content)["features"]
    assert len(features) == graded and {"grade", "score", "as_of"} <= set(features[0]["properties"])
    emerging = planner.get("/api/exports/emerging.csv")
    assert emerging.status_code == 200 and emerging.text.splitlines()[0].lstrip("\ufeff").startswith(
        "id,grid_code"
    )
