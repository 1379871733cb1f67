"""Getis-Ord Gi* hot spots per small grid or hexagon, on empirical-Bayes rates, cached per area.

The rate of a cell is its cases in the window per km² (no population is held per grid, so area is
the base), smoothed by global empirical Bayes because most small grids see few cases. Gi* uses
binary queen contiguity with the cell itself included (one sparse matrix per area, kept), analytical
z-scores with two-sided normal p-values as ArcGIS computes them (or seeded permutations for small
areas, GRID_ANALYTICS_PERMUTATIONS) and a Benjamini-Hochberg FDR correction; cells are hot or cold at
99/95/90 % confidence.

Results are stored as a run (analytics_runs + hotspot_cells) by the `hotspots` job (geo.jobs), so the
map layers (OGC items, tiles, Folium) read them with plain SQL; `refresh_hotspots` recomputes when the
data fingerprint, the parameters or the day changed, or the run is older than `max_age_seconds`.
"""

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np
from sqlalchemy import bindparam, text
from sqlalchemy.dialects.postgresql import ARRAY, BYTEA
from sqlalchemy.orm import Session
from sqlalchemy.sql.selectable import TextualSelect

from geo import clock
from geo.analytics import stats
from geo.analytics.cells import Cells, array_text, data_fingerprint, load_cells
from geo.analytics.settings import AnalyticsSettings
from geo.queries.layers import display_code, textual

CLASS_LABELS = {
    3: "热点（99%置信）",
    2: "热点（95%置信）",
    1: "热点（90%置信）",
    0: "不显著",
    -1: "冷点（90%置信）",
    -2: "冷点（95%置信）",
    -3: "冷点（99%置信）",
}


@dataclass
class HotspotResult:
    """Gi* of every cell of an area, in key order."""

    cells: Cells
    events: np.ndarray
    rate: np.ndarray
    eb_rate: np.ndarray
    gi: stats.GiStar


def window(as_of: datetime, days: int) -> tuple[datetime, datetime]:
    """[as_of - days, as_of)."""
    return as_of - timedelta(days=days), as_of


def compute_hotspots(
    session: Session, area: str, unit: str, settings: AnalyticsSettings, as_of: datetime
) -> HotspotResult:
    """Count cases per cell in PostGIS, smooth the rates, and run Gi* (see the module doc)."""
    start, end = window(as_of, settings.window_days)
    cells = load_cells(
        session, area, unit, kinds=settings.kinds, start=start, end=end, hex_size_m=settings.hex_size_m
    )
    events = cells.counts[:, 0]
    base = np.where(cells.km2 > 0, cells.km2, 1e-6)
    eb = stats.eb_rates(events, base)
    gi = stats.gi_star(
        eb, cells.weights, settings.permutations, settings.seed, settings.permutation_max_cells
    )
    return HotspotResult(cells, events, events / base, eb, gi)


_NEW_RUN = text("""
INSERT INTO analytics_runs (analysis, unit, area, params, fingerprint, as_of, computed_at, seconds)
VALUES (:analysis, :unit, :area, CAST(:params AS jsonb), :fingerprint, :as_of, :computed_at, :seconds)
RETURNING id
""")

_DROP_OLD = text("""
DELETE FROM analytics_runs WHERE analysis = :analysis AND unit = :unit AND area = :area AND id <> :run
""")

# Hexagons bring their polygon as WKB; a small grid's polygon stays in grids (readers join it): copying
# 120,000 polygons and their GiST entries was half of a province's run (3.6 of 6.6 s). Arrays bind as
# text (cells.array_text).
_STORE = text("""
INSERT INTO hotspot_cells (run_id, cell, grid_code, region, geom, events, base_km2, rate, eb_rate, z, p,
                           confidence)
SELECT :run, u.cell, u.grid_code, u.region, ST_SetSRID(ST_GeomFromWKB(u.wkb), 4326), u.events, u.km2, u.rate,
       u.eb, u.z, u.p, u.c
FROM unnest(CAST(:cell AS text[]), CAST(:grid_code AS text[]), CAST(:region AS text[]), :wkb,
            CAST(:events AS int[]), CAST(:km2 AS float8[]), CAST(:rate AS float8[]), CAST(:eb AS float8[]),
            CAST(:z AS float8[]), CAST(:p AS float8[]), CAST(:c AS int[]))
     AS u(cell, grid_code, region, wkb, events, km2, rate, eb, z, p, c)
""").bindparams(bindparam("wkb", type_=ARRAY(BYTEA)))


def new_run(
    session: Session,
    analysis: str,
    unit: str,
    area: str,
    params: dict,
    fingerprint: str,
    as_of: datetime,
    seconds: float,
) -> int:
    """Insert a run, drop the area's older runs of the same analysis, and return the new id."""
    key = {"analysis": analysis, "unit": unit, "area": area}
    row = {"params": json.dumps(params), "fingerprint": fingerprint, "as_of": as_of}
    row |= {"computed_at": clock.now(), "seconds": seconds}
    run = session.execute(_NEW_RUN, {**key, **row}).scalar_one()
    session.execute(_DROP_OLD, {**key, "run": run})
    return int(run)


def store_hotspots(session: Session, run: int, res: HotspotResult) -> None:
    """Write the cells of a run."""
    c = res.cells
    session.execute(
        _STORE,
        {
            "run": run,
            "cell": array_text(c.keys),
            "grid_code": array_text(c.grid_codes),
            "region": array_text(c.regions),
            "wkb": c.wkb if c.unit == "hex" else [None] * c.n,
            "events": array_text(res.events.astype(int)),
            "km2": array_text(c.km2),
            "rate": array_text(res.rate),
            "eb": array_text(res.eb_rate),
            "z": array_text(res.gi.z),
            "p": array_text(res.gi.p),
            "c": array_text(res.gi.confidence.astype(int)),
        },
    )


