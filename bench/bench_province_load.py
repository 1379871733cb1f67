"""Servers and load for bench/bench_province.py: `gridgov serve` on a free loopback port, and a bounded
throughput run of concurrent keep-alive clients."""

import http.client
import os
import resource
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
from bench_auth import app_env

ROOT = Path(__file__).resolve().parent.parent


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def serve(url: str, secret: str, *, workers: int, env: dict | None = None) -> Iterator[str]:
    """`gridgov serve --workers N` on the database at `url` (the owner's; the app logs in as its own login),
    no job threads, access log on stderr off."""
    port = _free_port()
    full = {
        **os.environ,
        **app_env(url),  # the app's own login: serve refuses the owner
        "GRID_AUTH_SECRET": secret,
        "GRID_JOBS_SERVE_WORKERS": "0",
        "GRID_DB_POOL_SIZE": "8",
        **(env or {}),
    }
    cmd = [sys.executable, "-m", "cli.main", "serve", "--port", str(port), "--workers", str(workers)]
    proc = subprocess.Popen(cmd, cwd=ROOT, env=full, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(1200):
            if proc.poll() is not None:
                raise SystemExit(f"serve exited with {proc.returncode}")
            try:
                if httpx.get(base + "/healthz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        time.sleep(1.0 if workers > 1 else 0)  # every process up, not just the first
        yield base
    finally:
        proc.terminate()
        proc.wait(30)


def throughput(
    base: str, headers: dict, paths: list[str], *, clients: int, seconds: float
) -> tuple[float, float]:
    """(requests per second, CPU share of one core this client used) of `clients` keep-alive connections
    cycling through `paths` for `seconds` (after one warm-up pass each)."""
    host, port = base.removeprefix("http://").split(":")
    done = [0] * clients
    conns = [http.client.HTTPConnection(host, int(port), timeout=120) for _ in range(clients)]

    def get(conn: http.client.HTTPConnection, path: str) -> None:
        conn.request("GET", path, headers=headers)
        resp = conn.getresponse()
        resp.read()
        assert resp.status in (200, 204), (path, resp.status)

    for conn in conns:
        for path in paths:
            get(conn, path)
    stop = time.perf_counter() + seconds

    def run(i: int) -> None:
        k = i
        while time.perf_counter() < stop:
            get(conns[i], paths[k % len(paths)])
            k += 1
            done[i] += 1

    cpu0 = resource.getrusage(resource.RUSAGE_SELF)
    t0 = time.perf_counter()
    threads = [threading.Thread(target=run, args=(i,)) for i in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - t0
    cpu1 = resource.getrusage(resource.RUSAGE_SELF)
    used = (cpu1.ru_utime - cpu0.ru_utime) + (cpu1.ru_stime - cpu0.ru_stime)
    for conn in conns:
        conn.close()
    return sum(done) / wall, used / wall
