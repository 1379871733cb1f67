"""The risk grade (三色) of every small grid, graded once, and the three lists (三色三单) built on it.

One grade with one set of thresholds (`RiskSettings`, GRID_RISK_*): a score from the grid's open cases
weighted by severity, its overdue cases (geo.queries.figures), repeat locations (points with two or
more disputes or hazards within about `repeat_metres` in the window) and the trend (cases of the last
`trend_days` against the `trend_days` before); red at `red_score` or at `red_overdue` overdue cases,
yellow at `yellow_score`, else green.

The `risk` job (geo.jobs) grades a county at an instant and stores the result in `risk_grades`; the
risk layer (OGC items, tiles, Folium maps), the three lists and the reports all read that table, so
a grid has one colour everywhere, and say as of when.
"""

from datetime import datetime, timedelta
from typing import Any

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy import Float, bindparam, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session
from sqlalchemy.sql.selectable import TextualSelect

from geo import clock, vocabulary
from geo.queries import figures as f
from geo.queries.area import area_range, in_area
from geo.queries.layers import display_code, textual


class RiskSettings(BaseSettings):
    """How a grid is graded: a score from its figures, red and yellow cut-offs, and a hard red rule."""

    model_config = SettingsConfigDict(env_prefix="GRID_RISK_", env_file=".env", extra="ignore")

    severity_weights: tuple[float, float, float, float] = (1.0, 2.0, 4.0, 8.0)
    overdue_weight: float = 4.0
    repeat_weight: float = 3.0
    trend_weight: float = 2.0  # per doubling of recent cases over the earlier period
    red_score: float = Field(default=16.0, gt=0)
    yellow_score: float = Field(default=6.0, gt=0)
    red_overdue: int = Field(default=2, ge=1)  # this many overdue cases make a grid red whatever its score
    window_days: int = Field(default=365, ge=1)
    repeat_metres: float = Field(default=50.0, gt=0)
    trend_days: int = Field(default=30, ge=1)

    @model_validator(mode="after")
    def _ordered(self) -> "RiskSettings":
        """Yellow must start below red."""
        if self.yellow_score > self.red_score:
            raise ValueError("yellow_score must not exceed red_score")
        return self


# The figures of every current small grid of the area at :at, one pass over its events of the window
# (events keep the code of their grid) plus one over repeat places; the grade is decided in SQL so
# that the stored row is the whole answer.
_GRADE = text(f"""
WITH ev AS (
    SELECT e.grid_code,
        count(*) FILTER (WHERE {f.open_at("e")}) AS open_events,
        coalesce(sum((CAST(:weights AS float8[]))[e.severity]) FILTER (WHERE {f.open_at("e")}), 0)
            AS weighted,
        count(*) FILTER (WHERE {f.overdue_at("e")}) AS overdue,
        count(*) FILTER (WHERE e.reported_at >= :trend_start) AS recent,
        count(*) FILTER (WHERE e.reported_at < :trend_start AND e.reported_at >= :earlier_start) AS earlier
    FROM events e
    WHERE e.grid_code ~>=~ :lo AND e.grid_code ~<~ :hi AND {f.accepted("e")}
      AND e.reported_at <= :at AND (e.reported_at >= :window_start OR {f.open_at("e")})
    GROUP BY e.grid_code
), places AS (
    SELECT grid_code, count(*) AS repeat_places FROM (
        SELECT e.grid_code FROM events e
        WHERE e.grid_code ~>=~ :lo AND e.grid_code ~<~ :hi AND {f.accepted("e")}
          AND e.kind IN ('dispute', 'hazard') AND e.reported_at <= :at AND e.reported_at >= :window_start
        GROUP BY e.grid_code, ST_SnapToGrid(e.geom, :metres / 111320.0)
        HAVING count(*) >= 2) r
    GROUP BY grid_code
), scored AS (
    SELECT g.code, coalesce(ev.open_events, 0)::int AS open_events,
        round(coalesce(ev.weighted, 0)::numeric, 1)::float8 AS weighted_severity,
        coalesce(ev.overdue, 0)::int AS overdue, coalesce(pl.repeat_places, 0)::int AS repeat_places,
        coalesce(ev.recent, 0)::int AS recent, coalesce(ev.earlier, 0)::int AS earlier,
        round((coalesce(ev.weighted, 0) + :w_overdue * coalesce(ev.overdue, 0)
               + :w_repeat * least(coalesce(pl.repeat_places, 0), 5)
               + :w_trend * greatest(log(2, (coalesce(ev.recent, 0) + 1.0) / (coalesce(ev.earlier, 0) + 1.0)),
                                     0))::numeric, 2)::float8 AS score
    FROM grids g LEFT JOIN ev ON ev.grid_code = g.code LEFT JOIN places pl ON pl.grid_code = g.code
    WHERE g.level = 'grid' AND g.valid_to IS NULL AND g.code ~>=~ :lo AND g.code ~<~ :hi
), window_rate AS (
    SELECT e.grid_code, count(*) FILTER (WHERE {f.closed_at("e")}) AS closed, count(*) AS base
    FROM events e
    WHERE e.grid_code ~>=~ :lo AND e.grid_code ~<~ :hi AND {f.accepted("e")}
      AND e.reported_at <= :at AND e.reported_at >= :window_start
    GROUP BY e.grid_code
)
INSERT INTO risk_grades (grid_code, as_of, computed_at, open_events, weighted_severity, overdue,
                         repeat_places, recent, earlier, resolution_rate, score, grade)
SELECT s.code, :at, :at, s.open_events, s.weighted_severity, s.overdue, s.repeat_places, s.recent,
       s.earlier, round(wr.closed::numeric / nullif(wr.base, 0), 3)::float8, s.score,
       CASE WHEN s.score >= :red_score OR s.overdue >= :red_overdue THEN 'red'
            WHEN s.score >= :yellow_score THEN 'yellow' ELSE 'green' END
FROM scored s LEFT JOIN window_rate wr ON wr.grid_code = s.code
ON CONFLICT (grid_code) DO UPDATE SET
    as_of = EXCLUDED.as_of, computed_at = EXCLUDED.computed_at, open_events = EXCLUDED.open_events,
    weighted_severity = EXCLUDED.weighted_severity, overdue = EXCLUDED.overdue,
    repeat_places = EXCLUDED.repeat_places, recent = EXCLUDED.recent, earlier = EXCLUDED.earlier,
    resolution_rate = EXCLUDED.resolution_rate, score = EXCLUDED.score, grade = EXCLUDED.grade
""").bindparams(bindparam("weights", type_=ARRAY(Float)))

