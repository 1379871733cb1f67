"""Period reports (日调度、周分析、月研判、季考评): figures counted in PostGIS, frozen once issued.

A report covers [start, end) of a day, ISO week, month or quarter in the county's zone (geo.clock), for
an area (a grid-code prefix). Its figures count what the database knew at its cut-off (`created_at` <=
cut-off) with the one definition of each figure (geo.queries.figures). A report is issued only by the
scheduled `reports` job once its period has ended, or by an explicit POST: it is then stored in
`reports` with its cut-off and returned as stored from then on (a trigger refuses updates). Reading a
report never issues it: a period not issued yet is counted live and says so. Cases entered later but
dated inside an issued period are counted by the next report as late entries (补录).
"""

import json
from datetime import date, datetime, timedelta
from typing import Any

import numpy as np
from sqlalchemy import text
from sqlalchemy.orm import Session

from geo import clock
from geo.analytics import stats
from geo.analytics.cells import load_cells
from geo.errors import ConflictError, InvalidInputError
from geo.queries import figures as f

PERIODS = {"daily": "日调度", "weekly": "周分析", "monthly": "月研判", "quarterly": "季考评"}


def period_bounds(period: str, day: date) -> tuple[datetime, datetime]:
    """[start, end) of the period holding `day`, in the county's zone."""
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
        raise InvalidInputError(f"周期须为 {', '.join(PERIODS)} 之一；收到 {period!r}", where="period")
    return clock.midnight(first), clock.midnight(nxt)


# What the database knew at the cut-off, in the area; merged duplicates never count.
_BASE = """e.grid_code LIKE :area || '%' AND e.status <> 'duplicate' AND e.created_at <= :cutoff"""

_SUMMARY = text(f"""
SELECT
  count(*) FILTER (WHERE {f.new_in()}) AS new,
  count(*) FILTER (WHERE e.reported_at < :start AND e.created_at > :late_after) AS late,
  count(*) FILTER (WHERE e.status = 'closed' AND e.closed_at >= :start AND e.closed_at < :end) AS closed,
  count(*) FILTER (WHERE {f.open_at("e", ":upto")}) AS open,
  count(*) FILTER (WHERE {f.overdue_at("e", ":upto")}) AS overdue,
  count(*) FILTER (WHERE {f.new_in()} AND {f.accepted()}) AS accepted_new,
  count(*) FILTER (WHERE {f.new_in()} AND {f.accepted()} AND {f.closed_at("e", ":upto")}) AS closed_new,
  count(*) FILTER (WHERE {f.new_in()} AND e.referral IS NOT NULL) AS referrals,
  coalesce(sum(e.wage_recovered) FILTER (WHERE e.category = 'labour_wages' AND e.status = 'closed'
      AND e.closed_at >= :start AND e.closed_at < :end), 0)::float8 AS wage_recovered,
  coalesce(sum(e.wage_workers) FILTER (WHERE e.category = 'labour_wages' AND e.status = 'closed'
      AND e.closed_at >= :start AND e.closed_at < :end), 0)::int AS wage_workers
FROM events e
WHERE {_BASE} AND e.reported_at < :end
  AND (e.closed_at IS NULL OR e.closed_at >= :start OR e.reported_at >= :start OR e.created_at > :late_after)
""")

_ON_DUTY = text(f"SELECT count(*) FROM workers w WHERE w.home_grid_code LIKE :area || '%' AND {f.on_duty()}")

_BY_TOWNSHIP = text(f"""
SELECT left(e.grid_code, 9) AS code, t.name,
  count(*) FILTER (WHERE {f.new_in()}) AS new,
  count(*) FILTER (WHERE e.status = 'closed' AND e.closed_at >= :start AND e.closed_at < :end) AS closed,
  count(*) FILTER (WHERE {f.open_at("e", ":upto")}) AS open,
  count(*) FILTER (WHERE {f.overdue_at("e", ":upto")}) AS overdue
FROM events e
LEFT JOIN grids t ON t.code = left(e.grid_code, 9) || '000000' AND t.level = 'township' AND t.valid_to IS NULL
WHERE {_BASE} AND e.reported_at < :end AND (e.closed_at IS NULL OR e.closed_at >= :start)
GROUP BY 1, 2 ORDER BY 1
""")

_BY_CATEGORY = text(f"""
SELECT e.kind, c.label_zh AS category, count(*) AS new,
       count(*) FILTER (WHERE {f.closed_at("e", ":end")}) AS closed
FROM events e JOIN categories c ON c.code = e.category
WHERE {_BASE} AND {f.new_in()}
GROUP BY 1, 2 ORDER BY 3 DESC, 2
""")

_BY_REFERRAL = text(f"""
SELECT e.referral, count(*) FROM events e
WHERE {_BASE} AND {f.new_in()} AND e.referral IS NOT NULL
GROUP BY 1 ORDER BY 1
""")

_BY_GRID = text(f"""
SELECT e.grid_code, count(*) FROM events e
WHERE {_BASE} AND {f.new_in()} GROUP BY 1
""")

# The three colours at the report's cut-off: the stored grades (geo.analytics.risk) of the area.
_RISK = text("""
SELECT grade, count(*) AS grids, max(as_of) AS as_of FROM risk_grades
WHERE grid_code LIKE :area || '%' AND as_of <= :cutoff GROUP BY grade
""")

