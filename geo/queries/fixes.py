"""Position fixes from the phone: idempotent batches, the position history, the worker's last fix, tracks.

    ingest_fixes(session, worker_id, fixes, *, area, batch_key, settings, max_outside_m) -> dict
    check_device_time(at, settings, where)      a device time ahead of the server's clock is refused
    rebuild_tracks(session, pairs, settings)    the patrol tracks of (worker, county day) pairs
    ensure_partitions(session, settings) / drop_old_history(session, settings)   the `fixes` job

A batch is stored once per (worker, batch key): a resend is answered from `fix_batches` and writes
nothing. Each fix carries the device's own time and accuracy; the history (`worker_fixes`, partitioned
by month) keeps every one, one per worker and instant. After a batch the worker's tracks of the days it
touched are rebuilt in the database (migration 0040's gridgov_rebuild_tracks): one row per worker and
county day, a MultiLineString split at gaps, inaccurate fixes dropped.
"""

import json
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from geo import clock, sql
from geo.errors import InvalidInputError
from geo.queries.dispatch import get_worker, set_worker_location
from geo.settings import FieldSettings

SOURCES = ("phone", "report", "visit")


@dataclass(frozen=True)
class Fix:
    """One position fix: the device's time (aware), WGS84 lon/lat, accuracy in metres if known."""

    at: datetime
    lon: float
    lat: float
    accuracy_m: float | None = None
    source: str = "phone"


def check_device_time(at: datetime, settings: FieldSettings, where: str) -> None:
    """Refuse a device time later than the server's clock by more than the allowed skew (Chinese message)."""
    now = clock.now()
    ahead = (at - now).total_seconds()
    if ahead > settings.clock_skew_s:
        raise InvalidInputError(
            f"设备时间 {clock.show(at)} 比服务器时间 {clock.show(now)} 快约 {ahead / 60:,.0f} 分钟，"
            f"超出允许的 {settings.clock_skew_s} 秒；请校准手机时间后重试",
            where=where,
        )


_CLAIM = text("""
INSERT INTO fix_batches (worker_id, batch_key, received_at, sent) VALUES (:w, :k, :now, :sent)
ON CONFLICT (worker_id, batch_key) DO NOTHING RETURNING worker_id
""")
_EARLIER = text("SELECT result FROM fix_batches WHERE worker_id = :w AND batch_key = :k")
_RESULT = text(
    "UPDATE fix_batches SET stored = :stored, result = CAST(:result AS jsonb) "
    "WHERE worker_id = :w AND batch_key = :k"
)
_INGEST = sql.load("fix_ingest")
_REBUILD = text(
    "SELECT gridgov_rebuild_tracks(CAST(:ws AS bigint[]), CAST(:ds AS date[]), CAST(:zone AS text), "
    "CAST(:acc AS real), CAST(:gap AS integer))"
)


def _check(fixes: list[Fix], settings: FieldSettings) -> None:
    if not fixes:
        raise InvalidInputError("一批至少要有一个位置", where="fixes")
    if len(fixes) > settings.max_batch:
        raise InvalidInputError(f"一批最多 {settings.max_batch} 个位置；收到 {len(fixes)} 个", where="fixes")
    for i, fix in enumerate(fixes):
        check_device_time(fix.at, settings, f"fixes.{i}.at")
        if fix.source not in SOURCES:
            raise InvalidInputError(f"来源须为 {', '.join(SOURCES)} 之一", where=f"fixes.{i}.source")


def _store(
    session: Session, worker: dict[str, Any], fixes: list[Fix], batch_key: str | None, max_outside_m: float
) -> Any:
    """Run the ingest statement (geo/sql/fix_ingest.sql) on the fixes young enough to keep."""
    code = worker["grid_code"] or ""
    params = {
        "worker_id": worker["id"],
        "county": code[:6] + "000000000",
        "grid_code": code,
        "batch_key": batch_key,
        "now": clock.now(),
        "zone": clock.zone().key,
        "max_outside_m": max_outside_m,
        "ats": [f.at for f in fixes],
        "lons": [f.lon for f in fixes],
        "lats": [f.lat for f in fixes],
        "accs": [f.accuracy_m for f in fixes],
        "sources": [f.source for f in fixes],
    }
    return session.execute(_INGEST, params).one()


def ingest_fixes(
    session: Session,
    worker_id: int,
    fixes: list[Fix],
    *,
    area: str,
    batch_key: str | None,
    settings: FieldSettings,
    max_outside_m: float,
) -> dict[str, Any]:
    """Store a batch of a worker's fixes once per batch key; rebuild the tracks of the days it touched.

    Fixes older than the retention are not kept; fixes far outside the county are not recorded. The
    answer counts what happened to the batch (`replayed`: this key was stored before, nothing new)."""
    _check(fixes, settings)
    worker = get_worker(session, worker_id, area)
    replayed = _find_replay(session, worker_id, batch_key, len(fixes))
    if replayed is not None:
        return replayed
    return _store_batch(session, worker, fixes, batch_key, settings, max_outside_m)


