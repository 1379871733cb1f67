"""What a map layer is: a frozen `LayerDef`, declared once and used by every output.

Interface (stable; the OGC Features, vector tile and Folium outputs all build on it):

    from layers.builtin import default_registry

    registry = default_registry()             # LayerRegistry holding the built-in layers
    layer = registry.get("disputes")          # LayerDef; unknown id -> LayerNotFoundError
    sel = layer.select(area="620121")         # SQLAlchemy selectable (TextualSelect or Select)
    sub = sel.subquery("src")                 # columns: id, geom (EPSG:4326), *layer.properties
    session.execute(select(sub.c.id, ...).select_from(sub))

`LayerDef` fields:
    id              stable snake_case slug (URL path segment, MVT layer name)
    title           Chinese title shown in layer controls and /ogc/collections
    description     one sentence (Chinese)
    geometry_type   "Point", "MultiLineString" or "MultiPolygon" (OGC/GeoJSON spelling)
    source          `source(area) -> selectable`; every row already restricted to the requester's
                    area (a grid-code prefix such as "620121" or "620121003"): jurisdiction is in the source
    window          True when the source summarises a time window: it is called `source(area, start, end)`
                    with the request's `datetime` as [start, end) (default: the county's today, resolved
                    per request by layers.query.window_of), e.g. the coverage of small grids
    properties      allow-list of exposed columns (besides id and geom), in output order
    filters         filterable property -> "str" | "int" | "bool" (query ?prop=value, comma = any of)
    datetime_column the property OGC `datetime` filters on, or None
    style           default style: {"color", "fill", "weight", "radius", "by": property,
                    "colors": {value: hex}}
    renderers       subset of RENDERERS ("geojson", "mvt", "heatmap", "choropleth")
    min_zoom/max_zoom  zoom range for tiles (outside it a tile is empty -> 204)
    kind            "event" for point layers of cases (heatmaps use these), else "base"
    weight          for heatmaps: the property used as weight (e.g. "severity"), or None
    personal        the properties holding personal data (names: masked for uncleared roles by the
                    database, each unmasked read audited, cached or not)
    cells           `cells(area, level) -> selectable` of pre-aggregated counts per cell of a zoom level
                    (columns cx, cy, n, sx, sy, w: see geo.queries.layers.event_cells_source), or None;
                    low-zoom tiles without filters sum these instead of aggregating every point

Geometries are WGS84 (EPSG:4326), lon/lat order. Property values are plain SQL scalars (text, int,
float, bool, timestamptz); grid codes are in display form 620121-003-017-008.
"""

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from geo import clock
from geo.queries.changes import CHANNELS
from layers.errors import RendererNotSupportedError

RENDERERS = frozenset({"geojson", "mvt", "heatmap", "choropleth"})
FILTER_TYPES = frozenset({"str", "int", "bool"})
GEOMETRY_TYPES = frozenset({"Point", "MultiLineString", "MultiPolygon"})

# Risk grade colours (ColorBrewer RdYlGn ends and middle).
_IDENT = re.compile(r"^[a-z_][a-z0-9_]*$")

Source = Callable[..., Any]  # area (and, for window layers, start and end) -> the layer's rows there


def choropleth_style(
    by: str, colors: Mapping[Any, str], *, weight: float, fill_opacity: float
) -> dict[str, Any]:
    """The default style of a choropleth layer: filled with the colour of its `by` value, grey outlines."""
    return {"by": by, "colors": colors, "color": "#636363", "weight": weight, "fill_opacity": fill_opacity}


