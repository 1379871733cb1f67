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

The groups are computed by the `chronic` job (geo.jobs), one INSERT ... SELECT per analysis area, into
chronic_groups (migration 0062) under an analytics run (`computed_at`); requests read them (a page of
groups in a bbox, or counts per county or township for wide areas). A stored group keeps the row of
`parties` its name comes from, never a copy: a read masks it with gridgov_person_name, as every read of
a name; titles in the evidence are masked on the way out too (gridgov_person_text).

积案 (backlog): a case still open (geo.queries.figures) longer than `backlog_days`: a list read live
from the open cases (an index holds them), not a computation.
"""

import json
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from geo import clock, vocabulary
from geo.analytics.cells import data_fingerprint
from geo.analytics.hotspots import find_current_run, new_run
from geo.analytics.settings import AnalyticsSettings
from geo.io.workbook import Sheet
from geo.queries import figures as f
from geo.queries.area import area_range, in_area


@dataclass(frozen=True)
class ChronicRule:
    """What makes disputes chronic (AnalyticsSettings.chronic_*)."""

    metres: float = 50.0
    place_cases: int = 3
    party_cases: int = 2
    min_days: int = 30

    @classmethod
    def of(cls, settings: AnalyticsSettings) -> "ChronicRule":
        """The rule of the settings."""
        return cls(
            settings.chronic_metres,
            settings.chronic_place_cases,
            settings.chronic_party_cases,
            settings.chronic_min_days,
        )


# The evidence as stored: titles as written (a read masks them for uncleared roles, _GROUPS).
_HISTORY = """json_agg(json_build_object('id', e.id, 'reported_at', e.reported_at, 'closed_at', e.closed_at,
    'category', c.label_zh, 'status', e.status, 'title', e.title, 'grid_code', e.grid_code)
    ORDER BY e.reported_at, e.id)"""
_YEARS = "count(DISTINCT extract(year FROM e.reported_at AT TIME ZONE :zone))"
_LATEST = "(array_agg({col} ORDER BY e.reported_at DESC, e.id DESC))[1]"
_FIGURES = f"""count(*), {_YEARS}, min(e.reported_at), max(e.reported_at),
       count(*) FILTER (WHERE {f.open_now("e", ":at")}), {_HISTORY}"""
_ENOUGH = "count(*) >= {n} AND max(e.reported_at) - min(e.reported_at) >= :min_span"
_DISPUTES = (
    """e.kind = 'dispute' AND e.status <> 'duplicate' AND e.grid_code ~>=~ :lo AND e.grid_code ~<~ :hi"""
)

# A party is the same person when the ID number matches, else when name and phone both do.
_STORE = text(f"""
INSERT INTO chronic_groups (run_id, basis, category, matched_on, grid_code, geom, party_id, cases, years,
                            first_at, last_at, open_cases, history)
SELECT :run, 'place', min(c.label_zh), NULL, {_LATEST.format(col="e.grid_code")}, e.cell, NULL, {_FIGURES}
FROM (SELECT e.*, ST_SnapToGrid(e.geom, :metres / 111320.0) AS cell FROM events e WHERE {_DISPUTES}) e
JOIN categories c ON c.code = e.category
GROUP BY e.category, e.cell
HAVING {_ENOUGH.format(n=":place_cases")}
UNION ALL
SELECT :run, 'parties', NULL, CASE WHEN bool_or(p.by_id) THEN 'id_number' ELSE 'name_phone' END,
       {_LATEST.format(col="e.grid_code")}, {_LATEST.format(col="e.geom")}, min(p.party_id), {_FIGURES}
