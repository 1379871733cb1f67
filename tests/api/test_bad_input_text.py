"""Text PostgreSQL cannot store (geo.io.text) is refused everywhere.

Every JSON body field, every query, path and header value, and every form field: NUL and the other C0
control characters (tab, LF and CR apart) are refused with 422 naming the field, and nothing is written.
The fields are found by introspecting the app's routes (tests/api/bad_input_cases.py).
"""

import pytest

from api import schemas, schemas_access, schemas_desk, schemas_dispatch, schemas_field
from tests.api.bad_input_cases import (
    APP,
    BAD_TEXT,
    VALID_BODIES,
    body_cases,
    fill_path,
    form_cases,
    json_bodies,
    multipart,
    parameter_cases,
    with_value,
)
from tests.api.bad_input_checks import (
    REPORT,
    bad_input_client,  # noqa: F401 (fixture `client`)
    bad_input_db,  # noqa: F401 (fixture `db`)
    fingerprint,
    refused,
    role_headers,
)
from tests.auth_helpers import bearer

BODY_CASES = body_cases()


def test_every_json_body_model_is_found_with_its_text_fields():
    found = {(path, ".".join(map(str, f))) for _, path, _, f, _ in (c.values for c in BODY_CASES)}
    assert ("/api/events", "description") in found and ("/api/events", "parties.0.name") in found
    assert ("/api/events/{event_id}/transition", "to") in found  # a Literal is text too
    assert ("/api/whistles/{whistle_id}/response", "text") in found
    models = {model for _, _, model in json_bodies(APP)}
    assert models == set(VALID_BODIES), "give a new body model a valid example in VALID_BODIES"
    for model in models:
        schema = next(
            m
            for m in (schemas, schemas_dispatch, schemas_desk, schemas_access, schemas_field)
            if hasattr(m, model)
        )
        getattr(schema, model).model_validate(VALID_BODIES[model])


@pytest.mark.parametrize(("method", "path", "model", "field_path", "char"), BODY_CASES)
def test_control_characters_in_any_json_field_are_422_naming_it(
    client, db, method, path, model, field_path, char
):
    body = with_value(VALID_BODIES.get(model, {}), field_path, BAD_TEXT[char])
    headers = role_headers(db, method, path)
    before = fingerprint(db[1])
    refused(client.request(method, fill_path(path, db[2]), json=body, headers=headers), "body", field_path)
    assert fingerprint(db[1]) == before


def test_a_lone_surrogate_in_json_is_422_naming_the_field(client, db):
    raw = b'{"category": "neighbour", "severity": 2, "lon": 103.005, "lat": 36.005, "description": "ab\\ud800cd"}'
    before = fingerprint(db[1])
    resp = client.post("/api/events", content=raw, headers={"Content-Type": "application/json"})
    refused(resp, "body", ("description",), word="代理字符")
    assert fingerprint(db[1]) == before


@pytest.mark.parametrize(("method", "path", "source", "name", "char"), parameter_cases())
def test_control_characters_in_any_query_or_path_parameter_are_422_naming_it(
    client, db, method, path, source, name, char
):
    bad = BAD_TEXT[char]
    url = fill_path(path, db[2], **({name: bad} if source == "path" else {}))
    params = {name: bad} if source == "query" else None
    before = fingerprint(db[1])
    refused(client.request(method, url, params=params), source, (name,))
    assert fingerprint(db[1]) == before


@pytest.mark.parametrize("char", BAD_TEXT)
def test_control_characters_in_an_idempotency_key_are_422_and_write_nothing(client, db, char):
    before = fingerprint(db[1])
    headers = {"Idempotency-Key": BAD_TEXT[char]}
    refused(client.post("/api/events", json=REPORT, headers=headers), "header", ("Idempotency-Key",))
    photo = {"photo": ("shot.png", b"\x89PNG\r\n\x1a\n" + b"\x00" * 64, "image/png")}
    url = f"/api/events/{db[2]['event']}/photos"
    refused(client.post(url, files=photo, headers=headers), "header", ("Idempotency-Key",))
    assert fingerprint(db[1]) == before


@pytest.mark.parametrize(("path", "media", "field", "files", "required", "char"), form_cases())
def test_control_characters_in_any_form_field_or_file_name_are_422_naming_it(
    client, db, path, media, field, files, required, char
):
    texts = {n: "t_dispatcher_620121" for n in required if n not in files}
    names = {n: "shot.png" for n in required if n in files}
    (names if field in files else texts)[field] = BAD_TEXT[char] + (".png" if field in files else "")
    before = fingerprint(db[1])
    if media == "multipart/form-data":
        body, headers = multipart(texts, names)
        resp = client.post(fill_path(path, db[2]), content=body, headers=headers)
    else:
        resp = client.post(fill_path(path, db[2]), data=texts)
    refused(resp, "body", (field, "filename") if field in files else (field,))
    assert fingerprint(db[1]) == before


def test_every_form_is_found_with_its_fields():
    found = {(c.values[0], c.values[2]) for c in form_cases()}
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
