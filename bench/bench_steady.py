"""The highest steady rate the app sustains, against the same statements through psycopg alone.

Open-loop load: request i is due at start + i / rate whatever the answers before it (a late answer
does not delay the next request), and its latency counts from when it was due, so queueing shows.
The mix: dispatch candidates of random open cases and vector tiles of random case locations at zoom
10-12 (disputes and grids), half and half. For each rate (doubling from --start, then bisected) the
run lasts --seconds; a rate is sustained when no request fails and p95 <= --p95-ms.

  app      GET /api/events/{id}/candidates and /tiles/{layer}/{z}/{x}/{y}.mvt through uvicorn (one
           worker process, started by the bench with the tile and page caches off)
  psycopg  the statements those requests run (the account check gridgov_authorize, then the
           candidates statement or the tile statement, compiled from the app's own code), one
           transaction each, through a psycopg pool of the app's size: the floor of the database work

    .venv/bin/python bench/bench_steady.py --url postgresql://gridgov@127.0.0.1:5432/province --area 62
        [--seconds 8] [--start 25] [--max-rate 1600] [--p95-ms 50] [--app-root OTHER_CHECKOUT --app-only]

Prints a line per rate tried and, per target, the highest sustained rate; then the app/psycopg ratio
(the goal: at least 0.8). The client runs on the same machine as the server (2 cores here): it takes
CPU from both targets alike, which is why the two are measured in one run, one after the other, and
--rounds times in turn (default 3): the goal is read on the median round's ratio.
"""

import argparse
import math
import os
import queue
import random
import socket
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from bench_auth import app_env, bench_login, bench_session  # bench/ is sys.path[0] when run as a script
from bench_http import KeepAlive

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
THREADS = 48  # more than the pool: requests beyond the pool wait for it, as they would in the app


@dataclass
class Step:
    """What one rate gave."""

    rate: float
    latencies_ms: list[float] = field(default_factory=list)
    errors: int = 0

    def p(self, q: float) -> float:
        """Latency percentile (ms)."""
        xs = sorted(self.latencies_ms)
        return xs[min(len(xs) - 1, int(q * len(xs)))] if xs else math.inf

    def sustained(self, p95_ms: float) -> bool:
        """No failure, and p95 within the bound."""
        return self.errors == 0 and self.p(0.95) <= p95_ms


class OpenLoop:
    """THREADS worker threads that run `call(i)` when request i falls due; kept for the whole run, so
    every step sees warm keep-alive clients and a warm server pool."""

    def __init__(self, call: Callable[[int], None]) -> None:
        """Start the threads."""
        self.call, self.due, self.lock = call, queue.Queue(), threading.Lock()
        self.step = Step(0)
        self.threads = [threading.Thread(target=self._work, daemon=True) for _ in range(THREADS)]
        for t in self.threads:
            t.start()

    def _work(self) -> None:
        while (item := self.due.get()) is not None:
            i, when, step = item
            try:
                self.call(i)
                ok = True
            except Exception:  # noqa: BLE001 - counted, not raised: the load goes on
                ok = False
            ms = (time.perf_counter() - when) * 1000
            with self.lock:
                step.latencies_ms.append(ms)
                step.errors += not ok
            self.due.task_done()

    def run(self, rate: float, seconds: float, first: int = 0) -> Step:
        """Requests first.. at `rate` per second for `seconds` (at least 100 requests); waits for all."""
        step, n = Step(rate), max(int(rate * seconds), 100)
        start = time.perf_counter() + 0.05
        for i in range(n):
            when = start + i / rate
            time.sleep(max(0.0, when - time.perf_counter()))
            self.due.put((first + i, when, step))
        self.due.join()
        return step

    def close(self) -> None:
        """Stop the threads."""
        for _ in self.threads:
            self.due.put(None)


def search(name: str, call: Callable[[int], None], args: argparse.Namespace) -> float:
    """The highest sustained rate: warm up, double from --start until a rate fails, then bisect (4 steps)."""
    load = OpenLoop(call)
    try:
        load.run(
            args.start, 200 / args.start
        )  # warm-up: connections, prepared statements, caches of PostgreSQL
        good, bad, rate = 0.0, None, float(args.start)
        while bad is None and rate <= args.max_rate:
            ok = report(name, load.run(rate, args.seconds, first=int(rate * 7)), args.p95_ms)
            good, bad, rate = (rate, None, rate * 2) if ok else (good, rate, rate)
        for _ in range(4 if bad else 0):
            mid = (good + bad) / 2
            if report(name, load.run(mid, args.seconds, first=int(mid * 11)), args.p95_ms):
                good = mid
            else:
                bad = mid
        return good
    finally:
        load.close()


