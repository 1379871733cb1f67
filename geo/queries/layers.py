"""Row sources of the map layers: one query per layer, already restricted to the requester's area.

Each function returns a textual SELECT with the columns `id`, `geom` (EPSG:4326) and the layer's
properties, for the layer package to wrap (GeoJSON, MVT, heatmaps). They are hand-written SQL
because the outputs wrap them as subqueries: PostgreSQL flattens them, so a bbox or property
filter on the outer query still reaches the GiST and b-tree indexes of the base table.
`area` is a grid-code prefix ("620121" = the county); every source states it as a bound code range
(geo.queries.area), which the indexes serve under row-level security.
"""

from sqlalchemy import column, text
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import TextClause
from sqlalchemy.sql.selectable import TextualSelect

from geo.queries.area import area_range, in_area


def display_code(expr: str) -> str:
    """SQL showing a 15-digit code as 620121-003-017-008 (`expr` is a trusted column expression)."""
    return (
        f"(left({expr}, 6) || '-' || substr({expr}, 7, 3) || '-' || substr({expr}, 10, 3)"
        f" || '-' || substr({expr}, 13, 3))"
    )


def textual(sql: str | TextClause, names: tuple[str, ...], **params: object) -> TextualSelect:
    """Wrap SQL text as a selectable with named columns and bound parameters."""
    clause = text(sql) if isinstance(sql, str) else sql
    return clause.bindparams(**params).columns(*(column(n) for n in names))


def township_of(expr: str, code: str) -> str:
    """Scalar subquery: `expr` over `tw`, the current township of grid code `code` (NULL when none).

    The township has the same 9-digit prefix. A correlated scalar subquery rather than a LEFT JOIN:
    PostgreSQL cannot remove a join on a partial unique index, so the join scanned every township
    row of `grids` even for counts; the subquery is dropped when its column is unused and is
    otherwise one probe of grids_current_township_code (migration 0009) per returned row. As a join
    over a page of cells, the planner merged the whole township index, rescanning it (30 ms).
    """
    return (
        f"(SELECT {expr} FROM grids tw WHERE tw.code = left({code}, 9) || '000000'"
        " AND tw.level = 'township' AND tw.valid_to IS NULL)"
    )


EVENT_COLUMNS = (
    "id",
    "geom",
    "category",
    "category_label",
    "severity",
    "status",
    "reported_at",
    "township_code",
    "township",
    "grid_code",
)

# Events of one kind in the area. Parties (personal data) are never joined here. LEFT JOIN: every
# event has its category (foreign key, NOT NULL), so the rows are the same, but a left join to a
# primary key is dropped when no category column is used (counts: 25 -> 11 ms for a county z10
# window); as an inner join under row-level security the planner, expecting ~10 rows, filtered every
# event against all 23 categories.
_EVENTS = f"""
SELECT e.id, e.geom, e.category, c.label_zh AS category_label, e.severity, e.status, e.reported_at,
       {township_of(display_code("tw.code"), "e.grid_code")} AS township_code,
       {township_of("tw.name", "e.grid_code")} AS township,
       {display_code("e.grid_code")} AS grid_code
FROM events e
LEFT JOIN categories c ON c.code = e.category
WHERE e.kind = :kind AND {in_area("e.grid_code")}
"""


def events_source(area: str, kind: str) -> TextualSelect:
    """Events of a kind (dispute, hazard, appeal) in the area, without any personal data."""
    return textual(_EVENTS, EVENT_COLUMNS, kind=kind, **area_range(area))


# Pre-aggregated events (migrations 0013, 0020): cells of 2^-6 tile side at these zoom levels.
CELL_LEVELS = (11, 9, 8, 6, 4)
CELL_TILE_SHIFT = 6
CELL_COLUMNS = ("cx", "cy", "n", "sx", "sy", "w")

_CELLS = f"""
SELECT cx, cy, n, sx, sy, w FROM event_cells
WHERE kind = :kind AND z = :level AND {in_area("village_code")} AND n > 0
"""


def event_cells_source(area: str, kind: str, level: int) -> TextualSelect:
    """Per cell of a level (CELL_LEVELS) in the area: events of a kind, the sums of their Web Mercator
    x and y and of their severity."""
    return textual(_CELLS, CELL_COLUMNS, kind=kind, **area_range(area), level=level)


