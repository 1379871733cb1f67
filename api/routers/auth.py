"""Log in and out: the OAuth2 password flow (JWT bearer + HttpOnly cookie) and the login page."""

from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.security import OAuth2PasswordRequestForm

from api.deps import CheckedUserDep, RawSessionDep, SettingsDep
from api.security import (
    NotAuthenticatedError,
    clear_login_cookies,
    issue_token,
    set_login_cookies,
)
from geo.accounts import ROLE_LABELS, authenticate

router = APIRouter(tags=["auth"])

# Where each role lands after logging in in a browser: its console view.
HOME = {
    "commander": "/console/commander",
    "dispatcher": "/console/dispatcher",
    "planner": "/console/planner",
    "grid_worker": "/console/worker",
    "admin": "/console/commander",
}


def _safe_next(target: str | None) -> str | None:
    """A page of this site to go back to after login; anything else (other hosts, //x, \\x) is dropped."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return None


def _wants_html(request: Request) -> bool:
    accept = request.headers.get("accept", "")
    return "text/html" in accept and "application/json" not in accept


@router.post("/api/auth/token")
def login(
    request: Request,
    form: Annotated[OAuth2PasswordRequestForm, Depends()],
    session: RawSessionDep,
    settings: SettingsDep,
    next_page: Annotated[str | None, Form(alias="next", max_length=500)] = None,
) -> Response:
    """OAuth2 password flow: form fields username, password. Returns a bearer token and sets the cookies.

    A browser form post (Accept: text/html) is redirected to `next` (a page of this site) or the
    role's start page instead.
    """
    account = authenticate(session, form.username, form.password)
    session.rollback()
    html = _wants_html(request)
    if account is None:
        if html:
            back = _safe_next(next_page)
            suffix = f"&next={quote(back)}" if back else ""
            return RedirectResponse(f"/login?error=1{suffix}", status_code=303)
        raise NotAuthenticatedError("用户名或密码错误", where="username")
    auth = settings.auth
    token, csrf, max_age = issue_token(auth, account.name, account.role, account.area, account.worker_id)
    home = _safe_next(next_page) or HOME.get(account.role, "/maps/county")
    body = {
        "access_token": token,
        "token_type": "bearer",
        "expires_in": max_age,
        "csrf_token": csrf,
        "name": account.name,
        "role": account.role,
        "area": account.area,
        "redirect": home,
    }
    response: Response = RedirectResponse(home, status_code=303) if html else JSONResponse(body)
    set_login_cookies(response, auth, token, csrf, max_age)
    response.headers["Cache-Control"] = "no-store"
    return response


@router.post("/api/auth/logout", status_code=204)
def logout(settings: SettingsDep) -> Response:
    """Clear the login cookies (a bearer token simply stops being sent)."""
    response = Response(status_code=204)
    clear_login_cookies(response, settings.auth)
    return response


@router.get("/api/auth/me")
def me(user: CheckedUserDep) -> dict:
    """Who the token belongs to: name, role, area."""
    return {"name": user.name, "role": user.role, "role_label": ROLE_LABELS[user.role], "area": user.area}


@router.get("/login", response_class=HTMLResponse, include_in_schema=False)
def login_page(settings: SettingsDep) -> HTMLResponse:
    """The login page (Chinese, no external assets)."""
    page = (settings.api.web_dir / "templates" / "login.html").read_text(encoding="utf-8")
    return HTMLResponse(page, headers={"Cache-Control": "no-store"})
