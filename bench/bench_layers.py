"""Benchmark the layer outputs against the raw SQL of the same queries and tipg (by hand, never by CI).

    .venv/bin/python bench/bench_layers.py postgresql+psycopg://gridgov@127.0.0.1:5432/gridgov \
        [--area 620121] [--center 103.3,36.7] [--tipg /path/to/tipg-venv/bin/uvicorn] [-n 30] [--seconds 3]

The database must hold the demo (`gridgov demo`, or `gridgov demo --province` with `--area 62`). Three
contenders, each on its own free loopback port or connection, against the same database:

  sql      the exact statements the app runs for the request (compiled from the layer code), through
           psycopg as prepared statements (custom plans) with parallel workers off, as the app: the floor
  app      this project under uvicorn (`api.main:create_app`, what `gridgov serve` runs), logged in as a
           bench commander of --area (account bench_layers, created in the database: needs migration 0006)
  tipg     tipg (OGC Features and Tiles for PostGIS, a benchmark-only dependency living in its own venv:
           pass --tipg with its uvicorn; without it tipg is skipped) on the raw tables, with the same
           filters (kind, current small grids) and the comparable property columns

Cases: items of the disputes layer (bbox + limit=1000, over the area's extent and over the z10 tile
around --center; the app also counts the matches, so the SQL floor runs the page and the count, as
the app does), MVT tiles of grids and disputes at z 8, 10, 12 over --center (the densest area:
Yongdeng / Lanzhou), and the z8 tile of appeals (the biggest event layer). For each: sequential
p50/p95 (after warm-up), then requests per second with 4 concurrent connections (bounded by count
and by time; the client threads share the CPU with the servers, so r/s are lower bounds for all).

The app keeps tiles and pages of items it has served while their data is unchanged
(GRID_LAYERS_TILE_CACHE_MB, default 64; GRID_LAYERS_PAGE_CACHE_MB, default 32): the repeated requests
here are then cache hits (still one round trip each, for the account check and the data version).
GRID_LAYERS_TILE_CACHE_MB=0 GRID_LAYERS_PAGE_CACHE_MB=0 in the environment measure every answer
computed (the sql column is that floor either way).

Goals checked at the end: app p50 <= sql p50 x 1.3 + 1 ms; app r/s >= 10 x tipg for items and >= 3 x tipg
for z12 tiles; the z8 event tile <= 500 KB and p50 <= 50 ms. tipg silently cuts tiles at 10,000 features
(TIPG_MAX_FEATURES_PER_TILE): the table says when a tipg tile holds exactly that many.
"""

import argparse
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import httpx
from sqlalchemy import create_engine

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

# bench/ is sys.path[0] when run as a script
from bench_cases import TIPG_TILE_CAP, Case, list_cases  # noqa: E402
from bench_mvt import mvt_features  # noqa: E402
from bench_servers import APP_HEADERS, serve_app, serve_tipg  # noqa: E402
from bench_timing import http_caller, measure_rps, raw, seq  # noqa: E402


@dataclass
class Result:
    """Figures of one contender on one case: p50, p95 (ms), bytes, features, r/s."""

    p50: float
    p95: float
    size: int
    features: int | None
    rps: float


def _probe_features(base: str, case: Case, tipg: bool) -> int | None:
    """Features in the response: the app's X-Tile-Features header, tipg's tile decoded, items' count."""
    path, params = (case.tipg_path, case.tipg_params) if tipg else (case.app_path, None)
    resp = httpx.get(base + path, params=params, timeout=120, headers=None if tipg else APP_HEADERS)
    if case.kind == "tile":
        if tipg:
            return mvt_features(resp.content)
        return int(resp.headers.get("X-Tile-Features", 0))
    return resp.json().get("numberReturned")


def _measure(make: Callable[[], Callable[[], int]], args: argparse.Namespace) -> tuple:
    """Sequential p50, p95 (ms) and size, then concurrent requests per second."""
    p50, p95, size = seq(make(), args.n)
    return p50, p95, size, measure_rps(make, seconds=args.seconds, cap=args.cap)


def _run_case(case: Case, libpq: str, app: str, tipg: str | None, args) -> dict[str, Result]:
    out = {}
    p50, p95, size, rps = _measure(raw(libpq, case.sql), args)
    out["sql"] = Result(p50, p95, size, None, rps)
    p50, p95, size, rps = _measure(http_caller(app, case.app_path, headers=APP_HEADERS), args)
    out["app"] = Result(p50, p95, size, _probe_features(app, case, False), rps)
    if tipg:
        p50, p95, size, rps = _measure(http_caller(tipg, case.tipg_path, case.tipg_params), args)
        out["tipg"] = Result(p50, p95, size, _probe_features(tipg, case, True), rps)
    return out


