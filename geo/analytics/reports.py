"""Period reports (日调度、周分析、月研判、季考评): figures counted in PostGIS, frozen once issued.

A report covers [start, end) of a day, ISO week, month or quarter in China time, for an area (a
grid-code prefix). Its figures only count what the database knew at its cut-off time (`created_at`
<= cut-off). Once a period has ended its report is issued: stored in `reports` as JSON with the
cut-off, and from then on returned as stored (a trigger refuses updates). Cases entered later but
dated inside an issued period are counted by the next report as late entries (补录).
"""

import json
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
from sqlalchemy import text
from sqlalchemy.orm import Session

from geo.analytics import stats
from geo.analytics.cells import load_cells
from geo.errors import InvalidInputError

LOCAL_TZ = ZoneInfo("Asia/Shanghai")
PERIODS = {"daily": "日调度", "weekly": "周分析", "monthly": "月研判", "quarterly": "季考评"}
COUNTED = "e.status <> 'duplicate'"
OVERDUE_DAYS = "(ARRAY[30, 15, 7, 3])[e.severity]"


def period_bounds(period: str, day: date) -> tuple[datetime, datetime]:
    """[start, end) of the period holding `day`, in China time."""
    if period == "daily":
        first, nxt = day, day + timedelta(days=1)
    elif period == "weekly":
        first = day - timedelta(days=day.weekday())
        nxt = first + timedelta(days=7)
    elif period in ("monthly", "quarterly"):
        m0 = day.month if period == "monthly" else 3 * ((day.month - 1) // 3) + 1
        first = date(day.year, m0, 1)
        m1 = m0 + (1 if period == "monthly" else 3)
        nxt = date(day.year + (m1 > 12), (m1 - 1) % 12 + 1, 1)
    else:
        raise InvalidInputError(f"period must be one of {', '.join(PERIODS)}; got {period!r}", where="period")
    return datetime.combine(first, time(), LOCAL_TZ), datetime.combine(nxt, time(), LOCAL_TZ)


_BASE = f"""e.grid_code LIKE :area || '%' AND {COUNTED} AND e.created_at <= :cutoff"""

_SUMMARY = text(f"""
SELECT
  count(*) FILTER (WHERE e.reported_at >= :start AND e.reported_at < :end) AS new,
  count(*) FILTER (WHERE e.reported_at < :start AND e.created_at > :late_after) AS late,
  count(*) FILTER (WHERE e.closed_at >= :start AND e.closed_at < :end) AS closed,
  count(*) FILTER (WHERE e.reported_at < :upto AND (e.closed_at IS NULL OR e.closed_at >= :upto)
                   AND e.status <> 'rejected') AS open,
  count(*) FILTER (WHERE e.reported_at < :upto AND (e.closed_at IS NULL OR e.closed_at >= :upto)
                   AND e.status <> 'rejected'
                   AND coalesce(e.deadline_at, e.reported_at + make_interval(days => {OVERDUE_DAYS})) < :upto)
      AS overdue,
  count(*) FILTER (WHERE e.reported_at >= :start AND e.reported_at < :end AND e.closed_at < :end)
      AS new_closed,
  count(*) FILTER (WHERE e.reported_at >= :start AND e.reported_at < :end AND e.referral IS NOT NULL)
      AS referrals,
  coalesce(sum(e.wage_recovered) FILTER (WHERE e.category = 'labour_wages' AND e.closed_at >= :start
      AND e.closed_at < :end), 0)::float8 AS wage_recovered,
  coalesce(sum(e.wage_workers) FILTER (WHERE e.category = 'labour_wages' AND e.closed_at >= :start
      AND e.closed_at < :end), 0)::int AS wage_workers
FROM events e
WHERE {_BASE} AND (e.closed_at IS NULL OR e.closed_at >= :start OR e.reported_at >= :start
                   OR e.created_at > :late_after)
""")

_BY_TOWNSHIP = text(f"""
SELECT left(e.grid_code, 9) AS code, t.name,
  count(*) FILTER (WHERE e.reported_at >= :start AND e.reported_at < :end) AS new,
  count(*) FILTER (WHERE e.closed_at >= :start AND e.closed_at < :end) AS closed,
  count(*) FILTER (WHERE e.reported_at < :upto AND (e.closed_at IS NULL OR e.closed_at >= :upto)
                   AND e.status <> 'rejected') AS open,
  count(*) FILTER (WHERE e.reported_at < :upto AND (e.closed_at IS NULL OR e.closed_at >= :upto)
                   AND e.status <> 'rejected'
                   AND coalesce(e.deadline_at, e.reported_at + make_interval(days => {OVERDUE_DAYS})) < :upto)
      AS overdue
FROM events e
LEFT JOIN grids t ON t.code = left(e.grid_code, 9) || '000000' AND t.level = 'township' AND t.valid_to IS NULL
WHERE {_BASE} AND (e.closed_at IS NULL OR e.closed_at >= :start OR e.reported_at >= :start)
GROUP BY 1, 2 ORDER BY 1
""")

_BY_CATEGORY = text(f"""
SELECT e.kind, c.label_zh AS category, count(*) AS new,
       count(*) FILTER (WHERE e.closed_at < :end) AS closed
FROM events e JOIN categories c ON c.code = e.category
WHERE {_BASE} AND e.reported_at >= :start AND e.reported_at < :end
GROUP BY 1, 2 ORDER BY 3 DESC, 2
""")

_BY_REFERRAL = text(f"""
SELECT e.referral, count(*) FROM events e
WHERE {_BASE} AND e.reported_at >= :start AND e.reported_at < :end AND e.referral IS NOT NULL
GROUP BY 1 ORDER BY 1
""")

_BY_GRID = text(f"""
SELECT e.grid_code, count(*) FROM events e
WHERE {_BASE} AND e.reported_at >= :start AND e.reported_at < :end GROUP BY 1
""")

_PREVIOUS_CUTOFF = text("""
SELECT cutoff_at FROM reports WHERE period = :period AND area = :area AND period_start < :start
ORDER BY period_start DESC LIMIT 1
""")


def _hot_codes(session: Session, area: str, start: datetime, end: datetime) -> set[str]:
    """Small grids hot at 95 % (Gi*, FDR, 999 permutations) for disputes and hazards in [start, end)."""
    cells = load_cells(session, area, "grid", kinds=("dispute", "hazard"), start=start, end=end)
    if cells.n < 3:
        return set()
    eb = stats.eb_rates(cells.counts[:, 0], np.where(cells.km2 > 0, cells.km2, 1e-6))
    gi = stats.gi_star(eb, stats.weights_from(cells.neighbours, cells.keys), 999, 620121)
    return {k for k, c in zip(cells.keys, gi.confidence, strict=True) if c >= 2}


def hotspot_changes(session: Session, area: str, start: datetime, end: datetime) -> dict[str, list[str]]:
    """Hot spots of the period (at least 28 days back from its end) against the same span before it."""
    span = max(end - start, timedelta(days=28))
    now, before = (
        _hot_codes(session, area, end - span, end),
        _hot_codes(session, area, end - 2 * span, end - span),
    )
    return {"hot": sorted(now), "new_hot": sorted(now - before), "ended_hot": sorted(before - now)}


def compute_figures(
    session: Session, period: str, area: str, start: datetime, end: datetime, cutoff: datetime
) -> dict[str, Any]:
    """Every figure of a report, counted in PostGIS, as JSON-ready values."""
    prev = session.execute(_PREVIOUS_CUTOFF, {"period": period, "area": area, "start": start}).scalar()
    p = {
        "area": area,
        "start": start,
        "end": end,
        "cutoff": cutoff,
        "late_after": prev or start,
        "upto": min(end, cutoff),
    }
    s = session.execute(_SUMMARY, p).one()._asdict()
    s["resolution_rate"] = round(s.pop("new_closed") / s["new"], 4) if s["new"] else None
    return {
        "summary": s,
        "by_township": [r._asdict() for r in session.execute(_BY_TOWNSHIP, p)],
        "by_category": [r._asdict() for r in session.execute(_BY_CATEGORY, p)],
        "referrals": {r[0]: r[1] for r in session.execute(_BY_REFERRAL, p)},
        "by_grid": {r[0]: r[1] for r in session.execute(_BY_GRID, p)},
        "hotspots": hotspot_changes(session, area, start, end),
    }


_FIND = text("""SELECT id, period_start, period_end, cutoff_at, issued_at, figures FROM reports
WHERE period = :period AND period_start = :start AND area = :area""")

_ISSUE = text("""
INSERT INTO reports (period, period_start, period_end, area, cutoff_at, figures)
VALUES (:period, :start, :end, :area, :cutoff, CAST(:figures AS jsonb))
ON CONFLICT (period, period_start, area) DO NOTHING
""")


def _envelope(
    period: str,
    area: str,
    start: datetime,
    end: datetime,
    cutoff: datetime,
    figures: dict,
    issued: bool,
    issued_at: datetime | None,
) -> dict[str, Any]:
    return {
        "period": period,
        "title": PERIODS[period],
        "area": area,
        "start": start.isoformat(),
        "end": end.isoformat(),
        "cutoff_at": cutoff.isoformat(),
        "issued": issued,
        "issued_at": issued_at.isoformat() if issued_at else None,
        **figures,
    }


def get_report(session: Session, period: str, area: str, day: date, now: datetime | None = None) -> dict:
    """The report of the period holding `day`: the issued (frozen) one, issuing it if the period has ended,
    else a live one of the period so far (not stored). The caller commits."""
    start, end = period_bounds(period, day)
    row = session.execute(_FIND, {"period": period, "start": start, "area": area}).first()
    if row is not None:
        return _envelope(
            period,
            area,
            row.period_start.astimezone(LOCAL_TZ),
            row.period_end.astimezone(LOCAL_TZ),
            row.cutoff_at,
            row.figures,
            True,
            row.issued_at,
        )
    now = now or session.execute(text("SELECT clock_timestamp()")).scalar_one()
    figures = json.loads(json.dumps(compute_figures(session, period, area, start, end, now), default=str))
    if now < end:
        return _envelope(period, area, start, end, now, figures, False, None)
    session.execute(
        _ISSUE,
        {
            "period": period,
            "start": start,
            "end": end,
            "area": area,
            "cutoff": now,
            "figures": json.dumps(figures),
        },
    )
    row = session.execute(_FIND, {"period": period, "start": start, "area": area}).one()
    return _envelope(period, area, start, end, row.cutoff_at, row.figures, True, row.issued_at)
