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
import http.client
import math
import os
import socket
import statistics
import subprocess
import sys
import threading
import time
import urllib.parse
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import psycopg
from sqlalchemy import create_engine, func, select
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import Session

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench_auth import app_env, bench_login  # noqa: E402  (bench/ is sys.path[0] when run as a script)

from layers import geojson, tiles  # noqa: E402
from layers.builtin import default_registry  # noqa: E402
from layers.query import LayerQuery  # noqa: E402
from layers.settings import LayerSettings  # noqa: E402

# Authorization header of the bench account, sent on every request to the app (never to tipg).
APP_HEADERS: dict[str, str] = {}

TIPG_TILE_CAP = 10_000
EVENT_PROPS = "category,severity,status,reported_at,grid_code"
TIPG_PROPS = {"disputes": EVENT_PROPS, "appeals": EVENT_PROPS, "grids": "code,name,level,area_m2,worker_id"}
TIPG_FILTERS = {
    "disputes": {"kind": "dispute"},
    "appeals": {"kind": "appeal"},
    "grids": {"filter-lang": "cql2-text", "filter": "level = 'grid' AND valid_to IS NULL"},
}
TIPG_TABLES = {"disputes": "public.events", "appeals": "public.events", "grids": "public.grids"}


@dataclass(frozen=True)
class Case:
    """One request, as the app's URL, the SQL the app runs for it, and tipg's equivalent URL."""

    name: str
    kind: str  # "items" or "tile"
    layer: str
    z: int | None
    app_path: str
    tipg_path: str
    tipg_params: dict
    sql: list[tuple[str, dict]]


@dataclass
class Result:
    """Figures of one contender on one case: p50, p95 (ms), bytes, features, r/s."""

    p50: float
    p95: float
    size: int
    features: int | None
    rps: float


