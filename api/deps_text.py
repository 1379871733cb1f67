"""The app-wide check of path, query, header and form values for text we cannot store (geo.io.text).

JSON bodies are checked by their models (api.schemas_base.InputModel). Every other value a route reads as text
is checked here, once, for every route: create_app installs `check_request_text` as a dependency of the
whole app, so it runs before a route's own dependencies and parameters, and a new route or parameter
is covered without asking. A refusal is the same 422 problem+json as a bad body field: `where` names
the parameter, and `errors` lists each bad value with its `loc` (["query", "area"]) and `msg`.

What is read: every path parameter, every query parameter (OGC filters are free-form), every header
(Idempotency-Key is stored; a control character is not valid in any header), and, on routes that take
a form (login, photo upload), every form field and uploaded file name.
"""

import re
from typing import Any

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.params import Form
from starlette.datastructures import FormData, UploadFile
from starlette.types import Scope

from geo.io.text import find_unstorable, printable, unstorable_reason

# Raw bytes that may decode to a refused character: a control byte, or a %00-%1F escape in a query
# string (tab, LF and CR escapes match too; the exact check then lets them through).
_RAW_SUSPECT = re.compile(b"[\x00-\x08\x0b\x0c\x0e-\x1f]")
_QUERY_SUSPECT = re.compile(b"%[01][0-9A-Fa-f]|[\x00-\x08\x0b\x0c\x0e-\x1f]")


def _problems(source: str, name: str, value: Any, *, suffix: tuple[str, ...] = ()) -> list[dict[str, Any]]:
    """The error of one named value when its name or its text is something we cannot store."""
    if reason := unstorable_reason(name):
        loc: tuple[str, ...] = (source, printable(name))
        return [{"type": "unstorable_text", "loc": loc, "msg": f"名称{reason}", "input": name}]
    if isinstance(value, str) and (reason := unstorable_reason(value)):
        return [{"type": "unstorable_text", "loc": (source, name, *suffix), "msg": reason, "input": value}]
    return []


def _header_name(name: str) -> str:
    """idempotency-key -> Idempotency-Key, as the API documents it."""
    return "-".join(part.capitalize() for part in name.split("-"))


def _takes_form(request: Request) -> bool:
    """True when the matched route reads a form body (FastAPI has parsed it before dependencies run)."""
    body_field = getattr(request.scope.get("route"), "body_field", None)
    return body_field is not None and isinstance(body_field.field_info, Form)


def _form_errors(form: FormData) -> list[dict[str, Any]]:
    """Form fields as FastAPI names them (["body", field]); an upload's file name as [..., "filename"]."""
    errors = []
    for name, value in form.multi_items():
        if isinstance(value, UploadFile):
            errors += _problems("body", name, value.filename or "", suffix=("filename",))
        else:
            errors += _problems("body", name, value)
    return errors


def _suspect(scope: Scope) -> bool:
    """A quick look at the raw request: False when no path, query or header value can hold a refused
    character, so that the usual request costs a few regex scans rather than parsing it all."""
    return bool(
        _QUERY_SUSPECT.search(scope.get("query_string", b""))
        or find_unstorable(scope.get("path", ""))
        or any(_RAW_SUSPECT.search(value) for _, value in scope.get("headers", ()))
    )


async def check_request_text(request: Request) -> None:
    """Refuse (422) a request whose path, query, header or form values hold text we cannot store."""
    errors = []
    if _suspect(request.scope):
        errors = [
            *(e for k, v in request.path_params.items() for e in _problems("path", k, v)),
            *(e for k, v in request.query_params.multi_items() for e in _problems("query", k, v)),
            *(e for k, v in request.headers.items() for e in _problems("header", _header_name(k), v)),
        ]
    if _takes_form(request):
        errors += _form_errors(await request.form())  # the form FastAPI parsed (cached on the request)
    if errors:
        raise RequestValidationError(errors)
