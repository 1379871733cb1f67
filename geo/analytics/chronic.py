"""Chronic cases (积案、重复纠纷): disputes that come back at the same place or between the same parties
across calendar years, each flagged with its history; computed by the `chronic` job, read by requests.

Same place: disputes whose points snap to the same cell of about `metres` (ST_SnapToGrid in degrees
scaled at the equator, a little tighter in latitude further north). Same parties: disputes sharing an
applicant or respondent, matched on the ID number, else on name and phone. Grouping is done in SQL, in
one INSERT ... SELECT per analysis area (geo.jobs), into chronic_groups (migration 0062) under an
analytics run (`computed_at`). Stored groups keep the row of `parties` their name comes from, never a
copy of the name: a read masks it with gridgov_person_name, as every read of a name.

A read lists groups (newest run of exactly the requester's area, at least `min_years` years, in a
bbox, paged), or counts them per county or township (province and city accounts by default).
"""

import json
import time
from datetime import datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from geo import clock
from geo.analytics.cells import area_range, data_fingerprint
from geo.analytics.hotspots import is_fresh, lock_area, new_run
from geo.analytics.settings import AnalyticsSettings

MIN_YEARS = 2  # groups of fewer years are not stored
METRES = 50.0

_HISTORY = """json_agg(json_build_object('id', e.id, 'reported_at', e.reported_at, 'closed_at', e.closed_at,
    'category', c.label_zh, 'status', e.status, 'title', e.title, 'grid_code', e.grid_code)
    ORDER BY e.reported_at)"""
_YEARS = "count(DISTINCT extract(year FROM e.reported_at AT TIME ZONE :zone))"
_LATEST = "(array_agg({col} ORDER BY e.reported_at DESC, e.id DESC))[1]"
_DISPUTES = (
    """e.kind = 'dispute' AND e.status <> 'duplicate' AND e.grid_code ~>=~ :lo AND e.grid_code ~<~ :hi"""
)

_STORE = text(f"""
INSERT INTO chronic_groups (run_id, basis, grid_code, geom, party_id, cases, years, first_at, last_at,
                            open_cases, history)
SELECT :run, 'place', {_LATEST.format(col="e.grid_code")}, e.cell, NULL, count(*), {_YEARS},
       min(e.reported_at), max(e.reported_at), count(*) FILTER (WHERE e.closed_at IS NULL), {_HISTORY}
FROM (SELECT e.*, ST_SnapToGrid(e.geom, :metres / 111320.0) AS cell FROM events e WHERE {_DISPUTES}) e
JOIN categories c ON c.code = e.category
GROUP BY e.cell
HAVING {_YEARS} >= :min_years
UNION ALL
SELECT :run, 'parties', {_LATEST.format(col="e.grid_code")}, {_LATEST.format(col="e.geom")}, min(p.party_id),
       count(*), {_YEARS}, min(e.reported_at), max(e.reported_at),
       count(*) FILTER (WHERE e.closed_at IS NULL), {_HISTORY}
FROM (
    SELECT DISTINCT ON (p.event_id, who) p.event_id, p.id AS party_id,
           coalesce('id:' || p.id_number, 'np:' || p.name || '/' || coalesce(p.phone, '')) AS who
    FROM parties p JOIN events e ON e.id = p.event_id
    WHERE p.role IN ('applicant', 'respondent') AND {_DISPUTES}
    ORDER BY p.event_id, who, p.id
) p JOIN events e ON e.id = p.event_id JOIN categories c ON c.code = e.category
GROUP BY p.who
HAVING count(*) >= 2 AND {_YEARS} >= :min_years
""")


def refresh_chronic(session: Session, area: str, settings: AnalyticsSettings, as_of: datetime) -> int:
    """The id of a current chronic run of the area, computed and stored when needed (a job)."""
    fp = data_fingerprint(session, area)
    run = is_fresh(session, "chronic", "grid", area, settings, as_of, fp)
    if run is not None:
        return run
    lock_area(session, "chronic", "grid", area)
    run = is_fresh(session, "chronic", "grid", area, settings, as_of, fp)
    if run is not None:
        return run
    t0 = time.perf_counter()
    lo, hi = area_range(area)
    run = new_run(session, "chronic", "grid", area, settings.params("grid"), fp, as_of, 0.0)
    params = {
        "run": run,
        "lo": lo,
        "hi": hi,
        "zone": clock.zone().key,
        "metres": METRES,
        "min_years": MIN_YEARS,
    }
    session.execute(_STORE, params)
    session.execute(
        text("UPDATE analytics_runs SET seconds = :s WHERE id = :run"),
        {"s": time.perf_counter() - t0, "run": run},
    )
    return run


