"""Chronic cases (积案、重复纠纷): disputes that come back at the same place or between the same parties
across calendar years, each flagged with its history.

Same place: disputes whose points snap to the same cell of about `metres` (ST_SnapToGrid in degrees
scaled at the equator, a little tighter in latitude further north). Same parties: disputes sharing an
applicant or respondent, matched on the ID number, else on name and phone. Grouping is done in SQL.
Party names (and phones or ID numbers in titles) are masked for uncleared roles by the database's
gridgov_person_* functions.
"""

from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

_HISTORY = """json_agg(json_build_object('id', e.id, 'reported_at', e.reported_at, 'closed_at', e.closed_at,
    'category', c.label_zh, 'status', e.status, 'title', gridgov_person_text(e.title, e.id),
    'grid_code', e.grid_code)
    ORDER BY e.reported_at)"""

_PLACES = text(f"""
WITH d AS (
    SELECT e.*, ST_SnapToGrid(e.geom, :metres / 111320.0) AS cell FROM events e
    WHERE e.kind = 'dispute' AND e.status <> 'duplicate' AND e.grid_code LIKE :area || '%'
)
SELECT 'place' AS basis, ST_X(e.cell) AS lon, ST_Y(e.cell) AS lat, NULL::text AS party,
       count(*) AS cases,
       count(DISTINCT extract(year FROM e.reported_at AT TIME ZONE 'Asia/Shanghai')) AS years,
       min(e.reported_at) AS first_at, max(e.reported_at) AS last_at,
       count(*) FILTER (WHERE e.closed_at IS NULL) AS open_cases, {_HISTORY} AS history
FROM d e JOIN categories c ON c.code = e.category
GROUP BY e.cell
HAVING count(DISTINCT extract(year FROM e.reported_at AT TIME ZONE 'Asia/Shanghai')) >= :min_years
ORDER BY years DESC, cases DESC, first_at LIMIT :limit
""")

# A party is the same person when the ID number matches, else when name and phone both do.
_PARTIES = text(f"""
WITH p AS (
    SELECT DISTINCT p.event_id,
           coalesce('id:' || p.id_number, 'np:' || p.name || '/' || coalesce(p.phone, ''))
           AS who, p.name
    FROM parties p JOIN events e ON e.id = p.event_id
    WHERE p.role IN ('applicant', 'respondent') AND e.kind = 'dispute' AND e.status <> 'duplicate'
      AND e.grid_code LIKE :area || '%'
)
SELECT 'parties' AS basis, NULL::float8 AS lon, NULL::float8 AS lat,
       gridgov_person_name(min(p.name)) AS party,
       count(*) AS cases,
       count(DISTINCT extract(year FROM e.reported_at AT TIME ZONE 'Asia/Shanghai')) AS years,
       min(e.reported_at) AS first_at, max(e.reported_at) AS last_at,
       count(*) FILTER (WHERE e.closed_at IS NULL) AS open_cases, {_HISTORY} AS history
FROM p JOIN events e ON e.id = p.event_id JOIN categories c ON c.code = e.category
GROUP BY p.who
HAVING count(*) >= 2
   AND count(DISTINCT extract(year FROM e.reported_at AT TIME ZONE 'Asia/Shanghai')) >= :min_years
ORDER BY years DESC, cases DESC, first_at LIMIT :limit
""")


def list_chronic(
    session: Session,
    area: str,
    *,
    min_years: int = 2,
    limit: int = 200,
    metres: float = 50.0,
) -> dict[str, Any]:
    """Repeat disputes of the area at one place or between the same parties over `min_years` or more years."""
    params = {"area": area, "min_years": min_years, "limit": limit, "metres": metres}
    groups = []
    for stmt in (_PLACES, _PARTIES):
        for r in session.execute(stmt, params):
            g = r._asdict()
            g["span_days"] = (g["last_at"] - g["first_at"]).days
            groups.append(g)
    return {
        "area": area,
        "min_years": min_years,
        "places": sum(g["basis"] == "place" for g in groups),
        "parties": sum(g["basis"] == "parties" for g in groups),
        "groups": groups,
    }
