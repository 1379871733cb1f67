"""Reporting a case: the idempotency key, its small grid (and swapped axes), possible duplicates nearby.

Hand-written SQL (`text()`): the idempotency upsert and the geography prefilter need exact control.
"""

import hashlib
import json
import math
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from geo import clock
from geo.crs import to_wgs84_lonlat
from geo.errors import IdempotencyKeyError, InvalidInputError, OutsideCountyError, SwappedAxesError
from geo.queries.area import area_range
from geo.queries.events import get_event, log_action

_M_PER_DEG = 111_320.0


@dataclass
class ReportResult:
    """A reported case, whether this request created it, and possible duplicates nearby."""

    event: dict[str, Any]
    created: bool
    duplicates: list[dict[str, Any]] = field(default_factory=list)


def request_hash(body: dict[str, Any]) -> str:
    """A stable hash of a request body, to tell a resend from a different report under the same key."""
    return hashlib.sha256(json.dumps(body, sort_keys=True, default=str).encode()).hexdigest()


_CLAIM = text(
    "INSERT INTO idempotency_keys (actor, key, request_hash) VALUES (:actor, :key, :hash) "
    "ON CONFLICT (actor, key) DO NOTHING RETURNING key"
)
_EARLIER = text("SELECT event_id, request_hash FROM idempotency_keys WHERE actor = :actor AND key = :key")
_SET_KEY_EVENT = text("UPDATE idempotency_keys SET event_id = :e WHERE actor = :actor AND key = :key")


def _claim_key(session: Session, actor: str, key: str, digest: str) -> int | None:
    """Claim an account's idempotency key; return the event id of its earlier identical request, or None
    if new. Keys are the account's own (migration 0030): another account's key is another key.

    INSERT ... ON CONFLICT waits for a concurrent transaction holding the same key, so two resends
    racing each other still produce one event.
    """
    claimed = session.execute(_CLAIM, {"actor": actor, "key": key, "hash": digest}).first()
    if claimed is not None:
        return None
    old = session.execute(_EARLIER, {"actor": actor, "key": key}).one()
    if old.request_hash != digest:
        raise IdempotencyKeyError(
            "Idempotency-Key 已用于另一份不同的上报；新的上报请换一个新的键", where="Idempotency-Key"
        )
    return old.event_id


def _small_grid_code(session: Session, lon: float, lat: float) -> str | None:
    return session.execute(
        text("SELECT code FROM gridgov_small_grid_at(ST_SetSRID(ST_MakePoint(:lon, :lat), 4326))"),
        {"lon": lon, "lat": lat},
    ).scalar()


def locate_in_area(session: Session, lon: float, lat: float, area: str) -> str:
    """The small grid code of a WGS84 point inside the area; says so when lon/lat look swapped."""
    code = _small_grid_code(session, lon, lat)
    if code is not None and code.startswith(area):
        return code
    if -90 <= lon <= 90 and -180 <= lat <= 180:
        swapped = _small_grid_code(session, lat, lon)
        if swapped is not None and swapped.startswith(area):
            raise SwappedAxesError(
                f"经纬度疑似颠倒：lon {lon}, lat {lat} 不在任何网格内，而 lon {lat}, lat {lon} 在网格内；"
                "请按 lon（经度）, lat（纬度）的顺序提交",
                where="lon,lat",
            )
    raise OutsideCountyError(f"位置 lon {lon}, lat {lat}（WGS84）不在您辖区内的任何网格中", where="lon,lat")


# A phone clock a little ahead of the server's (allowed by EventCreate) reports "now", not the future:
# the case is open (figures.open_at) from the moment it is stored.
_INSERT = text("""
INSERT INTO events (kind, category, severity, title, description, source, reported_at, created_at, geom,
                    wage_owed, wage_recovered, wage_workers, reporter_worker_id)
SELECT c.kind, c.code, CAST(:severity AS smallint), CAST(:title AS text), CAST(:description AS text),
       CAST(:source AS text), least(coalesce(CAST(:reported_at AS timestamptz), :now), :now), :now,
       ST_SetSRID(ST_MakePoint(:lon, :lat), 4326), CAST(:wage_owed AS numeric),
       CAST(:wage_recovered AS numeric), CAST(:wage_workers AS integer), CAST(:reporter AS bigint)
FROM categories c WHERE c.code = :category AND (CAST(:kind AS text) IS NULL OR c.kind = :kind)
RETURNING id
""")


_FIELDS = (
    "kind",
    "category",
    "severity",
    "title",
    "description",
    "source",
    "reported_at",
    "wage_owed",
    "wage_recovered",
    "wage_workers",
)
_PARTY = text("INSERT INTO parties (event_id, role, name, phone) VALUES (:e, :role, :name, :phone)")


