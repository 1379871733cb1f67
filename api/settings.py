"""HTTP-side settings."""

from functools import lru_cache
from pathlib import Path

from pydantic_settings import BaseSettings, SettingsConfigDict

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


@lru_cache
def get_api_settings() -> ApiSettings:
    """API settings from the environment, read once."""
    return ApiSettings()
