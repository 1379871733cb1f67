"""Questions about the grid hierarchy: where a point falls, and whether grids nest."""

from sqlalchemy import bindparam, select, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session
from sqlalchemy.types import BigInteger

from geo.errors import GridNotFoundError, NestingError
from geo.models import Grid, format_code

PARENT_LEVEL = {
    "township": "county",
    "village": "township",
    "grid": "village",
    "county": "city",
    "city": "province",
}

# Siblings overlap when their interiors share area (DE-9IM interior/interior = 2). Shared edges
# and float noise along them are allowed up to the tolerance. Only current rows are compared, and
# with :ids only the pairs that involve those rows.
_OVERLAPS = text("""
SELECT a.code AS a, b.code AS b, ST_Area(ST_Intersection(a.geom, b.geom)::geography) AS area
FROM grids a
JOIN grids b ON b.parent_id IS NOT DISTINCT FROM a.parent_id AND b.level = a.level AND b.id <> a.id
            AND b.valid_to IS NULL AND a.geom && b.geom
WHERE a.valid_to IS NULL
  AND (CAST(:ids AS bigint[]) IS NULL OR a.id = ANY(:ids))
  AND (CAST(:ids AS bigint[]) IS NOT NULL OR a.id < b.id)
  AND ST_Relate(a.geom, b.geom, '2********')
  AND ST_Area(ST_Intersection(a.geom, b.geom)::geography) > :tol
ORDER BY area DESC
LIMIT 20
""").bindparams(bindparam("ids", type_=ARRAY(BigInteger)))

# A child spills out of its parent when the part outside has real area. ST_CoveredBy first: it is
# cheap and settles almost every row, so the costly difference runs only on doubtful ones.
_SPILLS = text("""
SELECT c.code AS child, p.code AS parent, c.level AS level, p.level AS parent_level,
       CASE WHEN ST_CoveredBy(c.geom, p.geom) THEN 0
            ELSE ST_Area(ST_Difference(c.geom, p.geom)::geography) END AS outside
FROM grids c JOIN grids p ON p.id = c.parent_id
WHERE c.valid_to IS NULL
  AND (CAST(:ids AS bigint[]) IS NULL OR c.id = ANY(:ids) OR p.id = ANY(:ids))
  AND (p.valid_to IS NOT NULL
       OR (NOT ST_CoveredBy(c.geom, p.geom) AND ST_Area(ST_Difference(c.geom, p.geom)::geography) > :tol)
       OR p.level <> CASE c.level WHEN 'township' THEN 'county' WHEN 'village' THEN 'township'
                                  WHEN 'grid' THEN 'village' WHEN 'county' THEN 'city' ELSE 'province' END)
ORDER BY outside DESC
LIMIT 20
""").bindparams(bindparam("ids", type_=ARRAY(BigInteger)))


def check_nesting(session: Session, grid_ids: list[int] | None = None, *, tolerance_m2: float = 1.0) -> None:
    """Raise NestingError, naming both codes, if current siblings overlap or a child leaves its parent."""
    params = {"ids": grid_ids, "tol": tolerance_m2}
    problems = [_spill_problem(row) for row in session.execute(_SPILLS, params)]
    problems += [_overlap_problem(row) for row in session.execute(_OVERLAPS, params)]
    if problems:
        first = problems[0]
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        raise NestingError(first["msg"] + more, where=first["where"], errors=problems)


def _overlap_problem(row) -> dict:
    a, b = format_code(row.a), format_code(row.b)
    return {
        "where": f"{a} / {b}",
        "codes": [a, b],
        "msg": f"grids {a} and {b} overlap by {row.area:,.0f} m² (siblings must not overlap)",
    }


