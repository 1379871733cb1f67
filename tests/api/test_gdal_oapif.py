"""GDAL's OAPIF driver (Debian's gdal-bin) reads the OGC API against a real uvicorn server on loopback."""

import json
import re
import shutil
import socket
import subprocess
import threading
import time

import pytest
import uvicorn

from tests.apps import app_for
from tests.auth_helpers import bearer
from tests.layers import tiny_county as tc
from tests.layers.tiny_county import tiny_db_url  # noqa: F401

AUTH_HEADER = ""
OGRINFO = shutil.which("ogrinfo") or "/usr/bin/ogrinfo"
OGR2OGR = shutil.which("ogr2ogr") or "/usr/bin/ogr2ogr"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server_url(tiny_db_url):  # noqa: F811
    app = app_for(tiny_db_url)
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    global AUTH_HEADER
    AUTH_HEADER = bearer(tiny_db_url)["Authorization"]
    yield f"http://127.0.0.1:{port}/ogc"
    server.should_exit = True
    thread.join(timeout=10)


def _run(*args: str) -> str:
    env = {
        "GDAL_HTTP_TIMEOUT": "30",
        "CPL_DEBUG": "OFF",
        "GDAL_HTTP_UNSAFESSL": "NO",
        "PATH": "/usr/bin:/bin",
        "GDAL_HTTP_HEADERS": f"Authorization: {AUTH_HEADER}",  # how QGIS/GDAL users send the token
    }
    out = subprocess.run(args, capture_output=True, text=True, timeout=120, env=env)
    assert out.returncode == 0, out.stderr
    return out.stdout


def test_ogrinfo_lists_collections(server_url):
    out = _run(OGRINFO, "-ro", "-so", f"OAPIF:{server_url}")
    for layer_id in (
        "townships",
        "villages",
        "grids",
        "disputes",
        "hazards",
        "appeals",
        "workers",
        "facilities",
        "risk",
    ):
        assert f": {layer_id} (title:" in out


@pytest.mark.parametrize(("layer_id", "count"), [("disputes", tc.DISPUTES), ("grids", tc.SMALL_GRIDS)])
def test_ogrinfo_feature_count(server_url, layer_id, count):
    out = _run(OGRINFO, "-ro", "-so", f"OAPIF:{server_url}", layer_id)
    assert f"Feature Count: {count}" in out
    assert "category_label: String" in out or "township: String" in out


def test_ogr2ogr_paging_returns_every_feature_once(server_url, tmp_path):
    target = tmp_path / "disputes.geojson"
    _run(
        OGR2OGR,
        "-f",
        "GeoJSON",
        "-preserve_fid",
        str(target),
        f"OAPIF:{server_url}",
        "disputes",
        "-oo",
        "PAGE_SIZE=5",
    )
    features = json.loads(target.read_text())["features"]
    ids = [f["id"] for f in features]
    assert len(ids) == len(set(ids)) == tc.DISPUTES


def test_ogrinfo_reads_features_across_pages(server_url):
    out = _run(OGRINFO, "-ro", "-al", "-q", f"OAPIF:{server_url}", "hazards", "-oo", "PAGE_SIZE=3")
    fids = re.findall(r"OGRFeature\(hazards\):(\d+)", out)
    assert len(fids) == len(set(fids)) == tc.HAZARDS