def report(name: str, step: Step, p95_ms: float) -> bool:
    """Print one line for a rate; True when it was sustained."""
    ok = step.sustained(p95_ms)
    print(
        f"  {name:<8} {step.rate:>7.0f}/s  n={len(step.latencies_ms):<6} errors={step.errors:<4} "
        f"p50={step.p(0.5):8.1f} ms  p95={step.p(0.95):8.1f} ms  {'ok' if ok else 'over'}",
        flush=True,
    )
    return ok


def tile_xyz(lon: float, lat: float, z: int) -> tuple[int, int, int]:
    """The tile of a point at zoom z."""
    n = 2**z
    y = (1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n
    return z, int((lon + 180) / 360 * n), int(y)


def workload(url: str, area: str, seed: int = 12) -> list[tuple[str, tuple]]:
    """A seeded mix of ('candidates', (event_id,)) and ('tile', (layer, z, x, y)) items."""
    from sqlalchemy import create_engine, text

    engine = create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))
    with engine.connect() as conn:
        cases = conn.execute(
            text(
                "SELECT id, ST_X(geom), ST_Y(geom) FROM events WHERE grid_code LIKE :a || '%' "
                "AND status IN ('reported', 'registered') ORDER BY id DESC LIMIT 400"
            ),
            {"a": area},
        ).all()
    engine.dispose()
    rng, items = random.Random(seed), []
    for i in range(4000):
        event_id, lon, lat = rng.choice(cases)
        if i % 2:
            items.append(("candidates", (event_id,)))
        else:
            items.append(
                ("tile", (rng.choice(("disputes", "grids")), *tile_xyz(lon, lat, rng.choice((10, 11, 12)))))
            )
    return items


