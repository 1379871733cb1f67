"""Benchmark the layer outputs against the raw SQL of the same queries (run by hand, never by CI).

    .venv/bin/python bench/bench_layers.py postgresql+psycopg://gridgov@127.0.0.1:5432/gridgov [--area 620121]

The database must hold the demo (`gridgov demo`, or `gridgov demo --province`). The app runs under
uvicorn in a subprocess on a free loopback port. For each case we compile the exact statement the
app runs, then time it through psycopg as a prepared statement (the floor), and time the HTTP
endpoint: sequential p50/p95, then requests per second with 4 concurrent connections (bounded by
count and time). Prints a table with the ratios.
"""

import argparse
import os
import socket
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import psycopg
from sqlalchemy import create_engine
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import Session

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from geo.queries.layers import area_extent  # noqa: E402
from layers import geojson, tiles  # noqa: E402
from layers.builtin import default_registry  # noqa: E402
from layers.query import LayerQuery  # noqa: E402
from layers.settings import LayerSettings  # noqa: E402


def _tile_of(lon: float, lat: float, z: int) -> tuple[int, int, int]:
    import math

    n = 2**z
    y = (1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n
    return z, int((lon + 180) / 360 * n), int(y)


def _compile(stmt) -> tuple[str, dict]:
    compiled = stmt.compile(dialect=postgresql.psycopg.dialect(), compile_kwargs={"render_postcompile": True})
    return str(compiled), dict(compiled.params)


def _cases(engine, area: str) -> list[tuple[str, str, tuple[str, dict]]]:
    """(name, url path, (sql, params)) for items with bbox and tiles at z 8, 10, 12."""
    settings, reg = LayerSettings(_env_file=None), default_registry()
    with Session(engine) as session:
        minx, miny, maxx, maxy = area_extent(session, area)
    cx, cy = (minx + maxx) / 2, (miny + maxy) / 2
    bbox = (minx, miny, maxx, maxy)
    q = LayerQuery(area=area, bbox=bbox, limit=1000)
    disputes = reg.get("disputes")
    src = geojson.source(disputes, area, settings)
    out = [
        (
            "items disputes bbox l=1000",
            f"/ogc/collections/disputes/items?bbox={','.join(map(str, bbox))}&limit=1000",
            _compile(geojson._page_select(disputes, src, q, "wgs84")),
        )
    ]
    for layer_id in ("grids", "disputes"):
        layer = reg.get(layer_id)
        for z in (8, 10, 12):
            z, x, y = _tile_of(cx, cy, z)
            src = geojson.source(layer, area, settings)
            agg = layer.is_point and z < settings.cluster_below_zoom
            rows = (tiles._clusters if agg else tiles._features)(
                layer, src, LayerQuery(area=area), z, x, y, settings
            )
            stmt = tiles._encode(layer, rows, settings.max_features_per_tile)
            out.append((f"tile {layer_id} z{z}", f"/tiles/{layer_id}/{z}/{x}/{y}.mvt", _compile(stmt)))
    return out


def _seq(fn: Callable[[], int], n: int) -> tuple[float, float, int]:
    """p50 and p95 in ms over n calls (after 3 warm-ups), and the last response size."""
    for _ in range(3):
        size = fn()
    times = []
    for _ in range(n):
        t0 = time.perf_counter()
        size = fn()
        times.append((time.perf_counter() - t0) * 1000)
    times.sort()
    return statistics.median(times), times[int(0.95 * (len(times) - 1))], size


def _rps(
    make: Callable[[], Callable[[], int]], workers: int = 4, seconds: float = 3.0, cap: int = 2000
) -> float:
    """Requests per second with `workers` concurrent connections, bounded by time and count."""
    done, stop = [0] * workers, time.perf_counter() + seconds

    def run(i: int) -> None:
        fn = make()
        while time.perf_counter() < stop and done[i] < cap // workers:
            fn()
            done[i] += 1

    threads = [threading.Thread(target=run, args=(i,)) for i in range(workers)]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return sum(done) / (time.perf_counter() - t0)


def _raw(libpq_url: str, sql: str, params: dict) -> Callable[[], Callable[[], int]]:
    def make() -> Callable[[], int]:
        # The app runs layer queries without parallel workers (LayerSettings.parallel_workers): same here.
        conn = psycopg.connect(libpq_url, autocommit=True, options="-c max_parallel_workers_per_gather=0")

        def call() -> int:
            row = conn.execute(sql, params, prepare=True).fetchone()
            return len(row[0] or b"")

        return call

    return make


def _http(base: str, path: str) -> Callable[[], Callable[[], int]]:
    def make() -> Callable[[], int]:
        client = httpx.Client(base_url=base, timeout=60)

        def call() -> int:
            resp = client.get(path)
            assert resp.status_code in (200, 204), resp.text[:200]
            return len(resp.content)

        return call

    return make


def _serve(url: str) -> tuple[subprocess.Popen, str]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "GRID_DB_URL": url, "GRID_DB_POOL_SIZE": "8"}
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
        ],
        cwd=ROOT,
        env=env,
    )
    base = f"http://127.0.0.1:{port}"
    for _ in range(200):
        try:
            httpx.get(base + "/healthz", timeout=1)
            return proc, base
        except httpx.HTTPError:
            time.sleep(0.1)
    proc.terminate()
    raise SystemExit("uvicorn did not start")


def main() -> None:
    """Run every case and print the table."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("url")
    ap.add_argument("--area", default="620121")
    ap.add_argument("-n", type=int, default=30, help="sequential requests per case")
    ap.add_argument("--seconds", type=float, default=3.0, help="time bound of the concurrent run")
    args = ap.parse_args()
    engine = create_engine(args.url)
    libpq = args.url.replace("postgresql+psycopg://", "postgresql://", 1)
    cases = _cases(engine, args.area)
    proc, base = _serve(args.url)
    try:
        print(
            f"{'case':28} {'bytes':>9} {'sql p50':>8} {'p95':>7} {'http p50':>9} {'p95':>7} {'ratio':>6} "
            f"{'+ms':>6} {'sql r/s':>8} {'http r/s':>9} {'r/s %':>6}"
        )
        for name, path, (sql, params) in cases:
            raw = _raw(libpq, sql, params)
            http = _http(base, path)
            s50, s95, _ = _seq(raw(), args.n)
            h50, h95, size = _seq(http(), args.n)
            srps, hrps = _rps(raw, seconds=args.seconds), _rps(http, seconds=args.seconds)
            print(
                f"{name:28} {size:9d} {s50:8.2f} {s95:7.2f} {h50:9.2f} {h95:7.2f} {h50 / s50:6.2f} "
                f"{h50 - s50:6.2f} {srps:8.0f} {hrps:9.0f} {100 * hrps / srps:5.0f}%"
            )
    finally:
        proc.terminate()
        proc.wait(10)
        engine.dispose()


if __name__ == "__main__":
    main()
