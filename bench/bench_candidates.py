"""Candidate workers for a case: HTTP API vs the raw KNN SQL round trip vs a naive geopandas brute force.

Usage (databases holding the demo: `gridgov demo`, and optionally `gridgov demo --province`):
    .venv/bin/python bench/bench_candidates.py --county-url postgresql://... [--province-url postgresql://...]
        [--requests 300] [--k 5]

For each database, in one run on the same sampled open cases:
  http      GET /api/events/{id}/candidates through a uvicorn server (a subprocess on 127.0.0.1), over one
            keep-alive connection of the standard library's client, with every
            ranking rule on (owner, village, township, scope, skills, load, stale-position filter, mediators)
  http_get  GET /api/events/{id} on the same server (login check and one indexed row)
  http_static  a static file from the same server: the floor of client, framework and loopback
  sql       the candidates query alone (geo.queries.dispatch.list_candidates) in one session
  knn       the bare KNN round trip: SELECT id FROM workers ORDER BY geom <-> point LIMIT k
  geopandas all workers in memory, distance to every one, nsmallest(k) (loading is timed apart)
The bench reads only (besides creating its account `bench_candidates`, a commander of the area: the
database needs migration 0006); the position age limit is lifted (GRID_DISPATCH_MAX_POSITION_AGE_S)
so that the demo's old fixes still count. Prints p50/p95 in milliseconds and the province/county ratios.
"""

import argparse
import os
import random
import socket
import statistics
import subprocess
import sys
import time
import warnings
from collections.abc import Callable
from pathlib import Path

import geopandas as gpd
import httpx
import shapely
from bench_auth import app_env, bench_login  # bench/ is sys.path[0] when run as a script
from bench_http import KeepAlive
from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session

from api.deps import CurrentUser, _authorize, access_for
from geo.queries.dispatch import list_candidates

ROOT = Path(__file__).resolve().parent.parent
AGE_S = 10 * 365 * 86400


def _percentiles(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    return statistics.median(ordered) * 1000, ordered[int(0.95 * (len(ordered) - 1))] * 1000


def _timed(fn: Callable[[int], object], ids: list[int]) -> list[float]:
    out = []
    for event_id in ids:
        start = time.perf_counter()
        fn(event_id)
        out.append(time.perf_counter() - start)
    return out


def _sample(engine, area: str, n: int, seed: int) -> list[tuple[int, float, float]]:
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT id, ST_X(geom), ST_Y(geom) FROM events "
                "WHERE grid_code LIKE :a AND status <> 'closed' "
                "ORDER BY id"
            ),
            {"a": area + "%"},
        ).all()
    rng = random.Random(seed)
    return [tuple(r) for r in rng.sample(rows, min(n, len(rows)))]


