"""Hostile and broken input on every route: clear 4xx problem+json, nothing partly written, never a 5xx.

Hand-written cases first (malformed JSON, NaN, swapped or outside coordinates, oversize bodies, unknown
fields, SQL-looking filters, bad bbox/CRS), then text we cannot store (control characters) in every body
field, parameter, header and form field found in the app's OpenAPI document, then schemathesis generating
valid and invalid requests from the app's OpenAPI schema against a live uvicorn on loopback, authenticated,
with a bounded example count.
"""

import os
import time
from collections import Counter

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text

from api import schemas, schemas_access, schemas_desk, schemas_field
from api.settings import ApiSettings
from tests.apps import app_for
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
    app = app_for(db[0], api=ApiSettings(_env_file=None, max_body_bytes=20_000))
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


def test_validation_problems_name_the_field_in_where(client):
    missing = _problem(client.post("/api/events", json={"severity": 2, "lon": 103.005, "lat": 36.005}))
    assert missing["where"] == "category" and missing["errors"][0]["loc"] == ["body", "category"]
    broken = client.post("/api/events", content=b"{not json", headers={"Content-Type": "application/json"})
    assert _problem(broken)["where"] == "body"  # not the character offset of its loc


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


# Logging out and changing the password end the session the fuzzer's token names, by design.
ENDS_ITS_SESSION = frozenset({"/api/auth/logout", "/api/auth/password"})


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
        if result.ok().path in ENDS_ITS_SESSION:
            continue
        try:
            runner(result.ok())()
        except hypothesis.errors.Unsatisfiable:  # e.g. no invalid request exists for a parameterless GET
            continue
    return calls[0], errors, dict(sorted(statuses.items()))


def test_schemathesis_finds_no_server_errors(db, capsys):
    from schemathesis import GenerationMode

    app = app_for(db[0])
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


# --- text PostgreSQL cannot store (geo.io.text) ----------------------------------------------------------
#
# Every JSON body field, every query, path and header value, and every form field: NUL and the other C0
# control characters (tab, LF and CR apart) are refused with 422 naming the field, and nothing is written.
# The fields are found by introspecting the app's routes, so a new model, field or parameter is covered
# without touching these tests.

BAD_TEXT = {"nul": "ab\x00cd", "bel": "ab\x07cd"}  # the bad character is the 3rd: "位置 3"
_APP = app_for("postgresql+psycopg://unused@localhost/unused")
# A body each model accepts as it is, so that the bad text is the request's only fault; a model missing
# here is still tested, with a body holding only the bad field.
VALID_BODIES = {
    "EventCreate": {**REPORT, "parties": [{"role": "applicant", "name": "张三", "phone": "13900000000"}]},
    "AssignIn": {"worker_id": 1},
    "TransitionIn": {"to": "registered"},
    "NoteIn": {"note": "备注"},
    "ReferIn": {"to": "court"},
    "WhistleIn": {"department_id": 1},
    "ExtendIn": {"hours": 2, "reason": "等材料"},
    "ReasonIn": {"reason": "等材料"},
    "TaskTextIn": {"text": "已到场"},
    "LocationIn": {"lon": 103.005, "lat": 36.005},
    "WorkerUpdate": {"on_duty": True},
    "PasswordChangeIn": {"current_password": "test-password-1", "new_password": "Kx7#pq-Lm2z"},
    "AccountIn": {"name": "newbie", "role": "planner", "area": "620121", "password": "Kx7#pq-Lm2z"},
    "AccountChange": {"role": "planner", "area": "620121"},
    "PasswordIn": {"password": "Kx7#pq-Lm2z"},
    "UnlockIn": {"kind": "account", "subject": "someone"},
    "FixBatchIn": {
        "batch_key": "k1",
        "fixes": [{"at": "2026-11-27T09:00:00+08:00", "lon": 103.005, "lat": 36.005}],
    },
    "VisitIn": {"client_key": "v1", "at": "2026-11-27T09:00:00+08:00", "address": "一组3号"},
}
# Values for path parameters other than the one under test (ids are filled from the tiny county).
PATH_VALUES = {
    "layer_id": "disputes",
    "feature_id": "1",
    "z": "3",
    "x": "0",
    "y": "0",
    "name": "disputes.geojson",
    "period": "daily",
    "view": "commander",
    "month": "2026-11",
}


def _json_bodies(app):
    """(method, path, schema name) of every operation whose body is a JSON model (from the OpenAPI document)."""
    for path, operations in app.openapi()["paths"].items():
        for method, op in operations.items():
            content = op.get("requestBody", {}).get("content", {})
            ref = content.get("application/json", {}).get("schema", {}).get("$ref")
            if ref:
                yield method.upper(), path, ref.rsplit("/", 1)[-1]


def _text_paths(schema, defs, prefix=()):
    """Paths (field names, 0 for list items) of every place in a JSON schema that takes a string
    (free text, patterns, Literal choices, datetimes and decimals given as strings)."""
    if "$ref" in schema:
        yield from _text_paths(defs[schema["$ref"].rsplit("/", 1)[-1]], defs, prefix)
        return
    for name, prop in schema.get("properties", {}).items():
        yield from _text_places(prop, defs, (*prefix, name))