def serve(url: str, secret: str, root: Path = ROOT, workers: int = 1) -> tuple[subprocess.Popen, str]:
    """uvicorn on a free loopback port, caches off, `workers` app processes, running the code of checkout
    `root`; returns (process, base URL)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {
        **os.environ,
        **app_env(url),  # the app's own login, never the owner
        "GRID_AUTH_SECRET": secret,
        "GRID_LAYERS_TILE_CACHE_MB": "0",
        "GRID_LAYERS_PAGE_CACHE_MB": "0",
        "GRID_JOBS_SERVE_WORKERS": "0",
    }
    cmd = [sys.executable, "-m", "uvicorn", "api.main:create_app", "--factory", "--port", str(port)]
    cmd += ["--workers", str(workers)] if workers > 1 else []
    env["PYTHONPATH"] = str(root)
    proc = subprocess.Popen([*cmd, "--host", "127.0.0.1", "--log-level", "warning"], cwd=root, env=env)
    base = f"http://127.0.0.1:{port}"
    for _ in range(300):
        try:
            httpx.get(base + "/healthz", timeout=1)
            return proc, base
        except httpx.HTTPError:
            time.sleep(0.1)
    proc.kill()
    raise RuntimeError("the app did not start")


def app_call(base: str, headers: dict, items: list) -> Callable[[int], None]:
    """One HTTP request per item, from a lean keep-alive client per thread (bench_http: httpx would take
    three times its CPU from the server)."""
    local = threading.local()

    def call(i: int) -> None:
        if not hasattr(local, "client"):
            local.client = KeepAlive(base, headers)
        kind, arg = items[i % len(items)]
        path = (
            f"/api/events/{arg[0]}/candidates?k=5"
            if kind == "candidates"
            else "/tiles/{}/{}/{}/{}.mvt".format(*arg)
        )
        local.client.get(path, ok=(200, 204))

    return call


def psycopg_call(
    url: str, area: str, items: list, pool_size: int, role: str = "commander"
) -> Callable[[int], None]:
    """The same statements as the app's requests, one transaction each, on a psycopg pool logged in as
    the app's own login with the app's session settings (row-level security and plans as in the app), in a
    session of the bench account."""
    from bench_statements import statements
    from psycopg_pool import ConnectionPool

    sid, _expires = bench_session(url, area, name="bench_steady", role=role)
    from geo.settings import DbSettings

    # The app's own session settings (jit off, custom plans, timeouts), so both sides plan alike.
    options = DbSettings(_env_file=None).connection_options
    pool = ConnectionPool(
        app_env(url)["DATABASE_URL"],
        min_size=pool_size,
        max_size=pool_size,
        kwargs={"options": options},
        open=True,
    )
    authorize, candidates, tile, audit_row = statements(area, session_id=sid, role=role)

    def call(i: int) -> None:
        kind, arg = items[i % len(items)]
        with pool.connection() as conn:
            with conn.pipeline():  # BEGIN and the account check in one round trip, as the app's
                conn.execute(*authorize)  # (geo.access.checks.authorize)
            conn.execute(*(candidates(arg[0]) if kind == "candidates" else tile(*arg))).fetchone()
            if audit_row:  # a cleared reader's commit writes the audit row of what it read, sent with the
                with conn.pipeline():  # COMMIT in one round trip, as the app's (api.deps)
                    conn.execute(*audit_row)
                    conn.commit()

    return call


def main() -> None:
    """Measure both targets on one database and print the goal met or missed."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", default=os.environ.get("DATABASE_URL"))
    parser.add_argument("--area", default="62")
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--start", type=float, default=25.0)
    parser.add_argument("--max-rate", type=float, default=1600.0)
    parser.add_argument("--p95-ms", type=float, default=50.0)
    parser.add_argument("--app-root", type=Path, default=ROOT, help="serve another checkout (before/after)")
    parser.add_argument("--app-only", action="store_true", help="measure the app only")
    parser.add_argument("--rounds", type=int, default=3, help="app then psycopg, this many times")
    parser.add_argument("--workers", type=int, default=1, help="app processes (gridgov serve --workers)")
    parser.add_argument(
        "--role", default="commander", help="the bench account's role (commander: cleared, reads audited)"
    )
    args = parser.parse_args()
    items = workload(args.url, args.area)
    secret, headers = bench_login(args.url, args.area, name="bench_steady", role=args.role)
    raw = None if args.app_only else psycopg_call(args.url, args.area, items, pool_size=20, role=args.role)
    proc, base = serve(args.url, secret, args.app_root, args.workers)
    rounds: list[tuple[float, float]] = []
    try:
        for n in range(1, args.rounds + 1):
            rounds.append(one_round(n, app_call(base, headers, items), raw, args))
    finally:
        proc.terminate()
        proc.wait(10)
    verdict(rounds, args)


def one_round(
    n: int, app: Callable[[int], None], raw: Callable[[int], None] | None, args: argparse.Namespace
) -> tuple[float, float]:
    """Round n: the app's highest sustained rate, then psycopg's (0 with --app-only)."""
    print(f"round {n}: app (HTTP, FastAPI, {args.workers} process(es), {args.role}, caches off):", flush=True)
    app_rate = search("app", app, args)
    if raw is None:
        return app_rate, 0.0
    print(f"round {n}: psycopg (the same statements, no HTTP, no framework):", flush=True)
    return app_rate, search("psycopg", raw, args)


def verdict(rounds: list[tuple[float, float]], args: argparse.Namespace) -> None:
    """Each round's rates and ratio, and the goal on the median ratio: the machine drifts over minutes
    (the psycopg side alone moved 188-250/s between runs), so one round's spike decides nothing."""
    print(f"\nhighest sustained rate (p95 <= {args.p95_ms:.0f} ms):")
    for n, (app_rate, raw_rate) in enumerate(rounds, 1):
        raw = f", psycopg {raw_rate:.0f}/s, ratio {app_rate / raw_rate:.2f}" if raw_rate else ""
        print(f"  round {n}: app {app_rate:.0f}/s{raw}")
    if args.app_only:
        return
    ratio = statistics.median(a / r if r else 0.0 for a, r in rounds)
    print(
        f"ratio app/psycopg, median of {len(rounds)} round(s): {ratio:.2f} "
        f"(goal >= 0.80: {'met' if ratio >= 0.8 else 'missed'})"
    )


if __name__ == "__main__":
    main()
