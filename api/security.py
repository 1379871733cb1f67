"""Tokens and cookies: auth settings, JWT (HS256) issue and check, CSRF, and the auth errors.

Browsers hold the token in an HttpOnly, SameSite cookie set at login; API clients (GDAL, QGIS, scripts)
send `Authorization: Bearer`. A state-changing request authenticated by the cookie must also carry
`X-CSRF-Token` equal to the token's `csrf` claim (also in the readable `gridgov_csrf` cookie), or come
with an `Origin` of this site: a cross-site page can make the browser send the cookie, not the header.
"""

import secrets
from datetime import timedelta
from typing import Any, Literal

from fastapi import Request, Response
from pydantic import AliasChoices, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from geo import clock

PLACEHOLDER_SECRET = "dev-only-placeholder-secret-change-me-0000000000"  # noqa: S105
TOKEN_COOKIE = "gridgov_token"
CSRF_COOKIE = "gridgov_csrf"
CSRF_HEADER = "X-CSRF-Token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})
ALGORITHM = "HS256"


class AuthSettings(BaseSettings):
    """Token secret and lifetime, cookie flags. `GRID_ENV` says dev, test or production."""

    model_config = SettingsConfigDict(env_prefix="GRID_AUTH_", env_file=".env", extra="ignore")

    secret: SecretStr = SecretStr(PLACEHOLDER_SECRET)
    token_minutes: int = Field(default=480, ge=1, le=7 * 24 * 60)
    cookie_secure: bool = False
    cookie_samesite: Literal["lax", "strict"] = "lax"
    environment: Literal["dev", "test", "production"] = Field(
        default="dev", validation_alias=AliasChoices("GRID_ENV", "GRID_AUTH_ENVIRONMENT", "environment")
    )

    def check_secret(self) -> None:
        """Refuse to start outside dev/test with the placeholder or a short secret."""
        if self.environment in ("dev", "test"):
            return
        value = self.secret.get_secret_value()
        if value == PLACEHOLDER_SECRET or len(value) < 32:
            raise RuntimeError(
                "GRID_AUTH_SECRET must be set to a random string of 32+ characters outside dev/test "
                "(e.g. `python -c 'import secrets; print(secrets.token_urlsafe(48))'`)"
            )


class AuthError(Exception):
    """Base of the access errors: a user-safe message and a short code."""

    code = "auth"

    def __init__(self, message: str, *, where: str | None = None):
        """A user-safe message and optionally the header or field at fault."""
        super().__init__(message)
        self.message = message
        self.where = where


class NotAuthenticatedError(AuthError):
    """No token, or a token that is invalid, expired, or of a disabled account (401)."""

    code = "not_authenticated"


class PermissionDeniedError(AuthError):
    """The role may not do this, or a cookie request lacks its CSRF proof (403)."""

    code = "forbidden"


def issue_token(
    settings: AuthSettings, name: str, role: str, area: str, worker_id: int | None = None
) -> tuple[str, str, int]:
    """A signed token for the account: (token, csrf value, lifetime in seconds).

    It carries what the app needs to know about the account (role, area, worker); each request
    checks them against the users table, so a changed or disabled account must log in again.
    """
    import jwt

    now = clock.now()
    life = timedelta(minutes=settings.token_minutes)
    csrf = secrets.token_urlsafe(24)
    claims = {
        "sub": name,
        "role": role,
        "area": area,
        "wid": worker_id,
        "csrf": csrf,
        "iat": now,
        "exp": now + life,
    }
    token = jwt.encode(claims, settings.secret.get_secret_value(), algorithm=ALGORITHM)
    return token, csrf, int(life.total_seconds())


# Verified tokens, by secret and token: every request carries its token, and checking the signature
# and claims costs ~85 µs here (a tenth of a small request's CPU). A hit still checks the expiry.
_VERIFIED: dict[tuple[str, str], dict[str, Any]] = {}
_MAX_VERIFIED = 4096


def decode_token(settings: AuthSettings, token: str) -> dict[str, Any]:
    """The claims of a valid token; NotAuthenticatedError otherwise."""
    key = (settings.secret.get_secret_value(), token)
    claims = _VERIFIED.get(key)
    if claims is not None:
        if claims["exp"] > clock.now().timestamp():
            return claims
        raise NotAuthenticatedError("登录已过期，请重新登录")
    claims = _verify(key[0], token)
    if claims["exp"] <= clock.now().timestamp():
        raise NotAuthenticatedError("登录已过期，请重新登录")
    if len(_VERIFIED) >= _MAX_VERIFIED:
        _VERIFIED.clear()
    _VERIFIED[key] = claims
    return claims


def _verify(secret: str, token: str) -> dict[str, Any]:
    import jwt

    try:
        # Expiry is checked against the product's clock (geo.clock), not PyJWT's reading of the system's.
        options = {"require": ["exp", "iat", "sub"], "verify_exp": False, "verify_iat": False}
        claims = jwt.decode(token, secret, algorithms=[ALGORITHM], options=options)
    except jwt.PyJWTError:
        raise NotAuthenticatedError("令牌无效，请重新登录") from None
    if not isinstance(claims.get("sub"), str) or not isinstance(claims["exp"], int | float):
        raise NotAuthenticatedError("令牌无效，请重新登录")
    return claims


def read_token(request: Request) -> tuple[str, bool]:
    """The request's token and whether it came from the cookie; NotAuthenticatedError when absent."""
    header = request.headers.get("authorization", "")
    if header:
        scheme, _, value = header.partition(" ")
        if scheme.lower() != "bearer" or not value.strip():
            raise NotAuthenticatedError("Authorization 须为 Bearer 令牌", where="Authorization")
        return value.strip(), False
    cookie = request.cookies.get(TOKEN_COOKIE)
    if cookie:
        return cookie, True
    raise NotAuthenticatedError("需要登录：请先登录，或发送 Authorization: Bearer 令牌")


def _same_origin(request: Request) -> bool:
    origin = request.headers.get("origin")
    if not origin or origin == "null":
        return False
    own = f"{request.url.scheme}://{request.headers.get('host', request.url.netloc)}"
    return origin.rstrip("/") == own


def check_csrf(request: Request, claims: dict[str, Any]) -> None:
    """A cookie-authenticated unsafe request needs the CSRF header (or a same-origin Origin)."""
    if request.method in SAFE_METHODS:
        return
    sent = request.headers.get(CSRF_HEADER, "")
    expected = str(claims.get("csrf") or "")
    if expected and sent and secrets.compare_digest(sent, expected):
        return
    if _same_origin(request):
        return
    raise PermissionDeniedError(
        f"跨站请求校验失败：使用 Cookie 登录时，修改数据的请求须带 {CSRF_HEADER} 请求头", where=CSRF_HEADER
    )


def set_login_cookies(
    response: Response, settings: AuthSettings, token: str, csrf: str, max_age: int
) -> None:
    """The HttpOnly token cookie and the readable CSRF cookie."""
    common = {
        "max_age": max_age,
        "path": "/",
        "secure": settings.cookie_secure,
        "samesite": settings.cookie_samesite,
    }
    response.set_cookie(TOKEN_COOKIE, token, httponly=True, **common)  # type: ignore[arg-type]
    response.set_cookie(CSRF_COOKIE, csrf, httponly=False, **common)  # type: ignore[arg-type]


def clear_login_cookies(response: Response, settings: AuthSettings) -> None:
    """Remove both cookies."""
    for name in (TOKEN_COOKIE, CSRF_COOKIE):
        response.delete_cookie(
            name, path="/", secure=settings.cookie_secure, samesite=settings.cookie_samesite
        )
