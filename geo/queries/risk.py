"""Risk grading of small grids: open and overdue cases, weighted severity, resolution rate, red/yellow/green.

An open case is overdue past its deadline (`events.deadline_at`, set by the case lifecycle); a case
without one is overdue once open longer than the days allowed for its severity (`overdue_days[severity]`).
"""

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Float, Integer, bindparam, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.sql.selectable import TextualSelect
from sqlalchemy.types import DateTime

from geo.queries.layers import display_code, textual

OPEN_EXCLUDED = ("closed", "rejected", "duplicate")
RESOLVED = ("handled", "verified", "closed")


@dataclass(frozen=True)
class RiskThresholds:
    """How risk is graded. Severity-indexed tuples hold severities 1..4 in order."""

    overdue_days: tuple[int, int, int, int] = (30, 15, 7, 3)
    severity_weights: tuple[float, float, float, float] = (1.0, 2.0, 4.0, 8.0)
    red_overdue: int = 2
    red_weighted: float = 16.0
    yellow_overdue: int = 1
    yellow_weighted: float = 6.0
    resolution_window_days: int = 365


RISK_COLUMNS = (
    "id",
    "geom",
    "code",
    "name",
    "township",
    "open_events",
    "weighted_severity",
    "overdue",
    "resolution_rate",
    "grade",
    "grade_label",
)

# One pass over the area's events grouped by grid code (events keep the code of their current grid,
# so a re-versioned grid still gets its cases), then joined to the current small grids. The
# thresholds are bound arrays indexed by severity, so no value ever becomes SQL text.
_RISK = text(f"""
WITH clock AS (SELECT coalesce(CAST(:as_of AS timestamptz), now()) AS now),
ev AS (
    SELECT e.grid_code,
           count(*) FILTER (WHERE e.status NOT IN {OPEN_EXCLUDED}) AS open_events,
           coalesce(sum((CAST(:weights AS float8[]))[e.severity])
                    FILTER (WHERE e.status NOT IN {OPEN_EXCLUDED}), 0) AS weighted,
           count(*) FILTER (WHERE e.status NOT IN {OPEN_EXCLUDED}
               AND coalesce(e.deadline_at,
                            e.reported_at + make_interval(days => (CAST(:overdue AS int[]))[e.severity]))
                   < clock.now) AS overdue,
           count(*) FILTER (WHERE e.reported_at >= clock.now - make_interval(days => :window)
               AND e.status NOT IN ('rejected', 'duplicate')) AS recent,
           count(*) FILTER (WHERE e.reported_at >= clock.now - make_interval(days => :window)
               AND e.status IN {RESOLVED}) AS resolved
    FROM events e, clock
    WHERE e.grid_code LIKE :area || '%' AND e.reported_at <= clock.now
    GROUP BY e.grid_code
),
graded AS (
    SELECT g.id, g.geom, g.code, g.name, coalesce(ev.open_events, 0)::int AS open_events,
           round(coalesce(ev.weighted, 0)::numeric, 1)::float8 AS weighted_severity,
           coalesce(ev.overdue, 0)::int AS overdue,
           CASE WHEN coalesce(ev.recent, 0) > 0 THEN round(ev.resolved::numeric / ev.recent, 3)::float8 END
               AS resolution_rate,
           CASE WHEN coalesce(ev.overdue, 0) >= :red_overdue
                  OR coalesce(ev.weighted, 0) >= :red_weighted THEN 'red'
                WHEN coalesce(ev.overdue, 0) >= :yellow_overdue
                  OR coalesce(ev.weighted, 0) >= :yellow_weighted
                    THEN 'yellow'
                ELSE 'green' END AS grade
    FROM grids g LEFT JOIN ev ON ev.grid_code = g.code
    WHERE g.level = 'grid' AND g.valid_to IS NULL AND g.code LIKE :area || '%'
)
SELECT gr.id, gr.geom, {display_code("gr.code")} AS code, gr.name, t.name AS township, gr.open_events,
       gr.weighted_severity, gr.overdue, gr.resolution_rate, gr.grade,
       CASE gr.grade WHEN 'red' THEN '高风险' WHEN 'yellow' THEN '中风险' ELSE '低风险' END AS grade_label
FROM graded gr
LEFT JOIN grids t ON t.code = left(gr.code, 9) || '000000' AND t.level = 'township' AND t.valid_to IS NULL
""").bindparams(
    bindparam("weights", type_=ARRAY(Float)),
    bindparam("overdue", type_=ARRAY(Integer)),
    bindparam("as_of", type_=DateTime(timezone=True)),
)


def risk_source(area: str, thresholds: RiskThresholds, as_of: datetime | None = None) -> TextualSelect:
    """Current small grids of the area with their risk figures and grade (red / yellow / green)."""
    return textual(
        _RISK,
        RISK_COLUMNS,
        area=area,
        as_of=as_of,
        weights=list(thresholds.severity_weights),
        overdue=list(thresholds.overdue_days),
        window=thresholds.resolution_window_days,
        red_overdue=thresholds.red_overdue,
        red_weighted=thresholds.red_weighted,
        yellow_overdue=thresholds.yellow_overdue,
        yellow_weighted=thresholds.yellow_weighted,
    )
