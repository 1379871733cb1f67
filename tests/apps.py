"""The app under test, built the way production builds it: create_app(settings, registry).

app = app_for(url)                                   # every concern from its defaults (no .env)
app = app_for(url, layers=LayerSettings(_env_file=None, tile_cache_mb=0), pool_size=8)

`url` is the owner's (the fixtures' databases are the owner's); the app logs in as APP_LOGIN, the
login `gridgov migrate` makes (tests.conftest makes it on the test server), which is neither superuser
nor owner, as in production.
"""

from typing import Any
from urllib.parse import urlsplit, urlunsplit

from fastapi import FastAPI

from api.main import create_app
from api.settings import Settings
from geo.settings import DbSettings
from layers.registry import LayerRegistry

APP_LOGIN = "gridgov_web"


def app_url(url: str, login: str = APP_LOGIN) -> str:
    """The same database's URL, logging in as the app's login."""
    parts = urlsplit(url)
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit(parts._replace(netloc=f"{login}@{host}"))


def settings_for(url: str, *, pool_size: int | None = None, **concerns: Any) -> Settings:
    """Settings on the database at `url` (the owner's; the app logs in as APP_LOGIN), reading no .env
    file; `concerns` replace whole concerns."""
    db = {"pool_size": pool_size} if pool_size else {}
    return Settings.load(
        env_file=None, db=DbSettings(_env_file=None, url=app_url(url), owner_url=url, **db), **concerns
    )


def app_for(url: str, registry: LayerRegistry | None = None, **kw: Any) -> FastAPI:
    """The app on the database at `url` (see settings_for)."""
    return create_app(settings_for(url, **kw), registry)
