"""The console's HTML pages (Jinja2 shells from web/templates; the data comes from the JSON APIs).

`/` sends a visitor to /login or to their role's page. A /console page asked for without a valid login
redirects to /login?next=... instead of answering 401 JSON, because a person in a browser asked; a login
that must change its password first is sent to the password page, and the three administrators (who
read no cases) to /account, their page. A page the account's role has no business on (permission
view_<page>, geo.accounts) answers 403 with a page that says so and links to the role's own desk, never
an empty desk.

Every page carries two JSON data blocks that never execute: `gg-vocab`, the product's words
(geo.vocabulary, the same JSON as GET /api/vocabulary), and `gg-clock`, the county's time zone
(geo.clock.zone()), in which the page shows every time. A page reopened without signal keeps both.
The page holds no inline script (the Content-Security-Policy forbids it); the app's base path
reaches the scripts as `<body data-base>` (api.web).
"""

import json
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from api.deps import CurrentUser, RawSessionDep, SettingsDep, check_account, request_user, touch_if_due
from api.permissions import allowed
from api.routing import ReadRoute
from api.security import AuthError
from api.settings import Settings
from api.web import HOME_VIEW, base_path, current_path, home_path, path_for, templates
from geo import clock
from geo.accounts import BUSINESS_ROLES, ROLE_LABELS
from geo.errors import NotFoundError, PasswordChangeRequiredError
from geo.vocabulary import vocabulary

router = APIRouter(route_class=ReadRoute, include_in_schema=False)

# view -> (template, title); each view needs the permission view_<view>.
VIEWS = {
    "commander": ("commander.html", "指挥大屏"),
    "dispatcher": ("dispatcher.html", "调度台"),
    "planner": ("planner.html", "研判分析"),
    "risk": ("risk.html", "三色三单"),
    "chronic": ("chronic.html", "积案与重复纠纷"),
    "worker": ("worker.html", "网格员"),
    "department": ("department.html", "部门工作台"),
}
# The planner's pages, linked from one another.
PLANNER_VIEWS = ("planner", "risk", "chronic")


def _page_data() -> dict[str, object]:
    """What every console page embeds: the vocabulary, its Chinese tables for the server-drawn
    text, and the county's zone."""
    words = vocabulary()
    return {"vocabulary": words, "labels": words["zh"], "clock": {"zone": clock.zone().key}}


class _MustChangePassword(Exception):
    """The login may only change its password."""


async def _user_or_none(request: Request, session: RawSessionDep) -> CurrentUser | None:
    """The logged-in user, or None where an API would answer 401/403; _MustChangePassword when the
    login may only change its password."""
    try:
        user = request_user(request)
        await touch_if_due(session, user)
        return await run_in_threadpool(check_account, session, user)
    except AuthError:
        return None
    except PasswordChangeRequiredError:
        raise _MustChangePassword from None


async def _visitor_or_redirect(request: Request, session: RawSessionDep) -> CurrentUser | RedirectResponse:
    """The logged-in user, or where a page sends them instead: the password change when the login may
    only change its password, else the login page (which brings them back)."""
    try:
        user = await _user_or_none(request, session)
    except _MustChangePassword:
        return _to_password(request)
    return user if user is not None else _to_login(request)


def _to_login(request: Request) -> RedirectResponse:
    """To the login page, which brings the visitor back here (same-site path, with the base)."""
    target = path_for(request, "login_page") + "?next=" + quote(current_path(request), safe="")
    return RedirectResponse(target, status_code=303)


def _to_password(request: Request) -> RedirectResponse:
    return RedirectResponse(path_for(request, "password_page"), status_code=303)


@router.get("/")
async def root(request: Request, session: RawSessionDep, settings: SettingsDep) -> Response:
    """Logged in: the role's page; otherwise the login page."""
    try:
        user = await _user_or_none(request, session)
    except _MustChangePassword:
        return _to_password(request)
    target = home_path(request, user.role) if user else path_for(request, "login_page")
    return RedirectResponse(target, status_code=303)