def _serve(url: str, secret: str) -> tuple[subprocess.Popen, str]:
    """The app under uvicorn, signing tokens with `secret` (see bench_auth)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {
        **os.environ,
        **app_env(url),
        "GRID_AUTH_SECRET": secret,
        "GRID_DISPATCH_MAX_POSITION_AGE_S": str(AGE_S),
    }
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "api.main:create_app",
            "--factory",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--log-level",
            "warning",
            "--no-access-log",
        ],
        cwd=ROOT,
        env=env,
    )
    base = f"http://127.0.0.1:{port}"
    for _ in range(200):
        try:
            httpx.get(base + "/healthz", timeout=1)
            return proc, base
        except httpx.TransportError:
            time.sleep(0.1)
    proc.terminate()
    raise RuntimeError("uvicorn did not start")


def bench_http(url: str, area: str, ids: list[int], k: int) -> tuple[list[float], list[float], list[float]]:
    """Candidates through the HTTP API (one keep-alive connection), GET /api/events/{id} and a static
    file as baselines."""
    secret, headers = bench_login(url, area, name="bench_candidates")  # a commander of the area
    proc, base = _serve(url, secret)
    try:
        client = KeepAlive(base, headers)
        for event_id in ids:  # one warm-up pass: steady state, hot cache, prepared statements
            client.get(f"/api/events/{event_id}/candidates?k={k}")
        out = _timed(lambda e: client.get(f"/api/events/{e}/candidates?k={k}"), ids)
        # Baselines on the same HTTP stack: a case read by id (login check + one indexed row), and a
        # static file (no database): they separate framework, pool and client costs from the ranking.
        base_line = _timed(lambda e: client.get(f"/api/events/{e}"), ids)
        floor = _timed(lambda e: client.get("/static/css/console.css"), ids)
        return out, base_line, floor
    finally:
        proc.terminate()
        proc.wait(10)


def bench_sql(engine, area: str, ids: list[int], k: int) -> list[float]:
    """The candidates query (all ranking rules) without HTTP, under row-level security as the app runs it."""
    with Session(engine) as session:
        _authorize(session, access_for(CurrentUser("bench_candidates", "commander", area)))
        run = lambda e: list_candidates(session, e, area=area, k=k, max_age_s=AGE_S)  # noqa: E731
        for event_id in ids:
            run(event_id)
        return _timed(run, ids)


def bench_knn(engine, points: list[tuple[int, float, float]], k: int) -> list[float]:
    """The bare KNN round trip on the workers GiST index."""
    sql = text("SELECT id FROM workers ORDER BY geom <-> ST_SetSRID(ST_MakePoint(:x, :y), 4326) LIMIT :k")
    by_id = {p[0]: p for p in points}
    with engine.connect() as conn:
        run = lambda e: conn.execute(sql, {"x": by_id[e][1], "y": by_id[e][2], "k": k}).all()  # noqa: E731
        for event_id in list(by_id)[:20]:
            run(event_id)
        return _timed(run, list(by_id))


def bench_geopandas(engine, points: list[tuple[int, float, float]], k: int) -> tuple[list[float], float]:
    """Naive brute force: distance from the case to every worker in memory, then the k smallest."""
    start = time.perf_counter()
    with engine.connect() as conn:
        workers = gpd.read_postgis(
            "SELECT id, geom FROM workers WHERE geom IS NOT NULL", conn, geom_col="geom"
        )
    load = time.perf_counter() - start
    by_id = {p[0]: shapely.Point(p[1], p[2]) for p in points}
    # Planar distance in degrees on purpose: that is the naive way (geopandas warns about it).
    warnings.filterwarnings("ignore", message="Geometry is in a geographic CRS")
    return _timed(lambda e: workers.distance(by_id[e]).nsmallest(k), list(by_id)), load


def run_scale(name: str, url: str, area: str, n: int, k: int) -> dict[str, tuple[float, float]]:
    """All four measurements on one database; returns p50/p95 per method."""
    engine = create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))
    with engine.connect() as conn:
        workers = conn.execute(text("SELECT count(*) FROM workers")).scalar()
    points = _sample(engine, area, n, seed=620121)
    ids = [p[0] for p in points]
    http, base_line, floor = bench_http(url, area, ids, k)
    out = {
        "http": _percentiles(http),
        "http_get": _percentiles(base_line),
        "http_static": _percentiles(floor),
        "sql": _percentiles(bench_sql(engine, area, ids, k)),
        "knn": _percentiles(bench_knn(engine, points, k)),
    }
    gp, load = bench_geopandas(engine, points, k)
    out["geopandas"] = _percentiles(gp)
    engine.dispose()
    print(f"{name}: {workers:,} workers, {len(ids)} cases sampled, geopandas load {load:.2f} s", flush=True)
    return out


def main() -> None:
    """Run the county and (if given) the province and print one table."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--county-url", default=os.environ.get("DATABASE_URL"))
    parser.add_argument("--province-url")
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--k", type=int, default=5)
    args = parser.parse_args()
    results = {"county": run_scale("county", args.county_url, "620121", args.requests, args.k)}
    if args.province_url:
        results["province"] = run_scale("province", args.province_url, "62", args.requests, args.k)
    print(
        f"\n{'method':<12}"
        + "".join(f"{s + ' p50':>16}{s + ' p95':>16}" for s in results)
        + ("      ratio p50" if len(results) == 2 else "")
    )
    for method in ("http", "http_get", "http_static", "sql", "knn", "geopandas"):
        cells = "".join(
            f"{results[s][method][0]:>13.3f} ms{results[s][method][1]:>13.3f} ms" for s in results
        )
        ratio = (
            f"{results['province'][method][0] / results['county'][method][0]:>14.2f}x"
            if len(results) == 2
            else ""
        )
        print(f"{method:<12}{cells}{ratio}")


if __name__ == "__main__":
    main()
