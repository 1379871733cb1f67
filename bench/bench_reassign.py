"""Re-assigning every event to its small grid: PostGIS (data stays in the database) vs geopandas.sjoin.

Usage (a database holding the province demo, `gridgov demo --province`, migrated to head):
    DATABASE_URL=postgresql://... .venv/bin/python bench/bench_reassign.py [--repeat 3] [--no-worst]

Prints, in one run on the same data:
- geopandas.sjoin of all events with the current small grids, in memory (loading them into memory
  is timed apart);
- reassign_events with nothing to fix (the usual case), each run alternating with an sjoin run so
  that both see the same machine load; the ratio is the median of the per-pair ratios;
- reassign_events with every event's grid wiped first (worst case: every row is updated in place);
- rebuilding the cores of every small grid (what migration 0018 does once, and what writing every
  grid again would cost its triggers).

reassign_events tests each event against the core of its own grid (grid_cores: the grid less a
0.1 mm margin and its overlaps with lower ids) in a parallel hash join, and sends the rest (none, when
nothing changed) through the full rule (geo/queries/grids.py). Every PostGIS run is rolled back. The
worst case leaves 3 M dead row versions behind; the bench vacuums `events` before it starts and after
the worst case, so that the next run does not scan a table three times its size. Each figure is
printed as soon as it is measured.
"""

import argparse
import statistics
import time

import geopandas as gpd
from sqlalchemy import text
from sqlalchemy.orm import Session

from geo.db.engine import make_engine
from geo.queries.grids import reassign_events, refresh_all_cores
from geo.settings import DbSettings


def _timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def _vacuum(engine) -> None:
    """VACUUM events (outside a transaction) and say how long it took."""
    with engine.connect() as conn:
        conn = conn.execution_options(isolation_level="AUTOCOMMIT")
        conn.execute(text("SET statement_timeout = 0"))
        took = _timed(lambda: conn.execute(text("VACUUM events")))
    print(f"VACUUM events: {took:.1f} s", flush=True)


def load_sjoin_inputs(engine) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame, float]:
    """All events and current small grids as GeoDataFrames, and how long loading them took."""
    start = time.perf_counter()
    with engine.connect() as conn:
        points = gpd.read_postgis("SELECT id, geom FROM events", conn, geom_col="geom")
        small = "SELECT id AS grid_id, geom FROM grids WHERE level = 'grid' AND valid_to IS NULL"
        grids = gpd.read_postgis(small, conn, geom_col="geom")
    return points, grids, time.perf_counter() - start


def run_clean(engine) -> int:
    """reassign_events with nothing to fix, rolled back."""
    with Session(engine) as session:
        changed = reassign_events(session)
        session.rollback()
    return changed


def run_worst(engine) -> tuple[float, int]:
    """reassign_events after wiping every event's grid (rolled back): every row is updated."""
    with Session(engine) as session:
        session.execute(text("SET LOCAL statement_timeout = 0"))
        session.execute(text("SET LOCAL gridgov.grid_assigned = 'on'"))
        session.execute(text("UPDATE events SET grid_id = NULL, grid_code = NULL"))
        session.execute(text("SET LOCAL gridgov.grid_assigned = 'off'"))
        start = time.perf_counter()
        changed = reassign_events(session)
        worst = time.perf_counter() - start
        session.rollback()
    return worst, changed


def run_cores(engine) -> float:
    """Seconds to recompute every current small grid's core (rolled back)."""
    with Session(engine) as session:
        session.execute(text("SET LOCAL statement_timeout = 0"))
        start = time.perf_counter()
        refresh_all_cores(session)
        took = time.perf_counter() - start
        session.rollback()
    return took


def main() -> None:
    """Run both and print the figures."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=3, help="pairs of runs (sjoin, clean re-assignment)")
    parser.add_argument("--no-worst", action="store_true", help="skip the worst case (it takes minutes)")
    args = parser.parse_args()
    engine = make_engine(DbSettings(), owner=True)  # re-assignment is the owner's work
    _vacuum(engine)
    points, grids, load = load_sjoin_inputs(engine)
    print(f"events: {len(points):,}, small grids: {len(grids):,}; loaded in {load:.1f} s", flush=True)
    sj, pg = [], []
    for _ in range(args.repeat):
        sj.append(_timed(lambda: gpd.sjoin(points, grids, predicate="within", how="left")))
        pg.append(_timed(lambda: run_clean(engine)))
        print(f"  sjoin {sj[-1]:.2f} s, PostGIS reassign (nothing changed) {pg[-1]:.2f} s", flush=True)
    sj50, pg50 = statistics.median(sj), statistics.median(pg)
    ratio = statistics.median(p / s for p, s in zip(pg, sj, strict=True))
    print(f"geopandas.sjoin (in memory):        median {sj50:.2f} s  (loading into memory {load:.1f} s)")
    print(f"PostGIS reassign (nothing changed): median {pg50:.2f} s  ratio {ratio:.2f}x sjoin", flush=True)
    print(f"cores of every small grid rebuilt: {run_cores(engine):.1f} s", flush=True)
    if not args.no_worst:
        worst, changed = run_worst(engine)
        print(f"PostGIS reassign (all {changed:,} rows changed): {worst:.2f} s  ratio {worst / sj50:.2f}x")
        _vacuum(engine)


if __name__ == "__main__":
    main()
