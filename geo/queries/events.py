"""Cases: reporting with an idempotency key, possible duplicates, the timeline, deadlines and overdue lists.

Every function takes the requester's `area` (a grid-code prefix): a case outside it is "not found",
so its existence is not revealed. The SQL is hand-written (`text()`) because the dispatch columns of
migration 0003 are not on the ORM model, and the idempotency upsert and the geography prefilters
need exact control.
"""

import hashlib
import json
import math
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from geo import clock
from geo.crs import to_wgs84_lonlat
from geo.deadlines import Deadline, HolidayCalendar, time_limit
from geo.errors import (
    IdempotencyKeyError,
    InvalidInputError,
    NotFoundError,
    OutsideCountyError,
    SwappedAxesError,
)
from geo.jobs import queue
from geo.queries import figures

EVENT_COLUMNS = """
    e.id, e.kind, e.category, e.severity, e.status, gridgov_person_text(e.title, e.id) AS title,
    gridgov_person_text(e.description, e.id) AS description, e.source, e.reported_at,
    e.closed_at, ST_X(e.geom) AS lon, ST_Y(e.geom) AS lat, e.grid_id, e.grid_code, e.assignee_id,
    e.escalation_level, e.referral, e.referral_status, e.deadline_at, e.suspended_at, e.suspended_total,
    e.deadline_provisional, e.deadline_uncovered_years,
    e.handled_by, e.duplicate_of, e.created_at, e.updated_at"""
# One case, with 超期 at the clock's instant (geo.queries.figures), so no page decides it by its own clock.
_GET = text(
    f"SELECT {EVENT_COLUMNS}, {figures.overdue_at('e', ':at')} AS overdue "
    "FROM events e WHERE e.id = :id AND e.grid_code LIKE :area"
)
_LOG = text("""
INSERT INTO event_log (event_id, at, actor, action, from_status, to_status, note, data)
VALUES (:event_id, :at, :actor, :action, :from_status, :to_status, :note, CAST(:data AS jsonb))
""")
_M_PER_DEG = 111_320.0


@dataclass
class ReportResult:
    """A reported case, whether this request created it, and possible duplicates nearby."""

    event: dict[str, Any]
    created: bool
    duplicates: list[dict[str, Any]] = field(default_factory=list)


def area_like(area: str) -> str:
    """The LIKE pattern of an area prefix (codes are digits only, so nothing needs escaping)."""
    if not area.isdigit():
        raise InvalidInputError(f"area must be a grid-code prefix of digits; got {area!r}", where="area")
    return area + "%"


def get_event(session: Session, event_id: int, area: str) -> dict[str, Any]:
    """One case inside the area (with `overdue` now); NotFoundError otherwise, also when it is elsewhere."""
    params = {"id": event_id, "area": area_like(area), "at": clock.now()}
    row = session.execute(_GET, params).mappings().first()
    if row is None:
        raise NotFoundError(f"案件 {event_id} 不存在", where="event_id")
    return dict(row)


_LOCK = text(
    "SELECT id, status, category, severity, assignee_id, handled_by, escalation_level, referral, "
    "referral_status, deadline_at, suspended_at, grid_code FROM events "
    "WHERE id = :id AND grid_code LIKE :area FOR UPDATE"
)


def lock_event(session: Session, event_id: int, area: str) -> Any:
    """The case row, locked for this transaction; NotFoundError outside the area."""
    row = session.execute(_LOCK, {"id": event_id, "area": area_like(area)}).first()
    if row is None:
        raise NotFoundError(f"案件 {event_id} 不存在", where="event_id")
    return row


def log_action(
    session: Session,
    event_id: int,
    actor: str,
    action: str,
    *,
    from_status: str | None = None,
    to_status: str | None = None,
    note: str = "",
    data: dict[str, Any] | None = None,
) -> None:
    """Record one change of a case (the timeline reads these rows) and queue its county's refresh."""
    session.execute(
        _LOG,
        {
            "event_id": event_id,
            "at": clock.now(),
            "actor": actor,
            "action": action,
            "from_status": from_status,
            "to_status": to_status,
            "note": note or "",
            "data": json.dumps(data or {}, default=str),
        },
    )
    queue.enqueue_refresh_for_event(session, event_id)


