"""Bounded HTTP load on loopback: layer items and dispatch candidates, through auth and row-level security.

Starts the app with uvicorn on 127.0.0.1 (a free port) against DATABASE_URL (a migrated database with the
demo county), creates a county-wide dispatcher account `bench_load`, then sends a fixed number of requests
from a thread pool, each a GET of a random layer page or a random case's candidates, and stops by itself.
Prints requests, errors, seconds, sustained requests per second and latency percentiles.

    DATABASE_URL=postgresql://gridgov@127.0.0.1:5432/gridgov .venv/bin/python bench/bench_load_http.py \\
        [--requests 2000] [--threads 16] [--area 620121]
"""

import argparse
import os
import random
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import httpx
from sqlalchemy import create_engine, text

LAYERS = ("disputes", "hazards", "appeals", "workers", "grids", "facilities")


@dataclass
class LoadResult:
    """What a load run saw."""

    requests: int
    errors: list[str] = field(default_factory=list)
    seconds: float = 0.0
    latencies_ms: list[float] = field(default_factory=list)

    @property
    def rate(self) -> float:
        """Sustained requests per second."""
        return self.requests / self.seconds if self.seconds else 0.0

    def percentile(self, p: float) -> float:
        """Latency percentile in milliseconds."""
        xs = sorted(self.latencies_ms)
        return xs[min(len(xs) - 1, int(p / 100 * len(xs)))] if xs else 0.0

    def summary(self) -> str:
        """One line for humans."""
        return (
            f"{self.requests} requests, {len(self.errors)} errors, {self.seconds:.1f} s, "
            f"{self.rate:.0f} req/s, p50 {self.percentile(50):.0f} ms, p95 {self.percentile(95):.0f} ms"
        )


def request_paths(event_ids: list[int], count: int, seed: int = 5) -> list[str]:
    """A fixed, seeded mix: half layer pages (some with a bbox), half candidate lists."""
    rng = random.Random(seed)
    paths = []
    for i in range(count):
        if i % 2 == 0 or not event_ids:
            layer = rng.choice(LAYERS)
            paths.append(f"/ogc/collections/{layer}/items?limit={rng.choice((10, 50, 100))}")
        else:
            paths.append(f"/api/events/{rng.choice(event_ids)}/candidates?k=5")
    return paths


def run_load(base: str, headers: dict[str, str], paths: list[str], threads: int) -> LoadResult:
    """GET every path from a pool of `threads` clients; any status other than 200 counts as an error."""
    result = LoadResult(len(paths))
    local = threading.local()
    lock = threading.Lock()

    def one(path: str) -> None:
        client = getattr(local, "client", None)
        if client is None:
            client = local.client = httpx.Client(base_url=base, headers=headers, timeout=60)
        t0 = time.perf_counter()
        try:
            status = client.get(path).status_code
        except httpx.HTTPError as exc:
            status, path = 0, f"{path} ({exc!r})"
        ms = (time.perf_counter() - t0) * 1000
        with lock:
            result.latencies_ms.append(ms)
            if status != 200:
                result.errors.append(f"{status} {path}")

    started = time.perf_counter()
    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(one, paths))
    result.seconds = time.perf_counter() - started
    return result


def open_event_ids(url: str, area: str, limit: int = 200) -> list[int]:
    """Ids of open cases in the area, to ask candidates for."""
    engine = create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))
    with engine.connect() as conn:
        ids = conn.execute(
            text(
                "SELECT id FROM events WHERE grid_code LIKE :a AND status IN ('reported','registered') "
                "ORDER BY id LIMIT :n"
            ),
            {"a": area + "%", "n": limit},
        ).scalars()
        out = list(ids)
    engine.dispose()
    return out


def main() -> None:
    """Run the load against DATABASE_URL and print the figures."""
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # for tests.* helpers
    from api.main import create_app
    from api.settings import Settings
    from geo.settings import DbSettings
    from tests.apps import app_url
    from tests.auth_helpers import bearer
    from tests.browser import serve_app

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--threads", type=int, default=16)
    parser.add_argument("--area", default="620121")
    args = parser.parse_args()
    url = os.environ["DATABASE_URL"]
    headers = bearer(url, "dispatcher", args.area, name="bench_load")
    paths = request_paths(open_event_ids(url, args.area), args.requests)
    app = create_app(
        Settings.load(
            env_file=None,
            db=DbSettings(
                _env_file=None, url=app_url(url), owner_url=url, pool_size=args.threads, max_overflow=4
            ),
        )
    )
    with serve_app(app) as base:
        run_load(base, headers, paths[: min(50, len(paths))], args.threads)  # warm up
        result = run_load(base, headers, paths, args.threads)
    print(result.summary())  # noqa: T201
    for err in result.errors[:10]:
        print("  error:", err)  # noqa: T201


if __name__ == "__main__":
    main()
