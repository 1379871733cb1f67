"""Timing for the benchmarks: sequential p50/p95, requests per second with concurrent connections, and
the callers they time (the app's statements through psycopg, and an HTTP keep-alive connection)."""

import http.client
import statistics
import threading
import time
import urllib.parse
from collections.abc import Callable

import psycopg


def seq(fn: Callable[[], int], n: int) -> tuple[float, float, int]:
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


def measure_rps(
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


def raw(
    libpq_url: str,
    stmts: list[tuple[str, dict]],
    area: str | None = None,
    plan: str = "force_custom_plan",
    cleared: bool = False,
) -> Callable[[], Callable[[], int]]:
    """The app's statements for one request, prepared; with `area`, as the app's role (gridgov_app,
    row-level security on, the area of the request) and, when `cleared`, unmasked as a commander's or
    dispatcher's request reads (the personal-data functions then note the read instead of masking)."""

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
                "SELECT set_config('gridgov.area', %s, false), set_config('gridgov.unmasked', %s, false),"
                " set_config('role', 'gridgov_app', false)",
                [area, "on" if cleared else "off"],
            )

        def call() -> int:
            size = 0
            for sql, params in stmts:
                row = conn.execute(sql, params, prepare=True).fetchone()
                size = size or len(row[0] or b"")
            return size

        return call

    return make


def http_caller(
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
