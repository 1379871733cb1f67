"""Hot spots, emerging hot spots, three colours and three lists, chronic cases, jobs: JSON and Folium pages.

Every answer reads what the analytics jobs stored (geo.jobs) and says as of when (`computed_at`, and
`refreshing`: the job that is recomputing it, with its progress); no request computes or stores an
analysis. Province and city accounts get sums per county by default (`level`), everyone may page the
cells in a `bbox` (`limit`, `offset`), so no answer grows with the province.
"""

from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import HTMLResponse

from api.deps import SessionDep, SettingsDep, UserDep
from api.deps_layers import BBoxDep, RegistryDep
from api.routers.maps import MapOptionsDep
from geo.analytics import answers, chronic
from geo.analytics.risk_lists import risk_lists
from geo.errors import InvalidInputError
from geo.jobs import queue
from geo.privacy import mask_name, mask_phone
from layers.folium_analytics import emerging_map_html, hotspots_map_html

router = APIRouter(tags=["analytics"])
HTML: dict[int | str, dict[str, Any]] = {200: {"content": {"text/html": {}}}}
LevelQuery = Annotated[
    str | None, Query(description="county | township | grid（默认：省、市账号按县，其余按网格）")
]
Limit = Annotated[int, Query(ge=1, le=answers.MAX_PAGE)]
Offset = Annotated[int, Query(ge=0)]


def _unit(unit: str) -> str:
    if unit not in ("grid", "hex"):
        raise InvalidInputError(f"unit 须为 grid 或 hex；收到 {unit!r}", where="unit")
    return unit


@router.get("/api/hotspots")
def get_hotspots(
    session: SessionDep,
    user: UserDep,
    settings: SettingsDep,
    bbox: BBoxDep,
    unit: Annotated[str, Query(description="grid（最小网格）| hex（六边形）")] = "grid",
    level: LevelQuery = None,
    limit: Limit = answers.MAX_PAGE,
    offset: Offset = 0,
) -> dict:
    """Gi* hot and cold spots of the requester's area as last computed: counts per class, then the cells
    hottest first (a page) or sums per county/township (`level`); empty, `computed_at` null, until the
    first run."""
    out = answers.hotspots_answer(
        session, user.area, _unit(unit), level=level, bbox=bbox, limit=limit, offset=offset
    )
    return {**out, "params": settings.analytics.params(unit)}


@router.get("/api/risk/lists")
def get_risk_lists(
    session: SessionDep,
    user: UserDep,
    bbox: BBoxDep,
    level: LevelQuery = None,
    limit: Annotated[int, Query(ge=1, le=2000)] = 500,
    offset: Offset = 0,
) -> dict:
    """三色三单: the stored grade of every small grid (as of `as_of`, the colours of the risk map); the
    problem, responsibility and task lists of the red and yellow ones, riskiest first (a page), or the
    colours counted per county/township (`level`)."""
    level = answers.check_level(user.area, level)
    if level != "grid":
        return answers.risk_units(session, user.area, level)
    out = risk_lists(session, user.area, bbox=bbox, limit=limit, offset=offset)
    if not user.cleared:
        for g in out["grids"]:
            r = g["responsibility"]
            r["grid_worker"], r["worker_phone"] = mask_name(r["grid_worker"]), mask_phone(r["worker_phone"])
    return {**out, "level": level, "refreshing": answers.job_status(session, user.area, ("risk", "refresh"))}


@router.get("/api/chronic")
def get_chronic(
    session: SessionDep,
    user: UserDep,
    bbox: BBoxDep,
    min_years: Annotated[int, Query(ge=2, le=20)] = 2,
    level: LevelQuery = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
    offset: Offset = 0,
) -> dict:
    """Chronic cases as last computed: repeat disputes at the same place or between the same parties
    across years (a page), or counted per county/township (`level`)."""
    level = answers.check_level(user.area, level)
    if level == "grid":
        out = chronic.list_chronic(
            session, user.area, min_years=min_years, limit=limit, offset=offset, bbox=bbox
        )
    else:
        out = chronic.count_chronic(session, user.area, level, min_years=min_years, bbox=bbox)
    return {**out, "refreshing": answers.job_status(session, user.area, ("chronic", "refresh"))}


@router.get("/api/jobs")
def get_jobs(session: SessionDep, user: UserDep, all_: Annotated[bool, Query(alias="all")] = False) -> list:
    """The analysis jobs of the requester's area waiting or running, with their progress (or the
    newest jobs, finished ones too, with `all=true`)."""
    rows = queue.list_recent(session, user.area) if all_ else queue.list_open(session, user.area)
    return [{k: v for k, v in r.items() if k != "worker"} for r in rows]


@router.get("/maps/hotspots", response_class=HTMLResponse, responses=HTML)
def hotspots_map(
    session: SessionDep,
    user: UserDep,
    registry: RegistryDep,
    opts: MapOptionsDep,
    unit: str = "grid",
) -> HTMLResponse:
    """Folium page of the Gi* hot and cold spots (small grids or hexagons), as last computed."""
    layer = "hotspots" if _unit(unit) == "grid" else "hotspots_hex"
    return HTMLResponse(hotspots_map_html(session, registry, opts, layer))


@router.get("/maps/emerging", response_class=HTMLResponse, responses=HTML)
def emerging_map(
    session: SessionDep,
    user: UserDep,
    registry: RegistryDep,
    opts: MapOptionsDep,
) -> HTMLResponse:
    """Folium page of the emerging hot spot categories, as last computed."""
    return HTMLResponse(emerging_map_html(session, registry, opts))
