"""Household visits (入户走访排查): recorded once per client key, in the small grid where they happened.

    record_visit(session, worker_id, visit, *, area, actor, settings) -> (dict, created)
    set_visit_photo(session, visit_id, data, *, area, worker_id, max_bytes) -> (dict, created)
    get_visit(session, visit_id, area) / get_visit_photo(session, visit_id, area)

A visit carries the device's time and, when the phone had one, its position: it lies in the current
small grid covering that position (which must be in the worker's area), else in the worker's own grid.
The phone's offline queue resends a visit with the same client key and gets the same row back.
"""

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from geo import clock
from geo.errors import InvalidInputError, NotFoundError
from geo.queries.area import area_range, in_area
from geo.queries.dispatch import get_worker
from geo.queries.fixes import check_device_time
from geo.queries.photos import check_photo
from geo.queries.reporting import locate_in_area
from geo.settings import FieldSettings


@dataclass(frozen=True)
class Visit:
    """What a worker records at a household or place (WGS84 lon/lat, or none)."""

    client_key: str
    at: datetime
    lon: float | None = None
    lat: float | None = None
    accuracy_m: float | None = None
    address: str = ""
    household: str = ""
    note: str = ""


_COLUMNS = """v.id, v.worker_id, v.at, v.received_at, ST_X(v.geom) AS lon, ST_Y(v.geom) AS lat, v.accuracy_m,
    v.grid_code, v.address, gridgov_person_name(v.household) AS household, v.note,
    v.photo IS NOT NULL AS has_photo,
    v.photo_type, v.recorded_by, v.client_key"""
_INSERT = text("""
INSERT INTO visits (worker_id, client_key, at, received_at, geom, accuracy_m, grid_id, grid_code, address,
                    household, note, recorded_by)
SELECT :w, :k, :at, :now, CASE WHEN CAST(:lon AS float8) IS NULL THEN NULL
                               ELSE ST_SetSRID(ST_MakePoint(:lon, :lat), 4326) END,
       :acc, g.id, g.code, :address, :household, :note, :actor
FROM grids g WHERE g.code = :code AND g.valid_to IS NULL
ON CONFLICT (worker_id, client_key) DO NOTHING
RETURNING id
""")
_BY_KEY = text("SELECT id FROM visits WHERE worker_id = :w AND client_key = :k")
_GET = text(f"SELECT {_COLUMNS} FROM visits v WHERE v.id = :id AND {in_area('v.grid_code')}")


def _grid_of(session: Session, visit: Visit, worker: dict[str, Any], area: str) -> str:
    """The small grid of the visit: where it happened (inside the area), else the worker's own."""
    if visit.lon is None or visit.lat is None:
        if not worker["grid_code"]:
            raise InvalidInputError("网格员没有所属网格，走访须带位置", where="lon,lat")
        return str(worker["grid_code"])
    return locate_in_area(session, visit.lon, visit.lat, area)


def record_visit(
    session: Session, worker_id: int, visit: Visit, *, area: str, actor: str, settings: FieldSettings
) -> tuple[dict[str, Any], bool]:
    """Record a visit once per (worker, client key); ({visit}, created). A resend returns the first."""
    check_device_time(visit.at, settings, "at")
    if (visit.lon is None) != (visit.lat is None):
        raise InvalidInputError("位置须同时给出 lon 和 lat", where="lon,lat")
    earlier = session.execute(_BY_KEY, {"w": worker_id, "k": visit.client_key}).scalar()
    if earlier is not None:
        return get_visit(session, earlier, area), False
    params = _insert_params(session, worker_id, visit, area=area, actor=actor)
    new = session.execute(_INSERT, params).scalar()
    if new is None:  # a concurrent resend won the key
        return get_visit(session, session.execute(_BY_KEY, params).scalar_one(), area), False
    return get_visit(session, new, area), True


def _insert_params(
    session: Session, worker_id: int, visit: Visit, *, area: str, actor: str
) -> dict[str, Any]:
    """The values of a new visit, in its small grid (the worker must be in the area: NotFoundError)."""
    worker = get_worker(session, worker_id, area)
    return {
        "w": worker_id,
        "k": visit.client_key,
        "at": visit.at,
        "now": clock.now(),
        "lon": visit.lon,
        "lat": visit.lat,
        "acc": visit.accuracy_m,
        "code": _grid_of(session, visit, worker, area),
        "address": visit.address,
        "household": visit.household,
        "note": visit.note,
        "actor": actor,
    }


def get_visit(session: Session, visit_id: int, area: str) -> dict[str, Any]:
    """One visit in the area (household masked for uncleared roles); NotFoundError otherwise."""
    row = session.execute(_GET, {"id": visit_id, **area_range(area)}).mappings().first()
    if row is None:
        raise NotFoundError(f"走访记录 {visit_id} 不存在", where="visit_id")
    return dict(row)


_SET_PHOTO = text("""
UPDATE visits SET photo = :b, photo_type = :ct
WHERE id = :id AND worker_id = :w AND photo IS NULL RETURNING id
""")


def set_visit_photo(
    session: Session, visit_id: int, data: bytes, *, area: str, worker_id: int | None, max_bytes: int
) -> tuple[dict[str, Any], bool]:
    """Attach the photo of a visit once (its own worker only); a second upload returns the visit as it is."""
    content_type = check_photo(data, max_bytes)
    visit = get_visit(session, visit_id, area)
    if visit["worker_id"] != worker_id:
        raise NotFoundError(f"走访记录 {visit_id} 不是您的", where="visit_id")
    done = session.execute(
        _SET_PHOTO, {"b": data, "ct": content_type, "id": visit_id, "w": worker_id}
    ).first()
    return get_visit(session, visit_id, area), done is not None


_PHOTO = text(f"SELECT photo, photo_type FROM visits v WHERE v.id = :id AND {in_area('v.grid_code')}")


def get_visit_photo(session: Session, visit_id: int, area: str) -> tuple[bytes, str]:
    """The photo of a visit in the area (bytes, type); NotFoundError when there is none."""
    row = session.execute(_PHOTO, {"id": visit_id, **area_range(area)}).first()
    if row is None or row.photo is None:
        raise NotFoundError(f"走访记录 {visit_id} 没有照片", where="visit_id")
    return bytes(row.photo), str(row.photo_type)
