"""The servers bench_layers.py measures, each on a free loopback port: this app under uvicorn (logged
in as a bench commander, whose Authorization header is APP_HEADERS) and tipg under its own venv."""

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
from bench_auth import app_env, bench_login

ROOT = Path(__file__).resolve().parent.parent

# Authorization header of the bench account, sent on every request to the app (never to tipg).
APP_HEADERS: dict[str, str] = {}


def free_port() -> int:
    """A free TCP port on loopback."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_healthy(proc: subprocess.Popen, base: str, what: str) -> None:
    """Wait until the server answers /healthz (at most a minute); stop if it exits."""
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


def serve_app(url: str, area: str) -> tuple[subprocess.Popen, str]:
    """This app under uvicorn (what `gridgov serve` runs), access log off, logged in as a bench
    commander of `area` (account `bench_layers`, created in the database; needs migration 0006)."""
    port = free_port()
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
    wait_healthy(proc, base, "the app")
    return proc, base


def serve_tipg(uvicorn: str, libpq_url: str) -> tuple[subprocess.Popen, str]:
    """tipg under its own venv's uvicorn, from an empty directory (no stray .env), access log off."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TIPG_", "GRID_"))}
    env.update(DATABASE_URL=libpq_url, TIPG_DB_MAX_CONN_SIZE="8", TIPG_CATALOG_TTL="3600")
    cwd = Path("/tmp") / f"tipg-bench-{port}"
    cwd.mkdir(exist_ok=True)
    cmd = [uvicorn, "tipg.main:app", "--host", "127.0.0.1", "--port", str(port)]
    cmd += ["--log-level", "warning", "--no-access-log"]
    proc = subprocess.Popen(cmd, cwd=cwd, env=env)
    base = f"http://127.0.0.1:{port}"
    wait_healthy(proc, base, "tipg")
    return proc, base
