"""Three colours and three lists (三色三单): risk grade per small grid, and for every red or yellow grid
its problem list (问题清单), responsibility list (责任清单) and task list (任务清单).

The grade weighs open cases by severity, overdue cases, repeat locations (points with several cases in
the window, within about `repeat_metres`) and the trend (cases of the last `trend_days` against the
`trend_days` before). Every figure is counted in PostGIS; thresholds are a dataclass, configurable.
"""

from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Float, Integer, bindparam, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session

from geo.queries.layers import display_code
from geo.queries.risk import OPEN_EXCLUDED

GRADE_LABELS = {"red": "红色（高风险）", "yellow": "黄色（中风险）", "green": "绿色（低风险）"}


@dataclass(frozen=True)
class RiskListThresholds:
    """How a grid is graded: a score from its figures, red and yellow cut-offs, and hard red rules."""

    severity_weights: tuple[float, float, float, float] = (1.0, 2.0, 4.0, 8.0)
    overdue_days: tuple[int, int, int, int] = (30, 15, 7, 3)
    overdue_weight: float = 4.0
    repeat_weight: float = 3.0
    trend_weight: float = 2.0  # per doubling of recent cases over the earlier period
    red_score: float = 16.0
    yellow_score: float = 6.0
    red_overdue: int = 2  # this many overdue cases make a grid red whatever its score
    window_days: int = 365
    repeat_metres: float = 50.0
    trend_days: int = 30


_GRADES = text(f"""
WITH clock AS (SELECT coalesce(CAST(:as_of AS timestamptz), now()) AS now),
ev AS (
    SELECT e.grid_code,
        count(*) FILTER (WHERE e.status NOT IN {OPEN_EXCLUDED}) AS open_events,
        coalesce(sum((CAST(:weights AS float8[]))[e.severity])
                 FILTER (WHERE e.status NOT IN {OPEN_EXCLUDED}), 0)
            AS weighted,
        count(*) FILTER (WHERE e.status NOT IN {OPEN_EXCLUDED} AND coalesce(e.deadline_at,
            e.reported_at + make_interval(days => (CAST(:overdue AS int[]))[e.severity])) < clock.now)
            AS overdue,
        count(*) FILTER (WHERE e.reported_at >= clock.now - make_interval(days => :trend_days)) AS recent,
        count(*) FILTER (WHERE e.reported_at < clock.now - make_interval(days => :trend_days)
            AND e.reported_at >= clock.now - make_interval(days => 2 * :trend_days)) AS earlier
    FROM events e, clock
    WHERE e.grid_code LIKE :area || '%' AND e.status NOT IN ('rejected', 'duplicate')
      AND e.reported_at <= clock.now AND e.reported_at >= clock.now - make_interval(days => :window)
    GROUP BY e.grid_code
),
places AS (  -- repeat locations: snapped points (about :metres) with two or more disputes/hazards
    SELECT grid_code, count(*) AS repeat_places FROM (
        SELECT e.grid_code FROM events e, clock
        WHERE e.grid_code LIKE :area || '%' AND e.status NOT IN ('rejected', 'duplicate')
          AND e.kind IN ('dispute', 'hazard')
          AND e.reported_at <= clock.now AND e.reported_at >= clock.now - make_interval(days => :window)
        GROUP BY e.grid_code, ST_SnapToGrid(e.geom, :metres / 111320.0)
        HAVING count(*) >= 2) r
    GROUP BY grid_code
),
scored AS (
    SELECT g.code, g.name, coalesce(ev.open_events, 0)::int AS open_events,
        coalesce(ev.weighted, 0)::float8 AS weighted, coalesce(ev.overdue, 0)::int AS overdue,
        coalesce(pl.repeat_places, 0)::int AS repeat_places, coalesce(ev.recent, 0)::int AS recent,
        coalesce(ev.earlier, 0)::int AS earlier
    FROM grids g LEFT JOIN ev ON ev.grid_code = g.code LEFT JOIN places pl ON pl.grid_code = g.code
    WHERE g.level = 'grid' AND g.valid_to IS NULL AND g.code LIKE :area || '%'
)
SELECT s.*, {display_code("s.code")} AS display_code, t.name AS township,
    round((s.weighted + :w_overdue * s.overdue + :w_repeat * least(s.repeat_places, 5)
           + :w_trend * greatest(log(2, (s.recent + 1.0) / (s.earlier + 1.0)), 0))::numeric, 2)::float8
        AS score
FROM scored s
LEFT JOIN grids t ON t.code = left(s.code, 9) || '000000' AND t.level = 'township' AND t.valid_to IS NULL
ORDER BY score DESC, s.code
""").bindparams(bindparam("weights", type_=ARRAY(Float)), bindparam("overdue", type_=ARRAY(Integer)))


def _grade(row: Any, th: RiskListThresholds) -> str:
    if row.score >= th.red_score or row.overdue >= th.red_overdue:
        return "red"
    return "yellow" if row.score >= th.yellow_score else "green"


