"""Tokens and cookies: auth settings, the installation's signing secret, JWT (HS256) issue and check,
CSRF and Origin checks, and the auth errors.

The signing secret is never a value written anywhere public: `GRID_AUTH_SECRET` when set (32+ characters,
not a known placeholder, not a repetition), else a random one generated at first start and kept in
`GRID_AUTH_STATE_DIR/auth_secret` (mode 0600; refused when others may read it). `create_app` refuses to
start on anything else, in every mode. Rotating it (`gridgov secret rotate`, then a restart) ends every
login.

A token names its server-side session (`sid`, geo.access.sessions): the signature proves who issued it,
the session row whether it still counts (logout, disabling, idle and absolute timeouts). Browsers hold
the token in an HttpOnly, SameSite cookie set at login; API clients (GDAL, QGIS, scripts) send
`Authorization: Bearer`. A state-changing request authenticated by the cookie must also carry
`X-CSRF-Token` equal to the token's `csrf` claim (also in the readable `gridgov_csrf` cookie), or come
with an `Origin` of this site: a cross-site page can make the browser send the cookie, not the header.
The login form itself refuses a cross-site `Origin`.
"""

import os
import secrets
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Literal

from fastapi import Request, Response
from pydantic import Field, PrivateAttr, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from geo import clock
from geo.access.login import LoginPolicy
from geo.access.throttle import Throttle

TOKEN_COOKIE = "gridgov_token"
CSRF_COOKIE = "gridgov_csrf"
CSRF_HEADER = "X-CSRF-Token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})
ALGORITHM = "HS256"
SECRET_FILE = "auth_secret"
MIN_SECRET_LENGTH = 32
# Secrets that were public at some point (the old placeholder of this file, the usual examples).
KNOWN_SECRETS = frozenset(
    {
        "dev-only-placeholder-secret-change-me-0000000000",
        "changeme",
        "change-me",
        "secret",
        "your-secret-key",
        "please-set-GRID_AUTH_SECRET",
        "change-me-to-48-random-characters-before-production",  # .env.example, before step 8
    }
)
# Words of example values: a secret holding one was copied from a document, not generated.
_EXAMPLE_WORDS = ("change-me", "changeme", "placeholder", "example", "your-secret")
# Routes a session that must change its password may use.
PASSWORD_PATHS = frozenset({"/api/auth/password", "/api/auth/logout", "/api/auth/me", "/password"})


def secret_problem(value: str) -> str | None:
    """Why a signing secret is unacceptable (short, known, a repetition), or None."""
    if len(value) < MIN_SECRET_LENGTH:
        return f"shorter than {MIN_SECRET_LENGTH} characters"
    if value in KNOWN_SECRETS or any(w in value.lower() for w in _EXAMPLE_WORDS):
        return "a known, public value"
    if len(set(value)) < 10:
        return "too few different characters (not random)"
    return None


class AuthSettings(BaseSettings):
    """Signing secret, sessions, login throttling, password policy, cookie flags."""

    model_config = SettingsConfigDict(env_prefix="GRID_AUTH_", env_file=".env", extra="ignore")

    secret: SecretStr | None = None  # unset: the generated one in state_dir
    state_dir: Path = Path(".gridgov")
    session_max_minutes: int = Field(default=480, ge=1, le=7 * 24 * 60)  # absolute lifetime of a login
    session_idle_minutes: int = Field(default=30, ge=1, le=24 * 60)  # ended after this long unused
    login_max_failures: int = Field(default=5, ge=1, le=100)
    login_window_minutes: int = Field(default=15, ge=1, le=24 * 60)
    login_lock_minutes: int = Field(default=15, ge=1, le=7 * 24 * 60)
    password_min_length: int = Field(default=10, ge=10, le=128)
    password_max_days: int = Field(default=90, ge=0, le=3650)  # 0: passwords never expire
    cookie_secure: bool = False
    cookie_samesite: Literal["lax", "strict"] = "lax"
    _from_file: bool = PrivateAttr(default=False)

    @property
    def secret_source(self) -> str:
        """Where the signing secret comes from: GRID_AUTH_SECRET, or the generated file."""
        return str(self.secret_file) if self._from_file else "GRID_AUTH_SECRET"

    @property
    def secret_file(self) -> Path:
        """Where the generated secret is kept."""
        return self.state_dir / SECRET_FILE

    def with_secret(self) -> "AuthSettings":
        """These settings with the signing secret resolved; RuntimeError when it is unacceptable."""
        if self.secret is not None:
            value = self.secret.get_secret_value()
            problem = secret_problem(value)
            if problem:
                raise RuntimeError(
                    f"GRID_AUTH_SECRET is {problem}: unset it (a random one is then generated in "
                    f"{self.secret_file}) or set 32+ random characters"
                )
            return self
        resolved = self.model_copy(update={"secret": SecretStr(read_or_create_secret(self.secret_file))})
        resolved._from_file = True
        return resolved

    @property
    def signing_key(self) -> str:
        """The resolved secret (create_app resolves it)."""
        if self.secret is None:
            raise RuntimeError("the signing secret is not resolved (AuthSettings.with_secret)")
        return self.secret.get_secret_value()

    def login_policy(self) -> LoginPolicy:
        """The throttling, session and password rules of geo.access.login."""
        days = self.password_max_days
        return LoginPolicy(
            throttle=Throttle(
                self.login_max_failures,
                timedelta(minutes=self.login_window_minutes),
                timedelta(minutes=self.login_lock_minutes),
            ),
            lifetime=timedelta(minutes=self.session_max_minutes),
            idle=timedelta(minutes=self.session_idle_minutes),
            password_max_age=timedelta(days=days) if days else None,
            min_length=self.password_min_length,
        )