def _text_places(prop, defs, path):
    options = prop.get("anyOf", [prop])
    if any(o.get("type") == "string" for o in options):
        yield path
    for option in options:
        if "$ref" in option:
            yield from _text_paths(option, defs, path)
        elif option.get("type") == "array":
            yield from _text_places(option["items"], defs, (*path, 0))


def _body_cases():
    schemas = _APP.openapi()["components"]["schemas"]
    cases = []
    for method, path, model in _json_bodies(_APP):
        for field_path in _text_paths(schemas[model], schemas):
            for char in BAD_TEXT:
                case_id = f"{method} {path} {'.'.join(map(str, field_path))} {char}"
                cases.append(pytest.param(method, path, model, field_path, char, id=case_id))
    return cases


BODY_CASES = _body_cases()


def _with(body, path, value):
    """A deep copy of body with value at path (creating the lists and dicts on the way)."""
    import copy

    body = copy.deepcopy(body)
    node = body
    for key, following in zip(path, path[1:], strict=False):
        if isinstance(key, int):
            while len(node) <= key:
                node.append({} if isinstance(following, str) else [])
            node = node[key]
        else:
            node = node.setdefault(key, [] if isinstance(following, int) else {})
    last = path[-1]
    if isinstance(last, int):
        node[last : last + 1] = [value]
    else:
        node[last] = value
    return body


def _url(path, ids, **given):
    """The route's path with every parameter filled (ids from the tiny county, the rest from PATH_VALUES)."""
    from urllib.parse import quote

    values = {"event_id": ids["event"], "worker_id": ids["owner"], **PATH_VALUES, **given}
    for name in {p.split("}")[0].split(":")[0] for p in path.split("{")[1:]}:
        path = path.replace("{" + name + "}", quote(str(values.get(name, 1)), safe=""))
    return path


_TABLES = text(
    "SELECT quote_ident(table_name) FROM information_schema.tables WHERE table_schema = 'public' "
    "AND table_type = 'BASE TABLE' AND table_name <> 'spatial_ref_sys' ORDER BY 1"
)


def _fingerprint(engine):
    """A digest of every row of every table: equal before and after means nothing was written."""
    with engine.connect() as conn:
        tables = conn.execute(_TABLES).scalars().all()
        digest = " UNION ALL ".join(
            f"SELECT '{t}', md5(coalesce(string_agg(md5(x::text), '' ORDER BY md5(x::text)), '')) FROM {t} x"
            for t in tables
        )
        return dict(conn.execute(text(digest)).all())


def _refused(resp, source, field_path, position=3, word="控制字符"):
    """A 422 problem naming the field, in the shape of every validation problem (api.errors)."""
    body = _problem(resp, 422, 422)
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


def test_every_json_body_model_is_found_with_its_text_fields():
    found = {(path, ".".join(map(str, f))) for _, path, _, f, _ in (c.values for c in BODY_CASES)}
    assert ("/api/events", "description") in found and ("/api/events", "parties.0.name") in found
    assert ("/api/events/{event_id}/transition", "to") in found  # a Literal is text too
    assert ("/api/whistles/{whistle_id}/response", "text") in found
    models = {model for _, _, model in _json_bodies(_APP)}
    assert models == set(VALID_BODIES), "give a new body model a valid example in VALID_BODIES"
    for model in models:
        schema = next(m for m in (schemas, schemas_desk, schemas_access, schemas_field) if hasattr(m, model))
        getattr(schema, model).model_validate(VALID_BODIES[model])


@pytest.mark.parametrize(("method", "path", "model", "field_path", "char"), BODY_CASES)
def test_control_characters_in_any_json_field_are_422_naming_it(
    client, db, method, path, model, field_path, char
):
    body = _with(VALID_BODIES.get(model, {}), field_path, BAD_TEXT[char])
    headers = _role_headers(db, method, path)
    before = _fingerprint(db[1])
    _refused(client.request(method, _url(path, db[2]), json=body, headers=headers), "body", field_path)
    assert _fingerprint(db[1]) == before


def _role_headers(db, method, path):
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


def test_a_lone_surrogate_in_json_is_422_naming_the_field(client, db):
    raw = b'{"category": "neighbour", "severity": 2, "lon": 103.005, "lat": 36.005, "description": "ab\\ud800cd"}'
    before = _fingerprint(db[1])
    resp = client.post("/api/events", content=raw, headers={"Content-Type": "application/json"})
    _refused(resp, "body", ("description",), word="代理字符")
    assert _fingerprint(db[1]) == before


def _parameter_cases():
    cases = []
    for path, operations in _APP.openapi()["paths"].items():
        for method, op in operations.items():
            for param in op.get("parameters", []):
                if param["in"] in ("query", "path"):
                    for char in BAD_TEXT:
                        cases.append(
                            pytest.param(
                                method.upper(),
                                path,
                                param["in"],
                                param["name"],
                                char,
                                id=f"{method.upper()} {path} {param['in']} {param['name']} {char}",
                            )
                        )
    # Not in the OpenAPI document: OGC property filters (any query key) and the console pages.
    for char in BAD_TEXT:
        cases.append(
            pytest.param(
                "GET", "/ogc/collections/{layer_id}/items", "query", "status", char, id=f"ogc filter {char}"
            )
        )
        cases.append(pytest.param("GET", "/console/{view}", "path", "view", char, id=f"console page {char}"))
    return cases