def _insert_event(
    session: Session, body: dict[str, Any], lon: float, lat: float, reporter: int | None = None
) -> int:
    event_id = session.execute(_INSERT, _event_params(body, lon, lat, reporter)).scalar()
    if event_id is None:
        raise InvalidInputError(
            f"未知的类别 {body.get('category')!r}（或与 kind {body.get('kind')!r} 不符）", where="category"
        )
    for party in body.get("parties") or []:
        session.execute(
            _PARTY, {"e": event_id, "role": party["role"], "name": party["name"], "phone": party.get("phone")}
        )
    return event_id


def _event_params(body: dict[str, Any], lon: float, lat: float, reporter: int | None) -> dict[str, Any]:
    """The values of _INSERT: the body's fields (title and description at least ''), point, now, reporter."""
    params = {k: body.get(k) for k in _FIELDS}
    params.update(
        title=params["title"] or "",
        description=params["description"] or "",
        lon=lon,
        lat=lat,
        now=clock.now(),
        reporter=reporter,
    )
    return params


def report_event(
    session: Session,
    body: dict[str, Any],
    *,
    area: str,
    actor: str,
    key: str | None,
    duplicate_radius_m: float,
    duplicate_window_h: float,
    reporter_worker_id: int | None = None,
) -> ReportResult:
    """Record a reported case once per idempotency key; find its small grid and possible duplicates.

    `body` holds the EventCreate fields; lon/lat are in `body["crs"]` (wgs84, gcj02 or bd09).
    `reporter_worker_id`: the grid worker whose account reports it (their cases found, 发现上报).
    """
    near = (duplicate_radius_m, duplicate_window_h)
    replay = _find_replay(session, body, area=area, actor=actor, key=key, near=near)
    return replay or _new_report(session, body, area, actor, key, reporter_worker_id, near)


def _find_replay(
    session: Session,
    body: dict[str, Any],
    *,
    area: str,
    actor: str,
    key: str | None,
    near: tuple[float, float],
) -> ReportResult | None:
    """The answer to a resend of a request under its idempotency key (None: no key, or a new one, now
    claimed); near: the duplicates' radius (m) and window (h)."""
    earlier = _claim_key(session, actor, key, request_hash(body)) if key is not None else None
    if earlier is None:
        return None
    event = get_event(session, earlier, area)
    return ReportResult(event, False, find_duplicates(session, earlier, area, *near))


def _new_report(
    session: Session,
    body: dict[str, Any],
    area: str,
    actor: str,
    key: str | None,
    reporter: int | None,
    near: tuple[float, float],
) -> ReportResult:
    """Store a new case in its small grid (its key pointing at it) and log it; with its duplicates."""
    lon, lat = _wgs84(body)
    locate_in_area(session, lon, lat, area)
    event_id = _insert_event(session, body, lon, lat, reporter)
    if key is not None:
        session.execute(_SET_KEY_EVENT, {"e": event_id, "actor": actor, "key": key})
    data = {"source": body.get("source"), "crs": body.get("crs") or "wgs84", "idempotency_key": key}
    log_action(session, event_id, actor, "report", to_status="reported", data=data)
    duplicates = find_duplicates(session, event_id, area, *near)
    return ReportResult(get_event(session, event_id, area), True, duplicates)


def _wgs84(body: dict[str, Any]) -> tuple[float, float]:
    """The reported point as WGS84 lon/lat (converted from body["crs"])."""
    lon, lat = to_wgs84_lonlat(body["lon"], body["lat"], body.get("crs") or "wgs84")
    return float(lon), float(lat)


# Geography gives metres; the degree box before it lets the GiST index on events.geom do the work.
_DUPLICATES = text("""
SELECT e.id, gridgov_person_text(e.title, e.id) AS title, e.status, e.reported_at, e.grid_code,
       ST_Distance(e.geom::geography, n.geom::geography) AS distance_m
FROM events n
JOIN events e ON e.category = n.category AND e.id <> n.id
             AND e.geom && ST_Expand(n.geom, :deg)
             AND ST_DWithin(e.geom::geography, n.geom::geography, :radius)
WHERE n.id = :id
  AND e.status NOT IN ('rejected', 'duplicate')
  AND e.reported_at BETWEEN n.reported_at - :window AND n.reported_at + :window
  AND e.grid_code ~>=~ :lo AND e.grid_code ~<~ :hi
ORDER BY distance_m, e.id
LIMIT 10
""")


def find_duplicates(
    session: Session, event_id: int, area: str, radius_m: float, window_h: float
) -> list[dict[str, Any]]:
    """Cases of the same category within `radius_m` metres and `window_h` hours of this one."""
    lat = (
        session.execute(text("SELECT ST_Y(geom) FROM events WHERE id = :id"), {"id": event_id}).scalar()
        or 0.0
    )
    deg = radius_m / (_M_PER_DEG * max(math.cos(math.radians(lat)), 0.01)) * 1.05
    rows = session.execute(
        _DUPLICATES,
        {
            "id": event_id,
            "deg": deg,
            "radius": radius_m,
            **area_range(area),
            "window": timedelta(hours=window_h),
        },
    ).mappings()
    return [dict(r) for r in rows]
