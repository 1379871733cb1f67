"""The province's whole analytics run as jobs, timed (by hand, never by CI).

    .venv/bin/python bench/bench_province_jobs.py postgresql://gridgov@127.0.0.1:5432/province \
        [--processes 1 2]

The database must hold the province demo (`gridgov demo --province`) at the newest migration. The
accounts of a province, a city, a county and a township commander are made (they are analysis areas
of their own, as in production), every stored analysis is dropped, and the refresh of every county is
queued: it grades the county and fans out hot spots (grid and hexagon), emerging hot spots (52 weeks),
chronic cases and report drafts for every analysis area. `gridgov worker` processes then run the queue
dry; the schedules are parked for the run so that only this work is measured.

Baseline in the same run: PySAL's G_Local with 999 permutations (what the analyses ran before) on the
province's 120,000 grids, against the analytical Gi* on the same vector.

Goals: the full run <= 5 min on 2 cores; hot spots alone <= 30 s.
"""

import argparse
import os
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import numpy as np
from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench_auth import ensure_account  # noqa: E402

from geo import clock  # noqa: E402
from geo.analytics import stats  # noqa: E402
from geo.analytics.cells import load_cells  # noqa: E402
from geo.jobs.queue import enqueue  # noqa: E402
from geo.jobs.tasks import analysis_areas, counties, queue_all  # noqa: E402

ACCOUNTS = [
    ("bench_prov", "62"),
    ("bench_city", "6201"),
    ("bench_county", "620121"),
    ("bench_town", "620121001"),
]
GOAL_KINDS = ("refresh", "risk", "hotspots", "emerging", "chronic")
_RESET = """
DELETE FROM analytics_runs; DELETE FROM report_drafts; DELETE FROM jobs;
INSERT INTO job_schedules (name, last_slot) VALUES ('risk', 'infinity'), ('reports', 'infinity'),
    ('analytics', 'infinity')
ON CONFLICT (name) DO UPDATE SET last_slot = 'infinity';
"""
_PER_KIND = """
SELECT kind, count(*), sum(extract(epoch FROM finished_at - started_at)),
       max(extract(epoch FROM finished_at - started_at)), count(*) FILTER (WHERE status <> 'done')
FROM jobs GROUP BY kind ORDER BY kind
"""


def _prepare(url: str, hotspots_only: bool = False) -> int:
    """Drop the stored analyses, then queue every county's refresh (or only every area's hot spots)."""
    for name, area in ACCOUNTS:
        ensure_account(url, name, "commander", area)
    engine = create_engine(url)
    with Session(engine) as session, session.begin():
        session.execute(text(_RESET))
        if not hotspots_only:
            n = queue_all(session)
        else:
            areas = sorted({a for c in counties(session) for a in analysis_areas(session, c)})
            for area in areas:
                for unit in ("grid", "hex"):
                    enqueue(session, "hotspots", area, {"unit": unit})
            n = len(areas)
    engine.dispose()
    return n


def _workers(url: str, n: int) -> list[subprocess.Popen]:
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "GRID_JOBS_REFRESH_DELAY_S": "0",
        "GRID_JOBS_ANALYTICS_DELAY_S": "0",
        "GRID_JOBS_POLL_S": "0.2",
    }
    cmd = [sys.executable, "-m", "cli.main", "worker"]
    return [subprocess.Popen(cmd, cwd=ROOT, env=env, stderr=subprocess.DEVNULL) for _ in range(n)]


def _run(url: str, processes: int, hotspots_only: bool = False) -> tuple[float, list]:
    queued = _prepare(url, hotspots_only)
    engine = create_engine(url)
    t0 = time.perf_counter()
    procs = _workers(url, processes)
    try:
        while True:
            time.sleep(1.0)
            with engine.connect() as conn:
                left = conn.execute(
                    text("SELECT count(*) FROM jobs WHERE status IN ('queued', 'running')")
                ).scalar()
            if not left:
                break
        wall = time.perf_counter() - t0
    finally:
        for p in procs:
            p.terminate()
            p.wait(30)
    with engine.connect() as conn:
        kinds = conn.execute(text(_PER_KIND)).all()
    engine.dispose()
    what = "areas' hot spots (grid and hex)" if hotspots_only else "counties' refresh"
    print(f"{processes} worker process(es), {queued} {what} queued: {wall:.1f} s wall", flush=True)
    return wall, kinds


def _baseline(url: str) -> None:
    """esda's permutation Gi* (999) against the analytical one, on the province's cells."""
    from esda.getisord import G_Local

    engine = create_engine(url)
    now = clock.now()  # the product's one clock (a year back by days: 29 February has no year before)
    with Session(engine) as session:
        cells = load_cells(
            session, "62", "grid", kinds=("dispute", "hazard"), start=now - timedelta(days=365), end=now
        )
    y = stats.eb_rates(cells.counts[:, 0], np.where(cells.km2 > 0, cells.km2, 1e-6))
    t0 = time.perf_counter()
    ours = stats.gi_star(y, cells.weights)
    fast = time.perf_counter() - t0
    w = cells.weights.to_pysal()
    t0 = time.perf_counter()
    theirs = G_Local(y, w, transform="B", star=True, permutations=999, seed=620121, n_jobs=1)
    slow = time.perf_counter() - t0
    same = np.allclose(ours.z, theirs.Zs, atol=1e-9)
    print(
        f"baseline Gi* on {cells.n} grids: esda 999 permutations {slow:.1f} s, "
        f"analytical {fast * 1000:.0f} ms "
        f"({slow / fast:.0f}x faster; z-scores equal: {same})",
        flush=True,
    )
    engine.dispose()


def main() -> None:
    """Run the queue dry with each number of worker processes; print the figures and the goals."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("url")
    ap.add_argument("--processes", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--no-baseline", action="store_true")
    args = ap.parse_args()
    url = args.url.replace("postgresql://", "postgresql+psycopg://", 1)
    print(f"load average {os.getloadavg()[0]:.2f}, {os.cpu_count()} cores", flush=True)
    if not args.no_baseline:
        _baseline(url)
    results = {}
    for n in args.processes:  # hot spots alone first: the full run leaves every analysis stored
        hot, _ = _run(url, n, hotspots_only=True)
        wall, kinds = _run(url, n)
        results[n] = wall
        print(f"  {'kind':10} {'jobs':>6} {'sum s':>8} {'max s':>7} {'failed':>6}")
        for k in kinds:
            print(f"  {k[0]:10} {k[1]:6d} {float(k[2] or 0):8.1f} {float(k[3] or 0):7.2f} {k[4]:6d}")
        goal_sum = sum(float(k[2] or 0) for k in kinds if k[0] in GOAL_KINDS)
        print(
            f"  goal: full analytics run {wall:.1f} s wall ({goal_sum:.1f} s in refresh/risk/hotspots/"
            "emerging/"
            f"chronic jobs) <= 300 s: {'met' if wall <= 300 else 'MISSED'}"
        )
        print(
            f"  goal: hot spots alone {hot:.1f} s wall (every analysis area, grid + hexagon) <= 30 s: "
            f"{'met' if hot <= 30 else 'MISSED'}"
        )
    if len(results) > 1:
        one, *rest = sorted(results)
        for n in rest:
            print(f"{n} processes vs 1: {results[one] / results[n]:.2f}x faster wall")
    print(f"load average {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
