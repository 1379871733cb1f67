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

Party names (and phones or ID numbers typed in titles) come masked for roles without clearance, by the
database (gridgov_person_name, gridgov_person_text).
"""

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from geo import clock, vocabulary
from geo.io.workbook import Sheet
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
    'category', c.label_zh, 'status', e.status, 'title', gridgov_person_text(e.title, e.id),
    'grid_code', e.grid_code)
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
SELECT e.id, e.kind, e.category, c.label_zh AS category_label, e.severity, e.status,
       gridgov_person_text(e.title, e.id) AS title, e.grid_code,
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


_BASIS = {"place": "同一地点", "parties": "同一当事人"}
_MATCHED = {"id_number": "身份证号相同", "name_phone": "姓名与电话相同"}


def chronic_sheets(chronic: dict, backlog: list[dict], backlog_days: int) -> list[Sheet]:
    """The planner's XLSX: the chronic groups, the evidence (one row per case of each group), and 积案."""
    groups = [
        {**g, "n": i, "basis": _BASIS[g["basis"]], "matched_on": _MATCHED.get(g["matched_on"] or "", "")}
        for i, g in enumerate(chronic["groups"], start=1)
    ]
    evidence = [{"n": g["n"], "basis": g["basis"], **case} for g in groups for case in g["history"]]
    for row in evidence:  # the history is JSON: its times come as text
        row["status"] = vocabulary.label("status", row["status"])
        for key in ("reported_at", "closed_at"):
            row[key] = datetime.fromisoformat(row[key]) if row.get(key) else None
    late = [
        {
            **c,
            "kind": vocabulary.label("kind", c["kind"]),
            "status": vocabulary.label("status", c["status"]),
            "severity": vocabulary.label("severity", c["severity"]),
        }
        for c in backlog
    ]
    return [
        Sheet("重复纠纷", _GROUP_COLUMNS, groups),
        Sheet("证据", _EVIDENCE_COLUMNS, evidence),
        Sheet(f"积案（在办超过{backlog_days}天）", _BACKLOG_COLUMNS, late),
    ]


_GROUP_COLUMNS = [
    ("n", "序号"),
    ("basis", "依据"),
    ("category", "类别"),
    ("party", "当事人"),
    ("matched_on", "认定方式"),
    ("cases", "件数"),
    ("open_cases", "未结"),
    ("first_at", "首次上报"),
    ("last_at", "最近上报"),
    ("span_days", "跨度（天）"),
    ("lon", "经度"),
    ("lat", "纬度"),
]
_EVIDENCE_COLUMNS = [
    ("n", "序号"),
    ("basis", "依据"),
    ("id", "案件编号"),
    ("reported_at", "上报时间"),
    ("category", "类别"),
    ("status", "状态"),
    ("title", "标题"),
    ("grid_code", "网格编码"),
    ("closed_at", "办结时间"),
]
_BACKLOG_COLUMNS = [
    ("id", "案件编号"),
    ("kind", "事件类型"),
    ("category_label", "类别"),
    ("severity", "严重程度"),
    ("status", "状态"),
    ("title", "标题"),
    ("grid_code", "网格编码"),
    ("reported_at", "上报时间"),
    ("open_days", "已办天数"),
    ("deadline_at", "办理时限"),
    ("overdue", "超期"),
]
