"""HTTP-side settings, and `Settings`: every concern's settings in one object.

Each concern has one settings class in the lowest package that needs it (geo/settings.py: the
database, spatial limits, dispatch, jobs, time, audit, field work; geo/analytics: analyses and the risk grade;
layers/settings.py: layers and maps; api/security.py: accounts; here: the web service and photos).
`Settings` holds one of each: `create_app(settings, registry)` keeps it on `app.state.settings`, routes
read it through `api.deps.SettingsDep`, and the `gridgov` command builds the same object. Nothing else
reads the environment.
"""

from dataclasses import dataclass, field, fields, replace
from functools import lru_cache
from pathlib import Path
from typing import Any

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from api.security import AuthSettings
from geo.analytics.risk import RiskSettings
from geo.analytics.settings import AnalyticsSettings
from geo.settings import AuditSettings, DbSettings, DispatchSettings, FieldSettings, GeoSettings, JobSettings
from layers.settings import LayerSettings, MapSettings

REPO_WEB_DIR = Path(__file__).resolve().parent.parent / "web"


class ApiSettings(BaseSettings):
    """Settings of the web service."""

    model_config = SettingsConfigDict(env_prefix="GRID_API_", env_file=".env", extra="ignore")

    host: str = "127.0.0.1"
    port: int = 8000
    root_path: str = ""
    debug: bool = False
    web_dir: Path = REPO_WEB_DIR
    max_body_bytes: int = 10 * 1024 * 1024
    # App processes of `gridgov serve` (uvicorn workers): one per core. Each has its own connection pool
    # (GRID_DB_POOL_SIZE + GRID_DB_MAX_OVERFLOW), its caches and its live-feed listener.
    workers: int = Field(default=1, ge=1, le=64)


class PhotoSettings(BaseSettings):
    """Limits of case photos."""

    model_config = SettingsConfigDict(env_prefix="GRID_PHOTO_", env_file=".env", extra="ignore")

    max_bytes: int = 5 * 1024 * 1024  # a phone JPEG is 1-4 MB; the page shrinks larger ones first


@dataclass(frozen=True)
class Settings:
    """One settings object of every concern (see the module doc)."""

    api: ApiSettings = field(default_factory=ApiSettings)
    db: DbSettings = field(default_factory=DbSettings)
    auth: AuthSettings = field(default_factory=AuthSettings)
    geo: GeoSettings = field(default_factory=GeoSettings)
    dispatch: DispatchSettings = field(default_factory=DispatchSettings)
    jobs: JobSettings = field(default_factory=JobSettings)
    layers: LayerSettings = field(default_factory=LayerSettings)
    maps: MapSettings = field(default_factory=MapSettings)
    analytics: AnalyticsSettings = field(default_factory=AnalyticsSettings)
    risk: RiskSettings = field(default_factory=RiskSettings)
    photos: PhotoSettings = field(default_factory=PhotoSettings)
    audit: AuditSettings = field(default_factory=AuditSettings)
    fieldwork: FieldSettings = field(default_factory=FieldSettings)

    @classmethod
    def load(cls, env_file: str | None = ".env", **concerns: Any) -> "Settings":
        """Every concern from the environment (and `env_file`; None reads no file), except those given."""
        unknown = set(concerns) - {f.name for f in fields(cls)}
        if unknown:
            raise TypeError(f"unknown settings concerns: {sorted(unknown)}")
        return cls(
            **{
                f.name: concerns[f.name] if f.name in concerns else f.default_factory(_env_file=env_file)  # type: ignore[misc]
                for f in fields(cls)
            }
        )

    def but(self, **concerns: Any) -> "Settings":
        """A copy with some concerns replaced."""
        return replace(self, **concerns)


@lru_cache
def get_settings() -> Settings:
    """The settings of this process, from the environment and .env, read once (the CLI and `serve`)."""
    return Settings.load()
