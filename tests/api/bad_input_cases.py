"""The cases of the text PostgreSQL cannot store (geo.io.text), found by introspecting the app's OpenAPI
document: every JSON body field, every query and path parameter, every form field, so that a new model,
field or parameter is covered without touching the tests (tests/api/test_bad_input_text.py)."""

import pytest

from tests.api.bad_input_checks import REPORT
from tests.apps import app_for

BAD_TEXT = {"nul": "ab\x00cd", "bel": "ab\x07cd"}  # the bad character is the 3rd: "位置 3"


APP = app_for("postgresql+psycopg://unused@localhost/unused")


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


def json_bodies(app):
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


def body_cases():
    """(method, path, model, field path, bad character) of every text place of every JSON body."""
    schemas = APP.openapi()["components"]["schemas"]
    cases = []
    for method, path, model in json_bodies(APP):
        for field_path in _text_paths(schemas[model], schemas):
            for char in BAD_TEXT:
                case_id = f"{method} {path} {'.'.join(map(str, field_path))} {char}"
                cases.append(pytest.param(method, path, model, field_path, char, id=case_id))
    return cases


def with_value(body, path, value):
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


def fill_path(path, ids, **given):
    """The route's path with every parameter filled (ids from the tiny county, the rest from PATH_VALUES)."""
    from urllib.parse import quote

    values = {"event_id": ids["event"], "worker_id": ids["owner"], **PATH_VALUES, **given}
    for name in {p.split("}")[0].split(":")[0] for p in path.split("{")[1:]}:
        path = path.replace("{" + name + "}", quote(str(values.get(name, 1)), safe=""))
    return path


def parameter_cases():
    """(method, path, query or path, name, bad character) of every parameter, and two outside OpenAPI."""
    cases = []
    for path, operations in APP.openapi()["paths"].items():
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


FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


PNG_BYTES = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


def form_cases():
    """(path, media type, field, is a file, required fields) of every form field in the OpenAPI document."""
    schemas = APP.openapi()["components"]["schemas"]
    cases = []
    for path, operations in APP.openapi()["paths"].items():
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


def multipart(texts, files):
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
