"""Settings of dispatch and the case lifecycle (env prefix GRID_DISPATCH_)."""

from functools import lru_cache
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class DispatchSettings(BaseSettings):
    """How candidates are found, what counts as a duplicate, and when a case is near its deadline."""

    model_config = SettingsConfigDict(env_prefix="GRID_DISPATCH_", env_file=".env", extra="ignore")

    # A position older than this is a stale fix, not a position: such workers are not candidates.
    max_position_age_s: int = Field(default=1800, gt=0)
    # How far the candidate search widens: the village, the township, or the whole county.
    candidate_scope: Literal["village", "township", "county"] = "county"
    default_candidates: int = Field(default=5, ge=1, le=50)
    max_candidates: int = Field(default=50, ge=1, le=200)
    # A reported position further than this outside the county boundary is refused.
    max_outside_county_m: float = Field(default=5000.0, ge=0)
    # Possible duplicates: same category within this radius and this time window.
    duplicate_radius_m: float = Field(default=200.0, gt=0)
    duplicate_window_h: float = Field(default=72.0, gt=0)
    # Open cases due within this many hours are listed as due soon.
    near_deadline_h: float = Field(default=24.0, gt=0)
    # A department asked to report (吹哨) must answer within this many hours unless told otherwise.
    default_whistle_hours: int = Field(default=24, gt=0)


@lru_cache
def get_dispatch_settings() -> DispatchSettings:
    """Dispatch settings from the environment, read once."""
    return DispatchSettings()
