"""Field work: the ingest rate of position fixes in batches of 50, and the tracks tile at z12 for a day of
the whole county.

Usage (a database holding the county demo: `gridgov demo`; the bench writes fixes and removes them
again, so use a copy if others read it meanwhile):
    .venv/bin/python bench/bench_fixes.py --url postgresql://... [--batches 300] [--size 50] [--workers 60]

ingest   POST /api/workers/{id}/fixes through the app in this process (FastAPI TestClient: routing, the
         account check and row-level security, pydantic, the ingest statement, the worker's last fix,
         the rebuild of that worker's track for the day and the grids it crosses), one batch after the
         other, spread over `workers` workers so every batch extends a track that already holds the
         demo's day (~100 fixes) and the batches before it. Also the same batch resent (a replay).
tiles    every z12 tile of the tracks layer over the county for the demo's last day
         (?datetime=YYYY-MM-DD), cold (tile cache off), then the densest one served from the cache.
The clock is pinned at the end of the demo's last day (as the tests pin it). Prints p50/p95 in ms.
"""

import argparse
import math
import statistics
import time
from datetime import datetime, timedelta

from bench_auth import app_env, bench_login  # bench/ is sys.path[0] when run as a script
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text

from api.main import create_app
from api.settings import Settings
from geo import clock
from geo.queries.fixes import rebuild_tracks
from geo.settings import DbSettings, FieldSettings
from layers.settings import LayerSettings

# The demo's last day (the demo loads up to the day it ran: read from the database in main) and the
# instant the clock is pinned at, its end.
DAY = ""
END = datetime.min


def _ms(samples: list[float]) -> str:
    ordered = sorted(samples)
    p50, p95 = statistics.median(ordered) * 1000, ordered[int(0.95 * (len(ordered) - 1))] * 1000
    return f"p50 {p50:7.1f} ms  p95 {p95:7.1f} ms"


def _client(url: str, tile_cache_mb: int) -> TestClient:
    from pydantic import SecretStr

    from api.security import AuthSettings

    secret, headers = bench_login(url, "620121", name="bench_fixes")  # a session of a bench commander
    app_url = app_env(url)["DATABASE_URL"]  # the app's own login, as in production
    settings = Settings.load(
        env_file=None,
        db=DbSettings(_env_file=None, url=app_url, owner_url=url),
        layers=LayerSettings(_env_file=None, tile_cache_mb=tile_cache_mb),
        auth=AuthSettings(_env_file=None, secret=SecretStr(secret)),
    )
    client = TestClient(create_app(settings)).__enter__()
    client.headers.update(headers)
    return client


def _workers(engine, n: int) -> list[tuple[int, float, float]]:
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT w.id, ST_X(p), ST_Y(p) FROM workers w JOIN grids g ON g.id = w.home_grid_id, "
                "LATERAL (SELECT ST_PointOnSurface(g.geom) AS p) s WHERE w.home_grid_code LIKE '620121%' "
                "ORDER BY w.id LIMIT :n"
            ),
            {"n": n},
        ).all()
    return [tuple(r) for r in rows]


def _batch(worker: tuple, k: int, size: int) -> dict:
    """Batch k of a worker: `size` fixes 5 s apart from 06:00 on, walking north-east ~4 m a fix."""
    wid, lon, lat = worker
    start = datetime.fromisoformat(f"{DAY}T06:00:00+08:00") + timedelta(seconds=5 * size * k)
    fixes = [
        {
            "at": (start + timedelta(seconds=5 * i)).isoformat(),
            "lon": lon + 4e-5 * (k * size + i) % 0.002,
            "lat": lat + 3e-5 * i,
            "accuracy_m": 6,
        }
        for i in range(size)
    ]
    return {"batch_key": f"bench:{wid}:{k}", "fixes": fixes}


