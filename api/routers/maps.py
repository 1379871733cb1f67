"""Folium map pages (text/html, for an iframe): county overview, heatmaps, risk choropleth; local basemap."""

from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import FileResponse, HTMLResponse

from api.deps import CheckedUserDep, SessionDep, UserDep
from api.deps_layers import RegistryDep
from api.headers import nonce_of, with_nonce
from api.routing import ReadRoute
from geo import clock
from geo.errors import InvalidInputError, NotFoundError
from geo.queries.coverage import parse_day, period_days
from geo.queries.event_filter import EventFilter, parse_event_filter
from layers.folium_analytics import is_wide, units_map_html
from layers.folium_county import county_map_html
from layers.folium_data import MapOptions
from layers.folium_field import coverage_map_html
from layers.folium_heat import heatmap_html, heatmap_time_html
from layers.folium_risk import risk_map_html
from layers.query import TimeRange
from layers.settings import MapSettings

router = APIRouter(route_class=ReadRoute, prefix="/maps", tags=["maps"])
HTML: dict[int | str, dict[str, Any]] = {200: {"content": {"text/html": {}}}}


async def get_map_settings_dep(request: Request) -> MapSettings:
    """The app's map settings (create_app's)."""
    return request.app.state.settings.maps


MapSettingsDep = Annotated[MapSettings, Depends(get_map_settings_dep)]


def map_page(request: Request, html: str) -> HTMLResponse:
    """A Folium page whose inline scripts carry this response's CSP nonce (api.headers)."""
    return HTMLResponse(with_nonce(html, nonce_of(request)))


async def get_map_options(request: Request, user: UserDep, settings: MapSettingsDep) -> MapOptions:
    """How to build a page for this requester: their area, vendored assets and basemap under root_path."""
    root = request.scope.get("root_path", "").rstrip("/")
    basemap = f"{root}/maps/basemap/{{z}}/{{x}}/{{y}}.png" if settings.basemap_dir else settings.basemap_url
    return MapOptions(
        area=user.area,
        vendor_prefix=f"{root}/static/vendor",
        basemap_url=basemap,
        basemap_crs=settings.basemap_crs,
        basemap_attribution=settings.basemap_attribution,
        basemap_max_zoom=settings.basemap_max_zoom,
    )


MapOptionsDep = Annotated[MapOptions, Depends(get_map_options)]


def get_event_filter(
    session: SessionDep,
    layer: Annotated[str, Query(description="disputes | hazards | appeals")] = "disputes",
    since: Annotated[
        str | None, Query(alias="from", description="first day, YYYY-MM-DD (China time)")
    ] = None,
    until: Annotated[str | None, Query(alias="to", description="last day, YYYY-MM-DD (inclusive)")] = None,
    category: Annotated[str | None, Query(description="category code(s), comma-separated")] = None,
    status: Annotated[str | None, Query(description="status(es), comma-separated")] = None,
) -> EventFilter:
    """The heatmap filter; a bad value is a 400 problem naming the parameter."""
    return parse_event_filter(session, layer, since, until, category, status)


EventFilterDep = Annotated[EventFilter, Depends(get_event_filter)]


async def get_zoom(
    zoom: Annotated[str | None, Query(description="zoom the cells are sized for (3..18)")] = None,
) -> int | None:
    """The zoom parameter as an int (range checked where cells are sized)."""
    if zoom in (None, ""):
        return None
    if not zoom.isdigit():
        raise InvalidInputError(f"zoom must be a whole number 3..18; got {zoom!r}", where="zoom")
    return int(zoom)


@router.get("/county", response_class=HTMLResponse, responses=HTML)
def county_map(
    request: Request, session: SessionDep, registry: RegistryDep, opts: MapOptionsDep
) -> HTMLResponse:
    """County overview: grids by level, open and recent events clustered, facilities (Chinese popups)."""
    return map_page(request, county_map_html(session, registry, opts))


@router.get("/heatmap", response_class=HTMLResponse, responses=HTML)
def heatmap(
    request: Request,
    session: SessionDep,
    registry: RegistryDep,
    flt: EventFilterDep,
    opts: MapOptionsDep,
    zoom: Annotated[int | None, Depends(get_zoom)],
) -> HTMLResponse:
    """Weighted heatmap of disputes, hazards or appeals, aggregated in PostGIS into zoom-sized cells,
    under the outlines of the area and its townships."""
    return map_page(request, heatmap_html(session, flt, opts, zoom, registry))


@router.get("/heatmap-time", response_class=HTMLResponse, responses=HTML)
def heatmap_time(
    request: Request, session: SessionDep, registry: RegistryDep, flt: EventFilterDep, opts: MapOptionsDep
) -> HTMLResponse:
    """Weekly heatmap over a year (default: the 52 weeks up to the newest report); one play button."""
    return map_page(request, heatmap_time_html(session, flt, opts, registry))


@router.get("/risk", response_class=HTMLResponse, responses=HTML)
def risk_map(
    request: Request, session: SessionDep, registry: RegistryDep, opts: MapOptionsDep
) -> HTMLResponse:
    """Red / yellow / green risk grade of every small grid, with open, overdue and resolution figures;
    for a province or a city, its counties by their share of red grids."""
    if is_wide(opts):
        return map_page(request, units_map_html(session, opts, "risk", "网格风险等级"))
    return map_page(request, risk_map_html(session, registry, opts))


@router.get("/coverage", response_class=HTMLResponse, responses=HTML)
def coverage_map(
    request: Request,
    session: SessionDep,
    registry: RegistryDep,
    opts: MapOptionsDep,
    period: Annotated[Literal["day", "week", "month"], Query(description="day | week | month")] = "day",
    date_: Annotated[str | None, Query(alias="date", description="a day of the period, YYYY-MM-DD")] = None,
) -> HTMLResponse:
    """Coverage (走访覆盖) of the small grids in the period holding `date` (default today), with its patrol
    tracks and household visits."""
    first, after = period_days(period, parse_day(date_))
    time = TimeRange(clock.midnight(first), clock.midnight(after), True)
    label = f"{first:%Y-%m-%d}" + ("" if period == "day" else f" 至 {after - timedelta(days=1):%Y-%m-%d}")
    return map_page(request, coverage_map_html(session, registry, opts, time, label))


@router.get("/basemap/{z}/{x}/{y}.png", include_in_schema=False)
def basemap_tile(z: int, x: int, y: int, settings: MapSettingsDep, _user: CheckedUserDep) -> FileResponse:
    """A tile of the local basemap folder ({z}/{x}/{y}.png), when GRID_MAP_BASEMAP_DIR is set."""
    if not settings.basemap_dir or not (0 <= z <= 22 and 0 <= x < 2**z and 0 <= y < 2**z):
        raise NotFoundError("no such basemap tile", where="tile")
    path = Path(settings.basemap_dir) / str(z) / str(x) / f"{y}.png"
    if not path.is_file():
        raise NotFoundError("no such basemap tile", where="tile")
    return FileResponse(path, media_type="image/png", headers={"Cache-Control": "max-age=86400"})
