"""Hot spots, emerging hot spots, three colours and three lists, chronic cases, jobs: JSON and Folium pages.

Every answer reads what the analytics jobs stored (geo.jobs) and says as of when (`computed_at`, and
`refreshing`: the job that is recomputing it, with its progress); no request computes or stores an
analysis. Province and city accounts get sums per county by default (`level`), everyone may page the
cells in a `bbox` (`limit`, `offset`), so no answer grows with the province. Names and phones come
masked for uncleared roles from the database.
"""

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import HTMLResponse

from api.deps import SessionDep, SettingsDep, UserDep
from api.deps_layers import BBoxDep, RegistryDep
from api.routers.maps import MapOptionsDep, map_page
from api.routing import ReadRoute
from geo.analytics import answers, chronic
from geo.analytics.risk_lists import list_sheets, risk_lists
from geo.errors import InvalidInputError, NotFoundError
from geo.io.workbook import MEDIA_TYPE, workbook_bytes
from geo.jobs import queue
from layers.folium_analytics import emerging_map_html, hotspots_map_html

router = APIRouter(route_class=ReadRoute, tags=["analytics"])
HTML: dict[int | str, dict[str, Any]] = {200: {"content": {"text/html": {}}}}
LevelQuery = Annotated[
    str | None, Query(description="county | township | grid（默认：省、市账号按县，其余按网格）")
]
Limit = Annotated[int, Query(ge=1, le=answers.MAX_PAGE)]
Offset = Annotated[int, Query(ge=0)]
Township = Annotated[str | None, Query(pattern=r"^[0-9]{9}$", description="乡镇编码（9 位），辖区内")]
Grades = Annotated[Literal["flagged", "red", "yellow"], Query(description="flagged 红黄 | red | yellow")]
GRADES = {"flagged": ("red", "yellow"), "red": ("red",), "yellow": ("yellow",)}
Basis = Annotated[
    Literal["all", "place", "parties"], Query(description="place 同一地点 | parties 同一当事人")
]


def _unit(unit: str) -> str:
    if unit not in ("grid", "hex"):
        raise InvalidInputError(f"unit 须为 grid 或 hex；收到 {unit!r}", where="unit")
    return unit


def _within(user_area: str, township: str | None) -> str:
    """The township asked for, inside the user's area, or the user's area."""
    if township is None:
        return user_area
    if not (township.startswith(user_area) or user_area.startswith(township)):
        raise NotFoundError(f"辖区内没有乡镇 {township}", where="township")
    return township if len(township) > len(user_area) else user_area


def _xlsx(sheets: list, name: str) -> Response:
    headers = {"Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "no-store"}
    return Response(workbook_bytes(sheets), media_type=MEDIA_TYPE, headers=headers)


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
    grade: Grades = "flagged",
    township: Township = None,
    level: LevelQuery = None,
    limit: Annotated[int, Query(ge=1, le=2000)] = 500,
    offset: Offset = 0,
) -> dict:
    """三色三单: the stored grade of every small grid (as of `as_of`, the colours of the risk map); the
    problem, responsibility and task lists of the red and yellow ones (or of one colour, one township),
    riskiest first (a page), or the colours counted per county/township (`level`)."""
    area = _within(user.area, township)
    level = answers.check_level(area, level)
    if level != "grid":
        return answers.risk_units(session, area, level)
    out = risk_lists(session, area, grades=GRADES[grade], bbox=bbox, limit=limit, offset=offset)
    return {**out, "level": level, "refreshing": answers.job_status(session, area, ("risk", "refresh"))}


@router.get("/api/risk/lists.xlsx", response_class=Response)
def export_risk_lists(
    session: SessionDep, user: UserDep, grade: Grades = "flagged", township: Township = None
) -> Response:
    """The same lists as an XLSX workbook: graded grids, problems, responsibility, tasks (one sheet each)."""
    area = _within(user.area, township)
    lists = risk_lists(session, area, grades=GRADES[grade])
    return _xlsx(list_sheets(lists), f"gridgov-risk-{grade}-{area}.xlsx")


def _basis(basis: str) -> str | None:
    """The basis the chronic queries take: None for all of them."""
    return None if basis == "all" else basis


def _chronic(session: SessionDep, area: str, settings: SettingsDep, basis: str, **page: Any) -> dict:
    rule = chronic.ChronicRule.of(settings.analytics)
    return chronic.list_chronic(session, area, rule, basis=_basis(basis), **page)


@router.get("/api/chronic")
def get_chronic(
    session: SessionDep,
    user: UserDep,
    settings: SettingsDep,
    bbox: BBoxDep,
    basis: Basis = "all",
    township: Township = None,
    level: LevelQuery = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
    offset: Offset = 0,
) -> dict:
    """Chronic disputes (重复纠纷) as last computed: repeats at the same place (same category) or between
    the same parties, first and last far enough apart (GRID_ANALYTICS_CHRONIC_*), each with its cases as
    evidence (a page), or counted per county/township (`level`)."""
    area = _within(user.area, township)
    level = answers.check_level(area, level)
    out = _chronic_answer(session, settings, area, level, basis, bbox, limit=limit, offset=offset)
    return {**out, "refreshing": answers.job_status(session, area, ("chronic", "refresh"))}


def _chronic_answer(
    session: SessionDep,
    settings: SettingsDep,
    area: str,
    level: str,
    basis: str,
    bbox: tuple[float, float, float, float] | None,
    **page: int,
) -> dict:
    """A page of the area's chronic disputes (level grid), or their counts per county/township."""
    if level == "grid":
        return _chronic(session, area, settings, basis, **page, bbox=bbox)
    return chronic.count_chronic(session, area, level, basis=_basis(basis), bbox=bbox)


@router.get("/api/backlog")
def get_backlog(
    session: SessionDep,
    user: UserDep,
    settings: SettingsDep,
    township: Township = None,
    days: Annotated[int | None, Query(ge=1, le=3650)] = None,
    limit: Annotated[int, Query(ge=1, le=2000)] = 500,
) -> dict:
    """积案: cases still open more than `days` days (default GRID_ANALYTICS_BACKLOG_DAYS), oldest first."""
    days = days or settings.analytics.backlog_days
    rows = chronic.list_backlog(session, _within(user.area, township), days, limit=limit)
    return {"days": days, "cases": rows}


@router.get("/api/chronic.xlsx", response_class=Response)
def export_chronic(
    session: SessionDep, user: UserDep, settings: SettingsDep, basis: Basis = "all", township: Township = None
) -> Response:
    """Chronic disputes with their evidence and the backlog (积案) as an XLSX workbook."""
    area = _within(user.area, township)
    found = _chronic(session, area, settings, basis, limit=1000)
    days = settings.analytics.backlog_days
    backlog = chronic.list_backlog(session, area, days, limit=2000)
    return _xlsx(chronic.chronic_sheets(found, backlog, days), f"gridgov-chronic-{area}.xlsx")


@router.get("/api/jobs")
def get_jobs(session: SessionDep, user: UserDep, all_: Annotated[bool, Query(alias="all")] = False) -> list:
    """The analysis jobs of the requester's area waiting or running, with their progress (or the
    newest jobs, finished ones too, with `all=true`)."""
    rows = queue.list_recent(session, user.area) if all_ else queue.list_open(session, user.area)
    return [{k: v for k, v in r.items() if k != "worker"} for r in rows]


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
