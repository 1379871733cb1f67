"""The FastAPI application factory."""

import gc
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager

from fastapi import Depends, FastAPI, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from sqlalchemy import Engine
from sqlalchemy.exc import OperationalError

from api.deps import db_slots, get_current_user
from api.deps_text import check_request_text
from api.errors import install_error_handlers
from api.headers import SecurityHeadersMiddleware, nonce_of, origin_of, with_nonce
from api.limits import BodyLimitMiddleware
from api.permissions import require
from api.replica import LsnCookieMiddleware
from api.routers import admin as admin_router
from api.routers import analytics as analytics_router
from api.routers import assessments as assessments_router
from api.routers import audit as audit_router
from api.routers import auth as auth_router
from api.routers import board as board_router
from api.routers import categories as categories_router
from api.routers import events as events_router
from api.routers import exports as exports_router
from api.routers import fieldwork as fieldwork_router
from api.routers import health
from api.routers import live as live_router
from api.routers import maps as maps_router
from api.routers import ogc as ogc_router
from api.routers import pages as pages_router
from api.routers import photos as photos_router
from api.routers import reports as reports_router
from api.routers import summary as summary_router
from api.routers import tiles as tiles_router
from api.routers import vocabulary as vocabulary_router
from api.routers import whistles as whistles_router
from api.routers import workers as workers_router
from api.settings import Settings, get_settings
from api.web import BasePathMiddleware
from geo.db.engine import login_role_problem, make_engine, make_sessionmaker
from layers.builtin import default_registry
from layers.registry import LayerRegistry

log = logging.getLogger("gridgov.api")
# Every route of these routers needs a logged-in user (bearer header or login cookie) of a business
# role: the three administrators read no cases (三员分立). Routes that take the user as a parameter get
# the same (cached) result. Open: /healthz, /login, /api/auth/token, /static, /docs and /openapi.json.
AUTHENTICATED = [Depends(get_current_user)]
BUSINESS = [require("read")]


def login_problem_message(problem: str) -> str:
    """What to do when the app's database login is privileged."""
    return (
        f"refusing to serve: the app's database login ({problem}) would not be bound by row-level "
        "security. Set DATABASE_URL to the app's own login (e.g. postgresql://gridgov_web@host/db) and "
        "GRID_DB_OWNER_URL to the owner's; `gridgov migrate` creates the login (see README, Security)."
    )


def check_login(engine: Engine) -> None:
    """RuntimeError when the engine's login is a superuser, bypasses RLS or owns the tables. A database
    that does not answer yet is not refused here: requests answer 503 until it does."""
    try:
        with engine.connect() as conn:
            problem = login_role_problem(conn)
    except OperationalError as exc:
        log.warning("database not reachable at start (%s); the login is checked when it is", exc)
        return
    if problem:
        raise RuntimeError(login_problem_message(problem))


def _docs(app: FastAPI) -> None:
    """Swagger UI at /docs from the vendored assets (web/static/vendor/swagger-ui: nothing from a CDN), its
    inline script carrying the response's CSP nonce."""

    @app.get("/docs", include_in_schema=False)
    def docs(request: Request) -> HTMLResponse:
        base = str(request.scope.get("root_path", "")).rstrip("/")
        vendor = f"{base}/static/vendor/swagger-ui"
        page = get_swagger_ui_html(
            openapi_url=base + (app.openapi_url or "/openapi.json"),
            title=f"{app.title} - docs",
            swagger_js_url=f"{vendor}/swagger-ui-bundle.js",
            swagger_css_url=f"{vendor}/swagger-ui.css",
            swagger_favicon_url=f"{vendor}/favicon-32x32.png",
        )
        return HTMLResponse(with_nonce(bytes(page.body).decode(), nonce_of(request)))


# The routers in the order their routes match, each with the dependencies every route of it runs.
_ROUTERS = (
    (events_router.router, BUSINESS),
    (health.router, []),
    (auth_router.router, []),
    (maps_router.router, BUSINESS),
    (ogc_router.router, BUSINESS),
    (tiles_router.router, BUSINESS),
    (workers_router.router, BUSINESS),
    (fieldwork_router.router, BUSINESS),
    (board_router.router, BUSINESS),
    (whistles_router.router, BUSINESS),
    (audit_router.router, AUTHENTICATED),
    (admin_router.router, AUTHENTICATED),
    (analytics_router.router, BUSINESS),
    (reports_router.router, BUSINESS),
    (assessments_router.router, BUSINESS),
    (exports_router.router, BUSINESS),
    (photos_router.router, BUSINESS),
    (categories_router.router, BUSINESS),
    (summary_router.router, BUSINESS),
    (live_router.router, BUSINESS),
    (vocabulary_router.router, AUTHENTICATED),
    (pages_router.router, []),  # pages redirect to /login themselves
)


