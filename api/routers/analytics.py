"""Hot spots, emerging hot spots, three colours and three lists, chronic cases: JSON and Folium pages.

`refresh_analytics` is a dependency for the layer routers (OGC items, tiles, maps): before an analytics
layer is served it makes sure the requester's area has a current stored run (computing one when the
data changed) and commits it, so every output reads the same fresh result.
"""

import time
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse
from sqlalchemy import select
from starlette.concurrency import run_in_threadpool

from api.deps import CurrentUser, SessionDep, UserDep, user_session
from api.deps_layers import RegistryDep
from api.routers.maps import MapOptionsDep
from geo.analytics import chronic
from geo.analytics.emerging import ensure_emerging
from geo.analytics.hotspots import ensure_hotspots, hotspots_source
from geo.analytics.risk_lists import RiskListThresholds, risk_lists
from geo.analytics.settings import AnalyticsSettings, get_analytics_settings
from geo.errors import InvalidInputError
from geo.privacy import mask_name, mask_phone
from layers.analytics_layers import ANALYSES
from layers.folium_analytics import emerging_map_html, hotspots_map_html

router = APIRouter(tags=["analytics"])
HTML: dict[int | str, dict[str, Any]] = {200: {"content": {"text/html": {}}}}
RECHECK_SECONDS = 30.0
_checked: dict[tuple[str, str, str], float] = {}


async def get_analytics_settings_dep(request: Request) -> AnalyticsSettings:
    """The app's analytics settings (app.state.analytics_settings when set, else the environment's)."""
    return getattr(request.app.state, "analytics_settings", None) or get_analytics_settings()


AnalyticsSettingsDep = Annotated[AnalyticsSettings, Depends(get_analytics_settings_dep)]


def ensure_run(
    session: Any, area: str, analysis: str, unit: str, settings: AnalyticsSettings, force: bool = False
) -> None:
    """Make the area's stored run current and commit it (skipped when checked in the last 30 s)."""
    key = (area, analysis, unit)
    if not force and time.monotonic() - _checked.get(key, -1e9) < RECHECK_SECONDS:
        return
    now = datetime.now(UTC)
    if analysis == "hotspots":
        ensure_hotspots(session, area, unit, settings, now)
    else:
        ensure_emerging(session, area, settings, now)
    session.commit()
    _checked[key] = time.monotonic()


async def refresh_analytics(request: Request, user: UserDep) -> None:
    """Dependency of the layer routers: refresh an analytics layer's run before it is served.

    Async, and asking for nothing but the user, so that the other layers' requests (every tile) pay
    no thread-pool hop and no session or settings dependencies; the refresh opens its own session in
    the thread pool.
    """
    layer_id = request.path_params.get("layer_id", "")
    if layer_id in ANALYSES:
        settings = await get_analytics_settings_dep(request)
        await run_in_threadpool(_refresh, request, user, ANALYSES[layer_id], settings)


def _refresh(
    request: Request, user: CurrentUser, analysis: tuple[str, str], settings: AnalyticsSettings
) -> None:
    with user_session(request, user) as session:
        ensure_run(session, user.area, *analysis, settings)


def _unit(unit: str) -> str:
    if unit not in ("grid", "hex"):
        raise InvalidInputError(f"unit must be grid or hex; got {unit!r}", where="unit")
    return unit


@router.get("/api/hotspots")
def get_hotspots(
    session: SessionDep,
    user: UserDep,
    settings: AnalyticsSettingsDep,
    unit: Annotated[str, Query(description="grid（最小网格）| hex（六边形）")] = "grid",
    refresh: bool = False,
) -> dict:
    """Gi* hot and cold spots of the requester's area: counts per class and the cells, hottest first."""
    ensure_run(session, user.area, "hotspots", _unit(unit), settings, force=refresh)
    sub = hotspots_source(user.area, unit).subquery("h")
    rows = session.execute(select(*(c for c in sub.c if c.name != "geom")).order_by(sub.c.z.desc())).all()
    cells = [r._asdict() for r in rows]
    counts: dict[str, int] = {}
    for c in cells:
        counts[c["class_label"]] = counts.get(c["class_label"], 0) + 1
    return {
        "area": user.area,
        "unit": unit,
        "params": settings.params(unit),
        "counts": counts,
        "cells": cells,
    }


@router.get("/api/risk/lists")
def get_risk_lists(
    session: SessionDep,
    user: UserDep,
    red_score: Annotated[float | None, Query(gt=0)] = None,
    yellow_score: Annotated[float | None, Query(gt=0)] = None,
) -> dict:
    """三色三单: a grade per small grid; problem, responsibility and task lists of red and yellow grids."""
    th = RiskListThresholds()
    if red_score or yellow_score:
        th = RiskListThresholds(
            red_score=red_score or th.red_score, yellow_score=yellow_score or th.yellow_score
        )
    if th.yellow_score > th.red_score:
        raise InvalidInputError("yellow_score must not exceed red_score", where="yellow_score")
    out = risk_lists(session, user.area, th)
    if not user.cleared:
        for g in out["grids"]:
            r = g["responsibility"]
            r["grid_worker"], r["worker_phone"] = mask_name(r["grid_worker"]), mask_phone(r["worker_phone"])
    return out


@router.get("/api/chronic")
def get_chronic(
    session: SessionDep,
    user: UserDep,
    min_years: Annotated[int, Query(ge=1, le=20)] = 2,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> dict:
    """Chronic cases: repeat disputes at the same place or between the same parties across years."""
    return chronic.list_chronic(session, user.area, min_years=min_years, limit=limit, unmasked=user.cleared)


@router.get("/maps/hotspots", response_class=HTMLResponse, responses=HTML)
def hotspots_map(
    session: SessionDep,
    user: UserDep,
    registry: RegistryDep,
    opts: MapOptionsDep,
    settings: AnalyticsSettingsDep,
    unit: str = "grid",
) -> HTMLResponse:
    """Folium page of the Gi* hot and cold spots (small grids or hexagons)."""
    ensure_run(session, user.area, "hotspots", _unit(unit), settings)
    return HTMLResponse(
        hotspots_map_html(session, registry, opts, "hotspots" if unit == "grid" else "hotspots_hex")
    )


@router.get("/maps/emerging", response_class=HTMLResponse, responses=HTML)
def emerging_map(
    session: SessionDep,
    user: UserDep,
    registry: RegistryDep,
    opts: MapOptionsDep,
    settings: AnalyticsSettingsDep,
) -> HTMLResponse:
    """Folium page of the emerging hot spot categories."""
    ensure_run(session, user.area, "emerging", "grid", settings)
    return HTMLResponse(emerging_map_html(session, registry, opts))
