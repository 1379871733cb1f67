"""Field work: position fixes in idempotent batches, household visits (走访) with a photo, coverage.

POST /api/workers/{id}/fixes       a batch of the phone's fixes, stored once per batch_key
POST /api/visits                   a visit, stored once per client_key (201, then 200 for a resend)
GET  /api/visits/{id}[/photo]      a visit (household masked for uncleared roles), its photo
POST /api/visits/{id}/photo        the visit's photo, once
GET  /api/coverage?period=day|week|month&date=&area=   covered share and the grids not visited
"""

from typing import Annotated, Literal

from fastapi import APIRouter, File, Query, Request, Response, UploadFile, status

from api.deps import SessionDep, SettingsDep, UserDep
from api.permissions import WorkerUpdateUser, check, check_own_worker
from api.routers.reports import _area, _day
from api.routing import ReadRoute
from api.schemas_field import CoveragePublic, FixBatchIn, FixBatchPublic, VisitIn, VisitPublic
from geo.crs import to_wgs84_lonlat
from geo.errors import InvalidInputError
from geo.queries import coverage, fixes, visits

router = APIRouter(route_class=ReadRoute, tags=["field work"])


@router.post("/api/workers/{worker_id}/fixes", response_model=FixBatchPublic)
def post_fixes(
    worker_id: int, body: FixBatchIn, session: SessionDep, user: WorkerUpdateUser, settings: SettingsDep
) -> dict:
    """Store a batch of position fixes (device time, accuracy) once per `batch_key`; the newest becomes the
    worker's last position. Fixes far outside the county or past the retention are not kept; a device
    clock ahead of the server's by more than the allowed skew is refused (422 naming the fix)."""
    check_own_worker(user, worker_id)
    result = fixes.ingest_fixes(
        session,
        worker_id,
        _wgs84_fixes(body),
        area=user.area,
        batch_key=body.batch_key,
        settings=settings.fieldwork,
        max_outside_m=settings.dispatch.max_outside_county_m,
    )
    session.commit()
    return result


@router.post("/api/visits", status_code=status.HTTP_201_CREATED, response_model=VisitPublic)
def post_visit(
    body: VisitIn, session: SessionDep, user: UserDep, settings: SettingsDep, response: Response
) -> dict:
    """Record a household visit of the requesting worker; a resend with the same client_key answers 200.

    Grid workers only (the input is checked first, then the role)."""
    check(user, "visit")
    if user.worker_id is None:
        raise InvalidInputError("账号未绑定网格员，不能记录走访", where="worker_id")
    row, created = visits.record_visit(
        session, user.worker_id, _visit(body), area=user.area, actor=user.name, settings=settings.fieldwork
    )
    session.commit()
    if not created:
        response.status_code = status.HTTP_200_OK
    return row


def _wgs84_fixes(body: FixBatchIn) -> list[fixes.Fix]:
    """The batch's fixes with WGS84 lon/lat (the phone may send GCJ-02 or BD-09)."""
    batch = []
    for f in body.fixes:
        lon, lat = to_wgs84_lonlat(f.lon, f.lat, body.crs)
        batch.append(fixes.Fix(f.at, float(lon), float(lat), f.accuracy_m, f.source))
    return batch


def _visit(body: VisitIn) -> visits.Visit:
    """The visit to record, its place (when it has one) in WGS84 lon/lat."""
    lon = lat = None
    if body.lon is not None and body.lat is not None:
        wl, wa = to_wgs84_lonlat(body.lon, body.lat, body.crs)
        lon, lat = float(wl), float(wa)
    return visits.Visit(
        body.client_key, body.at, lon, lat, body.accuracy_m, body.address, body.household, body.note
    )


@router.get("/api/visits/{visit_id}", response_model=VisitPublic)
def get_visit(visit_id: int, session: SessionDep, user: UserDep) -> dict:
    """One visit in your area (the household's name masked for roles without clearance)."""
    return visits.get_visit(session, visit_id, user.area)


@router.post("/api/visits/{visit_id}/photo", response_model=VisitPublic)
def post_visit_photo(
    visit_id: int,
    photo: Annotated[UploadFile, File(description="JPEG or PNG")],
    request: Request,
    session: SessionDep,
    user: UserDep,
    response: Response,
) -> dict:
    """Attach the photo of your own visit (JPEG/PNG under the cap) once: 201, then 200 as it stands."""
    check(user, "visit")
    cap = request.app.state.settings.photos.max_bytes
    data = photo.file.read(cap + 1)
    row, created = visits.set_visit_photo(
        session, visit_id, data, area=user.area, worker_id=user.worker_id, max_bytes=cap
    )
    session.commit()
    response.status_code = status.HTTP_201_CREATED if created else status.HTTP_200_OK
    return row


@router.get("/api/visits/{visit_id}/photo", response_class=Response)
def get_visit_photo(visit_id: int, session: SessionDep, user: UserDep) -> Response:
    """The photo of a visit (its sniffed type)."""
    data, content_type = visits.get_visit_photo(session, visit_id, user.area)
    headers = {"X-Content-Type-Options": "nosniff", "Cache-Control": "private, max-age=3600"}
    return Response(data, media_type=content_type, headers=headers)


@router.get("/api/coverage", response_model=CoveragePublic)
def get_coverage(
    session: SessionDep,
    user: UserDep,
    period: Literal["day", "week", "month"] = "week",
    date_: Annotated[str | None, Query(alias="date", description="a day of the period, YYYY-MM-DD")] = None,
    area: Annotated[str | None, Query(description="grid-code prefix inside your area")] = None,
    limit: Annotated[int, Query(ge=1, le=2000)] = 200,
) -> dict:
    """Coverage (走访覆盖) of the area's small grids in the day, ISO week or month holding `date`: covered
    = at least one visit or a patrol track crossing it; and the grids without a visit, never patrolled
    first."""
    where = _area(user.area, area)
    first, after = coverage.period_days(period, _day(date_))
    summary = coverage.summarize_coverage(session, where, first, after)
    return {
        "area": where,
        "period": period,
        **summary,
        "unvisited": coverage.list_unvisited(session, where, first, after, limit),
    }