def create_app(settings: Settings | None = None, registry: LayerRegistry | None = None) -> FastAPI:
    """Build the app on `settings` (default: the environment's) and a layer registry (default: the
    built-in layers); both stay on app.state. The lifespan owns the engine and refuses a privileged
    database login; building refuses a public, known or short signing secret (in every mode)."""
    settings = settings or get_settings()
    settings = settings.but(auth=settings.auth.with_secret())
    app = _new_app(settings)
    app.state.settings = settings
    app.state.registry = registry or default_registry()
    install_error_handlers(app)
    _add_middleware(app, settings)
    _docs(app)
    for router, dependencies in _ROUTERS:
        app.include_router(router, dependencies=dependencies)
    _mount_static(app, settings)
    return app


def _new_app(settings: Settings) -> FastAPI:
    """The bare FastAPI app: titles, the lifespan, our own docs routes, the check of every parameter."""
    return FastAPI(
        title="gridgov 网格化社会治理地图",
        description="Grid governance map console: grids, cases, workers and risk on PostGIS.",
        version="0.1.0",
        lifespan=_lifespan(settings),
        docs_url=None,
        redoc_url=None,
        dependencies=[Depends(check_request_text)],  # no control characters in any parameter (deps_text)
    )


def _lifespan(settings: Settings) -> Callable[[FastAPI], AbstractAsyncContextManager[None]]:
    """The app's lifespan: its database slots and engines (primary, replica if set), logins checked."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.db_slots = db_slots(settings)
        engine = make_engine(settings.db)
        replica = make_engine(settings.db, replica=True) if settings.db.replica_url else None
        for each in (engine, replica):
            if each is not None:
                check_login(each)
        app.state.engine, app.state.replica_engine = engine, replica
        app.state.sessionmaker = make_sessionmaker(engine)
        freeze_startup_heap()
        try:
            yield
        finally:
            engine.dispose()
            if replica is not None:
                replica.dispose()

    return lifespan


_heap_frozen = False


def freeze_startup_heap() -> None:
    """Once a process: collect, then move what is alive (modules, the app, its settings, registry and
    pools: ~220,000 objects) out of the garbage collector's reach for good (gc.freeze).

    Each full collection walked them all: 100-110 ms with the GIL held, every few seconds under load.
    In bench/bench_steady.py such a pause put 150 requests/s at p95 200-470 ms (a backlog of hundreds
    of milliseconds behind each pause); frozen, the same rate ran at p95 17-19 ms, and p50 13.5 -> 10
    ms. Only the first app of a process freezes: tests build many apps, and a frozen app that is
    dropped later would never be collected."""
    global _heap_frozen  # noqa: PLW0603 - a fact about the process, not about one app
    if not _heap_frozen:
        gc.collect()
        gc.freeze()
        _heap_frozen = True


def _add_middleware(app: FastAPI, settings: Settings) -> None:
    """Body limit, the base path behind a proxy, security headers, the replica's read-after-write cookie."""
    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.api.max_body_bytes)
    if settings.api.root_path:  # GRID_API_ROOT_PATH: behind a reverse proxy, under a path prefix
        app.add_middleware(BasePathMiddleware, base=settings.api.root_path)
    basemap = origin_of(settings.maps.basemap_url)
    app.add_middleware(SecurityHeadersMiddleware, img_hosts=(basemap,) if basemap else ())
    app.add_middleware(LsnCookieMiddleware, sticky_s=settings.db.replica_sticky_s)  # reads after a write


def _mount_static(app: FastAPI, settings: Settings) -> None:
    """The console's vendored assets under /static (web/static: nothing is loaded from another host)."""
    static = settings.api.web_dir / "static"
    if static.is_dir():
        app.mount("/static", StaticFiles(directory=static), name="static")