# The phone page's offline shell (web/static/sw.js) is served from /console/ so that its scope covers the
# page; it and the manifest name every other URL relative to themselves, so a GRID_API_ROOT_PATH prefix
# needs no change in them.
@router.get("/console/sw.js", name="worker_sw")
def worker_service_worker(settings: SettingsDep) -> Response:
    """The service worker of the grid worker's page: the page, scripts, styles, tasks and map open offline."""
    path = settings.api.web_dir / "static" / "sw.js"
    if not path.is_file():
        raise NotFoundError("离线脚本未提供", where="sw.js")
    headers = {"Cache-Control": "no-cache", "Service-Worker-Allowed": "./"}
    return Response(path.read_bytes(), media_type="text/javascript", headers=headers)


MANIFEST = {
    "name": "网格员 · 网格化社会治理指挥平台",
    "short_name": "网格员",
    "lang": "zh-CN",
    "start_url": "worker",
    "scope": "./",
    "display": "standalone",
    "background_color": "#ffffff",
    "theme_color": "#6a51a3",
    "icons": [{"src": "../static/img/worker-icon.svg", "sizes": "any", "type": "image/svg+xml"}],
}


@router.get("/console/manifest.webmanifest", name="worker_manifest")
def worker_manifest() -> Response:
    """The web app manifest of the grid worker's page (URLs relative to itself)."""
    body = json.dumps(MANIFEST, ensure_ascii=False).encode()
    return Response(body, media_type="application/manifest+json", headers={"Cache-Control": "no-cache"})


def _field_page(settings: Settings, request: Request) -> dict[str, object]:
    """What the phone page needs beyond the shell: the fix cadence, batch size, root path and basemap."""
    f, root = settings.fieldwork, request.scope.get("root_path", "").rstrip("/")
    basemap = (
        f"{root}/maps/basemap/{{z}}/{{x}}/{{y}}.png"
        if settings.maps.basemap_dir
        else settings.maps.basemap_url
    )
    return {
        "root": root,
        "basemap": basemap,
        "field": {
            "fix_every_s": f.fix_every_s,
            "fix_min_interval_s": f.fix_min_interval_s,
            "max_batch": f.max_batch,
        },
    }


def _context(request: Request, view: str, title: str, user: CurrentUser) -> dict[str, object]:
    return {
        "view": view,
        "title": title,
        "user": user,
        "role_label": ROLE_LABELS.get(user.role, user.role),
        "home": home_path(request, user.role),
        "base": base_path(request),
        "planner_views": [(v, VIEWS[v][1]) for v in PLANNER_VIEWS if allowed(user, f"view_{v}")],
        **_page_data(),
    }


def _page(
    request: Request, settings: SettingsDep, template: str, context: dict, status: int = 200
) -> Response:
    response = templates(settings.api.web_dir / "templates").TemplateResponse(
        request, template, context, status_code=status
    )
    response.headers["Cache-Control"] = "no-store"
    return response


@router.get("/console/{view}", response_class=HTMLResponse)
async def console_page(
    view: str, request: Request, session: RawSessionDep, settings: SettingsDep
) -> Response:
    """One view of the console, rendered in the shared shell (base.html); 403 with a clear page for a
    role that has no business there."""
    if view not in VIEWS:
        raise NotFoundError(f"没有页面 {view}", where="view")
    user = await _visitor_or_redirect(request, session)
    if isinstance(user, Response):
        return user
    if user.role not in BUSINESS_ROLES:
        return RedirectResponse(path_for(request, "account_page"), status_code=303)
    return _view_page(request, settings, view, user)


def _view_page(request: Request, settings: Settings, view: str, user: CurrentUser) -> Response:
    """The view's page for a user allowed it, else the 403 page pointing to the role's own desk."""
    template, title = VIEWS[view]
    if not (settings.api.web_dir / "templates" / template).is_file():
        raise NotFoundError(f"页面 {view} 尚未提供", where="view")
    context = _context(request, view, title, user)
    if view == "worker":
        context |= _field_page(settings, request)
    if allowed(user, f"view_{view}"):
        return _page(request, settings, template, context)
    own = HOME_VIEW.get(user.role)
    context["own_title"] = VIEWS[own][1] if own in VIEWS else ""
    return _page(request, settings, "refused.html", context, status=403)


@router.get("/account", response_class=HTMLResponse)
async def account_page(request: Request, session: RawSessionDep, settings: SettingsDep) -> Response:
    """The account page: who is logged in, change password, log out everywhere; for the three
    administrators also their work (accounts, locks, the audit log)."""
    user = await _visitor_or_redirect(request, session)
    if isinstance(user, Response):
        return user
    return _page(request, settings, "account.html", _context(request, "account", "账号与安全", user))