def ingest(client: TestClient, engine, batches: int, size: int, workers: int) -> None:
    crew = _workers(engine, workers)
    times, replays = [], []
    started = time.perf_counter()
    for k in range(batches):
        worker = crew[k % len(crew)]
        body = _batch(worker, k // len(crew), size)
        t = time.perf_counter()
        r = client.post(f"/api/workers/{worker[0]}/fixes", json=body)
        times.append(time.perf_counter() - t)
        got = r.json()  # a bench fix may fall on an instant the demo's day already holds (kept once)
        assert r.status_code == 200 and got["stored"] + got["already_stored"] == size, r.text
        if k % 10 == 0:
            t = time.perf_counter()
            assert client.post(f"/api/workers/{worker[0]}/fixes", json=body).json()["replayed"]
            replays.append(time.perf_counter() - t)
    wall = time.perf_counter() - started - sum(replays)
    print(
        f"ingest  {batches} batches of {size}: {_ms(times)}  {batches * size / wall:,.0f} fixes/s sequential"
    )
    print(f"replay  {len(replays)} resent batches:  {_ms(replays)}")
    _clean(engine, crew)


def _clean(engine, crew: list[tuple]) -> None:
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM worker_fixes WHERE batch_key LIKE 'bench:%'"))
        conn.execute(text("DELETE FROM fix_batches WHERE batch_key LIKE 'bench:%'"))
    from sqlalchemy.orm import Session

    with Session(engine) as session:
        day = datetime.fromisoformat(DAY).date()
        rebuild_tracks(session, [(w[0], day) for w in crew], FieldSettings(_env_file=None))
        session.commit()


def _county_tiles(engine, z: int) -> list[tuple[int, int]]:
    with engine.connect() as conn:
        x0, y0, x1, y1 = conn.execute(
            text(
                "SELECT ST_XMin(geom), ST_YMin(geom), ST_XMax(geom), ST_YMax(geom) FROM grids "
                "WHERE code = '620121000000000'"
            )
        ).one()
    n = 2**z

    def ty(lat: float) -> int:
        return int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n)

    xs = range(int((x0 + 180) / 360 * n), int((x1 + 180) / 360 * n) + 1)
    return [(x, y) for x in xs for y in range(ty(y1), ty(y0) + 1)]


def tiles(url: str, engine) -> None:
    cold = _client(url, 0)
    stats = []
    for x, y in _county_tiles(engine, 12):
        t = time.perf_counter()
        r = cold.get(f"/tiles/tracks/12/{x}/{y}.mvt?datetime={DAY}")
        stats.append(
            (time.perf_counter() - t, int(r.headers.get("x-tile-features", 0)), len(r.content), (x, y))
        )
    with_tracks = [s for s in stats if s[1]]
    densest = max(stats, key=lambda s: s[1])
    print(
        f"tiles   z12 over the county: {len(stats)} tiles, {len(with_tracks)} with tracks, "
        f"{sum(s[1] for s in stats)} features in all"
    )
    print(
        f"        cold (cache off): {_ms([s[0] for s in with_tracks])}; "
        f"densest {densest[3]}: {densest[1]} tracks, "
        f"{densest[2] / 1024:.0f} KB, {densest[0] * 1000:.1f} ms"
    )
    warm = _client(url, 64)
    x, y = densest[3]
    warm.get(f"/tiles/tracks/12/{x}/{y}.mvt?datetime={DAY}")
    hits = []
    for _ in range(50):
        t = time.perf_counter()
        warm.get(f"/tiles/tracks/12/{x}/{y}.mvt?datetime={DAY}")
        hits.append(time.perf_counter() - t)
    print(f"        densest from the tile cache: {_ms(hits)}")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--url", required=True)
    parser.add_argument("--batches", type=int, default=300)
    parser.add_argument("--size", type=int, default=50)
    parser.add_argument("--workers", type=int, default=60)
    args = parser.parse_args()
    url = args.url.replace("postgresql://", "postgresql+psycopg://", 1)
    engine = create_engine(url)
    global DAY, END  # noqa: PLW0603 - one bench run, one demo day
    with engine.connect() as conn:
        last = conn.execute(text("SELECT max(day) FROM patrol_tracks")).scalar_one()
    DAY, END = last.isoformat(), clock.midnight(last + timedelta(days=1))
    with clock.pinned(END):
        ingest(_client(url, 64), engine, args.batches, args.size, args.workers)
        tiles(url, engine)
    engine.dispose()


if __name__ == "__main__":
    main()
