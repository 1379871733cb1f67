"""What the bad-input tests (tests/api/test_bad_input*.py) share: the tiny county's database and a
dispatcher's client (fixtures `db` and `client`: import `bad_input_db` and `bad_input_client`), and the
checks that a refusal is a clear 4xx problem+json and that nothing was written."""

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text

from api.settings import ApiSettings
from tests.apps import app_for
from tests.auth_helpers import authed, bearer
from tests.dispatch_tiny import build

REPORT = {"category": "neighbour", "severity": 2, "lon": 103.005, "lat": 36.005}


@pytest.fixture(scope="module", name="db")
def bad_input_db(pg_server, empty_db_url):
    """A fresh copy of the tiny county (url, engine, ids), for one test module."""
    from tests.conftest import create_database

    url = create_database(pg_server, "gridgov_bad_input", template="gridgov_empty")
    engine = create_engine(url)
    with engine.begin() as conn:
        ids = build(conn)
    yield url, engine, ids
    engine.dispose()


@pytest.fixture(scope="module", name="client")
def bad_input_client(db):
    """A dispatcher's client of an app with a 20,000-byte body limit."""
    app = app_for(db[0], api=ApiSettings(_env_file=None, max_body_bytes=20_000))
    with TestClient(app) as c:
        yield authed(c, db[0], "dispatcher", "620121")


def counts(engine):
    """How many events, parties and log rows there are."""
    with engine.connect() as conn:
        return conn.execute(
            text(
                "SELECT (SELECT count(*) FROM events), (SELECT count(*) FROM parties), (SELECT count(*) FROM event_log)"
            )
        ).one()


def problem(resp, lo=400, hi=499):
    """The problem+json body of a response whose status is in lo..hi."""
    assert lo <= resp.status_code <= hi, (resp.status_code, resp.text)
    assert resp.headers["content-type"].startswith("application/problem+json"), resp.text
    body = resp.json()
    assert body["detail"] and body["status"] == resp.status_code
    return body


_TABLES = text(
    "SELECT quote_ident(table_name) FROM information_schema.tables WHERE table_schema = 'public' "
    "AND table_type = 'BASE TABLE' AND table_name <> 'spatial_ref_sys' ORDER BY 1"
)


def fingerprint(engine):
    """A digest of every row of every table: equal before and after means nothing was written."""
    with engine.connect() as conn:
        tables = conn.execute(_TABLES).scalars().all()
        digest = " UNION ALL ".join(
            f"SELECT '{t}', md5(coalesce(string_agg(md5(x::text), '' ORDER BY md5(x::text)), '')) FROM {t} x"
            for t in tables
        )
        return dict(conn.execute(text(digest)).all())


def refused(resp, source, field_path, position=3, word="控制字符"):
    """A 422 problem naming the field, in the shape of every validation problem (api.errors)."""
    body = problem(resp, 422, 422)
    assert set(body) == {"type", "title", "status", "detail", "instance", "code", "where", "errors"}, body
    where = ".".join(map(str, field_path))
    assert body["code"] == "validation" and body["where"] == where, body
    # 当事人 第 1 项 姓名（parties.0.name）：…, or the bare path for a field without a Chinese name
    named = f"（{where}）：" in body["detail"] or body["detail"].startswith(f"{where}：")
    assert named and word in body["detail"], body
    first = body["errors"][0]
    assert set(first) == {"loc", "msg", "type"}
    assert first["loc"] == [source, *field_path] and first["type"] == "unstorable_text", body
    assert word in first["msg"] and f"位置 {position}" in first["msg"], first
    return body


def role_headers(db, method, path):
    """The account a route of one role needs (its role is checked before its body): a department's
    answers are a department account's to give, administrators' routes an administrator's; else none."""
    url = db[0]
    if "/whistles/" in path:
        return bearer(url, "department", "620121", department_id=db[2]["court"])
    if path.startswith("/api/security/") or (path.startswith("/api/accounts") and method == "PATCH"):
        return bearer(url, "secadmin", "620121")
    if path.startswith("/api/accounts"):
        return bearer(url, "sysadmin", "620121")
    return {}
