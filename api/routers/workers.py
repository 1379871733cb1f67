"""Grid workers: position fixes and availability."""

from fastapi import APIRouter
from sqlalchemy.orm import Session

from api.deps import SessionDep, SettingsDep, UserDep
from api.permissions import WorkerUpdateUser, check_own_worker
from api.routing import ReadRoute
from api.schemas_dispatch import LocationIn, WorkerPublic, WorkerUpdate
from api.settings import Settings
from geo.crs import to_wgs84_lonlat
from geo.queries import dispatch, fixes

router = APIRouter(route_class=ReadRoute, prefix="/api/workers", tags=["workers"])


@router.get("/{worker_id}", response_model=WorkerPublic)
def get_worker(worker_id: int, session: SessionDep, user: UserDep) -> dict:
    """One worker (WGS84 position); name and phone masked for roles without clearance, else audited
    (a grid worker reads their own row as it is)."""
    return dispatch.get_worker(session, worker_id, user.area)


@router.post("/{worker_id}/location", response_model=WorkerPublic)
def set_location(
    worker_id: int, body: LocationIn, session: SessionDep, user: WorkerUpdateUser, settings: SettingsDep
) -> dict:
    """Record a position fix (WGS84, or crs=gcj02|bd09), kept in the position history; an older fix than
    the stored one does not move the worker (`applied` false). Phones send batches: POST .../fixes.

    Grid workers may send only their own position.
    """
    check_own_worker(user, worker_id)
    worker = _record_location(session, worker_id, body, user.area, settings)
    session.commit()
    return worker


def _record_location(
    session: Session, worker_id: int, body: LocationIn, area: str, settings: Settings
) -> dict:
    """Record the fix in WGS84 lon/lat, with the field-work settings and the county's margin."""
    lon, lat = to_wgs84_lonlat(body.lon, body.lat, body.crs)
    return fixes.record_location(
        session,
        worker_id,
        float(lon),
        float(lat),
        area=area,
        at=body.at,
        settings=settings.fieldwork,
        max_outside_m=settings.dispatch.max_outside_county_m,
    )


@router.patch("/{worker_id}", response_model=WorkerPublic)
def update_worker(worker_id: int, body: WorkerUpdate, session: SessionDep, user: WorkerUpdateUser) -> dict:
    """Set on_duty and/or available (grid workers: only their own)."""
    check_own_worker(user, worker_id)
    worker = dispatch.set_worker_status(
        session, worker_id, area=user.area, on_duty=body.on_duty, available=body.available
    )
    session.commit()
    return worker
