"""Layer settings: page and tile limits, cache sizes and lifetime (GRID_LAYERS_); the basemap (GRID_MAP_)."""

from typing import Literal

from pydantic import model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class LayerSettings(BaseSettings):
    """Limits of the map layers."""

    model_config = SettingsConfigDict(env_prefix="GRID_LAYERS_", env_file=".env", extra="ignore")

    default_limit: int = 100
    max_limit: int = 10_000
    # A page's features stop before this many bytes of GeoJSON (at least one feature each page), so no
    # answer passes 2 MB with its envelope whatever `limit` asks: a page cut short says so with fewer
    # numberReturned than `limit` and a `next` link, as OGC API Features allows.
    max_page_bytes: int = 1_950_000
    # numberMatched needs a count over the whole filter; switch off to never count.
    count_matched: bool = True
    # numberMatched is exact up to this many matches and omitted above (OGC allows it): the count reads
    # at most count_cap + 1 rows, never all million events of a province bbox. A county has ~10^5.
    count_cap: int = 200_000
    # Seconds a client may reuse a tile or page without asking again (0: always revalidate with the ETag).
    cache_max_age: int = 0
    # Memory for encoded tiles kept by the server while their data is unchanged (0: no server cache).
    tile_cache_mb: int = 64
    # Memory for pages of features (OGC API items) kept while their data is unchanged (0: no cache).
    page_cache_mb: int = 32
    max_features_per_tile: int = 20_000
    # Below this zoom, point layers are aggregated into cells of `cluster_cell_px` tile pixels.
    cluster_below_zoom: int = 10
    cluster_cell_px: int = 64
    # Below this zoom, polygon layers' tiles carry only their overview properties (LayerDef).
    detail_min_zoom: int = 10
    # Polygons are simplified to this many tile pixels (of a 4096 extent) before encoding.
    simplify_px: float = 1.0
    tile_extent: int = 4096
    tile_buffer: int = 64
    max_zoom: int = 22

    @model_validator(mode="after")
    def _consistent(self) -> "LayerSettings":
        """Limits and thresholds must agree with each other."""
        if not 1 <= self.default_limit <= self.max_limit:
            raise ValueError("need 1 <= default_limit <= max_limit")
        if self.count_cap < self.max_limit:
            raise ValueError("need count_cap >= max_limit")
        return self


class MapSettings(BaseSettings):
    """Basemap of the Folium maps (env prefix GRID_MAP_). None by default: the grids are the map."""

    model_config = SettingsConfigDict(env_prefix="GRID_MAP_", env_file=".env", extra="ignore")

    # XYZ URL template, e.g. http://tiles.intranet/{z}/{x}/{y}.png (Tianditu: include its tk= key).
    basemap_url: str = ""
    # A local folder of {z}/{x}/{y}.png tiles served by the app at /maps/basemap/...; wins over basemap_url.
    basemap_dir: str = ""
    basemap_crs: Literal["wgs84", "gcj02"] = "wgs84"
    basemap_attribution: str = "底图"
    basemap_max_zoom: int = 18