def request_hash(body: dict[str, Any]) -> str:
    """A stable hash of a request body, to tell a resend from a different report under the same key."""
    return hashlib.sha256(json.dumps(body, sort_keys=True, default=str).encode()).hexdigest()


def _claim_key(session: Session, actor: str, key: str, digest: str) -> int | None:
    """Claim an account's idempotency key; return the event id of its earlier identical request, or None
    if new. Keys are the account's own (migration 0030): another account's key is another key.

    INSERT ... ON CONFLICT waits for a concurrent transaction holding the same key, so two resends
    racing each other still produce one event.
    """
    claimed = session.execute(
        text(
            "INSERT INTO idempotency_keys (actor, key, request_hash) VALUES (:actor, :key, :hash) "
            "ON CONFLICT (actor, key) DO NOTHING RETURNING key"
        ),
        {"actor": actor, "key": key, "hash": digest},
    ).first()
    if claimed is not None:
        return None
    old = session.execute(
        text("SELECT event_id, request_hash FROM idempotency_keys WHERE actor = :actor AND key = :key"),
        {"actor": actor, "key": key},
    ).one()
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


def _insert_event(
    session: Session, body: dict[str, Any], lon: float, lat: float, reporter: int | None = None
) -> int:
    params = {
        k: body.get(k)
        for k in (
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
    }
    params.update(
        title=params["title"] or "",
        description=params["description"] or "",
        lon=lon,
        lat=lat,
        now=clock.now(),
        reporter=reporter,
    )
    event_id = session.execute(_INSERT, params).scalar()
    if event_id is None:
        raise InvalidInputError(
            f"未知的类别 {body.get('category')!r}（或与 kind {body.get('kind')!r} 不符）", where="category"
        )
    for party in body.get("parties") or []:
        session.execute(
            text("INSERT INTO parties (event_id, role, name, phone) VALUES (:e, :role, :name, :phone)"),
            {"e": event_id, "role": party["role"], "name": party["name"], "phone": party.get("phone")},
        )
    return event_id


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
    if key is not None:
        earlier = _claim_key(session, actor, key, request_hash(body))
        if earlier is not None:
            event = get_event(session, earlier, area)
            return ReportResult(
                event, False, find_duplicates(session, earlier, area, duplicate_radius_m, duplicate_window_h)
            )
    lon_a, lat_a = to_wgs84_lonlat(body["lon"], body["lat"], body.get("crs") or "wgs84")
    lon, lat = float(lon_a), float(lat_a)
    locate_in_area(session, lon, lat, area)
    event_id = _insert_event(session, body, lon, lat, reporter_worker_id)
    if key is not None:
        session.execute(
            text("UPDATE idempotency_keys SET event_id = :e WHERE actor = :actor AND key = :key"),
            {"e": event_id, "actor": actor, "key": key},
        )
    log_action(
        session,
        event_id,
        actor,
        "report",
        to_status="reported",
        data={"source": body.get("source"), "crs": body.get("crs") or "wgs84", "idempotency_key": key},
    )
    duplicates = find_duplicates(session, event_id, area, duplicate_radius_m, duplicate_window_h)
    return ReportResult(get_event(session, event_id, area), True, duplicates)


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
  AND e.grid_code LIKE :area
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
            "area": area_like(area),
            "window": timedelta(hours=window_h),
        },
    ).mappings()
    return [dict(r) for r in rows]


def load_calendar(session: Session) -> HolidayCalendar:
    """The holiday calendar (days off, adjusted working weekends, covered years) from the database."""
    return HolidayCalendar.from_rows(
        ((row.day, row.workday) for row in session.execute(text("SELECT day, workday FROM holidays"))),
        years=session.execute(text("SELECT year FROM calendar_years")).scalars(),
    )


def deadline_for(session: Session, category: str, severity: int, start: datetime) -> Deadline | None:
    """The deadline of a case registered at `start`, from its category's (or the default) time limit."""
    limit = session.execute(
        text(
            "SELECT amount, unit FROM time_limits WHERE severity = :s AND category IN (:c, '*') "
            "ORDER BY category = '*' LIMIT 1"
        ),
        {"s": severity, "c": category},
    ).first()
    if limit is None:
        return None
    return time_limit(start, limit.amount, limit.unit, load_calendar(session))


