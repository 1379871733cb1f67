"""Hostile and broken input on every route: clear 4xx problem+json, nothing partly written, never a 5xx.

Hand-written cases first (malformed JSON, NaN, swapped or outside coordinates, oversize bodies, unknown
fields, SQL-looking filters, bad bbox/CRS), then schemathesis generating valid and invalid requests from
the app's OpenAPI schema against a live uvicorn on loopback, authenticated, with a bounded example count.
"""

import os
import time
from collections import Counter

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text

from api.main import create_app
from api.settings import ApiSettings
from geo.settings import DbSettings
from tests.auth_helpers import authed, bearer
from tests.browser import serve_app
from tests.dispatch_tiny import build

EXAMPLES = int(os.environ.get("GRID_SCHEMATHESIS_EXAMPLES", "12"))


@pytest.fixture(scope="module")
def db(pg_server, empty_db_url):
    from tests.conftest import create_database

    url = create_database(pg_server, "gridgov_bad_input", template="gridgov_empty")
    engine = create_engine(url)
    with engine.begin() as conn:
        ids = build(conn)
    yield url, engine, ids
    engine.dispose()


@pytest.fixture(scope="module")
def client(db):
    app = create_app(
        ApiSettings(_env_file=None, max_body_bytes=20_000), DbSettings(_env_file=None, url=db[0])
    )
    with TestClient(app) as c:
        yield authed(c, db[0], "dispatcher", "620121")


def _counts(engine):
    with engine.connect() as conn:
        return conn.execute(
            text(
                "SELECT (SELECT count(*) FROM events), (SELECT count(*) FROM parties), (SELECT count(*) FROM event_log)"
            )
        ).one()


def _problem(resp, lo=400, hi=499):
    assert lo <= resp.status_code <= hi, (resp.status_code, resp.text)
    assert resp.headers["content-type"].startswith("application/problem+json"), resp.text
    body = resp.json()
    assert body["detail"] and body["status"] == resp.status_code
    return body


REPORT = {"category": "neighbour", "severity": 2, "lon": 103.005, "lat": 36.005}


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
    before = _counts(db[1])
    _problem(client.post("/api/events", content=raw, headers={"Content-Type": "application/json"}))
    assert _counts(db[1]) == before


def test_points_outside_the_county_or_swapped_are_422(client, db):
    before = _counts(db[1])
    assert (
        _problem(client.post("/api/events", json={**REPORT, "lon": 110.0, "lat": 30.0}))["code"]
        == "outside_county"
    )
    swapped = client.post("/api/events", json={**REPORT, "lon": 36.005, "lat": 103.005})
    assert "颠倒" in _problem(swapped)["detail"]
    assert _counts(db[1]) == before


def test_a_failing_party_rolls_back_the_whole_report(client, db):
    before = _counts(db[1])
    parties = [{"role": "applicant", "name": "张三"}, {"role": "applicant", "name": "x" * 51}]
    _problem(client.post("/api/events", json={**REPORT, "parties": parties}))
    assert _counts(db[1]) == before


def test_oversize_bodies_are_413(client, db):
    before = _counts(db[1])
    big = {**REPORT, "description": "长" * 30_000}
    body = _problem(client.post("/api/events", json=big), 413, 413)
    assert body["code"] in ("body_too_large", "http_413")

    def chunks():
        yield b'{"category": "neighbour", "description": "'
        for _ in range(50):
            yield b"x" * 1000
        yield b'"}'

    _problem(
        client.post("/api/events", content=chunks(), headers={"Content-Type": "application/json"}), 413, 413
    )
    assert _counts(db[1]) == before


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
    _problem(client.get(path))


def test_sql_looking_filter_values_match_nothing(client):
    resp = client.get("/ogc/collections/disputes/items", params={"status": "reported' OR '1'='1"})
    assert resp.status_code in (200, 400), resp.text
    if resp.status_code == 200:
        assert resp.json()["numberReturned"] == 0


# --- schemathesis --------------------------------------------------------------------------------


def _fuzz(base, headers, mode, examples):
    """Run generated requests against every operation; return (calls, server errors)."""
    import hypothesis
    import hypothesis.errors
    import schemathesis
    from hypothesis import HealthCheck, Phase

    schema = schemathesis.openapi.from_url(f"{base}/openapi.json")
    calls, errors, statuses = [0], [], Counter()
    settings = hypothesis.settings(
        max_examples=examples,
        deadline=None,
        database=None,
        derandomize=True,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )

    def runner(op):
        @settings
        @hypothesis.given(op.as_strategy(generation_mode=mode))
        def run(case):
            resp = case.call(base_url=base, headers=headers, timeout=30)
            calls[0] += 1
            statuses[resp.status_code] += 1
            if resp.status_code == 401 and not op.path.startswith("/api/auth/"):
                errors.append(f"{op.method.upper()} {op.path} -> 401 despite the token")
            if resp.status_code >= 500:
                errors.append(f"{op.method.upper()} {op.path} -> {resp.status_code}: {resp.text[:300]}")

        return run

    for result in schema.get_all_operations():
        try:
            runner(result.ok())()
        except hypothesis.errors.Unsatisfiable:  # e.g. no invalid request exists for a parameterless GET
            continue
    return calls[0], errors, dict(sorted(statuses.items()))


def test_schemathesis_finds_no_server_errors(db, capsys):
    from schemathesis import GenerationMode

    app = create_app(ApiSettings(_env_file=None), DbSettings(_env_file=None, url=db[0]))
    headers = bearer(db[0], "dispatcher", "620121")
    started = time.monotonic()
    with serve_app(app) as base:
        summary = {mode.value: _fuzz(base, headers, mode, EXAMPLES) for mode in GenerationMode}
    seconds = time.monotonic() - started
    with capsys.disabled():
        print(  # noqa: T201
            "\nschemathesis: "
            + ", ".join(
                f"{m} {c} requests, {len(e)} server errors (statuses {st})"
                for m, (c, e, st) in summary.items()
            )
            + f" in {seconds:.0f} s"
        )
    errors = [e for _, (_, errs, _) in summary.items() for e in errs]
    assert not errors, "\n".join(errors[:20])