def _find_replay(session: Session, worker_id: int, batch_key: str | None, sent: int) -> dict[str, Any] | None:
    """The answer already given to this batch key, or None when there is no key or it is new (now claimed)."""
    if batch_key is None:
        return None
    claimed = session.execute(
        _CLAIM, {"w": worker_id, "k": batch_key, "now": clock.now(), "sent": sent}
    ).first()
    if claimed is not None:
        return None
    earlier = session.execute(_EARLIER, {"w": worker_id, "k": batch_key}).scalar_one()
    return {**earlier, "replayed": True}


def _store_batch(
    session: Session,
    worker: dict[str, Any],
    fixes: list[Fix],
    batch_key: str | None,
    settings: FieldSettings,
    max_outside_m: float,
) -> dict[str, Any]:
    """Store the fixes young enough to keep and rebuild the tracks of the days they touched; the answer,
    kept under the batch key (if any) for a resend."""
    oldest = clock.now() - timedelta(days=settings.retention_days)
    young = [f for f in fixes if f.at >= oldest]
    row = _store(session, worker, young, batch_key, max_outside_m) if young else None
    if row is not None and row.stored:
        rebuild_tracks(session, [(worker["id"], d) for d in row.days], settings)
    result = _result(batch_key, len(fixes), len(young), row)
    if batch_key is not None:
        kept = {"w": worker["id"], "k": batch_key, "stored": result["stored"], "result": json.dumps(result)}
        session.execute(_RESULT, kept)
    return {**result, "replayed": False}


def _result(batch_key: str | None, sent: int, young: int, row: Any) -> dict[str, Any]:
    inside = row.inside if row is not None else 0
    stored = row.stored if row is not None else 0
    return {
        "batch_key": batch_key,
        "sent": sent,
        "stored": stored,
        "already_stored": inside - stored,
        "outside_county": young - inside,
        "too_old": sent - young,
        "moved": bool(row.moved) if row is not None else False,
    }


def rebuild_tracks(session: Session, pairs: list[tuple[int, date]], settings: FieldSettings) -> int:
    """Recompute the patrol tracks (and the grids they cross) of these (worker id, county day) pairs."""
    if not pairs:
        return 0
    params = {
        "ws": [w for w, _ in pairs],
        "ds": [d for _, d in pairs],
        "zone": clock.zone().key,
        "acc": settings.max_accuracy_m,
        "gap": settings.track_gap_s,
    }
    return int(session.execute(_REBUILD, params).scalar_one())


def _month(day: date, ahead: int) -> date:
    index = day.year * 12 + day.month - 1 + ahead
    return date(index // 12, index % 12 + 1, 1)


def ensure_partitions(
    session: Session, settings: FieldSettings, months: list[date] | None = None
) -> list[str]:
    """Prepare the monthly partitions of the position history: this month and `months_ahead` more (or the
    months given), and any month whose fixes fell into the DEFAULT partition. Their names."""
    today = clock.today()
    wanted = set(months or [_month(today, k) for k in range(settings.months_ahead + 1)])
    stray = session.execute(
        text("SELECT DISTINCT date_trunc('month', at AT TIME ZONE 'UTC')::date FROM worker_fixes_default")
    ).scalars()
    wanted |= set(stray)
    return [
        session.execute(text("SELECT gridgov_fix_partition(:m)"), {"m": m}).scalar_one()
        for m in sorted(wanted)
    ]


_DROP_TRACKS = text("DELETE FROM patrol_tracks WHERE day < :day")
_DROP_GRIDS = text("DELETE FROM patrol_grids WHERE day < :day")
_DROP_BATCHES = text("DELETE FROM fix_batches WHERE received_at < :before")


def drop_old_history(session: Session, settings: FieldSettings) -> dict[str, int]:
    """Drop the position history older than the retention: whole monthly partitions of fixes (and older
    stray rows), the tracks and patrolled grids of older days, the record of older batches."""
    before = clock.now() - timedelta(days=settings.retention_days)
    day = clock.local(before).date()
    dropped = session.execute(text("SELECT gridgov_drop_fix_partitions(:b)"), {"b": before}).scalar_one()
    return {
        "dropped_partitions": int(dropped),
        "tracks": session.execute(_DROP_TRACKS, {"day": day}).rowcount,
        "patrolled": session.execute(_DROP_GRIDS, {"day": day}).rowcount,
        "batches": session.execute(_DROP_BATCHES, {"before": before}).rowcount,
    }


def record_location(
    session: Session,
    worker_id: int,
    lon: float,
    lat: float,
    *,
    area: str,
    at: datetime | None,
    settings: FieldSettings,
    max_outside_m: float,
) -> dict[str, Any]:
    """One fix (POST /api/workers/{id}/location): refused far outside the county, kept in the history,
    the worker's last position unless an older fix (`applied` false); its day's track rebuilt."""
    when = at or clock.now()
    check_device_time(when, settings, "at")
    worker = set_worker_location(
        session, worker_id, lon, lat, area=area, at=when, max_outside_m=max_outside_m
    )
    _keep_in_history(session, worker, Fix(when, lon, lat), settings, max_outside_m)
    return worker


def _keep_in_history(
    session: Session, worker: dict[str, Any], fix: Fix, settings: FieldSettings, max_outside_m: float
) -> None:
    """Keep one fix in the history unless it is older than the retention; rebuild its day's track."""
    if fix.at >= clock.now() - timedelta(days=settings.retention_days):
        row = _store(session, worker, [fix], None, max_outside_m)
        rebuild_tracks(session, [(worker["id"], d) for d in row.days], settings)
