"""Position fixes from the phone: idempotent batches, device time and accuracy, the worker's last fix,
the position history and the patrol tracks built from it (tiny county, rolled back)."""

from datetime import datetime, timedelta

import mapbox_vector_tile
import pytest
from sqlalchemy import text

from tests.conftest import TEST_NOW as NOW
from tests.dispatch_client import make_tiny
from tests.field_helpers import MORNING, as_role, as_worker, count, tile_of, walk


@pytest.fixture
def tiny(empty_session):
    return make_tiny(empty_session)


def _post(tiny, worker: str, key: str, fixes: list[dict]):
    return tiny.client.post(f"/api/workers/{tiny.ids[worker]}/fixes", json={"batch_key": key, "fixes": fixes})


def test_a_batch_is_stored_once_and_moves_the_worker_to_its_newest_fix(tiny):
    tiny.session.execute(
        text("UPDATE workers SET located_at = :t WHERE id = :w"), {"t": MORNING, "w": tiny.ids["owner"]}
    )
    as_worker(tiny, "owner")
    fixes = walk(MORNING, 5)
    first = _post(tiny, "owner", "phone-1:0001", fixes)
    assert first.status_code == 200, first.text
    assert first.json() | {} == {
        "batch_key": "phone-1:0001",
        "sent": 5,
        "stored": 5,
        "already_stored": 0,
        "outside_county": 0,
        "too_old": 0,
        "moved": True,
        "replayed": False,
    }
    again = _post(tiny, "owner", "phone-1:0001", fixes)  # the answer was lost: the phone resends
    assert again.status_code == 200 and again.json()["replayed"] is True and again.json()["stored"] == 5
    assert count(tiny, "SELECT count(*) FROM worker_fixes WHERE worker_id = :w", w=tiny.ids["owner"]) == 5
    worker = tiny.client.get(f"/api/workers/{tiny.ids['owner']}").json()
    assert worker["lon"] == pytest.approx(103.001 + 4 * 0.0004)
    assert datetime.fromisoformat(worker["located_at"]) == MORNING + timedelta(minutes=8)
    # the same fixes in a new batch are no new history either (one fix per worker and instant)
    overlap = _post(tiny, "owner", "phone-1:0002", fixes[3:] + walk(MORNING + timedelta(minutes=10), 1))
    assert overlap.json()["stored"] == 1 and overlap.json()["already_stored"] == 2
    # an older fix is history, but does not move the worker back
    older = _post(tiny, "owner", "phone-1:0003", walk(MORNING - timedelta(hours=1), 1))
    assert older.json()["stored"] == 1 and older.json()["moved"] is False


def test_a_device_clock_ahead_of_the_server_is_refused_naming_the_fix(tiny):
    as_worker(tiny, "owner")
    fixes = walk(MORNING, 2) + walk(NOW + timedelta(minutes=10), 1)  # 10 minutes after the server's clock
    r = _post(tiny, "owner", "ahead", fixes)
    assert r.status_code == 400, r.text
    assert r.json()["where"] == "fixes.2.at" and "请校准手机时间" in r.json()["detail"]
    assert count(tiny, "SELECT count(*) FROM worker_fixes") == 0
    # within the allowed skew (2 minutes) it is taken
    assert _post(tiny, "owner", "close", walk(NOW + timedelta(seconds=60), 1)).json()["stored"] == 1


def test_fixes_far_outside_the_county_or_past_retention_are_not_kept(tiny):
    as_worker(tiny, "owner")
    fixes = walk(MORNING, 2) + [
        {"at": (MORNING + timedelta(minutes=5)).isoformat(), "lon": 103.3, "lat": 36.01},
        {"at": (MORNING - timedelta(days=400)).isoformat(), "lon": 103.002, "lat": 36.002},
    ]
    body = _post(tiny, "owner", "mixed", fixes).json()
    assert (body["stored"], body["outside_county"], body["too_old"]) == (2, 1, 1)


def test_a_grid_worker_sends_only_their_own_fixes(tiny):
    as_worker(tiny, "owner")
    assert _post(tiny, "village", "x", walk(MORNING, 1)).status_code in (403, 404)
    as_role(tiny, "planner")
    assert _post(tiny, "owner", "y", walk(MORNING, 1)).status_code == 403


