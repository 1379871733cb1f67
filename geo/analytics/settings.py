"""Analytics settings (env prefix GRID_ANALYTICS_): which cases count, windows, permutations, hexagon size,
what makes a dispute chronic and a case long-open (积案)."""

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class AnalyticsSettings(BaseSettings):
    """Parameters of the hotspot and emerging-hotspot analyses."""

    model_config = SettingsConfigDict(env_prefix="GRID_ANALYTICS_", env_file=".env", extra="ignore")

    # Case kinds counted (dispute, hazard, appeal); rejected and duplicate cases never count.
    kinds: tuple[str, ...] = ("dispute", "hazard")
    window_days: int = 365
    # Gi* p-values are analytical (two-sided normal, as ArcGIS); permutations (seeded) are an option
    # for areas of at most permutation_max_cells cells: they cost a Python loop per cell.
    permutations: int = 0
    permutation_max_cells: int = 5000
    seed: int = 620121
    # Hexagon edge length (= circumradius) in metres.
    hex_size_m: float = 2000.0
    weeks: int = 52
    # Emerging hotspots: Gi* per week, analytical (two-sided normal p-values).
    emerging_alpha: float = 0.10
    trend_alpha: float = 0.05
    # A cached result is reused while the data fingerprint is unchanged and it is younger than this.
    max_age_seconds: int = 3600
    # Chronic cases (重复纠纷, geo.analytics.chronic): disputes of one category within about this many
    # metres, at least `chronic_place_cases` of them, or disputes sharing a party, at least
    # `chronic_party_cases`; either way the first and the last at least `chronic_min_days` apart.
    chronic_metres: float = Field(default=50.0, gt=0, le=1000)
    chronic_place_cases: int = Field(default=3, ge=2)
    chronic_party_cases: int = Field(default=2, ge=2)
    chronic_min_days: int = Field(default=30, ge=0)
    # 积案: a case open longer than this many days.
    backlog_days: int = Field(default=90, ge=1)

    @model_validator(mode="after")
    def _consistent(self) -> "AnalyticsSettings":
        """Refuse settings that cannot work."""
        if not set(self.kinds) <= {"dispute", "hazard", "appeal"} or not self.kinds:
            raise ValueError("kinds must be some of dispute, hazard, appeal")
        if self.window_days < 1 or self.weeks < 4 or self.hex_size_m < 50 or self.permutations < 0:
            raise ValueError("need window_days >= 1, weeks >= 4, hex_size_m >= 50, permutations >= 0")
        return self

    def params(self, unit: str) -> dict:
        """The parameters a cached result depends on (stored with it)."""
        keys = (
            "kinds",
            "window_days",
            "permutations",
            "permutation_max_cells",
            "seed",
            "weeks",
            "emerging_alpha",
            "trend_alpha",
        )
        keys += ("chronic_metres", "chronic_place_cases", "chronic_party_cases", "chronic_min_days")
        out = {k: getattr(self, k) for k in keys}
        out["kinds"] = list(self.kinds)
        if unit == "hex":
            out["hex_size_m"] = self.hex_size_m
        return out