_RUN = """(SELECT id, computed_at FROM analytics_runs
      WHERE analysis = 'chronic' AND unit = 'grid' AND area = :area
      ORDER BY computed_at DESC, id DESC LIMIT 1) r"""

_BBOX = "(CAST(:minx AS float8) IS NULL OR g.geom && ST_MakeEnvelope(:minx, :miny, :maxx, :maxy, 4326))"

_GROUPS = text(f"""
SELECT g.basis, CASE WHEN g.basis = 'place' THEN ST_X(g.geom) END AS lon,
       CASE WHEN g.basis = 'place' THEN ST_Y(g.geom) END AS lat, gridgov_person_name(p.name) AS party,
       g.grid_code, g.cases, g.years, g.first_at, g.last_at, g.open_cases, g.history
FROM {_RUN} JOIN chronic_groups g ON g.run_id = r.id
LEFT JOIN parties p ON p.id = g.party_id
WHERE g.years >= :min_years AND {_BBOX}
ORDER BY g.basis DESC, g.years DESC, g.cases DESC, g.first_at, g.id
LIMIT :limit OFFSET :offset
""")

_COUNTS = text(f"""
SELECT r.computed_at, left(g.grid_code, :n) AS code, u.name,
       count(*) FILTER (WHERE g.basis = 'place') AS places,
       count(*) FILTER (WHERE g.basis = 'parties') AS parties,
       sum(g.cases) AS cases, sum(g.open_cases) AS open_cases
FROM {_RUN} JOIN chronic_groups g ON g.run_id = r.id
LEFT JOIN grids u ON u.code = rpad(left(g.grid_code, :n), 15, '0') AND u.valid_to IS NULL
WHERE g.years >= :min_years AND {_BBOX}
GROUP BY 1, 2, 3 ORDER BY 2
""")

_SUMMARY = text(f"""
SELECT r.computed_at, count(*) FILTER (WHERE g.basis = 'place') AS places,
       count(*) FILTER (WHERE g.basis = 'parties') AS parties
FROM {_RUN} LEFT JOIN chronic_groups g ON g.run_id = r.id AND g.years >= :min_years AND {_BBOX}
GROUP BY 1
""")


def _params(area: str, min_years: int, bbox: tuple[float, float, float, float] | None) -> dict[str, Any]:
    minx, miny, maxx, maxy = bbox or (None, None, None, None)
    return {"area": area, "min_years": min_years, "minx": minx, "miny": miny, "maxx": maxx, "maxy": maxy}


def list_chronic(
    session: Session,
    area: str,
    *,
    min_years: int = 2,
    limit: int = 200,
    offset: int = 0,
    bbox: tuple[float, float, float, float] | None = None,
) -> dict[str, Any]:
    """The stored repeat disputes of the area (places first, then parties), as last computed."""
    p = _params(area, min_years, bbox)
    head = session.execute(_SUMMARY, p).first()
    groups = [r._asdict() for r in session.execute(_GROUPS, {**p, "limit": limit, "offset": offset})]
    for g in groups:
        g["span_days"] = (g["last_at"] - g["first_at"]).days
        if isinstance(g["history"], str):
            g["history"] = json.loads(g["history"])
    return {
        "area": area,
        "min_years": min_years,
        "computed_at": head.computed_at if head else None,
        "places": head.places if head else 0,
        "parties": head.parties if head else 0,
        "level": "group",
        "groups": groups,
    }


def count_chronic(
    session: Session,
    area: str,
    level: str,
    *,
    min_years: int = 2,
    bbox: tuple[float, float, float, float] | None = None,
) -> dict[str, Any]:
    """The stored repeat disputes of the area counted per county or township (wide areas)."""
    n = {"county": 6, "township": 9}[level]
    p = _params(area, min_years, bbox)
    head = session.execute(_SUMMARY, p).first()
    rows = [r._asdict() for r in session.execute(_COUNTS, {**p, "n": n})]
    return {
        "area": area,
        "min_years": min_years,
        "computed_at": head.computed_at if head else None,
        "places": sum(r["places"] for r in rows),
        "parties": sum(r["parties"] for r in rows),
        "level": level,
        "units": [{k: v for k, v in r.items() if k != "computed_at"} for r in rows],
    }