def deadline_columns(deadline: Deadline | None) -> dict[str, Any]:
    """The events columns that hold a deadline: its instant, its basis, the years counted as weekends only."""
    if deadline is None:
        return {"deadline_at": None, "deadline_basis": None, "deadline_uncovered_years": []}
    return {
        "deadline_at": deadline.at,
        "deadline_basis": None if deadline.basis is None else json.dumps(list(deadline.basis)),
        "deadline_uncovered_years": sorted(deadline.uncovered),
    }


def get_deadline(session: Session, event_id: int) -> Deadline | None:
    """A case's deadline with its basis (None when it has none); lock the case first to change it."""
    row = session.execute(
        text("SELECT deadline_at, deadline_basis, deadline_uncovered_years FROM events WHERE id = :id"),
        {"id": event_id},
    ).first()
    if row is None or row.deadline_at is None:
        return None
    basis = None if row.deadline_basis is None else tuple(row.deadline_basis)
    return Deadline(row.deadline_at, frozenset(row.deadline_uncovered_years), basis)


def paused_total(session: Session, event_id: int) -> timedelta:
    """How long a case's clock has stood still so far (挂账), before a pause ends."""
    return session.execute(
        text("SELECT suspended_total FROM events WHERE id = :id"), {"id": event_id}
    ).scalar_one()


def record_pause(session: Session, event_id: int, before: timedelta) -> None:
    """Add the pause that just ended (suspended_total grew from `before`) to the deadline's basis."""
    session.execute(
        text(
            "UPDATE events SET deadline_basis = deadline_basis || jsonb_build_array(jsonb_build_object("
            "'step', 'pause', 'seconds', extract(epoch FROM suspended_total - CAST(:before AS interval)))) "
            "WHERE id = :id AND deadline_basis IS NOT NULL AND suspended_total > CAST(:before AS interval)"
        ),
        {"id": event_id, "before": before},
    )


# The one overdue rule (geo.queries.figures) at the clock's instant; the partial index events_open
# narrows the scan to open cases.
_OVERDUE = text(f"""
SELECT {EVENT_COLUMNS}, CAST(:at AS timestamptz) - e.deadline_at AS overdue_by FROM events e
WHERE e.grid_code LIKE :area AND {figures.open_now("e", ":at")} AND {figures.overdue_at("e", ":at")}
ORDER BY e.deadline_at, e.id LIMIT :limit
""")
_OVERDUE_BY_GRID = text(f"""
SELECT e.grid_code, g.name, count(*) AS overdue FROM events e
LEFT JOIN grids g ON g.code = e.grid_code AND g.valid_to IS NULL
WHERE e.grid_code LIKE :area AND {figures.open_now("e", ":at")} AND {figures.overdue_at("e", ":at")}
GROUP BY e.grid_code, g.name ORDER BY overdue DESC, e.grid_code LIMIT :limit
""")


def list_overdue(session: Session, area: str, limit: int = 100) -> list[dict[str, Any]]:
    """Open cases past their deadline now, longest overdue first."""
    params = {"area": area_like(area), "limit": limit, "at": clock.now()}
    return [dict(r) for r in session.execute(_OVERDUE, params).mappings()]


def list_due_soon(session: Session, area: str, hours: float, limit: int = 100) -> list[dict[str, Any]]:
    """Open, running cases whose deadline falls within the next `hours` hours, soonest first."""
    now = clock.now()
    rows = session.execute(
        text(
            f"SELECT {EVENT_COLUMNS} FROM events e "
            "WHERE e.status IN ('registered','dispatched','in_progress') AND e.suspended_at IS NULL "
            "AND e.deadline_at >= :now AND e.deadline_at < :until AND e.grid_code LIKE :area "
            "ORDER BY e.deadline_at, e.id LIMIT :limit"
        ),
        {"now": now, "until": now + timedelta(hours=hours), "area": area_like(area), "limit": limit},
    ).mappings()
    return [dict(r) for r in rows]


def count_overdue_by_grid(session: Session, area: str, limit: int = 1000) -> list[dict[str, Any]]:
    """How many overdue cases each small grid holds now (grid code, name, count), most first."""
    params = {"area": area_like(area), "limit": limit, "at": clock.now()}
    return [dict(r) for r in session.execute(_OVERDUE_BY_GRID, params).mappings()]
