"""What the console's pages share: the templates, the app's base path, and each role's start page.

Behind a reverse proxy the app lives under a prefix (GRID_API_ROOT_PATH, e.g. /gridgov): every path a
page, a script or a redirect names is the app's path under that prefix. Templates take their URLs
from `url_for(...).path`; the page hands the prefix to the scripts (`<body data-base>`, read by
common.js GG.url); redirects here are built from the route names, never from a literal path.
"""

from functools import lru_cache
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.templating import Jinja2Templates
from starlette.routing import get_route_path

# Each business role's start page (a console view); the three administrators (who read no cases) start
# on the account page, their workplace.
HOME_VIEW = {
    "commander": "commander",
    "dispatcher": "dispatcher",
    "planner": "planner",
    "grid_worker": "worker",
    "department": "department",
}
_UNSAFE_NEXT = frozenset("\\\t\r\n ")


@lru_cache
def templates(directory: Path) -> Jinja2Templates:
    """The console's Jinja templates (web/templates)."""
    found = Jinja2Templates(directory=str(directory))
    # `tojson` still escapes <, >, & and ' (safe inside <script>); Chinese stays readable in the page.
    found.env.policies["json.dumps_kwargs"] = {"sort_keys": True, "ensure_ascii": False}
    return found


def base_path(request: Request) -> str:
    """The prefix the app is served under ('' at the root, '/gridgov' behind a proxy)."""
    return str(request.scope.get("root_path", "")).rstrip("/")


def path_for(request: Request, name: str, **params: str) -> str:
    """The path (with the base) of a named route: path_for(request, "console_page", view="planner")."""
    return str(request.url_for(name, **params).path)


def home_path(request: Request, role: str) -> str:
    """Where a role starts: its console view, or the account page."""
    view = HOME_VIEW.get(role)
    return path_for(request, "console_page", view=view) if view else path_for(request, "account_page")


def current_path(request: Request) -> str:
    """This request's page as the browser addresses it (base, path and query), to come back to."""
    query = f"?{request.url.query}" if request.url.query else ""
    return base_path(request) + get_route_path(request.scope) + query


def safe_next(target: str | None) -> str | None:
    """A path of this site to return to after logging in; anything else (another host, //x, \\x,
    whitespace a browser would strip into //x, control characters) is dropped."""
    if not target or not target.startswith("/") or target.startswith("//"):
        return None
    if any(ch in _UNSAFE_NEXT or ord(ch) < 0x20 or ord(ch) == 0x7F for ch in target):
        return None
    return target


class BasePathMiddleware:
    """Serve the app under its base path whichever way the proxy in front passes requests on.

    ASGI wants `path` to hold the base (`root_path`) too; a proxy that strips the prefix (nginx
    `proxy_pass http://app/;`) sends `/api/board` for `/gridgov/api/board`, so the base is put back
    here, and a request that kept its prefix is left as it is. Routes, mounts (/static) and
    `url_for` then agree.
    """

    def __init__(self, app: Any, base: str) -> None:
        self.app = app
        self.base = base.rstrip("/")

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        """Give http and websocket scopes the base as root_path and at the start of path."""
        if self.base and scope["type"] in ("http", "websocket"):
            path = scope["path"]
            scope = {**scope, "root_path": self.base}
            if path != self.base and not path.startswith(self.base + "/"):
                scope["path"] = self.base + path
                scope["raw_path"] = scope["path"].encode()
        await self.app(scope, receive, send)
