from fastapi.testclient import TestClient

from tests.apps import app_for


def test_healthz_reports_postgis_version(empty_db_url):
    app = app_for(empty_db_url)
    with TestClient(app) as client:
        body = client.get("/healthz").json()
    assert body["status"] == "ok"
    assert body["postgis"].startswith("3.")


def test_unknown_route_is_problem_json(empty_db_url):
    app = app_for(empty_db_url)
    with TestClient(app) as client:
        resp = client.get("/nope")
    assert resp.status_code == 404
    assert resp.headers["content-type"].startswith("application/problem+json")
    assert resp.json()["instance"] == "/nope"
