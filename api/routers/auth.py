"""Log in and out, change one's password: the OAuth2 password flow (JWT bearer + HttpOnly cookie) over
server-side sessions, the login page and the password page.

The login page is a Jinja page without script: `?next=` (a same-site path only, api.web.safe_next)
travels in a hidden field, a refused login comes back with `?error=<code>` (the problem's code, shown as
its Chinese reason) and the same `next`.

A login runs on the login role's own session (no user yet): geo.access.login throttles it, checks the
password and starts the session; failures and refusals are committed (and audited) before the answer.
"""

from collections.abc import Callable
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.security import OAuth2PasswordRequestForm
from sqlalchemy.orm import Session

from api.deps import (
    CurrentUser,
    RawSessionDep,
    SettingsDep,
    UserDep,
    access_for,
    touch_now_if_due,
    user_of_request,
)
from api.routing import ReadRoute
from api.schemas_access import PasswordChangeIn
from api.security import (
    AuthSettings,
    NotAuthenticatedError,
    check_login_origin,
    clear_login_cookies,
    issue_token,
    set_login_cookies,
)
from api.web import base_path, home_path, path_for, safe_next, templates
from geo import clock
from geo.access import login as logins
from geo.access.checks import AccountRejectedError, check_session
from geo.accounts import ROLE_LABELS
from geo.errors import AccessError

router = APIRouter(route_class=ReadRoute, tags=["auth"])

# Why a login was refused, by the problem's code (the page shows it; the same words for every account).
REFUSALS = {
    "not_authenticated": "用户名或密码错误，请重试。",
    "account_locked": "该账号登录失败次数过多，已暂时锁定，请稍后再试，或联系安全管理员解锁。",
    "too_many_attempts": "本机登录失败次数过多，请稍后再试。",
    "forbidden": "登录须在本站的登录页进行。",
}


def _wants_html(request: Request) -> bool:
    accept = request.headers.get("accept", "")
    return "text/html" in accept and "application/json" not in accept


def _client(request: Request) -> dict[str, str | None]:
    return {
        "client_addr": request.client.host if request.client else "unknown",
        "user_agent": request.headers.get("user-agent"),
    }


def _committed(session: Session, call: Callable[..., logins.Login], **kw: Any) -> logins.Login:
    """Run a login step; commit what it recorded whether it succeeded or failed (failures count)."""
    try:
        result = call(session, **kw)
    except AccessError:
        session.commit()
        raise
    except Exception:
        session.rollback()
        raise
    session.commit()
    return result


def _session_response(
    request: Request, login: logins.Login, auth: AuthSettings, html: bool, next_page: str | None
) -> Response:
    """The token body (or a redirect for a browser form) with the login cookies."""
    token, csrf, max_age = issue_token(
        auth, login.account, login.session_id, scope=login.scope, expires_at=login.expires_at
    )
    home = _landing(request, login, next_page)
    body = _token_body(login, token, csrf, max_age, home)
    response: Response = RedirectResponse(home, status_code=303) if html else JSONResponse(body)
    set_login_cookies(response, auth, token, csrf, max_age)
    response.headers["Cache-Control"] = "no-store"
    return response


def _landing(request: Request, login: logins.Login, next_page: str | None) -> str:
    """Where the login goes on: the password page first if it must change it, else `next` or its home."""
    if login.scope != "full":
        return path_for(request, "password_page")
    return safe_next(next_page) or home_path(request, login.account.role)


def _token_body(login: logins.Login, token: str, csrf: str, max_age: int, home: str) -> dict[str, Any]:
    """The JSON answer of a login: the token, its CSRF value and lifetime, who logged in, where to go."""
    acct = login.account
    return {
        "access_token": token,
        "token_type": "bearer",
        "expires_in": max_age,
        "csrf_token": csrf,
        "name": acct.name,
        "role": acct.role,
        "area": acct.area,
        "password_change_required": login.scope != "full",
        "redirect": home,
    }


@router.post("/api/auth/token")
def login(
    request: Request,
    form: Annotated[OAuth2PasswordRequestForm, Depends()],
    session: RawSessionDep,
    settings: SettingsDep,
    next_page: Annotated[str | None, Form(alias="next", max_length=500)] = None,
) -> Response:
    """OAuth2 password flow: form fields username, password. Returns a bearer token and sets the cookies.

    After GRID_AUTH_LOGIN_MAX_FAILURES failures an account name (known or not) is locked (423) and a
    client address throttled (429) for GRID_AUTH_LOGIN_LOCK_MINUTES, or until the security administrator
    unlocks it. A browser form post (Accept: text/html) is redirected to `next` (a page of this site), the
    role's start page, or the password page when the password must be changed first.
    """
    check_login_origin(request)
    return _answer_login(request, form, session, settings.auth, next_page)