def _spill_problem(row) -> dict:
    child, parent = format_code(row.child), format_code(row.parent)
    if row.outside == 0:
        msg = (
            f"grid {child} ({row.level}) cannot sit under {parent} ({row.parent_level}): "
            "the parent is retired or of the wrong level"
        )
    else:
        msg = f"grid {child} is not within its parent {parent}: {row.outside:,.0f} m² lies outside"
    return {"where": f"{child} / {parent}", "codes": [child, parent], "msg": msg}


def get_grid_at(session: Session, lon: float, lat: float) -> Grid:
    """The current small grid covering a WGS84 point (lowest id on a shared edge)."""
    grid_id = session.execute(
        text("SELECT id FROM gridgov_small_grid_at(ST_SetSRID(ST_MakePoint(:lon, :lat), 4326))"),
        {"lon": lon, "lat": lat},
    ).scalar()
    if grid_id is None:
        raise GridNotFoundError(f"no grid covers lon {lon}, lat {lat} (WGS84)", where="lon,lat")
    return session.get_one(Grid, grid_id)


def find_grid(session: Session, code: str) -> Grid | None:
    """The current grid with this 15-digit code, if any."""
    return session.scalars(select(Grid).where(Grid.code == code, Grid.valid_to.is_(None))).first()


def find_county(session: Session, county_code: str) -> Grid | None:
    """The current county grid of a 6-digit adcode, if any."""
    return find_grid(session, county_code + "000000000")


def count_current(session: Session, level: str, area: str = "") -> int:
    """How many current grids of a level lie in an area (grid-code prefix)."""
    return session.execute(
        text("SELECT count(*) FROM grids WHERE level = :level AND valid_to IS NULL AND code LIKE :prefix"),
        {"level": level, "prefix": area + "%"},
    ).scalar_one()


# Re-assigning events is a join of every point with the small grids. It is driven from the grids:
# for each grid, the events GiST index finds its points, and ST_Covers tests them all against the
# same polygon, which PostGIS then prepares once and reuses. Driven from the points (what the
# planner picks by itself) every test meets a different polygon: 4x slower at province scale.
# OFFSET 0 keeps the planner from flattening the lateral subquery and flipping the join around.
# Lowest grid id wins on a shared edge; events no grid covers get NULL; only rows whose grid
# really changed are updated (after a re-gridding that is few; normally none).
_REASSIGN_JOIN = """
CREATE TEMP TABLE gridgov_reassign ON COMMIT DROP AS
WITH covered AS (
    SELECT c.event_id, min(g.id) AS grid_id
    FROM grids g
    CROSS JOIN LATERAL (
        SELECT e.id AS event_id FROM events e WHERE ST_Covers(g.geom, e.geom) OFFSET 0
    ) c
    WHERE g.level = 'grid' AND g.valid_to IS NULL
    GROUP BY c.event_id
)
SELECT e.id, m.grid_id, g.code AS grid_code
FROM events e
LEFT JOIN covered m ON m.event_id = e.id
LEFT JOIN grids g ON g.id = m.grid_id
WHERE e.grid_id IS DISTINCT FROM m.grid_id
"""
_REASSIGN_APPLY = """
UPDATE events e SET grid_id = r.grid_id, grid_code = r.grid_code
FROM gridgov_reassign r WHERE r.id = e.id
"""


def reassign_events(session: Session) -> int:
    """Put every event in the current small grid that covers it; return how many changed.

    Runs without a statement timeout (a province takes over a minute); the caller's timeout is
    restored afterwards, for the rest of its transaction.
    """
    timeout = session.execute(text("SHOW statement_timeout")).scalar_one()
    session.execute(text("SET LOCAL statement_timeout = 0"))
    session.execute(text("DROP TABLE IF EXISTS gridgov_reassign"))
    session.execute(text(_REASSIGN_JOIN))
    changed = session.execute(text(_REASSIGN_APPLY)).rowcount
    session.execute(text("DROP TABLE gridgov_reassign"))
    session.execute(text("SELECT set_config('statement_timeout', :t, true)"), {"t": timeout})
    return changed
