"""Hot spots, emerging hot spots, three colours and three lists, chronic cases: JSON and Folium pages.

Every answer reads what the analytics jobs stored (geo.jobs) and says as of when (`computed_at`);
no request computes or stores an analysis.
"""

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse
from sqlalchemy import select

from api.deps import SessionDep, SettingsDep, UserDep
from api.deps_layers import RegistryDep
from api.routers.maps import MapOptionsDep, map_page
from geo.analytics import chronic
from geo.analytics.hotspots import hotspots_source
from geo.analytics.risk_lists import risk_lists
from geo.errors import InvalidInputError
from layers.folium_analytics import emerging_map_html, hotspots_map_html

router = APIRouter(tags=["analytics"])
HTML: dict[int | str, dict[str, Any]] = {200: {"content": {"text/html": {}}}}


def _unit(unit: str) -> str:
    if unit not in ("grid", "hex"):
        raise InvalidInputError(f"unit 须为 grid 或 hex；收到 {unit!r}", where="unit")
    return unit


@router.get("/api/hotspots")
def get_hotspots(
    session: SessionDep,
    user: UserDep,
    settings: SettingsDep,
    unit: Annotated[str, Query(description="grid（最小网格）| hex（六边形）")] = "grid",
) -> dict:
    """Gi* hot and cold spots of the requester's area as last computed: counts per class and the cells,
    hottest first (empty, with `computed_at` null, until the first run)."""
    sub = hotspots_source(user.area, _unit(unit)).subquery("h")
    rows = session.execute(select(*(c for c in sub.c if c.name != "geom")).order_by(sub.c.z.desc())).all()
    cells = [r._asdict() for r in rows]
    counts: dict[str, int] = {}
    for c in cells:
        counts[c["class_label"]] = counts.get(c["class_label"], 0) + 1
    return {
        "area": user.area,
        "unit": unit,
        "params": settings.analytics.params(unit),
        "computed_at": cells[0]["computed_at"] if cells else None,
        "counts": counts,
        "cells": cells,
    }


@router.get("/api/risk/lists")
def get_risk_lists(session: SessionDep, user: UserDep) -> dict:
    """三色三单: the stored grade of every small grid (as of `as_of`, the colours of the risk map); the
    problem, responsibility and task lists of the red and yellow ones."""
    return risk_lists(session, user.area)


@router.get("/api/chronic")
def get_chronic(
    session: SessionDep,
    user: UserDep,
    min_years: Annotated[int, Query(ge=1, le=20)] = 2,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> dict:
    """Chronic cases: repeat disputes at the same place or between the same parties across years."""
    return chronic.list_chronic(session, user.area, min_years=min_years, limit=limit)


@router.get("/maps/hotspots", response_class=HTMLResponse, responses=HTML)
def hotspots_map(
    request: Request,
    session: SessionDep,
    user: UserDep,
    registry: RegistryDep,
    opts: MapOptionsDep,
    unit: str = "grid",
) -> HTMLResponse:
    """Folium page of the Gi* hot and cold spots (small grids or hexagons), as last computed."""
    layer = "hotspots" if _unit(unit) == "grid" else "hotspots_hex"
    return map_page(request, hotspots_map_html(session, registry, opts, layer))


@router.get("/maps/emerging", response_class=HTMLResponse, responses=HTML)
def emerging_map(
    request: Request,
    session: SessionDep,
    user: UserDep,
    registry: RegistryDep,
    opts: MapOptionsDep,
) -> HTMLResponse:
    """Folium page of the emerging hot spot categories, as last computed."""
    return map_page(request, emerging_map_html(session, registry, opts))
