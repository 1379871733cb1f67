"""Errors as problem+json (RFC 9457): one table from exception class to status and title."""

import logging
from http import HTTPStatus

import psycopg
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from starlette.exceptions import HTTPException as StarletteHTTPException

from api.messages import describe, field_path, zh_message
from api.security import AuthError, NotAuthenticatedError
from geo import errors as geo_errors
from layers import errors as layer_errors

log = logging.getLogger("gridgov.api")

PROBLEM_JSON = "application/problem+json"

# Most specific first: the first matching class decides.
PROBLEMS: list[tuple[type[Exception], int, str]] = [
    (layer_errors.LayerNotFoundError, 404, "图层不存在"),
    (layer_errors.FeatureNotFoundError, 404, "要素不存在"),
    (layer_errors.RendererNotSupportedError, 400, "该图层不支持这种呈现方式"),
    (layer_errors.InvalidBBoxError, 400, "范围（bbox）有误"),
    (layer_errors.InvalidDatetimeError, 400, "时间参数有误"),
    (layer_errors.LimitOutOfRangeError, 400, "数量超出范围"),
    (layer_errors.UnknownFilterError, 400, "未知的筛选字段"),
    (layer_errors.InvalidFilterValueError, 400, "筛选值有误"),
    (layer_errors.InvalidTileError, 400, "瓦片编号有误"),
    (geo_errors.GridNotFoundError, 404, "网格不存在"),
    (geo_errors.NotFoundError, 404, "未找到"),
    (geo_errors.NestingError, 422, "网格嵌套有误"),
    (geo_errors.UnknownCrsError, 400, "未知的坐标系"),
    (geo_errors.SwappedAxesError, 422, "经纬度疑似颠倒"),
    (geo_errors.OutsideCountyError, 422, "位置不在辖区内"),
    (geo_errors.IdempotencyKeyError, 422, "幂等键已用于另一请求"),
    (geo_errors.InvalidGeometryError, 422, "几何图形无效"),
    (geo_errors.InvalidInputError, 400, "输入有误"),
    (geo_errors.LoginFailedError, 401, "用户名或密码错误"),
    (geo_errors.LoginThrottledError, 429, "登录尝试过于频繁"),
    (geo_errors.LoginLockedError, 423, "账号已锁定"),
    (geo_errors.PasswordChangeRequiredError, 403, "请先修改密码"),
    (geo_errors.AccessError, 403, "无权执行此操作"),
    (geo_errors.TransitionError, 409, "案件状态不能这样变更"),
    (geo_errors.ConflictError, 409, "与当前数据冲突"),
    (geo_errors.GeoError, 400, "请求有误"),
]
# Titles of the answers no domain error makes.
TITLES = {
    401: "未登录或登录已过期",
    403: "无权访问",
    404: "未找到",
    405: "不支持该请求方法",
    409: "与当前数据冲突",
    413: "请求内容过大",
    422: "输入有误",
    429: "请求过于频繁",
    500: "服务器内部错误",
    503: "数据库暂不可用",
}


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
        resp = problem(request, 401, TITLES[401], exc.message, exc.code, where=exc.where)
        resp.headers["WWW-Authenticate"] = 'Bearer realm="gridgov"'
        return resp
    return problem(request, 403, TITLES[403], exc.message, exc.code, where=exc.where)


def _http_handler(request: Request, exc: StarletteHTTPException) -> JSONResponse:
    title = TITLES.get(exc.status_code, "请求有误")
    # Starlette's own details are the English reason phrases ("Not Found"): say the title instead.
    phrases = {s.value: s.phrase for s in HTTPStatus}
    english = exc.detail == phrases.get(exc.status_code)
    detail = exc.detail if isinstance(exc.detail, str) and not english else title
    return problem(request, exc.status_code, title, detail, f"http_{exc.status_code}")


def _validation_handler(request: Request, exc: RequestValidationError) -> JSONResponse:
    raw = list(exc.errors())
    errors = [{"loc": list(e.get("loc", ())), "msg": zh_message(e), "type": e.get("type", "")} for e in raw]
    if not errors:
        return problem(request, 422, TITLES[422], "请求有误", "validation")
    first = raw[0]
    field = field_path(first.get("loc", ()))
    where = "body" if first.get("type") == "json_invalid" else field or None  # its loc is a character offset
    detail = zh_message(first) if where == "body" else describe(first)
    return problem(request, 422, TITLES[422], detail, "validation", where=where, errors=errors)


def _database_down_handler(request: Request, exc: Exception) -> JSONResponse:
    log.warning("database unavailable: %s", exc)
    return problem(request, 503, TITLES[503], "数据库暂时没有响应，请稍后再试", "db_unavailable")


def _busy_handler(request: Request, exc: Exception) -> JSONResponse:
    log.warning("no database connection free: %s", exc)
    return problem(request, 503, TITLES[503], "当前请求过多，请稍后再试", "busy")


def _unexpected_handler(request: Request, exc: Exception) -> JSONResponse:
    log.error("unhandled error on %s", request.url.path, exc_info=exc)
    return problem(request, 500, TITLES[500], "发生了意外错误，已记录日志，请稍后再试", "internal")


def install_error_handlers(app: FastAPI) -> None:
    """Register every handler on the app."""
    for cls, status, title in PROBLEMS:
        app.add_exception_handler(cls, _domain_handler(status, title))
    app.add_exception_handler(AuthError, _auth_handler)
    app.add_exception_handler(StarletteHTTPException, _http_handler)
    app.add_exception_handler(RequestValidationError, _validation_handler)
    app.add_exception_handler(OperationalError, _database_down_handler)
    app.add_exception_handler(PoolTimeoutError, _busy_handler)  # every pooled connection busy (api.deps)
    # Driver calls outside SQLAlchemy (geo.audit.commit_with_read_row): the same two cases, unwrapped.
    app.add_exception_handler(psycopg.OperationalError, _database_down_handler)
    app.add_exception_handler(psycopg.Error, _unexpected_handler)
    app.add_exception_handler(DBAPIError, _unexpected_handler)
    app.add_exception_handler(Exception, _unexpected_handler)