HEAD = (
    f"{'case':30} {'app B':>9} {'feat':>6} {'sql p50':>8} {'p95':>7} {'app p50':>8} {'p95':>7} "
    f"{'lim':>6} {'ok':>3} {'tipg p50':>9} {'tipg B':>9} {'tfeat':>6} {'sql r/s':>8} {'app r/s':>8} "
    f"{'tipg r/s':>8} {'app/tipg':>8}"
)


def _row(case: Case, r: dict[str, Result]) -> str:
    s, a, t = r["sql"], r["app"], r.get("tipg")
    limit = s.p50 * 1.3 + 1
    cut = "!" if t and case.kind == "tile" and t.features == TIPG_TILE_CAP else " "
    tipg = (
        f"{t.p50:9.2f} {t.size:9d} {t.features if t.features is not None else -1:5d}{cut}"
        if t
        else f"{'-':>9} {'-':>9} {'-':>6}"
    )
    return (
        f"{case.name:30} {a.size:9d} {a.features if a.features is not None else -1:6d} "
        f"{s.p50:8.2f} {s.p95:7.2f} "
        f"{a.p50:8.2f} {a.p95:7.2f} {limit:6.2f} {'yes' if a.p50 <= limit else 'NO':>3} {tipg} "
        f"{s.rps:8.0f} {a.rps:8.0f} {t.rps if t else 0:8.0f} {a.rps / t.rps if t else 0:7.1f}x"
    )


def _goals(results: list[tuple[Case, dict[str, Result]]]) -> list[str]:
    """The goal lines: r/s vs tipg (items >= 10x, z12 tiles >= 3x), z8 event tile <= 500 KB and <= 50 ms."""
    lines = []
    for case, r in results:
        a, t = r["app"], r.get("tipg")
        if t and (case.kind == "items" or case.z == 12):
            goal = 10 if case.kind == "items" else 3
            ratio = a.rps / t.rps
            lines.append(
                f"{case.name}: app {a.rps:.0f} r/s vs tipg {t.rps:.0f} r/s = {ratio:.1f}x "
                f"(goal >= {goal}x): {'met' if ratio >= goal else 'NOT met'}"
            )
        if case.kind == "tile" and case.layer in ("disputes", "appeals") and case.z == 8:
            ok = a.size <= 500 * 1024 and a.p50 <= 50
            lines.append(
                f"{case.name}: {a.size / 1024:.1f} KB, p50 {a.p50:.1f} ms "
                f"(goal <= 500 KB and <= 50 ms): {'met' if ok else 'NOT met'}"
            )
        if t and case.kind == "tile" and t.features == TIPG_TILE_CAP:
            lines.append(f"{case.name}: tipg tile holds exactly {TIPG_TILE_CAP} features: silently truncated")
    return lines


def main() -> None:
    """Run every case against the three contenders and print the table and the goals."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("url")
    ap.add_argument("--area", default="620121", help="county, township or village code of the bench account")
    ap.add_argument("--center", default="103.3,36.7", help="lon,lat (WGS84) of the tiles: the densest area")
    ap.add_argument("--tipg", default=None, help="uvicorn of a venv holding tipg (benchmark-only)")
    ap.add_argument("-n", type=int, default=30, help="sequential requests per case")
    ap.add_argument("--seconds", type=float, default=3.0, help="time bound of the concurrent run")
    ap.add_argument("--cap", type=int, default=2000, help="count bound of the concurrent run")
    args = ap.parse_args()
    url = args.url.replace("postgresql://", "postgresql+psycopg://", 1)
    libpq = url.replace("postgresql+psycopg://", "postgresql://", 1)
    engine = create_engine(url)
    cases = list_cases(engine, args.area, tuple(float(v) for v in args.center.split(",")))
    procs = []
    try:
        proc, app = serve_app(url, args.area)
        procs.append(proc)
        tipg = None
        if args.tipg:
            proc, tipg = serve_tipg(args.tipg, libpq)
            procs.append(proc)
        cache_mb = os.environ.get("GRID_LAYERS_TILE_CACHE_MB", "64 (default)")
        page_mb = os.environ.get("GRID_LAYERS_PAGE_CACHE_MB", "32 (default)")
        print(
            f"area {args.area}, centre {args.center}, app tile cache {cache_mb} MB, page cache {page_mb} MB, "
            f"load average {os.getloadavg()[0]:.2f}",
            flush=True,
        )
        print(HEAD, flush=True)
        results = []
        for case in cases:
            r = _run_case(case, libpq, app, tipg, args)
            results.append((case, r))
            print(_row(case, r), flush=True)
        print(f"load average {os.getloadavg()[0]:.2f}")
        print("\n".join(_goals(results)))
    finally:
        for proc in procs:
            proc.terminate()
            proc.wait(10)
        engine.dispose()


if __name__ == "__main__":
    main()
