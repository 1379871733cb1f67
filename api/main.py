"""The FastAPI application factory."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import Depends, FastAPI
from fastapi.staticfiles import StaticFiles

from api.deps import get_current_user
from api.deps_text import check_request_text
from api.errors import install_error_handlers
from api.limits import BodyLimitMiddleware
from api.replica import LsnCookieMiddleware
from api.routers import analytics as analytics_router
from api.routers import audit as audit_router
from api.routers import auth as auth_router
from api.routers import board as board_router
from api.routers import categories as categories_router
from api.routers import events as events_router
from api.routers import exports as exports_router
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
from api.routers import workers as workers_router
from api.settings import Settings, get_settings
from geo.db.engine import make_engine, make_sessionmaker
from layers.builtin import default_registry
from layers.registry import LayerRegistry

# Every route of these routers needs a logged-in user (bearer header or login cookie); routes that
# take the user as a parameter get the same (cached) result. Open: /healthz, /login, /api/auth/token,
# /static, /docs and /openapi.json.
AUTHENTICATED = [Depends(get_current_user)]


def create_app(settings: Settings | None = None, registry: LayerRegistry | None = None) -> FastAPI:
    """Build the app on `settings` (default: the environment's) and a layer registry (default: the
    built-in layers); both stay on app.state. The lifespan owns the engine. Refuses placeholder secrets
    outside dev/test."""
    settings = settings or get_settings()
    settings.auth.check_secret()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        engine = make_engine(settings.db)
        replica = make_engine(settings.db, replica=True) if settings.db.replica_url else None
        app.state.engine, app.state.replica_engine = engine, replica
        app.state.sessionmaker = make_sessionmaker(engine)
        try:
            yield
        finally:
            engine.dispose()
            if replica is not None:
                replica.dispose()

    app = FastAPI(
        title="gridgov 网格化社会治理地图",
        description="Grid governance map console: grids, cases, workers and risk on PostGIS.",
        version="0.1.0",
        root_path=settings.api.root_path,
        lifespan=lifespan,
        dependencies=[Depends(check_request_text)],  # no control characters in any parameter (deps_text)
    )
    app.state.settings = settings
    app.state.registry = registry or default_registry()
    install_error_handlers(app)
    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.api.max_body_bytes)
    app.add_middleware(LsnCookieMiddleware, sticky_s=settings.db.replica_sticky_s)  # reads after a write
    app.include_router(events_router.router, dependencies=AUTHENTICATED)
    app.include_router(health.router)
    app.include_router(auth_router.router)
    app.include_router(maps_router.router, dependencies=AUTHENTICATED)
    app.include_router(ogc_router.router, dependencies=AUTHENTICATED)
    app.include_router(tiles_router.router, dependencies=AUTHENTICATED)
    app.include_router(workers_router.router, dependencies=AUTHENTICATED)
    app.include_router(board_router.router, dependencies=AUTHENTICATED)
    app.include_router(audit_router.router, dependencies=AUTHENTICATED)
    app.include_router(analytics_router.router, dependencies=AUTHENTICATED)
    app.include_router(reports_router.router, dependencies=AUTHENTICATED)
    app.include_router(exports_router.router, dependencies=AUTHENTICATED)
    app.include_router(photos_router.router, dependencies=AUTHENTICATED)
    app.include_router(categories_router.router, dependencies=AUTHENTICATED)
    app.include_router(summary_router.router, dependencies=AUTHENTICATED)
    app.include_router(live_router.router, dependencies=AUTHENTICATED)
    app.include_router(vocabulary_router.router, dependencies=AUTHENTICATED)
    app.include_router(pages_router.router)  # pages redirect to /login themselves
    static = settings.api.web_dir / "static"
    if static.is_dir():
        app.mount("/static", StaticFiles(directory=static), name="static")
    return app