def _check_file(path: Path) -> str:
    mode = path.stat().st_mode & 0o777
    if mode & 0o077:
        raise RuntimeError(f"{path} may be read by others (mode {mode:o}): chmod 600 {path}")
    value = path.read_text(encoding="utf-8").strip()
    problem = secret_problem(value)
    if problem:
        raise RuntimeError(f"the secret in {path} is {problem}: delete the file to generate a new one")
    return value


def write_secret(path: Path) -> str:
    """Write a new random secret to `path` (mode 0600, replacing any), returning it."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    value = secrets.token_urlsafe(48)
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(value + "\n")
    os.replace(tmp, path)
    return value


def read_or_create_secret(path: Path) -> str:
    """The secret kept at `path`, generated (random, 0600) when there is none yet."""
    if path.exists():
        return _check_file(path)
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process made it first
        return _check_file(path)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(secrets.token_urlsafe(48) + "\n")
    return _check_file(path)


class AuthError(Exception):
    """Base of the access errors: a user-safe message and a short code."""

    code = "auth"

    def __init__(self, message: str, *, where: str | None = None):
        """A user-safe message and optionally the header or field at fault."""
        super().__init__(message)
        self.message = message
        self.where = where


class NotAuthenticatedError(AuthError):
    """No token, or a token that is invalid, expired, or of an ended session or changed account (401)."""

    code = "not_authenticated"


class PermissionDeniedError(AuthError):
    """The role may not do this, or a cookie request lacks its CSRF proof (403)."""

    code = "forbidden"


def issue_token(
    settings: AuthSettings,
    account: Any,
    session_id: str,
    *,
    scope: str = "full",
    expires_at: datetime,
) -> tuple[str, str, int]:
    """A signed token of the account's session: (token, csrf value, lifetime in seconds).

    It carries what the app needs to know about the account (role, area, worker) and names its session;
    each request checks both against the database, so an ended session or a changed account must log in
    again.
    """
    now = clock.now()
    csrf = secrets.token_urlsafe(24)
    token = _sign(settings.signing_key, _claims(account, session_id, scope, csrf, now, expires_at))
    return token, csrf, max(int((expires_at - now).total_seconds()), 1)


def _sign(secret: str, claims: dict[str, Any]) -> str:
    """The claims as a token signed with the secret (HS256)."""
    import jwt

    return jwt.encode(claims, secret, algorithm=ALGORITHM)


def _claims(
    account: Any, session_id: str, scope: str, csrf: str, now: datetime, expires_at: datetime
) -> dict[str, Any]:
    """The claims of a token: the account (name, role, area, worker), its session, scope and CSRF value."""
    return {
        "sub": account.name,
        "role": account.role,
        "area": account.area,
        "wid": account.worker_id,
        "sid": session_id,
        "scp": scope,
        "csrf": csrf,
        "iat": now,
        "exp": expires_at,
    }


# Verified tokens, by secret and token: every request carries its token, and checking the signature
# and claims costs ~85 µs here (a tenth of a small request's CPU). A hit still checks the expiry.
_VERIFIED: dict[tuple[str, str], dict[str, Any]] = {}
_MAX_VERIFIED = 4096


def decode_token(settings: AuthSettings, token: str) -> dict[str, Any]:
    """The claims of a valid token; NotAuthenticatedError otherwise."""
    key = (settings.signing_key, token)
    claims = _VERIFIED.get(key)
    if claims is None:
        claims = _verify(key[0], token)
        if len(_VERIFIED) >= _MAX_VERIFIED:
            _VERIFIED.clear()
        _VERIFIED[key] = claims
    if claims["exp"] <= clock.now().timestamp():
        raise NotAuthenticatedError("登录已过期，请重新登录")
    return claims


def _verify(secret: str, token: str) -> dict[str, Any]:
    import jwt

    try:
        # Expiry is checked against the product's clock (geo.clock), not PyJWT's reading of the system's.
        options = {"require": ["exp", "iat", "sub", "sid"], "verify_exp": False, "verify_iat": False}
        claims = jwt.decode(token, secret, algorithms=[ALGORITHM], options=options)
    except jwt.PyJWTError:
        raise NotAuthenticatedError("令牌无效，请重新登录") from None
    if not all(isinstance(claims.get(k), str) for k in ("sub", "sid")) or not isinstance(
        claims["exp"], int | float
    ):
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


def check_login_origin(request: Request) -> None:
    """A login (or password change) from a page of another site is refused: a browser names the page's
    origin (`Origin`, `Sec-Fetch-Site`); API clients send neither and are not concerned."""
    origin = request.headers.get("origin")
    cross = request.headers.get("sec-fetch-site") == "cross-site"
    if (origin is not None and not _same_origin(request)) or cross:
        raise PermissionDeniedError("跨站请求校验失败：登录须在本站的登录页进行", where="Origin")


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
