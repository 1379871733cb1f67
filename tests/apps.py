"""The app under test, built the way production builds it: create_app(settings, registry).

app = app_for(url)                                   # every concern from its defaults (no .env)
app = app_for(url, layers=LayerSettings(_env_file=None, tile_cache_mb=0), pool_size=8)
"""

from typing import Any

from fastapi import FastAPI

from api.main import create_app
from api.settings import Settings
from geo.settings import DbSettings
from layers.registry import LayerRegistry


def settings_for(url: str, *, pool_size: int | None = None, **concerns: Any) -> Settings:
    """Settings on the database at `url`, reading no .env file; `concerns` replace whole concerns."""
    db = {"pool_size": pool_size} if pool_size else {}
    return Settings.load(env_file=None, db=DbSettings(_env_file=None, url=url, **db), **concerns)


def app_for(url: str, registry: LayerRegistry | None = None, **kw: Any) -> FastAPI:
    """The app on the database at `url` (see settings_for)."""
    return create_app(settings_for(url, **kw), registry)
