"""Hostile and broken input on every route: clear 4xx problem+json, nothing partly written, never a 5xx.

Hand-written cases here (malformed JSON, NaN, swapped or outside coordinates, oversize bodies, unknown
fields, SQL-looking filters, bad bbox/CRS); text we cannot store in every field, parameter, header and
form field in tests/api/test_bad_input_text.py; schemathesis in tests/api/test_bad_input_fuzz.py.
"""

import pytest

from tests.api.bad_input_checks import (
    REPORT,
    bad_input_client,  # noqa: F401 (fixture `client`)
    bad_input_db,  # noqa: F401 (fixture `db`)
    counts,
    problem,
)


@pytest.mark.parametrize(
    "raw",
    [
        b"{not json",
        b'{"category": "neighbour", "severity": 2, "lon": NaN, "lat": 36.0}',
        b'{"category": "neighbour", "severity": 2, "lon": Infinity, "lat": 36.0}',
        b'{"category": "neighbour", "severity": 2, "lon": 1e999, "lat": 36.0}',
        b'{"category": "neighbour", "severity": 2, "lon": 103.0, "lat": 95.0}',
        b'{"category": "neighbour", "severity": 2, "lon": 36.005, "lat": 103.005}',
        b'{"category": "neighbour", "severity": 2, "lon": 103.005, "lat": 36.005, "admin": true}',
        b'{"category": "neighbour\'; DROP TABLE events; --", "severity": 2, "lon": 103.005, "lat": 36.005}',
        b'{"category": "neighbour", "severity": 2, "lon": 103.005, "lat": 36.005, "parties": [{"role": "x"}]}',
        b'{"type": "Feature", "geometry": {"type": "Point", "coordinates": [103.0]}}',
        b"[]",
        b"null",
    ],
)
def test_broken_reports_are_4xx_and_write_nothing(client, db, raw):
    before = counts(db[1])
    problem(client.post("/api/events", content=raw, headers={"Content-Type": "application/json"}))
    assert counts(db[1]) == before


def test_validation_problems_name_the_field_in_where(client):
    missing = problem(client.post("/api/events", json={"severity": 2, "lon": 103.005, "lat": 36.005}))
    assert missing["where"] == "category" and missing["errors"][0]["loc"] == ["body", "category"]
    broken = client.post("/api/events", content=b"{not json", headers={"Content-Type": "application/json"})
    assert problem(broken)["where"] == "body"  # not the character offset of its loc


def test_points_outside_the_county_or_swapped_are_422(client, db):
    before = counts(db[1])
    assert (
        problem(client.post("/api/events", json={**REPORT, "lon": 110.0, "lat": 30.0}))["code"]
        == "outside_county"
    )
    swapped = client.post("/api/events", json={**REPORT, "lon": 36.005, "lat": 103.005})
    assert "颠倒" in problem(swapped)["detail"]
    assert counts(db[1]) == before


def test_a_failing_party_rolls_back_the_whole_report(client, db):
    before = counts(db[1])
    parties = [{"role": "applicant", "name": "张三"}, {"role": "applicant", "name": "x" * 51}]
    problem(client.post("/api/events", json={**REPORT, "parties": parties}))
    assert counts(db[1]) == before


def test_oversize_bodies_are_413(client, db):
    before = counts(db[1])
    big = {**REPORT, "description": "长" * 30_000}
    body = problem(client.post("/api/events", json=big), 413, 413)
    assert body["code"] in ("body_too_large", "http_413")

    def chunks():
        yield b'{"category": "neighbour", "description": "'
        for _ in range(50):
            yield b"x" * 1000
        yield b'"}'

    problem(
        client.post("/api/events", content=chunks(), headers={"Content-Type": "application/json"}), 413, 413
    )
    assert counts(db[1]) == before


@pytest.mark.parametrize(
    "path",
    [
        "/ogc/collections/disputes/items?bbox=1,2,3",
        "/ogc/collections/disputes/items?bbox=a,b,c,d",
        "/ogc/collections/disputes/items?bbox=104,36,103,37",
        "/ogc/collections/disputes/items?bbox=nan,36,104,37",
        "/ogc/collections/disputes/items?crs=EPSG:99999",
        "/ogc/collections/disputes/items?crs=' OR 1=1 --",
        "/ogc/collections/disputes/items?limit=-1",
        "/ogc/collections/disputes/items?datetime=yesterday",
        "/ogc/collections/disputes/items?nosuchfield=1",
        "/ogc/collections/disputes/items?severity=1;DROP TABLE events",
        "/ogc/collections/nosuch/items",
        "/tiles/disputes/99/0/0.mvt",
        "/tiles/disputes/3/99/0.mvt",
        "/maps/heatmap?layer=disputes&from=2026-13-45",
        "/maps/heatmap?layer=x' OR '1'='1",
        "/maps/heatmap?layer=disputes&category=';DELETE FROM events;--",
        "/api/events/99999999",
        "/api/events/overdue?limit=0",
    ],
)
def test_bad_queries_are_clear_4xx(client, path):
    problem(client.get(path))


def test_sql_looking_filter_values_match_nothing(client):
    resp = client.get("/ogc/collections/disputes/items", params={"status": "reported' OR '1'='1"})
    assert resp.status_code in (200, 400), resp.text
    if resp.status_code == 200:
        assert resp.json()["numberReturned"] == 0