FROM (
    SELECT DISTINCT ON (p.event_id, who) p.event_id, p.id AS party_id, p.id_number IS NOT NULL AS by_id,
           coalesce('id:' || p.id_number, 'np:' || p.name || '/' || coalesce(p.phone, '')) AS who
    FROM parties p JOIN events e ON e.id = p.event_id
    WHERE p.role IN ('applicant', 'respondent') AND {_DISPUTES}
    ORDER BY p.event_id, who, p.id
) p JOIN events e ON e.id = p.event_id JOIN categories c ON c.code = e.category
GROUP BY p.who
HAVING {_ENOUGH.format(n=":party_cases")}
""")
_SECONDS = text("UPDATE analytics_runs SET seconds = :s WHERE id = :run")


def refresh_chronic(session: Session, area: str, settings: AnalyticsSettings, as_of: datetime) -> int:
    """The id of a current chronic run of the area, computed and stored when needed (a job)."""
    fp = data_fingerprint(session, area)
    if (run := find_current_run(session, "chronic", "grid", area, settings, as_of, fp)) is not None:
        return run
    t0 = time.perf_counter()
    rule = ChronicRule.of(settings)
    run = new_run(session, "chronic", "grid", area, settings.params("grid"), fp, as_of, 0.0)
    session.execute(_STORE, _store_params(run, area, rule, as_of))
    session.execute(_SECONDS, {"s": time.perf_counter() - t0, "run": run})
    return run


def _store_params(run: int, area: str, rule: ChronicRule, as_of: datetime) -> dict[str, Any]:
    """The values _STORE binds: the run, the area, the county's zone, the instant and the rule."""
    return {
        "run": run,
        **area_range(area),
        "zone": clock.zone().key,
        "at": as_of,
        "metres": rule.metres,
        "place_cases": rule.place_cases,
        "party_cases": rule.party_cases,
        "min_span": timedelta(days=rule.min_days),
    }


_RUN = """(SELECT id, computed_at FROM analytics_runs
      WHERE analysis = 'chronic' AND unit = 'grid' AND area = :area
      ORDER BY computed_at DESC, id DESC LIMIT 1) r"""

_WHERE = """(CAST(:basis AS text) IS NULL OR g.basis = :basis)
  AND (CAST(:minx AS float8) IS NULL OR g.geom && ST_MakeEnvelope(:minx, :miny, :maxx, :maxy, 4326))"""

# Evidence titles masked for uncleared roles (phones, ID numbers, the parties' names).
_MASKED_HISTORY = """(SELECT json_agg(h.item || jsonb_build_object('title',
        gridgov_person_text(h.item ->> 'title', (h.item ->> 'id')::bigint)) ORDER BY h.n)
     FROM jsonb_array_elements(g.history) WITH ORDINALITY AS h(item, n))"""

_GROUPS = text(f"""
SELECT g.basis, g.category, g.matched_on, ST_X(g.geom) AS lon, ST_Y(g.geom) AS lat,
       gridgov_person_name(p.name) AS party, g.grid_code, g.cases, g.years, g.first_at, g.last_at,
       g.open_cases, {_MASKED_HISTORY} AS history
FROM {_RUN} JOIN chronic_groups g ON g.run_id = r.id
LEFT JOIN parties p ON p.id = g.party_id
WHERE {_WHERE}
ORDER BY g.basis DESC, g.cases DESC, g.first_at, g.id
LIMIT :limit OFFSET :offset
""")

_COUNTS = text(f"""
SELECT r.computed_at, left(g.grid_code, :n) AS code, u.name,
       count(*) FILTER (WHERE g.basis = 'place') AS places,
       count(*) FILTER (WHERE g.basis = 'parties') AS parties,
       sum(g.cases) AS cases, sum(g.open_cases) AS open_cases
FROM {_RUN} JOIN chronic_groups g ON g.run_id = r.id
LEFT JOIN grids u ON u.code = rpad(left(g.grid_code, :n), 15, '0') AND u.valid_to IS NULL
WHERE {_WHERE}
GROUP BY 1, 2, 3 ORDER BY 2
""")

_SUMMARY = text(f"""
SELECT r.computed_at, count(*) FILTER (WHERE g.basis = 'place') AS places,
       count(*) FILTER (WHERE g.basis = 'parties') AS parties
FROM {_RUN} LEFT JOIN chronic_groups g ON g.run_id = r.id AND {_WHERE}
GROUP BY 1
""")


def _params(area: str, basis: str | None, bbox: tuple[float, float, float, float] | None) -> dict[str, Any]:
    minx, miny, maxx, maxy = bbox or (None, None, None, None)
    return {"area": area, "basis": basis, "minx": minx, "miny": miny, "maxx": maxx, "maxy": maxy}


def _summary(session: Session, p: dict[str, Any]) -> dict[str, Any]:
    """When the area's newest chronic run was computed, and its groups of each basis (in `p`)."""
    head = session.execute(_SUMMARY, p).first()
    return {
        "computed_at": head.computed_at if head else None,
        "places": head.places if head else 0,
        "parties": head.parties if head else 0,
    }


def _groups(session: Session, p: dict[str, Any]) -> list[dict[str, Any]]:
    """A page of the stored groups, each with its span in days and its evidence as a list."""
    groups = [dict(r) for r in session.execute(_GROUPS, p).mappings()]
    for g in groups:
        g["span_days"] = (g["last_at"] - g["first_at"]).days
        if isinstance(g["history"], str):
            g["history"] = json.loads(g["history"])
        g["history"] = g["history"] or []
    return groups


