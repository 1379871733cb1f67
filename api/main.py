"""The FastAPI application factory."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from api.errors import install_error_handlers
from api.routers import health
from api.routers import maps as maps_router
from api.routers import ogc as ogc_router
from api.routers import tiles as tiles_router
from api.routers import board as board_router
from api.routers import events as events_router
from api.routers import workers as workers_router
from api.settings import ApiSettings, get_api_settings
from geo.db import make_engine, make_sessionmaker
from geo.settings import DbSettings, get_db_settings


def create_app(api_settings: ApiSettings | None = None, db_settings: DbSettings | None = None) -> FastAPI:
    """Build the app; the lifespan owns the engine."""
    api_settings = api_settings or get_api_settings()
    db_settings = db_settings or get_db_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        engine = make_engine(db_settings)
        app.state.engine = engine
        app.state.sessionmaker = make_sessionmaker(engine)
        yield
        engine.dispose()

    app = FastAPI(
        title="gridgov 网格化社会治理地图",
        description="Grid governance map console: grids, cases, workers and risk on PostGIS.",
        version="0.1.0",
        root_path=api_settings.root_path,
        lifespan=lifespan,
    )
    app.state.api_settings = api_settings
    install_error_handlers(app)
    app.include_router(health.router)
    app.include_router(maps_router.router)
    app.include_router(ogc_router.router)
    app.include_router(tiles_router.router)
    app.include_router(events_router.router)
    app.include_router(workers_router.router)
    app.include_router(board_router.router)
    static = api_settings.web_dir / "static"
    if static.is_dir():
        app.mount("/static", StaticFiles(directory=static), name="static")
    return app