def _answer_login(
    request: Request,
    form: OAuth2PasswordRequestForm,
    session: Session,
    auth: AuthSettings,
    next_page: str | None,
) -> Response:
    """The new session's answer; a refused browser form goes back to the login page, saying why."""
    html = _wants_html(request)
    try:
        done = _log_in(request, form, session, auth)
    except AccessError as exc:
        if not html:
            raise
        return _to_login_page(request, exc.code, next_page)
    return _session_response(request, done, auth, html, next_page)


def _log_in(
    request: Request, form: OAuth2PasswordRequestForm, session: Session, auth: AuthSettings
) -> logins.Login:
    """Throttle the attempt, check the password and start a session, committing what was recorded."""
    return _committed(
        session,
        logins.log_in,
        name=form.username,
        password=form.password,
        policy=auth.login_policy(),
        now=clock.now(),
        **_client(request),
    )


def _to_login_page(request: Request, code: str, next_page: str | None) -> RedirectResponse:
    """Back to the login page with the refusal's code and the same (same-site) `next`."""
    back = safe_next(next_page)
    query = urlencode({"error": code, **({"next": back} if back else {})})
    return RedirectResponse(f"{path_for(request, 'login_page')}?{query}", status_code=303)


def _checked(session: Session, user: CurrentUser) -> None:
    """The token's session is live (any scope), in a short transaction of its own."""
    try:
        check_session(session, access_for(user), any_scope=True)
    except AccountRejectedError:
        raise NotAuthenticatedError("登录已结束，请重新登录") from None
    finally:
        session.rollback()


@router.post("/api/auth/logout", status_code=204)
def logout(
    request: Request, session: RawSessionDep, settings: SettingsDep, everywhere: bool = False
) -> Response:
    """End this login's session (with `?everywhere=true`: every session of the account, on every device)
    and clear the login cookies. The token stops working at once. Without a live login there is nothing
    to end but the cookies (everywhere=true then answers 401)."""
    try:
        user = user_of_request(request, settings.auth)
        _checked(session, user)
    except NotAuthenticatedError:
        if everywhere:
            raise
    else:
        logins.log_out(session, user.name, user.session_id, everywhere=everywhere, now=clock.now())
        session.commit()
    response = Response(status_code=204)
    clear_login_cookies(response, settings.auth)
    return response


@router.post("/api/auth/password")
def change_password(
    request: Request, body: PasswordChangeIn, user: UserDep, session: RawSessionDep, settings: SettingsDep
) -> Response:
    """Change one's own password (≥ GRID_AUTH_PASSWORD_MIN_LENGTH characters of three classes, not the
    account name, not a common password). Every session of the account ends; the answer carries the new
    login (token and cookies)."""
    check_login_origin(request)
    _checked(session, user)
    done = _committed(
        session,
        logins.change_password,
        name=user.name,
        current=body.current_password,
        new=body.new_password,
        policy=settings.auth.login_policy(),
        now=clock.now(),
        **_client(request),
    )
    return _session_response(request, done, settings.auth, False, None)


@router.get("/api/auth/me")
def me(user: UserDep, session: RawSessionDep) -> dict:
    """Who the token belongs to: name, role, area, and whether the password must be changed first (a
    session that must change its password may ask too)."""
    touch_now_if_due(session, user)
    _checked(session, user)
    return {
        "name": user.name,
        "role": user.role,
        "role_label": ROLE_LABELS[user.role],
        "area": user.area,
        "password_change_required": user.scope != "full",
    }


def _page(request: Request, settings: SettingsDep, name: str, **context: object) -> Response:
    directory = settings.api.web_dir / "templates"
    page = templates(directory).TemplateResponse(request, name, {"base": base_path(request), **context})
    page.headers["Cache-Control"] = "no-store"
    return page


@router.get("/login", response_class=HTMLResponse, include_in_schema=False)
def login_page(
    request: Request,
    settings: SettingsDep,
    next_page: Annotated[str | None, Query(alias="next", max_length=500)] = None,
    error: Annotated[str | None, Query(max_length=40)] = None,
) -> Response:
    """The login page (Chinese, no script, no external assets); it returns to `next` after login."""
    reason = REFUSALS.get(error, REFUSALS["not_authenticated"]) if error is not None else ""
    return _page(request, settings, "login.html", next=safe_next(next_page) or "", error=reason)


@router.get("/password", response_class=HTMLResponse, include_in_schema=False)
def password_page(request: Request, settings: SettingsDep) -> Response:
    """The change-password page (it asks /api/auth/me who is logged in)."""
    return _page(request, settings, "password.html")