def grade_grids(
    session: Session, area: str, th: RiskListThresholds, as_of: datetime | None = None
) -> list[dict]:
    """Every current small grid of the area with its figures, score and grade, riskiest first."""
    rows = session.execute(
        _GRADES,
        {
            "area": area,
            "as_of": as_of,
            "weights": list(th.severity_weights),
            "overdue": list(th.overdue_days),
            "window": th.window_days,
            "trend_days": th.trend_days,
            "metres": th.repeat_metres,
            "w_overdue": th.overdue_weight,
            "w_repeat": th.repeat_weight,
            "w_trend": th.trend_weight,
        },
    ).all()
    out = []
    for r in rows:
        grade = _grade(r, th)
        out.append(
            {
                "grid_code": r.code,
                "code": r.display_code,
                "name": r.name,
                "township": r.township,
                "open_events": r.open_events,
                "weighted_severity": round(r.weighted, 1),
                "overdue": r.overdue,
                "repeat_places": r.repeat_places,
                "recent": r.recent,
                "earlier": r.earlier,
                "score": r.score,
                "grade": grade,
                "grade_label": GRADE_LABELS[grade],
            }
        )
    return out


_PROBLEMS = text(f"""
SELECT e.id, e.grid_code, e.title, c.label_zh AS category, e.category AS category_code, e.severity, e.status,
       e.reported_at, e.deadline_at,
       coalesce(e.deadline_at, e.reported_at + make_interval(days => (CAST(:overdue AS int[]))[e.severity]))
           < coalesce(CAST(:as_of AS timestamptz), now()) AS is_overdue
FROM events e JOIN categories c ON c.code = e.category
WHERE e.grid_code = ANY(:codes) AND e.status NOT IN {OPEN_EXCLUDED}
  AND e.reported_at <= coalesce(CAST(:as_of AS timestamptz), now())
ORDER BY e.grid_code, e.severity DESC, e.reported_at
""").bindparams(bindparam("overdue", type_=ARRAY(Integer)))

# Who answers for a grid: its worker, its township's and village's names, and the departments whose
# categories match its open cases (parties' personal data is never part of the lists).
_RESPONSIBLE = text("""
SELECT g.code, w.name AS worker, w.phone AS worker_phone, v.name AS village, t.name AS township,
       (SELECT f.name FROM facilities f
        WHERE f.kind = 'township_centre' AND f.grid_code LIKE left(g.code, 9) || '%'
        ORDER BY f.id LIMIT 1) AS township_centre
FROM grids g
LEFT JOIN workers w ON w.id = g.worker_id
LEFT JOIN grids v ON v.code = left(g.code, 12) || '000' AND v.level = 'village' AND v.valid_to IS NULL
LEFT JOIN grids t ON t.code = left(g.code, 9) || '000000' AND t.level = 'township' AND t.valid_to IS NULL
WHERE g.code = ANY(:codes) AND g.valid_to IS NULL
""")

_DEPARTMENTS = text(
    "SELECT name, phone, categories FROM departments WHERE county_code = left(:area, 6) ORDER BY code"
)


def _tasks(grid: dict, problems: list[dict]) -> list[str]:
    """The task list of one grid, derived from its figures and problems (Chinese)."""
    tasks = [
        f"督办超期案件（编号{p['id']}，{p['category']}），限期办结并说明超期原因"
        for p in problems
        if p["is_overdue"]
    ]
    tasks += [f"领导包案：特别重大案件（编号{p['id']}）" for p in problems if p["severity"] == 4]
    if grid["repeat_places"]:
        tasks.append(f"对{grid['repeat_places']}处重复发生点位开展排查，化解源头矛盾")
    if grid["recent"] > grid["earlier"]:
        tasks.append(f"近期案件上升（{grid['earlier']}→{grid['recent']}），加密网格巡查频次")
    if not tasks:
        tasks.append("跟踪未结案件办理进度，按期回访")
    return tasks


def risk_lists(session: Session, area: str, th: RiskListThresholds, as_of: datetime | None = None) -> dict:
    """The grades of the area's grids with the three lists of every red and yellow grid."""
    grids = grade_grids(session, area, th, as_of)
    flagged = [g for g in grids if g["grade"] != "green"]
    codes = [g["grid_code"] for g in flagged]
    probs: dict[str, list[dict]] = {c: [] for c in codes}
    for r in session.execute(_PROBLEMS, {"codes": codes, "overdue": list(th.overdue_days), "as_of": as_of}):
        probs[r.grid_code].append({k: v for k, v in r._asdict().items() if k != "grid_code"})
    resp = {r.code: r._asdict() for r in session.execute(_RESPONSIBLE, {"codes": codes})}
    depts = session.execute(_DEPARTMENTS, {"area": area}).all()
    for g in flagged:
        cats = {p["category_code"] for p in probs[g["grid_code"]]}
        rp = resp.get(g["grid_code"], {})
        g["problems"] = probs[g["grid_code"]]
        g["responsibility"] = {
            "grid_worker": rp.get("worker"),
            "worker_phone": rp.get("worker_phone"),
            "village": rp.get("village"),
            "township": rp.get("township"),
            "township_centre": rp.get("township_centre"),
            "departments": [{"name": d.name, "phone": d.phone} for d in depts if cats & set(d.categories)],
        }
        g["tasks"] = _tasks(g, g["problems"])
    counts = {k: sum(1 for g in grids if g["grade"] == k) for k in GRADE_LABELS}
    return {"area": area, "thresholds": asdict(th), "counts": counts, "grids": flagged}
