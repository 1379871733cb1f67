"""Coverage of the small grids by field work (走访覆盖), the one definition every page uses.

A current small grid is **covered** in a period (whole county days) when it had at least one household
visit (走访) recorded in it, or a worker's patrol track crossed it (table patrol_grids, written with the
tracks). It is **visited** when it had a visit. Coverage of an area = covered small grids / current
small grids of the area; 今日走访覆盖率 on the big screen is that share for today. Without data on
buildings or households, the grid is the unit: a grid with one visit counts as covered.

    period_days(period, day) -> (first day, day after the last)   day, ISO week (Monday first) or month
    coverage_source(area, start, end)   the coverage layer's rows (layers.builtin "coverage")
    summarize_coverage(session, area, first, after) -> {grids, covered, visited, patrolled, share}
    list_unvisited(session, area, first, after, limit) -> grids without a visit, patrolled or not
"""

from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session
from sqlalchemy.sql.selectable import TextualSelect

from geo import clock, vocabulary
from geo.errors import InvalidInputError
from geo.queries.area import area_range, in_area
from geo.queries.layers import display_code, textual

PERIODS = {"day": "今日", "week": "本周", "month": "本月"}
_LABEL = vocabulary.zh(vocabulary.COVERAGE)  # trusted literals of the product's own vocabulary


def period_days(period: str, day: date) -> tuple[date, date]:
    """[first, after) county days of the day, ISO week (Monday first) or month holding `day`."""
    if period == "day":
        return day, day + timedelta(days=1)
    if period == "week":
        first = day - timedelta(days=day.weekday())
        return first, first + timedelta(days=7)
    if period == "month":
        first = day.replace(day=1)
        return first, (first + timedelta(days=32)).replace(day=1)
    raise InvalidInputError(f"周期须为 {', '.join(PERIODS)} 之一；收到 {period!r}", where="period")


def parse_day(value: str | None) -> date:
    """A day written YYYY-MM-DD (default: the county's today)."""
    if value in (None, ""):
        return clock.today()
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise InvalidInputError(f"日期须写作 YYYY-MM-DD；收到 {value!r}", where="date") from None


def days_of(start: datetime | None, end: datetime | None) -> tuple[date, date]:
    """The county days [first, after) that a window [start, end) touches; an open end is today, an open
    start the end's own day."""
    last = clock.local(end - timedelta(microseconds=1)).date() if end else clock.today()
    first = clock.local(start).date() if start else last
    return first, max(last, first) + timedelta(days=1)


# Visits per grid by their time, patrols per grid by county day; both read within the area.
_PER_GRID = f"""
WITH v AS (
    SELECT v.grid_code, count(*) AS n FROM visits v
    WHERE {in_area("v.grid_code")} AND v.at >= :t0 AND v.at < :t1 GROUP BY 1
), p AS (
    SELECT p.grid_code, count(DISTINCT p.worker_id) AS n FROM patrol_grids p
    WHERE {in_area("p.grid_code")} AND p.day >= :d0 AND p.day < :d1 GROUP BY 1
)"""

COVERAGE_COLUMNS = (
    "id",
    "geom",
    "code",
    "name",
    "township",
    "worker_id",
    "worker",
    "visits",
    "patrols",
    "covered",
    "status",
    "status_label",
    "period_start",
    "period_end",
)

_COVERAGE = f"""{_PER_GRID}
SELECT g.id, g.geom, {display_code("g.code")} AS code, g.name,
       (SELECT t.name FROM grids t WHERE t.code = left(g.code, 9) || '000000' AND t.level = 'township'
          AND t.valid_to IS NULL) AS township,
       g.worker_id, gridgov_person_name(w.name) AS worker,
       coalesce(v.n, 0)::int AS visits, coalesce(p.n, 0)::int AS patrols,
       (v.n IS NOT NULL OR p.n IS NOT NULL) AS covered,
       CASE WHEN v.n IS NOT NULL THEN 'visited' WHEN p.n IS NOT NULL THEN 'patrolled' ELSE 'none' END
           AS status,
       CASE WHEN v.n IS NOT NULL THEN '{_LABEL["visited"]}' WHEN p.n IS NOT NULL THEN '{_LABEL["patrolled"]}'
            ELSE '{_LABEL["none"]}' END AS status_label,
       CAST(:d0 AS date)::text AS period_start, (CAST(:d1 AS date) - 1)::text AS period_end
FROM grids g
LEFT JOIN workers w ON w.id = g.worker_id
LEFT JOIN v ON v.grid_code = g.code
LEFT JOIN p ON p.grid_code = g.code
WHERE g.level = 'grid' AND g.valid_to IS NULL AND {in_area("g.code")}
"""


def _window(first: date, after: date) -> dict[str, Any]:
    return {"d0": first, "d1": after, "t0": clock.midnight(first), "t1": clock.midnight(after)}


def coverage_source(area: str, start: datetime | None, end: datetime | None) -> TextualSelect:
    """Every current small grid of the area with its visits and patrols in the window's county days."""
    return textual(_COVERAGE, COVERAGE_COLUMNS, **area_range(area), **_window(*days_of(start, end)))


_SUMMARY = text(f"""{_PER_GRID}
SELECT count(*) AS grids,
       count(*) FILTER (WHERE v.n IS NOT NULL OR p.n IS NOT NULL) AS covered,
       count(*) FILTER (WHERE v.n IS NOT NULL) AS visited,
       count(*) FILTER (WHERE p.n IS NOT NULL) AS patrolled,
       coalesce(sum(v.n), 0)::int AS visits
FROM grids g LEFT JOIN v ON v.grid_code = g.code LEFT JOIN p ON p.grid_code = g.code
WHERE g.level = 'grid' AND g.valid_to IS NULL AND {in_area("g.code")}
""")


def share(part: int, whole: int) -> float | None:
    """A share 0..1 with 4 decimals; None of nothing."""
    return round(part / whole, 4) if whole else None


def summarize_coverage(session: Session, area: str, first: date, after: date) -> dict[str, Any]:
    """Coverage of the area's small grids in county days [first, after): counts and the covered share."""
    row = session.execute(_SUMMARY, {**area_range(area), **_window(first, after)}).mappings().one()
    return {
        **row,
        "share": share(row["covered"], row["grids"]),
        "first": first,
        "last": after - timedelta(days=1),
    }


_UNVISITED = text(f"""{_PER_GRID}
SELECT g.code, g.name, gridgov_person_name(w.name) AS worker, g.worker_id, coalesce(p.n, 0)::int AS patrols
FROM grids g LEFT JOIN workers w ON w.id = g.worker_id LEFT JOIN v ON v.grid_code = g.code
LEFT JOIN p ON p.grid_code = g.code
WHERE g.level = 'grid' AND g.valid_to IS NULL AND {in_area("g.code")} AND v.n IS NULL
ORDER BY p.n IS NOT NULL, g.code
LIMIT :limit
""")


def list_unvisited(session: Session, area: str, first: date, after: date, limit: int = 200) -> list[dict]:
    """The area's small grids without a visit in [first, after): never patrolled first, then by code."""
    params = {**area_range(area), "limit": limit, **_window(first, after)}
    return [dict(r) for r in session.execute(_UNVISITED, params).mappings()]