def _tile_of(lon: float, lat: float, z: int) -> tuple[int, int, int]:
    """The Web Mercator (XYZ) tile holding a WGS84 point."""
    n = 2**z
    y = (1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n
    return z, int((lon + 180) / 360 * n), int(y)


def _tile_bounds(z: int, x: int, y: int) -> tuple[float, float, float, float]:
    """WGS84 bounds (minx, miny, maxx, maxy) of an XYZ tile."""
    n = 2**z

    def lat(row: int) -> float:
        return math.degrees(math.atan(math.sinh(math.pi * (1 - 2 * row / n))))

    return x / n * 360 - 180, lat(y + 1), (x + 1) / n * 360 - 180, lat(y)


def _compile(stmt) -> tuple[str, dict]:
    compiled = stmt.compile(dialect=postgresql.psycopg.dialect(), compile_kwargs={"render_postcompile": True})
    return str(compiled), dict(compiled.params)


def _items_case(name: str, area: str, bbox: tuple, settings: LayerSettings) -> Case:
    """Items of the disputes layer in a bbox, limit 1000: the page and the count, as the app runs them."""
    layer = default_registry().get("disputes")
    q = LayerQuery(area=area, bbox=bbox, limit=1000)
    page = geojson._page_select(layer, geojson.source(layer, area), q, "wgs84")
    src = geojson.source(layer, area)
    capped = select(src.c.id).where(*geojson.where(layer, src, q)).limit(settings.count_cap + 1)
    count = select(func.count()).select_from(capped.subquery("m"))  # as geojson.count_features
    text_bbox = ",".join(f"{v:.6f}" for v in bbox)
    return Case(
        name,
        "items",
        "disputes",
        None,
        f"/ogc/collections/disputes/items?bbox={text_bbox}&limit=1000",
        f"/collections/{TIPG_TABLES['disputes']}/items",
        {"bbox": text_bbox, "limit": 1000, "f": "geojson", "properties": TIPG_PROPS["disputes"]}
        | TIPG_FILTERS["disputes"],
        [_compile(page)] + ([_compile(count)] if settings.count_matched else []),
    )


def _tile_case(layer_id: str, area: str, z: int, x: int, y: int, settings: LayerSettings) -> Case:
    """One MVT tile of a layer: the statement get_tile runs, the app URL and tipg's."""
    layer = default_registry().get(layer_id)
    tq = tiles.tile_query(layer, LayerQuery(area=area), z, x, y, settings)
    sql, params = _compile(tq.statement)
    return Case(
        f"tile {layer_id} z{z}",
        "tile",
        layer_id,
        z,
        f"/tiles/{layer_id}/{z}/{x}/{y}.mvt",
        f"/collections/{TIPG_TABLES[layer_id]}/tiles/WebMercatorQuad/{z}/{x}/{y}",
        {"properties": TIPG_PROPS[layer_id], **TIPG_FILTERS[layer_id]},
        [(sql, {**params, **tq.params})],
    )


def _cases(engine, area: str, center: tuple[float, float]) -> list[Case]:
    """Items with bbox (the area's extent, and the z10 tile around the centre) and tiles at z 8, 10, 12."""
    from geo.queries.layers import area_extent

    settings = LayerSettings(_env_file=None)
    with Session(engine) as session:
        extent = tuple(area_extent(session, area))
    window = _tile_bounds(*_tile_of(*center, 10))
    out = [
        _items_case("items disputes extent l=1000", area, extent, settings),
        _items_case("items disputes z10win l=1000", area, window, settings),
    ]
    for layer_id in ("grids", "disputes"):
        for z in (8, 10, 12):
            out.append(_tile_case(layer_id, area, *_tile_of(*center, z), settings))
    # The biggest event layer (appeals, ~85 % of all events) at z8: the tile-size goal and tipg's cap.
    out.append(_tile_case("appeals", area, *_tile_of(*center, 8), settings))
    return out


# --- MVT feature count (a minimal protobuf walk: Tile.layers = 3, Layer.features = 2) -------------


def _varint(buf: bytes, i: int) -> tuple[int, int]:
    shift = value = 0
    while True:
        b = buf[i]
        i += 1
        value |= (b & 0x7F) << shift
        if b < 0x80:
            return value, i
        shift += 7


def _fields(buf: bytes) -> Iterator[tuple[int, bytes | int]]:
    """(field number, value) of a protobuf message; length-delimited values as bytes."""
    i = 0
    while i < len(buf):
        key, i = _varint(buf, i)
        num, wire = key >> 3, key & 7
        if wire == 0:
            value, i = _varint(buf, i)
        elif wire == 2:
            n, i = _varint(buf, i)
            value, i = buf[i : i + n], i + n
        elif wire in (1, 5):
            n = 8 if wire == 1 else 4
            value, i = buf[i : i + n], i + n
        else:
            raise ValueError(f"unsupported protobuf wire type {wire}")
        yield num, value


def mvt_features(data: bytes) -> int:
    """How many features an MVT holds (all layers)."""
    return sum(1 for n, layer in _fields(data) if n == 3 for m, _ in _fields(layer) if m == 2)  # type: ignore[arg-type]


# --- timing -------------------------------------------------------------------------------------


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
    fns = [make() for _ in range(workers)]  # connect before the clock starts

    def run(i: int) -> None:
        while time.perf_counter() < stop and done[i] < cap // workers:
            fns[i]()
            done[i] += 1

    threads = [threading.Thread(target=run, args=(i,)) for i in range(workers)]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return sum(done) / (time.perf_counter() - t0)


def _raw(
    libpq_url: str, stmts: list[tuple[str, dict]], area: str | None = None, plan: str = "force_custom_plan"
) -> Callable[[], Callable[[], int]]:
    """The app's statements for one request, prepared, in one transaction like the app's session; with
    `area`, as the app's role (gridgov_app, row-level security on, the area of the request)."""

    def make() -> Callable[[], int]:
        # The app's connections run without parallel workers (GRID_DB_PARALLEL_WORKERS=0): same here.
        # Custom plans, as the app gets (GRID_DB connection options: plan_cache_mode=force_custom_plan):
        # from the 6th run of a prepared statement PostgreSQL may otherwise switch to a generic plan,
        # blind to the area prefix and bbox, 3-5 x slower here (plan="auto" measures that).
        # JIT off, as the app's engine (geo.db.make_engine).
        opts = f"-c max_parallel_workers_per_gather=0 -c plan_cache_mode={plan} -c jit=off"
        conn = psycopg.connect(libpq_url, autocommit=True, options=opts)
        if area is not None:
            conn.execute(
                "SELECT set_config('gridgov.area', %s, false), set_config('role', 'gridgov_app', false)",
                [area],
            )

        def call() -> int:
            size = 0
            for sql, params in stmts:
                row = conn.execute(sql, params, prepare=True).fetchone()
                size = size or len(row[0] or b"")
            return size

        return call

    return make


def _http(
    base: str, path: str, params: dict | None = None, headers: dict | None = None
) -> Callable[[], Callable[[], int]]:
    """One keep-alive connection per caller, with the standard library's client (a leaner client than
    httpx: its own ~0.5-1 ms per request would blur the servers' difference; the same for both)."""
    target = path + ("?" + urllib.parse.urlencode(params) if params else "")
    host, port = base.removeprefix("http://").split(":")

    def make() -> Callable[[], int]:
        conn = http.client.HTTPConnection(host, int(port), timeout=120)

        def call() -> int:
            conn.request("GET", target, headers=headers or {})
            resp = conn.getresponse()
            body = resp.read()
            assert resp.status in (200, 204), f"{base}{target}: {resp.status} {body[:300]!r}"
            return len(body)

        return call

    return make


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
    p50, p95, size = _seq(make(), args.n)
    return p50, p95, size, _rps(make, seconds=args.seconds, cap=args.cap)


# --- servers ------------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait(proc: subprocess.Popen, base: str, what: str) -> None:
    for _ in range(600):
        if proc.poll() is not None:
            raise SystemExit(f"{what} exited with {proc.returncode}")
        try:
            if httpx.get(base + "/healthz", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    proc.terminate()
    raise SystemExit(f"{what} did not start")


def _serve(url: str, area: str) -> tuple[subprocess.Popen, str]:
    """This app under uvicorn (what `gridgov serve` runs), access log off, logged in as a bench
    commander of `area` (account `bench_layers`, created in the database; needs migration 0006)."""
    port = _free_port()
    secret, headers = bench_login(url, area, name="bench_layers")
    APP_HEADERS.clear()
    APP_HEADERS.update(headers)
    env = {
        **os.environ,
        **app_env(url),  # DATABASE_URL wins over GRID_DB_URL in DbSettings: both set
        "GRID_DB_POOL_SIZE": "8",
        "GRID_AUTH_SECRET": secret,
    }
    cmd = [sys.executable, "-m", "uvicorn", "api.main:create_app", "--factory", "--host", "127.0.0.1"]
    cmd += ["--port", str(port), "--log-level", "warning", "--no-access-log"]
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env)
    base = f"http://127.0.0.1:{port}"
    _wait(proc, base, "the app")
    return proc, base


def _serve_tipg(uvicorn: str, libpq_url: str) -> tuple[subprocess.Popen, str]:
    """tipg under its own venv's uvicorn, from an empty directory (no stray .env), access log off."""
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TIPG_", "GRID_"))}
    env.update(DATABASE_URL=libpq_url, TIPG_DB_MAX_CONN_SIZE="8", TIPG_CATALOG_TTL="3600")
    cwd = Path("/tmp") / f"tipg-bench-{port}"
    cwd.mkdir(exist_ok=True)
    cmd = [uvicorn, "tipg.main:app", "--host", "127.0.0.1", "--port", str(port)]
    cmd += ["--log-level", "warning", "--no-access-log"]
    proc = subprocess.Popen(cmd, cwd=cwd, env=env)
    base = f"http://127.0.0.1:{port}"
    _wait(proc, base, "tipg")
    return proc, base


# --- report -------------------------------------------------------------------------------------


def _run_case(case: Case, libpq: str, app: str, tipg: str | None, args) -> dict[str, Result]:
    out = {}
    p50, p95, size, rps = _measure(_raw(libpq, case.sql), args)
    out["sql"] = Result(p50, p95, size, None, rps)
    p50, p95, size, rps = _measure(_http(app, case.app_path, headers=APP_HEADERS), args)
    out["app"] = Result(p50, p95, size, _probe_features(app, case, False), rps)
    if tipg:
        p50, p95, size, rps = _measure(_http(tipg, case.tipg_path, case.tipg_params), args)
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
    cases = _cases(engine, args.area, tuple(float(v) for v in args.center.split(",")))
    procs = []
    try:
        proc, app = _serve(url, args.area)
        procs.append(proc)
        tipg = None
        if args.tipg:
            proc, tipg = _serve_tipg(args.tipg, libpq)
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