def list_chronic(
    session: Session,
    area: str,
    rule: ChronicRule,
    *,
    basis: str | None = None,
    limit: int = 200,
    offset: int = 0,
    bbox: tuple[float, float, float, float] | None = None,
) -> dict[str, Any]:
    """The stored chronic disputes of the area (places first, then parties), as last computed under
    `rule`; `basis`: place or parties only."""
    p = _params(area, basis, bbox)
    head = _summary(session, p)
    groups = _groups(session, {**p, "limit": limit, "offset": offset})
    return {"area": area, "rule": rule.__dict__, **head, "level": "group", "groups": groups}


def count_chronic(
    session: Session,
    area: str,
    level: str,
    *,
    basis: str | None = None,
    bbox: tuple[float, float, float, float] | None = None,
) -> dict[str, Any]:
    """The stored chronic disputes of the area counted per county or township (wide areas)."""
    n = {"county": 6, "township": 9}[level]
    p = _params(area, basis, bbox)
    computed_at = _summary(session, p)["computed_at"]
    rows = [r._asdict() for r in session.execute(_COUNTS, {**p, "n": n})]
    units = [{k: v for k, v in r.items() if k != "computed_at"} for r in rows]
    places, parties = sum(r["places"] for r in rows), sum(r["parties"] for r in rows)
    out = {"area": area, "computed_at": computed_at, "places": places, "parties": parties}
    return {**out, "level": level, "units": units}


_BACKLOG = text(f"""
SELECT e.id, e.kind, e.category, c.label_zh AS category_label, e.severity, e.status,
       gridgov_person_text(e.title, e.id) AS title, e.grid_code,
       e.reported_at, e.deadline_at, {f.overdue_at("e", ":at")} AS overdue, e.suspended_at,
       e.referral_status, ST_X(e.geom) AS lon, ST_Y(e.geom) AS lat,
       floor(extract(epoch FROM CAST(:at AS timestamptz) - e.reported_at) / 86400)::int AS open_days
FROM events e JOIN categories c ON c.code = e.category
WHERE {in_area("e.grid_code")} AND {f.open_now("e", ":at")} AND e.reported_at < :before
ORDER BY e.reported_at, e.id LIMIT :limit
""")


def list_backlog(session: Session, area: str, days: int, *, limit: int = 500) -> list[dict[str, Any]]:
    """积案: the area's cases still open more than `days` days after they were reported, oldest first."""
    now = clock.now()
    params = {**area_range(area), "at": now, "before": now - timedelta(days=days), "limit": limit}
    return [dict(r) for r in session.execute(_BACKLOG, params).mappings()]


_BASIS = {"place": "同一地点", "parties": "同一当事人"}
_MATCHED = {"id_number": "身份证号相同", "name_phone": "姓名与电话相同"}


def chronic_sheets(chronic: dict, backlog: list[dict], backlog_days: int) -> list[Sheet]:
    """The planner's XLSX: the chronic groups, the evidence (one row per case of each group), and 积案."""
    groups = [
        {**g, "n": i, "basis": _BASIS[g["basis"]], "matched_on": _MATCHED.get(g["matched_on"] or "", "")}
        for i, g in enumerate(chronic["groups"], start=1)
    ]
    return [
        Sheet("重复纠纷", _GROUP_COLUMNS, groups),
        Sheet("证据", _EVIDENCE_COLUMNS, _evidence_rows(groups)),
        Sheet(f"积案（在办超过{backlog_days}天）", _BACKLOG_COLUMNS, _backlog_rows(backlog)),
    ]


def _evidence_rows(groups: list[dict]) -> list[dict]:
    """One row per case of each group, its status in Chinese and its times read back from the JSON."""
    evidence = [{"n": g["n"], "basis": g["basis"], **case} for g in groups for case in g["history"]]
    for row in evidence:  # the history is JSON: its times come as text
        row["status"] = vocabulary.label("status", row["status"])
        for key in ("reported_at", "closed_at"):
            row[key] = datetime.fromisoformat(row[key]) if row.get(key) else None
    return evidence


def _backlog_rows(backlog: list[dict]) -> list[dict]:
    """The 积案 with their kind, status and severity in Chinese."""
    return [
        {
            **c,
            "kind": vocabulary.label("kind", c["kind"]),
            "status": vocabulary.label("status", c["status"]),
            "severity": vocabulary.label("severity", c["severity"]),
        }
        for c in backlog
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