_LATEST = text("""
SELECT id, params, fingerprint, as_of, computed_at
FROM analytics_runs WHERE analysis = :analysis AND unit = :unit AND area = :area
ORDER BY computed_at DESC, id DESC LIMIT 1
""")


def is_fresh(
    session: Session,
    analysis: str,
    unit: str,
    area: str,
    settings: AnalyticsSettings,
    as_of: datetime,
    fingerprint: str,
) -> int | None:
    """The id of the area's newest run when it still holds for this data, parameters and day."""
    row = session.execute(_LATEST, {"analysis": analysis, "unit": unit, "area": area}).first()
    if row is None:
        return None
    same = (
        row.params == json.loads(json.dumps(settings.params(unit)))
        and row.fingerprint == fingerprint
        and clock.local(row.as_of).date() == clock.local(as_of).date()
        and (clock.now() - row.computed_at).total_seconds() <= settings.max_age_seconds
    )
    return int(row.id) if same else None


def lock_area(session: Session, analysis: str, unit: str, area: str) -> None:
    """Serialise recomputation of one analysis for one area (transaction-scoped advisory lock)."""
    session.execute(
        text("SELECT pg_advisory_xact_lock(hashtext(:k))"), {"k": f"gridgov:{analysis}:{unit}:{area}"}
    )


def find_current_run(
    session: Session,
    analysis: str,
    unit: str,
    area: str,
    settings: AnalyticsSettings,
    as_of: datetime,
    fingerprint: str,
) -> int | None:
    """The id of the area's run of the analysis that still holds (is_fresh); None when there is none,
    and then the area stays locked (lock_area) while the caller computes one. A run stored by another
    worker while this one waited for the lock is found by the second look."""
    run = is_fresh(session, analysis, unit, area, settings, as_of, fingerprint)
    if run is not None:
        return run
    lock_area(session, analysis, unit, area)
    return is_fresh(session, analysis, unit, area, settings, as_of, fingerprint)


def refresh_hotspots(
    session: Session,
    area: str,
    unit: str,
    settings: AnalyticsSettings,
    as_of: datetime,
    progress: Callable[[float, str], None] | None = None,
) -> int:
    """The id of a current hot spot run for the area, computing and storing one when needed (a job)."""
    say = progress or (lambda fraction, note: None)
    fp = data_fingerprint(session, area)
    if (run := find_current_run(session, "hotspots", unit, area, settings, as_of, fp)) is not None:
        return run
    t0 = time.perf_counter()
    say(0.1, "统计案件、计算 Gi*")
    res = compute_hotspots(session, area, unit, settings, as_of)
    say(0.6, f"写入 {res.cells.n} 个单元")
    run = new_run(session, "hotspots", unit, area, settings.params(unit), fp, as_of, time.perf_counter() - t0)
    store_hotspots(session, run, res)
    return run


def _label_sql(col: str) -> str:
    return "CASE " + " ".join(f"WHEN {col} = {k} THEN '{v}'" for k, v in CLASS_LABELS.items()) + " END"


HOTSPOT_COLUMNS = (
    "id",
    "geom",
    "cell",
    "grid_code",
    "township",
    "events",
    "base_km2",
    "rate",
    "eb_rate",
    "z",
    "p",
    "confidence",
    "class",
    "class_label",
    "computed_at",
)

# The newest run of exactly this area (runs of a wider area are not cut down: their statistics
# would describe cells the requester may not see). A small grid's polygon is its grid's (so a bbox
# finds it through the grids' GiST index), a hexagon's is stored with it.
_GEOM = {"grid": "g.geom", "hex": "c.geom"}
_JOIN = {
    "grid": "JOIN grids g ON g.code = c.grid_code AND g.level = 'grid' AND g.valid_to IS NULL",
    "hex": "",
}
_HOTSPOTS = f"""
SELECT c.id, {{geom}} AS geom, c.cell, {display_code("c.grid_code")} AS grid_code, t.name AS township,
       c.events,
       round(c.base_km2::numeric, 4)::float8 AS base_km2, round(c.rate::numeric, 4)::float8 AS rate,
       round(c.eb_rate::numeric, 4)::float8 AS eb_rate, round(c.z::numeric, 3)::float8 AS z,
       round(c.p::numeric, 4)::float8 AS p, c.confidence::int AS confidence,
       CASE WHEN c.confidence > 0 THEN 'hot' WHEN c.confidence < 0 THEN 'cold' ELSE 'none' END AS class,
       {_label_sql("c.confidence")} AS class_label, r.computed_at
FROM hotspot_cells c
JOIN (SELECT id, computed_at FROM analytics_runs
      WHERE analysis = 'hotspots' AND unit = :unit AND area = :area
      ORDER BY computed_at DESC, id DESC LIMIT 1) r ON r.id = c.run_id
{{join}}
LEFT JOIN grids t ON t.code = left(c.grid_code, 9) || '000000' AND t.level = 'township' AND t.valid_to IS NULL
"""


def hotspots_source(area: str, unit: str = "grid") -> TextualSelect:
    """The newest stored hot spot cells of the area (empty until computed)."""
    sql = _HOTSPOTS.format(geom=_GEOM[unit], join=_JOIN[unit])
    return textual(sql, HOTSPOT_COLUMNS, area=area, unit=unit)
