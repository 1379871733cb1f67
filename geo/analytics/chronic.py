"""Chronic cases (重复纠纷) and long-open cases (积案), each with the evidence that makes it one.

Chronic: a dispute that keeps coming back, in one of two ways.

- Same place: disputes of one category whose points snap to the same cell of about `metres`
  (ST_SnapToGrid in degrees scaled at the equator, a little tighter in latitude further north), at
  least `place_cases` of them.
- Same party: disputes sharing an applicant or respondent, matched on the ID number, else on name and
  phone, at least `party_cases` of them.

Either way the first and the last case lie at least `min_days` apart: a burst of reports in one week is
one dispute reported several times (duplicates), not a chronic one. (Counting "calendar years touched"
instead made two unrelated disputes 116 days apart, on either side of New Year, chronic.) Each group
lists its cases, oldest first: that list is the evidence.

积案 (backlog): a case still open (geo.queries.figures) longer than `backlog_days`.

Party names come masked for roles without clearance, by the database (gridgov_person_name).
"""

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from geo import clock
from geo.queries import figures as f
from geo.queries.events import area_like


@dataclass(frozen=True)
class ChronicRule:
    """What makes disputes chronic (AnalyticsSettings.chronic_*)."""

    metres: float = 50.0
    place_cases: int = 3
    party_cases: int = 2
    min_days: int = 30


_HISTORY = """json_agg(json_build_object('id', e.id, 'reported_at', e.reported_at, 'closed_at', e.closed_at,
    'category', c.label_zh, 'status', e.status, 'title', e.title, 'grid_code', e.grid_code)
    ORDER BY e.reported_at, e.id)"""
_FIGURES = f"""count(*) AS cases, min(e.reported_at) AS first_at, max(e.reported_at) AS last_at,
       count(*) FILTER (WHERE {f.open_now("e", ":at")}) AS open_cases, {_HISTORY} AS history"""
_ENOUGH = "count(*) >= {n} AND max(e.reported_at) - min(e.reported_at) >= :min_span"

_PLACES = text(f"""
WITH d AS (
    SELECT e.*, ST_SnapToGrid(e.geom, :metres / 111320.0) AS cell FROM events e
    WHERE e.kind = 'dispute' AND e.status <> 'duplicate' AND e.grid_code LIKE :area
)
SELECT 'place' AS basis, min(c.label_zh) AS category, ST_X(e.cell) AS lon, ST_Y(e.cell) AS lat,
       NULL::text AS party, NULL::text AS matched_on, {_FIGURES}
FROM d e JOIN categories c ON c.code = e.category
GROUP BY e.category, e.cell
HAVING {_ENOUGH.format(n=":place_cases")}
ORDER BY cases DESC, first_at LIMIT :limit
""")

# A party is the same person when the ID number matches, else when name and phone both do.
_PARTIES = text(f"""
WITH p AS (
    SELECT DISTINCT p.event_id, p.id_number IS NOT NULL AS by_id,
           coalesce('id:' || p.id_number, 'np:' || p.name || '/' || coalesce(p.phone, '')) AS who, p.name
    FROM parties p JOIN events e ON e.id = p.event_id
    WHERE p.role IN ('applicant', 'respondent') AND e.kind = 'dispute' AND e.status <> 'duplicate'
      AND e.grid_code LIKE :area
)
SELECT 'parties' AS basis, NULL::text AS category,
       (array_agg(ST_X(e.geom) ORDER BY e.reported_at DESC))[1] AS lon,
       (array_agg(ST_Y(e.geom) ORDER BY e.reported_at DESC))[1] AS lat,
       gridgov_person_name(min(p.name)) AS party,
       CASE WHEN bool_or(p.by_id) THEN 'id_number' ELSE 'name_phone' END AS matched_on, {_FIGURES}
FROM p JOIN events e ON e.id = p.event_id JOIN categories c ON c.code = e.category
GROUP BY p.who
HAVING {_ENOUGH.format(n=":party_cases")}
ORDER BY cases DESC, first_at LIMIT :limit
""")


def list_chronic(
    session: Session, area: str, rule: ChronicRule | None = None, *, limit: int = 200
) -> dict[str, Any]:
    """Chronic disputes of the area, at one place or between the same parties (see the module doc)."""
    rule = rule or ChronicRule()
    params = {
        "area": area_like(area),
        "at": clock.now(),
        "metres": rule.metres,
        "place_cases": rule.place_cases,
        "party_cases": rule.party_cases,
        "min_span": timedelta(days=rule.min_days),
        "limit": limit,
    }
    groups = []
    for stmt in (_PLACES, _PARTIES):
        for r in session.execute(stmt, params).mappings():
            g = dict(r)
            g["span_days"] = (g["last_at"] - g["first_at"]).days
            groups.append(g)
    return {
        "area": area,
        "rule": rule.__dict__,
        "places": sum(g["basis"] == "place" for g in groups),
        "parties": sum(g["basis"] == "parties" for g in groups),
        "groups": groups,
    }


_BACKLOG = text(f"""
SELECT e.id, e.kind, e.category, c.label_zh AS category_label, e.severity, e.status, e.title, e.grid_code,
       e.reported_at, e.deadline_at, {f.overdue_at("e", ":at")} AS overdue, e.suspended_at,
       e.referral_status, ST_X(e.geom) AS lon, ST_Y(e.geom) AS lat,
       floor(extract(epoch FROM CAST(:at AS timestamptz) - e.reported_at) / 86400)::int AS open_days
FROM events e JOIN categories c ON c.code = e.category
WHERE e.grid_code LIKE :area AND {f.open_now("e", ":at")} AND e.reported_at < :before
ORDER BY e.reported_at, e.id LIMIT :limit
""")


def list_backlog(session: Session, area: str, days: int, *, limit: int = 500) -> list[dict[str, Any]]:
    """积案: the area's cases still open more than `days` days after they were reported, oldest first."""
    now = clock.now()
    params = {"area": area_like(area), "at": now, "before": now - timedelta(days=days), "limit": limit}
    return [dict(r) for r in session.execute(_BACKLOG, params).mappings()]
