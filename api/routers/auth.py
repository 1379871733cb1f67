"""Log in and out, change one's password: the OAuth2 password flow (JWT bearer + HttpOnly cookie) over
server-side sessions, the login page and the password page.

A login runs on the login role's own session (no user yet): geo.access.login throttles it, checks the
password and starts the session; failures and refusals are committed (and audited) before the answer.
"""

from collections.abc import Callable
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Form, Request
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
from api.schemas_access import PasswordChangeIn
from api.security import (
    AuthSettings,
    NotAuthenticatedError,
    check_login_origin,
    clear_login_cookies,
    issue_token,
    set_login_cookies,
)
from geo import clock
from geo.access import login as logins
from geo.accounts import ROLE_LABELS, AccountRejectedError, check_session
from geo.errors import AccessError

router = APIRouter(tags=["auth"])

# Where each role lands after logging in in a browser: its console view, the administrators their page.
HOME = {
    "commander": "/console/commander",
    "dispatcher": "/console/dispatcher",
    "planner": "/console/planner",
    "grid_worker": "/console/worker",
    "sysadmin": "/account",
    "secadmin": "/account",
    "auditor": "/account",
}
PASSWORD_PAGE = "/password"


def _safe_next(target: str | None) -> str | None:
    """A page of this site to go back to after login; anything else (other hosts, //x, \\x) is dropped."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return None


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


def _session_response(login: logins.Login, auth: AuthSettings, html: bool, next_page: str | None) -> Response:
    """The token body (or a redirect for a browser form) with the login cookies."""
    acct = login.account
    token, csrf, max_age = issue_token(
        auth, acct, login.session_id, scope=login.scope, expires_at=login.expires_at
    )
    home = (
        PASSWORD_PAGE if login.scope != "full" else _safe_next(next_page) or HOME.get(acct.role, "/account")
    )
    body = {
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
    response: Response = RedirectResponse(home, status_code=303) if html else JSONResponse(body)
    set_login_cookies(response, auth, token, csrf, max_age)
    response.headers["Cache-Control"] = "no-store"
    return response


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
    html = _wants_html(request)
    policy = settings.auth.login_policy()
    try:
        done = _committed(
            session,
            logins.log_in,
            name=form.username,
            password=form.password,
            policy=policy,
            now=clock.now(),
            **_client(request),
        )
    except AccessError as exc:
        if not html:
            raise
        back = _safe_next(next_page)
        suffix = f"&next={quote(back)}" if back else ""
        return RedirectResponse(f"/login?error={quote(exc.code)}{suffix}", status_code=303)
    return _session_response(done, settings.auth, html, next_page)


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
    return _session_response(done, settings.auth, False, None)


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


def _page(settings: SettingsDep, name: str) -> HTMLResponse:
    page = (settings.api.web_dir / "templates" / name).read_text(encoding="utf-8")
    return HTMLResponse(page, headers={"Cache-Control": "no-store"})


@router.get("/login", response_class=HTMLResponse, include_in_schema=False)
def login_page(settings: SettingsDep) -> HTMLResponse:
    """The login page (Chinese, no external assets)."""
    return _page(settings, "login.html")


@router.get(PASSWORD_PAGE, response_class=HTMLResponse, include_in_schema=False)
def password_page(settings: SettingsDep) -> HTMLResponse:
    """The change-password page (it asks /api/auth/me who is logged in)."""
    return _page(settings, "password.html")
