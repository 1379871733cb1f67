"""Province scale, the requests (by hand, never by CI): every console and API request of a province
account, a county account in the province against a county-only database, uncached items and tiles
against their raw SQL run as the app's role, and one against two app processes.

    .venv/bin/python bench/bench_province.py PROVINCE_URL COUNTY_URL [-n 5] [--seconds 10]

PROVINCE_URL holds the province demo with its analyses computed (bench/bench_province_jobs.py);
COUNTY_URL the same county 620121 alone (bench/county_only.sql run on a copy of the province). Each
server is `gridgov serve` (uvicorn, GRID_API_WORKERS processes) on a free loopback port, logged in as a
bench commander. Every figure is a ratio against a baseline measured in the same run.

Goals (issue 22): a province account's requests <= 1 s warm, <= 2 s cold, <= 2 MB, none computing
analytics; a county account in the province <= 1.3 x the county-only database; uncached items and
z10/z12 tiles <= raw SQL (as the app's role) x 1.3 + 1 ms; two processes >= 1.5 x one at 8 clients.
"""

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

import httpx
from sqlalchemy import create_engine, text

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT))

from bench_auth import bench_login  # noqa: E402
from bench_cases import list_cases, tile_of  # noqa: E402
from bench_province_load import serve, throughput  # noqa: E402
from bench_timing import http_caller, raw, seq  # noqa: E402

LANZHOU, YONGDENG = (103.83, 36.06), (103.26, 36.73)
ANALYSES = (
    "analytics_runs",
    "hotspot_cells",
    "emerging_cells",
    "chronic_groups",
    "report_drafts",
    "risk_grades",
)


def _flag(ok: bool) -> str:
    return "" if ok else "MISSED"


def console_paths(center: tuple[float, float]) -> list[str]:
    """What the consoles and the planner's maps ask for, and the analytics API."""
    tiles = [
        f"/tiles/{layer}/{z}/{x}/{y}.mvt"
        for layer in ("grids", "disputes", "risk", "hotspots")
        for z, x, y in (tile_of(*center, z) for z in (8, 10, 12))
    ]
    return [
        "/console/commander",
        "/console/planner",
        "/console/dispatcher",
        "/api/auth/me",
        "/api/summary",
        "/api/summary/open-events",
        "/api/summary/open-events?limit=12",
        "/api/summary/on-duty",
        "/api/summary/departments",
        "/api/board?limit=200",
        "/api/events/overdue",
        "/api/events/due-soon",
        "/api/grids/overdue",
        "/api/categories",
        "/api/vocabulary",
        "/api/hotspots",
        "/api/hotspots?unit=hex",
        "/api/hotspots?level=township&limit=10",
        "/api/risk/lists",
        "/api/chronic",
        "/api/jobs",
        "/api/reports/daily",
        "/api/reports/weekly",
        "/api/reports/monthly",
        "/api/reports/quarterly",
        "/api/reports/monthly?format=html",
        "/maps/county",
        "/maps/heatmap",
        "/maps/heatmap-time",
        "/maps/risk",
        "/maps/hotspots",
        "/maps/hotspots?unit=hex",
        "/maps/emerging",
        "/ogc/collections",
        "/ogc/collections/townships/items?limit=10000",
        "/ogc/collections/facilities/items?limit=10000",
        "/ogc/collections/risk/items?limit=1000",
        *tiles,
    ]


def _get(client: httpx.Client, path: str) -> tuple[float, int, int]:
    t0 = time.perf_counter()
    r = client.get(path)
    return time.perf_counter() - t0, len(r.content), r.status_code


def measure(base: str, headers: dict, paths: list[str], n: int) -> dict[str, tuple[float, float, int, int]]:
    """Per path: cold seconds (first request to a fresh server), warm (median of n more), bytes, status."""
    out = {}
    with httpx.Client(base_url=base, headers=headers, timeout=120) as client:
        for path in paths:
            cold, size, status = _get(client, path)
            warm = statistics.median(_get(client, path)[0] for _ in range(n))
            out[path] = (cold, warm, size, status)
    return out


def _snapshot(url: str) -> tuple:
    engine = create_engine(url)
    with engine.connect() as conn:
        rows = tuple(
            conn.execute(text(f"SELECT count(*), sum(xmin::text::bigint) FROM {t}")).one() for t in ANALYSES
        )
    engine.dispose()
    return rows


def province_requests(url: str, args) -> None:
    """Goal 1: every request of a province account."""
    secret, headers = bench_login(url, "62", name="bench_prov")
    before = _snapshot(url)
    with serve(url, secret, workers=1) as base:
        got = measure(base, headers, console_paths(LANZHOU), args.n)
    print(f"\n[1] province account (62), {len(got)} requests; cold = first request to a fresh server")
    print(f"  {'request':60} {'cold s':>7} {'warm s':>7} {'KB':>8} {'st':>4}")
    bad = []
    for path, (cold, warm, size, status) in got.items():
        ok = cold <= 2 and warm <= 1 and size <= 2 * 1024 * 1024 and status < 400
        bad += [] if ok else [path]
        print(f"  {path[:60]:60} {cold:7.3f} {warm:7.3f} {size / 1024:8.1f} {status:4d} {_flag(ok)}")
    worst = max(got.values(), key=lambda v: v[1])
    print(
        f"  goal: all <= 1 s warm, <= 2 s cold, <= 2 MB: {'met' if not bad else 'MISSED: ' + ', '.join(bad)}"
        f" (slowest warm {worst[1]:.3f} s, largest {max(v[2] for v in got.values()) / 1024:.0f} KB)"
    )
    same = _snapshot(url) == before
    print(f"  goal: no request computes analytics (analysis tables unchanged): {'met' if same else 'MISSED'}")


