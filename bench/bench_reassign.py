"""Re-assigning every event to its small grid: PostGIS (data stays in the database) vs geopandas.sjoin.

Usage (a database holding the province demo, `gridgov demo --province`):
    DATABASE_URL=postgresql://... .venv/bin/python bench/bench_reassign.py [--repeat 3]

Prints, in one run on the same data: the in-database re-assignment (parallel join, then update of
the rows that changed), the same with every row changed (worst case), and an in-memory sjoin of
the same points and polygons (loading them into memory is timed apart), plus the ratios. Each
figure is printed as soon as it is measured. The app's statement timeout (30 s by default) is lifted
inside the bench sessions: at province scale the re-assignment takes longer than that.
"""

import argparse
import statistics
import time

import geopandas as gpd
from sqlalchemy import text
from sqlalchemy.orm import Session

from geo.db import make_engine
from geo.queries.grids import reassign_events
from geo.settings import get_db_settings


def _timed(fn, repeat: int) -> list[float]:
    out = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        out.append(time.perf_counter() - start)
    return out


def _no_timeout(session: Session) -> None:
    session.execute(text("SET LOCAL statement_timeout = 0"))


def bench_postgis(engine, repeat: int) -> tuple[list[float], float, int]:
    """Time reassign_events with nothing to fix, then once with every row wrong (rolled back)."""

    def run_clean() -> None:
        with Session(engine) as session:
            _no_timeout(session)
            reassign_events(session)
            session.rollback()

    clean = _timed(run_clean, repeat)
    print(f"PostGIS reassign (nothing changed): median {statistics.median(clean):.2f} s", flush=True)
    with Session(engine) as session:
        _no_timeout(session)
        session.execute(text("SET LOCAL gridgov.grid_assigned = 'on'"))
        session.execute(text("UPDATE events SET grid_id = NULL, grid_code = NULL"))
        session.execute(text("SET LOCAL gridgov.grid_assigned = 'off'"))
        start = time.perf_counter()
        changed = reassign_events(session)
        worst = time.perf_counter() - start
        session.rollback()
    return clean, worst, changed


def bench_sjoin(engine, repeat: int) -> tuple[list[float], float, int]:
    """Time geopandas.sjoin of all events with current small grids (load time reported apart)."""
    start = time.perf_counter()
    with engine.connect() as conn:
        points = gpd.read_postgis("SELECT id, geom FROM events", conn, geom_col="geom")
        small = "SELECT id AS grid_id, geom FROM grids WHERE level = 'grid' AND valid_to IS NULL"
        grids = gpd.read_postgis(small, conn, geom_col="geom")
    load = time.perf_counter() - start
    times = _timed(lambda: gpd.sjoin(points, grids, predicate="within", how="left"), repeat)
    return times, load, len(points)


def main() -> None:
    """Run both and print the figures."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=3, help="runs of the sjoin")
    parser.add_argument("--pg-repeat", type=int, default=1, help="runs of the clean re-assignment")
    args = parser.parse_args()
    engine = make_engine(get_db_settings())
    sj, load, n = bench_sjoin(engine, args.repeat)
    print(f"events: {n:,}; sjoin median {statistics.median(sj):.2f} s, load {load:.1f} s", flush=True)
    pg, worst, changed = bench_postgis(engine, args.pg_repeat)
    sj50, pg50 = statistics.median(sj), statistics.median(pg)
    print(f"geopandas.sjoin (in memory):        median {sj50:.2f} s  (loading into memory {load:.1f} s)")
    print(f"PostGIS reassign (nothing changed): median {pg50:.2f} s  ratio {pg50 / sj50:.2f}x sjoin")
    print(f"PostGIS reassign (all {changed:,} rows changed): {worst:.2f} s  ratio {worst / sj50:.2f}x sjoin")


if __name__ == "__main__":
    main()
