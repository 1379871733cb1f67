"""Errors as problem+json (RFC 9457): one table from exception class to status and title."""

import logging

import psycopg
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DBAPIError, OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException

from api.security import AuthError, NotAuthenticatedError
from geo import errors as geo_errors
from layers import errors as layer_errors

log = logging.getLogger("gridgov.api")

PROBLEM_JSON = "application/problem+json"

# Most specific first: the first matching class decides.
PROBLEMS: list[tuple[type[Exception], int, str]] = [
    (layer_errors.LayerNotFoundError, 404, "Layer not found"),
    (layer_errors.FeatureNotFoundError, 404, "Feature not found"),
    (layer_errors.RendererNotSupportedError, 400, "Renderer not supported"),
    (layer_errors.InvalidBBoxError, 400, "Invalid bbox"),
    (layer_errors.InvalidDatetimeError, 400, "Invalid datetime"),
    (layer_errors.LimitOutOfRangeError, 400, "Limit out of range"),
    (layer_errors.UnknownFilterError, 400, "Unknown filter property"),
    (layer_errors.InvalidFilterValueError, 400, "Invalid filter value"),
    (layer_errors.InvalidTileError, 400, "Invalid tile"),
    (geo_errors.GridNotFoundError, 404, "Grid not found"),
    (geo_errors.NotFoundError, 404, "Not found"),
    (geo_errors.NestingError, 422, "Grids do not nest"),
    (geo_errors.UnknownCrsError, 400, "Unknown coordinate reference system"),
    (geo_errors.SwappedAxesError, 422, "Longitude and latitude swapped"),
    (geo_errors.OutsideCountyError, 422, "Outside the county"),
    (geo_errors.IdempotencyKeyError, 422, "Idempotency-Key reused"),
    (geo_errors.InvalidGeometryError, 422, "Invalid geometry"),
    (geo_errors.InvalidInputError, 400, "Invalid input"),
    (geo_errors.LoginFailedError, 401, "Not authenticated"),
    (geo_errors.LoginThrottledError, 429, "Too many login attempts"),
    (geo_errors.LoginLockedError, 423, "Account locked"),
    (geo_errors.PasswordChangeRequiredError, 403, "Password change required"),
    (geo_errors.AccessError, 403, "Forbidden"),
    (geo_errors.TransitionError, 409, "Illegal status transition"),
    (geo_errors.ConflictError, 409, "Conflict"),
    (geo_errors.GeoError, 400, "Bad request"),
]


def problem(
    request: Request, status: int, title: str, detail: str, code: str, **extra: object
) -> JSONResponse:
    """A problem+json response."""
    body = {
        "type": f"https://gridgov.example/problems/{code}",
        "title": title,
        "status": status,
        "detail": detail,
        "instance": request.url.path,
        "code": code,
        **{k: v for k, v in extra.items() if v is not None},
    }
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON)


def _domain_handler(status: int, title: str):
    def handle(request: Request, exc: geo_errors.GeoError) -> JSONResponse:
        resp = problem(
            request,
            status,
            title,
            exc.message,
            exc.code,
            where=exc.where,
            errors=exc.errors or None,
            allowed=getattr(exc, "allowed", None),
        )
        if getattr(exc, "retry_after", None):
            resp.headers["Retry-After"] = str(exc.retry_after)
        if status == 401:
            resp.headers["WWW-Authenticate"] = 'Bearer realm="gridgov"'
        return resp

    return handle


def _auth_handler(request: Request, exc: AuthError) -> JSONResponse:
    """401 (with WWW-Authenticate: Bearer) or 403, as problem+json."""
    if isinstance(exc, NotAuthenticatedError):
        resp = problem(request, 401, "Not authenticated", exc.message, exc.code, where=exc.where)
        resp.headers["WWW-Authenticate"] = 'Bearer realm="gridgov"'
        return resp
    return problem(request, 403, "Forbidden", exc.message, exc.code, where=exc.where)


def _http_handler(request: Request, exc: StarletteHTTPException) -> JSONResponse:
    titles = {404: "Not found", 405: "Method not allowed", 409: "Conflict", 413: "Request too large"}
    title = titles.get(exc.status_code, "Error")
    detail = exc.detail if isinstance(exc.detail, str) else title
    return problem(request, exc.status_code, title, detail, f"http_{exc.status_code}")


# The first part of a validation error's loc says where the value came from; `where` names the field.
_LOC_SOURCES = ("body", "query", "path", "header", "cookie")


def _validation_handler(request: Request, exc: RequestValidationError) -> JSONResponse:
    errors = [
        {"loc": list(e.get("loc", ())), "msg": e.get("msg", ""), "type": e.get("type", "")}
        for e in exc.errors()
    ]
    first = errors[0] if errors else {"loc": [], "msg": "invalid request"}
    field = ".".join(str(p) for p in first["loc"] if p not in _LOC_SOURCES)
    detail = f"{field}: {first['msg']}" if field else first["msg"]
    where = "body" if first.get("type") == "json_invalid" else field or None  # its loc is a character offset
    return problem(request, 422, "Invalid request", detail, "validation", where=where, errors=errors)


def _database_down_handler(request: Request, exc: Exception) -> JSONResponse:
    log.warning("database unavailable: %s", exc)
    return problem(
        request,
        503,
        "Database unavailable",
        "the database is not answering; try again shortly",
        "db_unavailable",
    )


def _unexpected_handler(request: Request, exc: Exception) -> JSONResponse:
    log.error("unhandled error on %s", request.url.path, exc_info=exc)
    return problem(
        request, 500, "Internal error", "an unexpected error occurred; it has been logged", "internal"
    )


def install_error_handlers(app: FastAPI) -> None:
    """Register every handler on the app."""
    for cls, status, title in PROBLEMS:
        app.add_exception_handler(cls, _domain_handler(status, title))
    app.add_exception_handler(AuthError, _auth_handler)
    app.add_exception_handler(StarletteHTTPException, _http_handler)
    app.add_exception_handler(RequestValidationError, _validation_handler)
    app.add_exception_handler(OperationalError, _database_down_handler)
    # The pipelined reads (geo.pipeline) use psycopg directly: the same two cases, unwrapped.
    app.add_exception_handler(psycopg.OperationalError, _database_down_handler)
    app.add_exception_handler(psycopg.Error, _unexpected_handler)
    app.add_exception_handler(DBAPIError, _unexpected_handler)
    app.add_exception_handler(Exception, _unexpected_handler)
