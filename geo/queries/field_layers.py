"""Row sources of the field-work layers: patrol tracks and household visits (coverage: geo.queries.coverage).

Like geo.queries.layers: a textual SELECT per layer with `id`, `geom` (EPSG:4326) and the layer's
properties, already restricted to the requester's area (a bound grid-code prefix); row-level security
restricts them again. Names of workers and households are masked for uncleared roles by the database
(gridgov_person_name, migration 0006).
"""

from sqlalchemy.sql.selectable import TextualSelect

from geo.queries.area import area_range, in_area
from geo.queries.layers import display_code, textual, township_of

TRACK_COLUMNS = (
    "id",
    "geom",
    "worker_id",
    "worker",
    "grid_code",
    "township",
    "day",
    "started_at",
    "ended_at",
    "fixes",
    "segments",
    "length_m",
    "duration_s",
)

# One row per worker and county day (migration 0040's patrol_tracks), by the worker's home grid.
_TRACKS = f"""
SELECT t.id, t.geom, t.worker_id, gridgov_person_name(w.name) AS worker,
       {display_code("t.grid_code")} AS grid_code,
       {township_of("tw.name", "t.grid_code")} AS township, t.day::text AS day,
       t.started_at, t.ended_at, t.fixes, t.segments,
       round(t.length_m::numeric, 1)::float8 AS length_m, t.duration_s
FROM patrol_tracks t
JOIN workers w ON w.id = t.worker_id
WHERE {in_area("t.grid_code")}
"""


def tracks_source(area: str) -> TextualSelect:
    """Patrol tracks of the workers whose home grid lies in the area, one per worker and day."""
    return textual(_TRACKS, TRACK_COLUMNS, **area_range(area))


VISIT_COLUMNS = (
    "id",
    "geom",
    "worker_id",
    "worker",
    "grid_code",
    "township",
    "day",
    "at",
    "address",
    "household",
    "has_photo",
)

# Visits with a position, in the small grid where they happened. Notes stay out of the map (they may
# say more about a household than a map should); GET /api/visits/{id} gives them.
_VISITS = f"""
SELECT v.id, v.geom, v.worker_id, gridgov_person_name(w.name) AS worker,
       {display_code("v.grid_code")} AS grid_code, {township_of("tw.name", "v.grid_code")} AS township,
       (v.at AT TIME ZONE :zone)::date::text AS day, v.at, v.address,
       gridgov_person_name(v.household) AS household, v.photo IS NOT NULL AS has_photo
FROM visits v
JOIN workers w ON w.id = v.worker_id
WHERE v.geom IS NOT NULL AND {in_area("v.grid_code")}
"""


def visits_source(area: str, zone: str) -> TextualSelect:
    """Household visits with a position in the area."""
    return textual(_VISITS, VISIT_COLUMNS, **area_range(area), zone=zone)
