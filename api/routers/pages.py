"""The console's HTML pages (Jinja2 shells from web/templates; the data comes from the JSON APIs).

`/` sends a visitor to /login or to their role's page. A /console page asked for without a valid login
redirects to /login?next=... instead of answering 401 JSON, because a person in a browser asked; a login
that must change its password first is sent to /password, and the three administrators (who read no
cases) to /account, their page.

Every page carries two JSON data blocks that never execute: `gg-vocab`, the product's words
(geo.vocabulary, the same JSON as GET /api/vocabulary), and `gg-clock`, the county's time zone
(geo.clock.zone()), in which the page shows every time. A page reopened without signal keeps both.
"""

from functools import lru_cache
from pathlib import Path
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from starlette.concurrency import run_in_threadpool

from api.deps import CurrentUser, RawSessionDep, SettingsDep, check_account, touch_if_due, user_of_request
from api.routers.auth import HOME, PASSWORD_PAGE
from api.security import AuthError, AuthSettings
from geo import clock
from geo.accounts import BUSINESS_ROLES, ROLE_LABELS
from geo.errors import NotFoundError, PasswordChangeRequiredError
from geo.vocabulary import vocabulary

router = APIRouter(include_in_schema=False)

# view -> (template, title); a view whose template is missing is 404 (planner/worker come separately).
VIEWS = {
    "commander": ("commander.html", "指挥大屏"),
    "dispatcher": ("dispatcher.html", "调度台"),
    "planner": ("planner.html", "研判分析"),
    "worker": ("worker.html", "网格员"),
}


@lru_cache
def _templates(directory: Path) -> Jinja2Templates:
    templates = Jinja2Templates(directory=str(directory))
    # `tojson` still escapes <, >, & and ' (safe inside <script>); Chinese stays readable in the page.
    templates.env.policies["json.dumps_kwargs"] = {"sort_keys": True, "ensure_ascii": False}
    return templates


def _page_data() -> dict[str, object]:
    """What every console page embeds: the vocabulary, its Chinese tables for the server-drawn
    text, and the county's zone."""
    words = vocabulary()
    return {"vocabulary": words, "labels": words["zh"], "clock": {"zone": clock.zone().key}}


class _MustChangePassword(Exception):
    """The login may only change its password."""


async def _user_or_none(request: Request, session: RawSessionDep, auth: AuthSettings) -> CurrentUser | None:
    """The logged-in user, or None where an API would answer 401/403; _MustChangePassword when the
    login may only change its password."""
    try:
        user = user_of_request(request, auth)
        await touch_if_due(session, user)
        return await run_in_threadpool(check_account, session, user)
    except AuthError:
        return None
    except PasswordChangeRequiredError:
        raise _MustChangePassword from None


def _to_login(request: Request) -> RedirectResponse:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse(f"/login?next={quote(target, safe='')}", status_code=303)


@router.get("/")
async def root(request: Request, session: RawSessionDep, settings: SettingsDep) -> Response:
    """Logged in: the role's page; otherwise the login page."""
    try:
        user = await _user_or_none(request, session, settings.auth)
    except _MustChangePassword:
        return RedirectResponse(PASSWORD_PAGE, status_code=303)
    return RedirectResponse(HOME.get(user.role, "/account") if user else "/login", status_code=303)


@router.get("/console/{view}", response_class=HTMLResponse)
async def console_page(
    view: str,
    request: Request,
    session: RawSessionDep,
    settings: SettingsDep,
) -> Response:
    """One view of the console, rendered in the shared shell (base.html)."""
    if view not in VIEWS:
        raise NotFoundError(f"没有页面 {view}", where="view")
    try:
        user = await _user_or_none(request, session, settings.auth)
    except _MustChangePassword:
        return RedirectResponse(PASSWORD_PAGE, status_code=303)
    if user is None:
        return _to_login(request)
    if user.role not in BUSINESS_ROLES:
        return RedirectResponse("/account", status_code=303)
    template, title = VIEWS[view]
    directory = settings.api.web_dir / "templates"
    if not (directory / template).is_file():
        raise NotFoundError(f"页面 {view} 尚未提供", where="view")
    context = {
        "view": view,
        "title": title,
        "user": user,
        "role_label": ROLE_LABELS.get(user.role, user.role),
        "home": HOME.get(user.role, "/"),
        **_page_data(),
    }
    response = _templates(directory).TemplateResponse(request, template, context)
    response.headers["Cache-Control"] = "no-store"
    return response


@router.get("/account", response_class=HTMLResponse)
async def account_page(request: Request, session: RawSessionDep, settings: SettingsDep) -> Response:
    """The account page: who is logged in, change password, log out everywhere; for the three
    administrators also their work (accounts, locks, the audit log)."""
    try:
        user = await _user_or_none(request, session, settings.auth)
    except _MustChangePassword:
        return RedirectResponse(PASSWORD_PAGE, status_code=303)
    if user is None:
        return _to_login(request)
    context = {
        "view": "account",
        "title": "账号与安全",
        "user": user,
        "role_label": ROLE_LABELS.get(user.role, user.role),
        "home": HOME.get(user.role, "/account"),
        **_page_data(),
    }
    response = _templates(settings.api.web_dir / "templates").TemplateResponse(
        request, "account.html", context
    )
    response.headers["Cache-Control"] = "no-store"
    return response
