"""The console's HTML pages (Jinja2 shells from web/templates; the data comes from the JSON APIs).

`/` sends a visitor to /login or to their role's page. A /console page asked for without a valid login
redirects to /login?next=... instead of answering 401 JSON, because a person in a browser asked. A
page the account's role has no business on (permission view_<page>, geo.accounts) answers 403 with a
page that says so and links to the role's own desk, never an empty desk.

Every page carries two JSON data blocks that never execute: `gg-vocab`, the product's words
(geo.vocabulary, the same JSON as GET /api/vocabulary), and `gg-clock`, the county's time zone
(geo.clock.zone()), in which the page shows every time. A page reopened without signal keeps both.
The page holds no inline script (a strict Content-Security-Policy can hold); the app's base path
reaches the scripts as `<body data-base>` (api.web).
"""

from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from api.deps import CurrentUser, RawSessionDep, SettingsDep, check_account, user_of_request
from api.permissions import allowed
from api.security import AuthError, AuthSettings
from api.web import HOME_VIEW, base_path, current_path, home_path, path_for, templates
from geo import clock
from geo.accounts import ROLE_LABELS
from geo.errors import NotFoundError
from geo.vocabulary import vocabulary

router = APIRouter(include_in_schema=False)

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


def _user_or_none(request: Request, session: RawSessionDep, auth: AuthSettings) -> CurrentUser | None:
    """The logged-in user, or None where an API would answer 401/403."""
    try:
        return check_account(session, user_of_request(request, auth))
    except AuthError:
        return None


def _to_login(request: Request) -> RedirectResponse:
    """To the login page, which brings the visitor back here (same-site path, with the base)."""
    target = path_for(request, "login_page") + "?next=" + quote(current_path(request), safe="")
    return RedirectResponse(target, status_code=303)


@router.get("/")
def root(request: Request, session: RawSessionDep, settings: SettingsDep) -> Response:
    """Logged in: the role's page; otherwise the login page."""
    user = _user_or_none(request, session, settings.auth)
    target = home_path(request, user.role) if user else path_for(request, "login_page")
    return RedirectResponse(target, status_code=303)


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


@router.get("/console/{view}", response_class=HTMLResponse)
def console_page(view: str, request: Request, session: RawSessionDep, settings: SettingsDep) -> Response:
    """One view of the console, rendered in the shared shell (base.html); 403 with a clear page for a
    role that has no business there."""
    if view not in VIEWS:
        raise NotFoundError(f"没有页面 {view}", where="view")
    user = _user_or_none(request, session, settings.auth)
    if user is None:
        return _to_login(request)
    template, title = VIEWS[view]
    directory = settings.api.web_dir / "templates"
    if not (directory / template).is_file():
        raise NotFoundError(f"页面 {view} 尚未提供", where="view")
    context = _context(request, view, title, user)
    status = 200
    if not allowed(user, f"view_{view}"):
        template, status = "refused.html", 403
        own = HOME_VIEW.get(user.role)
        context["own_title"] = VIEWS[own][1] if own in VIEWS else ""
    response = templates(directory).TemplateResponse(request, template, context, status_code=status)
    response.headers["Cache-Control"] = "no-store"
    return response
