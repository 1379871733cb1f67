"""The console's HTML pages (Jinja2 shells from web/templates; the data comes from the JSON APIs).

`/` sends a visitor to /login or to their role's page. A /console page asked for without a valid login
redirects to /login?next=... instead of answering 401 JSON, because a person in a browser asked.

Every page carries two JSON data blocks that never execute: `gg-vocab`, the product's words
(geo.vocabulary, the same JSON as GET /api/vocabulary), and `gg-clock`, the county's time zone
(geo.clock.zone()), in which the page shows every time. A page reopened without signal keeps both.
"""

import json
from functools import lru_cache
from pathlib import Path
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from api.deps import CurrentUser, RawSessionDep, SettingsDep, check_account, user_of_request
from api.security import AuthError, AuthSettings
from api.settings import Settings
from geo import clock
from geo.accounts import ROLE_LABELS
from geo.errors import NotFoundError
from geo.vocabulary import vocabulary

router = APIRouter(include_in_schema=False)

# Each role's start page (auth.HOME sends a browser login to the same places).
HOME = {
    "commander": "/console/commander",
    "dispatcher": "/console/dispatcher",
    "planner": "/console/planner",
    "grid_worker": "/console/worker",
    "admin": "/console/commander",
}
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


def _user_or_none(request: Request, session: RawSessionDep, auth: AuthSettings) -> CurrentUser | None:
    """The logged-in user, or None where an API would answer 401/403."""
    try:
        return check_account(session, user_of_request(request, auth))
    except AuthError:
        return None


def _to_login(request: Request) -> RedirectResponse:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse(f"/login?next={quote(target, safe='')}", status_code=303)


@router.get("/")
def root(request: Request, session: RawSessionDep, settings: SettingsDep) -> Response:
    """Logged in: the role's page; otherwise the login page."""
    user = _user_or_none(request, session, settings.auth)
    return RedirectResponse(HOME.get(user.role, "/login") if user else "/login", status_code=303)


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


@router.get("/console/{view}", response_class=HTMLResponse)
def console_page(
    view: str,
    request: Request,
    session: RawSessionDep,
    settings: SettingsDep,
) -> Response:
    """One view of the console, rendered in the shared shell (base.html)."""
    if view not in VIEWS:
        raise NotFoundError(f"没有页面 {view}", where="view")
    user = _user_or_none(request, session, settings.auth)
    if user is None:
        return _to_login(request)
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
        **(_field_page(settings, request) if view == "worker" else {}),
    }
    response = _templates(directory).TemplateResponse(request, template, context)
    response.headers["Cache-Control"] = "no-store"
    return response