def county_ratio(province: str, county: str, args) -> None:
    """Goal 3: a county account in the province database against the county-only database."""
    paths = console_paths(YONGDENG)
    results = []
    for url in (county, province):
        secret, headers = bench_login(url, "620121", name="bench_county")
        with serve(url, secret, workers=1) as base:
            results.append(measure(base, headers, paths, args.n))
    alone, inside = results
    print("\n[3] county account (620121): province database / county-only database, warm medians")
    ratios = []
    for path in paths:
        a, b = alone[path][1], inside[path][1]
        ratios.append(b / a)
        print(f"  {path[:60]:60} {a * 1000:8.1f} ms {b * 1000:8.1f} ms {b / a:5.2f}x")
    total = sum(v[1] for v in inside.values()) / sum(v[1] for v in alone.values())
    print(
        f"  goal: <= 1.3x: the whole mix {total:.2f}x {'met' if total <= 1.3 else 'MISSED'}; "
        f"median request {statistics.median(ratios):.2f}x, worst {max(ratios):.2f}x"
    )


def uncached(url: str, args) -> None:
    """Goal 4: items and z10/z12 tiles with the caches off, against their SQL as the app's role."""
    engine = create_engine(url)
    cases = [c for c in list_cases(engine, "62", LANZHOU) if c.kind == "items" or c.z in (10, 12)]
    engine.dispose()
    secret, headers = bench_login(url, "62", name="bench_layers")
    libpq = url.replace("postgresql+psycopg://", "postgresql://", 1)
    env = {"GRID_LAYERS_TILE_CACHE_MB": "0", "GRID_LAYERS_PAGE_CACHE_MB": "0"}
    print("\n[4] caches off, province account: app p50 against its statements run as gridgov_app (RLS), ms")
    print(f"  {'case':32} {'sql':>7} {'generic':>8} {'app':>7} {'limit':>7}")
    missed = []
    with serve(url, secret, workers=1, env=env) as base:
        for case in cases:
            # The bench account is a commander: cleared, so its statements read unmasked (as the app's).
            sql = seq(raw(libpq, case.sql, area="62", cleared=True)(), args.n * 4)[0]
            generic = seq(raw(libpq, case.sql, area="62", plan="auto", cleared=True)(), args.n * 4)[0]
            app = seq(http_caller(base, case.app_path, headers=headers)(), args.n * 4)[0]
            limit = sql * 1.3 + 1
            missed += [] if app <= limit else [case.name]
            print(f"  {case.name:32} {sql:7.2f} {generic:8.2f} {app:7.2f} {limit:7.2f} {_flag(app <= limit)}")
    print(
        f"  goal: app <= sql x 1.3 + 1 ms: {'met' if not missed else 'MISSED: ' + ', '.join(missed)}"
        " ('generic': the same statements on PostgreSQL's default plan cache, for reference)"
    )


def processes(url: str, args) -> None:
    """Goal 5: one against two app processes on the cached layer mix, 8 concurrent clients."""
    secret, headers = bench_login(url, "620121", name="bench_county")
    mix = [p for p in console_paths(YONGDENG) if p.startswith(("/tiles/", "/ogc/collections/risk"))]
    figures = {}
    for workers in (1, 2):
        with serve(url, secret, workers=workers) as base:
            figures[workers] = throughput(base, headers, mix, clients=8, seconds=args.seconds)
    (r1, c1), (r2, c2) = figures[1], figures[2]
    print(f"\n[5] cached layer mix ({len(mix)} tiles and pages), 8 concurrent clients, {args.seconds:.0f} s")
    print(
        f"  1 process {r1:.0f} r/s, 2 processes {r2:.0f} r/s: {r2 / r1:.2f}x "
        f"(goal >= 1.5x: {'met' if r2 / r1 >= 1.5 else 'MISSED'})"
    )
    print(
        f"  the client used {c1:.0%} / {c2:.0%} of one core: it runs on the same 2 cores as the servers and "
        "PostgreSQL (2 cores cannot keep it off them); see the README"
    )


def main() -> None:
    """Run the four request benchmarks."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("province")
    ap.add_argument("county")
    ap.add_argument("-n", type=int, default=3, help="warm requests per path")
    ap.add_argument("--seconds", type=float, default=10.0, help="length of each throughput run")
    ap.add_argument("--only", nargs="*", default=["1", "3", "4", "5"])
    args = ap.parse_args()
    province = args.province.replace("postgresql://", "postgresql+psycopg://", 1)
    county = args.county.replace("postgresql://", "postgresql+psycopg://", 1)
    print(f"load average {os.getloadavg()[0]:.2f}, {os.cpu_count()} cores", flush=True)
    if "1" in args.only:
        province_requests(province, args)
    if "3" in args.only:
        county_ratio(province, county, args)
    if "4" in args.only:
        uncached(province, args)
    if "5" in args.only:
        processes(county, args)
    print(f"\nload average {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