_PREVIOUS_CUTOFF = text("""
SELECT cutoff_at FROM reports WHERE period = :period AND area = :area AND period_start < :start
ORDER BY period_start DESC LIMIT 1
""")


def _hot_codes(session: Session, area: str, start: datetime, end: datetime) -> set[str]:
    """Small grids hot at 95 % (Gi*, analytical z-scores, FDR) for disputes and hazards in [start, end).

    Analytical, not permutation, p-values: a report is counted live whenever a period not yet issued is
    read, and 999 permutations of a province cost tens of seconds."""
    cells = load_cells(session, area, "grid", kinds=("dispute", "hazard"), start=start, end=end)
    if cells.n < 3:
        return set()
    eb = stats.eb_rates(cells.counts[:, 0], np.where(cells.km2 > 0, cells.km2, 1e-6))
    gi = stats.gi_star(eb, stats.weights_from(cells.neighbours, cells.keys), 0, 620121)
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
    s["resolution_rate"] = f.resolution_rate(s.pop("closed_new"), s.pop("accepted_new"))
    s["on_duty"] = session.execute(_ON_DUTY, p).scalar_one()
    grades = session.execute(_RISK, p).all()
    risk = {r.grade: r.grids for r in grades}
    as_of = max((r.as_of for r in grades), default=None)
    return {
        "summary": s,
        "by_township": [r._asdict() for r in session.execute(_BY_TOWNSHIP, p)],
        "by_category": [r._asdict() for r in session.execute(_BY_CATEGORY, p)],
        "referrals": {r[0]: r[1] for r in session.execute(_BY_REFERRAL, p)},
        "by_grid": {r[0]: r[1] for r in session.execute(_BY_GRID, p)},
        "risk": {"counts": risk, "as_of": clock.local(as_of).isoformat() if as_of else None},
        "hotspots": hotspot_changes(session, area, start, end),
    }


_FIND = text("""SELECT id, period_start, period_end, cutoff_at, issued_at, figures FROM reports
WHERE period = :period AND period_start = :start AND area = :area""")

_ISSUE = text("""
INSERT INTO reports (period, period_start, period_end, area, cutoff_at, issued_at, figures)
VALUES (:period, :start, :end, :area, :cutoff, :now, CAST(:figures AS jsonb))
ON CONFLICT (period, period_start, area) DO NOTHING
""")


def _envelope(
    period: str, area: str, start: datetime, end: datetime, cutoff: datetime, figures: dict, issued_at: Any
) -> dict[str, Any]:
    """A report as the API returns it; times in the county's zone (ISO 8601 with the offset)."""
    return {
        "period": period,
        "title": PERIODS[period],
        "area": area,
        "zone": clock.zone().key,
        "start": clock.local(start).isoformat(),
        "end": clock.local(end).isoformat(),
        "cutoff_at": clock.local(cutoff).isoformat(),
        "issued": issued_at is not None,
        "issued_at": clock.local(issued_at).isoformat() if issued_at else None,
        **figures,
    }


def _stored(session: Session, period: str, area: str, start: datetime) -> dict[str, Any] | None:
    row = session.execute(_FIND, {"period": period, "start": start, "area": area}).first()
    if row is None:
        return None
    return _envelope(
        period, area, row.period_start, row.period_end, row.cutoff_at, row.figures, row.issued_at
    )


def _live(session: Session, period: str, area: str, start: datetime, end: datetime, at: datetime) -> dict:
    figures = json.loads(json.dumps(compute_figures(session, period, area, start, end, at), default=str))
    return _envelope(period, area, start, end, at, figures, None)


def get_report(session: Session, period: str, area: str, day: date) -> dict:
    """The report of the period holding `day`: as issued (frozen), else counted live up to now and not
    stored (a read never issues a report)."""
    start, end = period_bounds(period, day)
    return _stored(session, period, area, start) or _live(session, period, area, start, end, clock.now())


def issue_report(session: Session, period: str, area: str, day: date) -> dict:
    """Issue (count and freeze) the report of an ended period with the cut-off now; an issued one is
    returned as it was. ConflictError while the period is still running. The caller commits."""
    start, end = period_bounds(period, day)
    now = clock.now()
    if now < end:
        raise ConflictError(f"{PERIODS[period]}（{start.date()} 起）尚未结束，结束后才能签发", where="date")
    stored = _stored(session, period, area, start)
    if stored is not None:
        return stored
    live = _live(session, period, area, start, end, now)
    figures = {k: v for k, v in live.items() if k not in _ENVELOPE_KEYS}
    params = {"period": period, "start": start, "end": end, "area": area, "cutoff": now, "now": now}
    session.execute(_ISSUE, {**params, "figures": json.dumps(figures)})
    return _stored(session, period, area, start) or live


_ENVELOPE_KEYS = frozenset(
    {"period", "title", "area", "zone", "start", "end", "cutoff_at", "issued", "issued_at"}
)


def issue_due(session: Session, period: str, area: str, lookback: int = 3) -> list[str]:
    """Issue the reports of the last `lookback` ended periods of the area that are not issued yet
    (the scheduled job; a worker that was down catches up); the starts of those it issued."""
    day = clock.today()
    issued = []
    for _ in range(lookback):
        start, _end = period_bounds(period, day)
        day = start.date() - timedelta(days=1)  # a day of the period before
        start, end = period_bounds(period, day)
        if _stored(session, period, area, start) is None:
            issue_report(session, period, area, day)
            issued.append(start.date().isoformat())
    return issued
