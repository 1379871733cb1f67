"""Log in and out: the OAuth2 password flow (JWT bearer + HttpOnly cookie) and the login page.

The login page is a Jinja page without script: `?next=` (a same-site path only, api.web.safe_next)
travels in a hidden field, a failed login comes back with `?error=1` and the same `next`.
"""

from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.security import OAuth2PasswordRequestForm

from api.deps import CheckedUserDep, RawSessionDep, SettingsDep
from api.security import (
    NotAuthenticatedError,
    clear_login_cookies,
    issue_token,
    set_login_cookies,
)
from api.web import base_path, home_path, path_for, safe_next, templates
from geo.accounts import ROLE_LABELS, authenticate

router = APIRouter(tags=["auth"])


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
            back = safe_next(next_page)
            query = urlencode({"error": 1, **({"next": back} if back else {})})
            return RedirectResponse(f"{path_for(request, 'login_page')}?{query}", status_code=303)
        raise NotAuthenticatedError("用户名或密码错误", where="username")
    auth = settings.auth
    token, csrf, max_age = issue_token(auth, account.name, account.role, account.area, account.worker_id)
    home = safe_next(next_page) or home_path(request, account.role)
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
def login_page(
    request: Request,
    settings: SettingsDep,
    next_page: Annotated[str | None, Query(alias="next", max_length=500)] = None,
    error: Annotated[str | None, Query(max_length=10)] = None,
) -> Response:
    """The login page (Chinese, no script, no external assets); it returns to `next` after login."""
    context = {"next": safe_next(next_page) or "", "error": error is not None, "base": base_path(request)}
    page = templates(settings.api.web_dir / "templates").TemplateResponse(request, "login.html", context)
    page.headers["Cache-Control"] = "no-store"
    return page