@dataclass(frozen=True, eq=False)
class LayerDef:
    """One map layer, declared as data."""

    id: str
    title: str
    description: str
    geometry_type: str
    source: Source
    properties: tuple[str, ...]
    filters: Mapping[str, str] = field(default_factory=dict)
    datetime_column: str | None = None
    style: Mapping[str, Any] = field(default_factory=dict)
    renderers: frozenset[str] = frozenset({"geojson", "mvt"})
    min_zoom: int = 0
    max_zoom: int = 22
    kind: str = "base"
    weight: str | None = None
    cells: Callable[[str, int], Any] | None = None
    # The data_changes channels (geo.queries.changes) whose changes can change this layer: its tiles
    # may be cached while none of them moves. Empty: never cached (e.g. depends on the clock).
    changes: tuple[str, ...] = ()
    # The properties its vector tiles carry below LayerSettings.detail_min_zoom (None: all of them).
    # Thousands of polygons a pixel or two wide are drawn there, never read one by one: the province
    # z8 tile of small grids was 572 KB, two thirds of it unique names, codes and areas.
    overview_properties: tuple[str, ...] | None = None
    # Properties holding personal data (a worker's name): see the module doc.
    personal: tuple[str, ...] = ()
    window: bool = False

    def tile_properties(self, z: int, detail_min_zoom: int) -> tuple[str, ...]:
        """The properties of its vector tiles at zoom z."""
        if z < detail_min_zoom and self.overview_properties is not None:
            return self.overview_properties
        return self.properties

    def __post_init__(self) -> None:
        """Refuse inconsistent declarations early (at registration, not at request time)."""
        self._check_names()
        self._check_kinds()
        self._check_references()

    def _check_names(self) -> None:
        """The id is a slug and the properties are column names."""
        if not self.id.replace("_", "").isalnum() or not self.id.islower():
            raise ValueError(f"layer id must be a lowercase snake_case slug; got {self.id!r}")
        bad = [p for p in self.properties if not _IDENT.match(p) or p in ("id", "geom")]
        if bad:
            raise ValueError(
                f"layer {self.id}: properties must be snake_case column names (not id/geom): {bad}"
            )

    def _check_kinds(self) -> None:
        """The geometry type, renderers and filter types are known ones."""
        if self.geometry_type not in GEOMETRY_TYPES:
            raise ValueError(f"layer {self.id}: geometry_type must be one of {sorted(GEOMETRY_TYPES)}")
        if not self.renderers <= RENDERERS:
            raise ValueError(f"layer {self.id}: unknown renderers {sorted(self.renderers - RENDERERS)}")
        for name, kind in self.filters.items():
            if name not in self.properties or kind not in FILTER_TYPES:
                raise ValueError(
                    f"layer {self.id}: filter {name!r} must be a property typed {sorted(FILTER_TYPES)}"
                )

    def _check_references(self) -> None:
        """The datetime column, personal and overview properties are its own; zooms, window, channels fit."""
        if self.datetime_column and self.datetime_column not in self.properties:
            raise ValueError(f"layer {self.id}: datetime_column must be one of its properties")
        if not set(self.personal) <= set(self.properties):
            raise ValueError(f"layer {self.id}: personal must be some of its properties")
        if self.overview_properties is not None and not set(self.overview_properties) <= set(self.properties):
            raise ValueError(f"layer {self.id}: overview_properties must be some of its properties")
        if not 0 <= self.min_zoom <= self.max_zoom <= 24:
            raise ValueError(f"layer {self.id}: need 0 <= min_zoom <= max_zoom <= 24")
        if self.window and self.datetime_column:
            raise ValueError(f"layer {self.id}: a window layer's datetime is its window, not a column filter")
        if not set(self.changes) <= CHANNELS:
            raise ValueError(f"layer {self.id}: changes must be some of {sorted(CHANNELS)}")

    @property
    def is_point(self) -> bool:
        """True for point layers (aggregated at low zooms in tiles)."""
        return self.geometry_type == "Point"

    def select(self, area: str, window: tuple[datetime | None, datetime | None] | None = None) -> Any:
        """The layer's rows in an area: a selectable with id, geom and the allowed properties. A window
        layer summarises [start, end) of `window` (None: the county's today)."""
        if not self.window:
            return self.source(area)
        start, end = window if window is not None else clock.day_bounds(clock.today())
        return self.source(area, start, end)

    def require(self, renderer: str) -> None:
        """Raise RendererNotSupportedError unless this layer supports `renderer`."""
        if renderer not in self.renderers:
            raise RendererNotSupportedError(
                f"layer {self.id} cannot be drawn as {renderer}; "
                f"it supports {', '.join(sorted(self.renderers))}",
                where="layer",
            )