GRID_COLUMNS = ("id", "geom", "code", "name", "level", "township", "area_m2", "worker")

# Current small grids with their township and grid worker (name masked for uncleared roles, 0006).
_GRIDS = f"""
SELECT g.id, g.geom, {display_code("g.code")} AS code, g.name, g.level,
       {township_of("tw.name", "g.code")} AS township,
       round(g.area_m2)::bigint AS area_m2, gridgov_person_name(w.name) AS worker
FROM grids g
LEFT JOIN workers w ON w.id = g.worker_id
WHERE g.level = 'grid' AND g.valid_to IS NULL AND {in_area("g.code")}
"""


def grids_source(area: str) -> TextualSelect:
    """Current small grids in the area."""
    return textual(_GRIDS, GRID_COLUMNS, **area_range(area))


TOWNSHIP_COLUMNS = ("id", "geom", "code", "name", "area_m2")

_TOWNSHIPS = f"""
SELECT g.id, g.geom, {display_code("g.code")} AS code, g.name, round(g.area_m2)::bigint AS area_m2
FROM grids g
WHERE g.level = 'township' AND g.valid_to IS NULL AND {in_area("g.code")}
"""


def townships_source(area: str) -> TextualSelect:
    """Current townships in the area."""
    return textual(_TOWNSHIPS, TOWNSHIP_COLUMNS, **area_range(area))


VILLAGE_COLUMNS = ("id", "geom", "code", "name", "township", "area_m2")

_VILLAGES = f"""
SELECT g.id, g.geom, {display_code("g.code")} AS code, g.name, {township_of("tw.name", "g.code")} AS township,
       round(g.area_m2)::bigint AS area_m2
FROM grids g
WHERE g.level = 'village' AND g.valid_to IS NULL AND {in_area("g.code")}
"""


def villages_source(area: str) -> TextualSelect:
    """Current villages in the area."""
    return textual(_VILLAGES, VILLAGE_COLUMNS, **area_range(area))


WORKER_COLUMNS = ("id", "geom", "name", "grid_code", "on_duty", "available", "open_tasks", "located_at")

# Workers with a known position whose home grid is in the area; names masked for uncleared roles (0006).
_WORKERS = f"""
SELECT w.id, w.geom, gridgov_person_name(w.name) AS name, {display_code("w.home_grid_code")} AS grid_code,
       w.on_duty, w.available,
       w.open_tasks, w.located_at
FROM workers w
WHERE w.geom IS NOT NULL AND {in_area("w.home_grid_code")}
"""


def workers_source(area: str) -> TextualSelect:
    """Located grid workers whose home grid is in the area."""
    return textual(_WORKERS, WORKER_COLUMNS, **area_range(area))


FACILITY_COLUMNS = ("id", "geom", "kind", "kind_label", "name", "phone", "grid_code")

_FACILITY_LABELS = """(VALUES ('county_centre', '县综治中心'), ('township_centre', '乡镇综治中心'),
    ('village_station', '村（社区）综治站'), ('court', '人民法庭'), ('police_station', '派出所'),
    ('justice_office', '司法所'), ('mediation_room', '调解室')) AS k(kind, label)"""

_FACILITIES = f"""
SELECT f.id, f.geom, f.kind, k.label AS kind_label, f.name, f.phone,
       {display_code("f.grid_code")} AS grid_code
FROM facilities f
LEFT JOIN {_FACILITY_LABELS} ON k.kind = f.kind
WHERE {in_area("f.grid_code")}
"""


def facilities_source(area: str) -> TextualSelect:
    """Facilities (centres, stations, courts, police, mediation rooms) in the area."""
    return textual(_FACILITIES, FACILITY_COLUMNS, **area_range(area))


# The bbox of an area = the extent of its current grids (every layer's features lie in them). One
# indexed prefix scan of the grids, far cheaper than an extent over a province's events.
_AREA_EXTENT = text(f"""
SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e)
FROM (SELECT ST_Extent(geom) AS e FROM grids WHERE valid_to IS NULL AND {in_area("code")}) x
""")


def area_extent(session: Session, area: str) -> list[float] | None:
    """[minx, miny, maxx, maxy] (WGS84) of the area's current grids, or None if it has none."""
    row = session.execute(_AREA_EXTENT, area_range(area)).one()
    return None if row[0] is None else [round(float(v), 6) for v in row]