@pytest.mark.parametrize(("method", "path", "source", "name", "char"), _parameter_cases())
def test_control_characters_in_any_query_or_path_parameter_are_422_naming_it(
    client, db, method, path, source, name, char
):
    bad = BAD_TEXT[char]
    url = _url(path, db[2], **({name: bad} if source == "path" else {}))
    params = {name: bad} if source == "query" else None
    before = _fingerprint(db[1])
    _refused(client.request(method, url, params=params), source, (name,))
    assert _fingerprint(db[1]) == before


@pytest.mark.parametrize("char", BAD_TEXT)
def test_control_characters_in_an_idempotency_key_are_422_and_write_nothing(client, db, char):
    before = _fingerprint(db[1])
    headers = {"Idempotency-Key": BAD_TEXT[char]}
    _refused(client.post("/api/events", json=REPORT, headers=headers), "header", ("Idempotency-Key",))
    photo = {"photo": ("shot.png", b"\x89PNG\r\n\x1a\n" + b"\x00" * 64, "image/png")}
    url = f"/api/events/{db[2]['event']}/photos"
    _refused(client.post(url, files=photo, headers=headers), "header", ("Idempotency-Key",))
    assert _fingerprint(db[1]) == before


FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")
PNG_BYTES = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


def _form_cases():
    """(path, media type, field, is a file, required fields) of every form field in the OpenAPI document."""
    schemas = _APP.openapi()["components"]["schemas"]
    cases = []
    for path, operations in _APP.openapi()["paths"].items():
        for op in operations.values():
            for media, content in op.get("requestBody", {}).get("content", {}).items():
                if media not in FORM_TYPES:
                    continue
                schema = schemas[content["schema"]["$ref"].rsplit("/", 1)[-1]]
                files = {
                    n
                    for n, p in schema["properties"].items()
                    if "contentMediaType" in p or p.get("format") == "binary"
                }
                for name in schema["properties"]:
                    for char in BAD_TEXT:
                        what = "filename" if name in files else "value"
                        case = (path, media, name, files, schema.get("required", []), char)
                        cases.append(pytest.param(*case, id=f"{path} {name} {what} {char}"))
    return cases


def _multipart(texts, files):
    """A multipart/form-data body (built by hand: httpx would escape control characters in file names)."""
    boundary = "gridgov-test-boundary"
    parts = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="{n}"\r\n\r\n{v}\r\n'.encode()
        for n, v in texts.items()
    ]
    for name, filename in files.items():
        head = f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; filename="{filename}"\r\n'
        parts.append((head + "Content-Type: image/png\r\n\r\n").encode() + PNG_BYTES + b"\r\n")
    body = b"".join(parts) + f"--{boundary}--\r\n".encode()
    return body, {"Content-Type": f"multipart/form-data; boundary={boundary}"}


@pytest.mark.parametrize(("path", "media", "field", "files", "required", "char"), _form_cases())
def test_control_characters_in_any_form_field_or_file_name_are_422_naming_it(
    client, db, path, media, field, files, required, char
):
    texts = {n: "t_dispatcher_620121" for n in required if n not in files}
    names = {n: "shot.png" for n in required if n in files}
    (names if field in files else texts)[field] = BAD_TEXT[char] + (".png" if field in files else "")
    before = _fingerprint(db[1])
    if media == "multipart/form-data":
        body, headers = _multipart(texts, names)
        resp = client.post(_url(path, db[2]), content=body, headers=headers)
    else:
        resp = client.post(_url(path, db[2]), data=texts)
    _refused(resp, "body", (field, "filename") if field in files else (field,))
    assert _fingerprint(db[1]) == before


def test_every_form_is_found_with_its_fields():
    found = {(c.values[0], c.values[2]) for c in _form_cases()}
    assert {("/api/auth/token", "username"), ("/api/auth/token", "next")} <= found
    assert ("/api/events/{event_id}/photos", "photo") in found


def test_tab_newline_and_carriage_return_are_still_accepted(client, db):
    description = "第一行\n第二行\r\n\t缩进的第三行"
    body = {**REPORT, "title": "楼上\t漏水", "description": description}
    resp = client.post("/api/events", json=body, headers={"Idempotency-Key": "tab\tkey"})
    assert resp.status_code == 201, resp.text
    assert (resp.json()["title"], resp.json()["description"]) == ("楼上\t漏水", description)
    admin = bearer(db[0], "auditor", "620121")
    assert client.get("/api/audit", params={"actor": "a\tb\nc"}, headers=admin).status_code == 200
    login = client.post("/api/auth/token", data={"username": "no\tsuch", "password": "x\ny"})
    assert login.status_code == 401, login.text