# Grids that are no longer current (re-gridded) lose their grade.
_DROP_RETIRED = text("""
DELETE FROM risk_grades r WHERE r.grid_code ~>=~ :lo AND r.grid_code ~<~ :hi
  AND NOT EXISTS (SELECT 1 FROM grids g
                  WHERE g.code = r.grid_code AND g.level = 'grid' AND g.valid_to IS NULL)
""")


def grade_area(session: Session, area: str, settings: RiskSettings, at: datetime | None = None) -> int:
    """Grade every current small grid of the area at `at` (default now) into risk_grades; how many."""
    graded = session.execute(_GRADE, _grade_params(area, settings, at or clock.now())).rowcount
    session.execute(_DROP_RETIRED, area_range(area))
    return int(graded)


def _grade_params(area: str, settings: RiskSettings, at: datetime) -> dict[str, Any]:
    """The values _GRADE binds: the instant, the window and trend starts, the weights and cut-offs."""
    return {
        **area_range(area),
        "at": at,
        "window_start": at - timedelta(days=settings.window_days),
        "trend_start": at - timedelta(days=settings.trend_days),
        "earlier_start": at - timedelta(days=2 * settings.trend_days),
        "weights": list(settings.severity_weights),
        "metres": settings.repeat_metres,
        "w_overdue": settings.overdue_weight,
        "w_repeat": settings.repeat_weight,
        "w_trend": settings.trend_weight,
        "red_score": settings.red_score,
        "yellow_score": settings.yellow_score,
        "red_overdue": settings.red_overdue,
    }


RISK_COLUMNS = (
    "id",
    "geom",
    "code",
    "name",
    "township",
    "open_events",
    "weighted_severity",
    "overdue",
    "repeat_places",
    "resolution_rate",
    "score",
    "grade",
    "grade_label",
    "as_of",
)

_LABEL = "CASE r.grade " + " ".join(
    f"WHEN '{k}' THEN '{v}'" for k, v in vocabulary.zh(vocabulary.GRADES).items()
)
_LAYER = f"""
SELECT g.id, g.geom, {display_code("g.code")} AS code, g.name, t.name AS township, r.open_events,
       r.weighted_severity, r.overdue, r.repeat_places, r.resolution_rate, r.score,
       coalesce(r.grade, 'none') AS grade, coalesce({_LABEL} END, '未评估') AS grade_label, r.as_of
FROM grids g
LEFT JOIN risk_grades r ON r.grid_code = g.code
LEFT JOIN grids t ON t.code = left(g.code, 9) || '000000' AND t.level = 'township' AND t.valid_to IS NULL
WHERE g.level = 'grid' AND g.valid_to IS NULL AND {in_area("g.code")}
"""


def risk_source(area: str) -> TextualSelect:
    """Current small grids of the area with their stored grade (the risk layer's rows)."""
    return textual(_LAYER, RISK_COLUMNS, **area_range(area))


_AS_OF = text(f"SELECT max(as_of) FROM risk_grades WHERE {in_area('grid_code')}")


def graded_as_of(session: Session, area: str) -> datetime | None:
    """When the area's grades were last computed (None before the first run)."""
    value: datetime | None = session.execute(_AS_OF, area_range(area)).scalar_one()
    return value
