"""A process's first app freezes what is alive at its start (api.main.freeze_startup_heap): full garbage
collections then walk only what came after, instead of every module and the app itself each time."""

import gc

from fastapi.testclient import TestClient

from tests.apps import app_for


def test_the_first_app_of_a_process_freezes_its_heap_and_later_ones_do_not(demo_db_url):
    with TestClient(app_for(demo_db_url)) as client:
        assert client.get("/healthz").status_code == 200
        frozen = gc.get_freeze_count()
    assert frozen > 10_000  # at least the modules, the app, its settings and its layer registry
    with TestClient(app_for(demo_db_url)) as client:  # a later app (tests build many) freezes nothing
        assert client.get("/healthz").status_code == 200
    assert gc.get_freeze_count() <= frozen  # frozen objects that died since are gone from the count