def test_bad_batches_are_refused_naming_the_field(tiny):
    as_worker(tiny, "owner")
    no_zone = [{"at": "2026-11-27T09:00:00", "lon": 103.001, "lat": 36.002}]
    assert _post(tiny, "owner", "z", no_zone).json()["where"] == "fixes.0.at"
    swapped = [{"at": MORNING.isoformat(), "lon": 36.002, "lat": 103.001}]
    assert "颠倒" in _post(tiny, "owner", "s", swapped).text
    too_many = walk(MORNING, 201, every_s=5)
    r = _post(tiny, "owner", "big", too_many)
    assert r.status_code == 400 and r.json()["where"] == "fixes" and "200" in r.json()["detail"]


def test_the_track_splits_at_a_long_gap_drops_inaccurate_fixes_and_measures_itself(tiny):
    as_worker(tiny, "owner")
    morning = walk(MORNING, 6)  # 09:00-09:10, ~36 m apart
    wild = [
        {
            "at": (MORNING + timedelta(minutes=11)).isoformat(),
            "lon": 103.009,
            "lat": 36.009,
            "accuracy_m": 400,
        }
    ]
    later = walk(MORNING + timedelta(minutes=45), 4, lon0=103.004, lat=36.004)  # after a 35-minute gap
    assert _post(tiny, "owner", "day", morning + wild + later).json()["stored"] == 11
    track = tiny.client.get("/ogc/collections/tracks/items?datetime=2026-11-27").json()
    [feature] = track["features"]
    p = feature["properties"]
    assert feature["geometry"]["type"] == "MultiLineString" and len(feature["geometry"]["coordinates"]) == 2
    assert (p["segments"], p["fixes"], p["day"]) == (2, 10, "2026-11-27")
    assert p["duration_s"] == 10 * 60 + 6 * 60  # walking time only, the gap excluded
    # 5 + 3 steps of 0.0004° of longitude at 36.00°N (about 36.0 m each)
    assert p["length_m"] == pytest.approx(8 * 0.0004 * 111_320 * 0.8090, rel=0.01)
    assert (
        p["worker_id"] == tiny.ids["owner"] and p["worker"] == "o某某某某"
    )  # masked: a worker is not cleared
    assert tiny.client.get("/ogc/collections/tracks/items?datetime=2026-11-26").json()["features"] == []
    only = tiny.client.get(f"/ogc/collections/tracks/items?worker_id={tiny.ids['village']}").json()
    assert only["features"] == []


def test_tracks_come_as_vector_tiles_and_their_names_are_masked_for_uncleared_roles(tiny):
    as_worker(tiny, "owner")
    _post(tiny, "owner", "t", walk(MORNING, 4))
    as_role(tiny, "planner")
    z, x, y = tile_of(103.0015, 36.002, 14)
    tile = tiny.client.get(f"/tiles/tracks/{z}/{x}/{y}.mvt?datetime=2026-11-27")
    assert tile.status_code == 200, tile.text
    layer = mapbox_vector_tile.decode(tile.content)["tracks"]
    assert len(layer["features"]) == 1 and layer["features"][0]["geometry"]["type"] == "LineString"
    assert layer["features"][0]["properties"]["worker"] == "o某某某某"  # masked by gridgov_person_name (0006)
    as_role(tiny, "commander")
    tile = tiny.client.get(f"/tiles/tracks/{z}/{x}/{y}.mvt?datetime=2026-11-27")
    assert mapbox_vector_tile.decode(tile.content)["tracks"]["features"][0]["properties"]["worker"] == "owner"


def test_the_single_fix_route_also_keeps_history_and_the_track(tiny):
    as_worker(tiny, "owner")
    for fix in walk(MORNING, 3):
        one = {"lon": fix["lon"], "lat": fix["lat"], "at": fix["at"]}
        r = tiny.client.post(f"/api/workers/{tiny.ids['owner']}/location", json=one)
        assert r.status_code == 200, r.text
    assert count(tiny, "SELECT count(*) FROM worker_fixes WHERE worker_id = :w", w=tiny.ids["owner"]) == 3
    assert count(tiny, "SELECT fixes FROM patrol_tracks WHERE worker_id = :w", w=tiny.ids["owner"]) == 3
