"""Grid workers: position fixes and availability."""

from fastapi import APIRouter

from api.deps import SessionDep, SettingsDep, UserDep
from api.permissions import WorkerUpdateUser, check_own_worker
from api.replica import writes_audit
from api.schemas import LocationIn, WorkerPublic, WorkerUpdate
from geo import audit
from geo.crs import to_wgs84_lonlat
from geo.privacy import mask_row
from geo.queries import dispatch

router = APIRouter(prefix="/api/workers", tags=["workers"])


@router.get("/{worker_id}", response_model=WorkerPublic)
@writes_audit
def get_worker(worker_id: int, session: SessionDep, user: UserDep) -> dict:
    """One worker (WGS84 position); name and phone masked for roles without clearance, else audited."""
    worker = dispatch.get_worker(session, worker_id, user.area)
    if not user.cleared and user.worker_id != worker_id:
        return mask_row(worker)
    if user.worker_id != worker_id:
        audit.record_read(session, user.name, table="workers", target=worker_id, detail={"what": "worker"})
        session.commit()
    return worker


@router.post("/{worker_id}/location", response_model=WorkerPublic)
def set_location(
    worker_id: int, body: LocationIn, session: SessionDep, user: WorkerUpdateUser, settings: SettingsDep
) -> dict:
    """Record a position fix (WGS84, or crs=gcj02|bd09); an older fix than the stored one is ignored.

    Grid workers may send only their own position.
    """
    check_own_worker(user, worker_id)
    lon, lat = to_wgs84_lonlat(body.lon, body.lat, body.crs)
    worker = dispatch.set_worker_location(
        session,
        worker_id,
        float(lon),
        float(lat),
        area=user.area,
        at=body.at,
        max_outside_m=settings.dispatch.max_outside_county_m,
    )
    session.commit()
    return worker


@router.patch("/{worker_id}", response_model=WorkerPublic)
def update_worker(worker_id: int, body: WorkerUpdate, session: SessionDep, user: WorkerUpdateUser) -> dict:
    """Set on_duty and/or available (grid workers: only their own)."""
    check_own_worker(user, worker_id)
    worker = dispatch.set_worker_status(
        session, worker_id, area=user.area, on_duty=body.on_duty, available=body.available
    )
    session.commit()
    return worker
