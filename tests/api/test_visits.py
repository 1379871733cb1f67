"""Household visits (走访) and coverage (走访覆盖) on the tiny county: recorded once per client key, in the
grid where they happened, a photo once, names masked, and the coverage layer, figure and list."""

from datetime import timedelta

import mapbox_vector_tile
import pytest

from tests.dispatch_client import make_tiny
from tests.field_helpers import MORNING, as_role, as_worker, count, tile_of, walk

PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c63000100000500010d0a2db40000000049454e44ae426082"
)
SOUTH, NORTH = "620121-001-001-001", "620121-001-001-002"


@pytest.fixture
def tiny(empty_session):
    return make_tiny(empty_session)


def _visit(tiny, key: str = "v-1", **extra):
    body = {
        "client_key": key,
        "at": MORNING.isoformat(),
        "address": "一组3号",
        "household": "张建国",
        "note": "情况正常",
    }
    return tiny.client.post("/api/visits", json=body | extra)


def test_a_visit_is_recorded_once_in_the_grid_where_it_happened(tiny):
    as_worker(tiny, "owner")
    first = _visit(tiny, lon=103.005, lat=36.015)  # the north grid of the worker's village
    assert first.status_code == 201, first.text
    again = _visit(tiny, lon=103.005, lat=36.015)
    assert again.status_code == 200 and again.json()["id"] == first.json()["id"]
    assert first.json()["grid_code"] == NORTH.replace("-", "")
    assert first.json()["household"] == "张某某"  # a grid worker is not cleared: masked by the database
    no_position = _visit(tiny, "v-2")
    assert no_position.status_code == 201 and no_position.json()["grid_code"] == SOUTH.replace("-", "")
    assert count(tiny, "SELECT count(*) FROM visits") == 2
    as_role(tiny, "commander")
    assert tiny.client.get(f"/api/visits/{first.json()['id']}").json()["household"] == "张建国"


def test_a_visit_outside_the_workers_area_or_from_the_future_is_refused(tiny):
    as_worker(tiny, "owner")
    outside = _visit(tiny, lon=103.03, lat=36.01)  # township 002: not the worker's village
    assert outside.status_code == 422 and outside.json()["where"] == "lon,lat"
    later = _visit(tiny, "v-9", at=(MORNING + timedelta(days=1)).isoformat())
    assert later.status_code == 400 and "请校准手机时间" in later.json()["detail"]
    empty = tiny.client.post("/api/visits", json={"client_key": "v-0", "at": MORNING.isoformat()})
    assert empty.status_code == 422
    as_role(tiny, "dispatcher")
    assert _visit(tiny, "v-d").status_code == 403  # visits are the workers' own


def test_a_visit_photo_is_stored_once_and_read_back(tiny):
    as_worker(tiny, "owner")
    visit = _visit(tiny, lon=103.005, lat=36.005).json()
    files = {"photo": ("p.png", PNG, "image/png")}
    first = tiny.client.post(f"/api/visits/{visit['id']}/photo", files=files)
    assert first.status_code == 201 and first.json()["has_photo"] is True
    assert tiny.client.post(f"/api/visits/{visit['id']}/photo", files=files).status_code == 200
    photo = tiny.client.get(f"/api/visits/{visit['id']}/photo")
    assert photo.content == PNG and photo.headers["content-type"] == "image/png"
    as_worker(tiny, "village")  # another worker of the village may see it but not set it
    assert tiny.client.post(f"/api/visits/{visit['id']}/photo", files=files).status_code == 404


def _coverage(tiny, **params):
    query = "&".join(f"{k}={v}" for k, v in params.items())
    fc = tiny.client.get(f"/ogc/collections/coverage/items?{query}").json()
    return {f["properties"]["code"]: f["properties"] for f in fc["features"]}


def test_coverage_counts_visits_and_patrols_per_grid_for_the_period(tiny):
    as_worker(tiny, "owner")
    _visit(tiny, lon=103.005, lat=36.015)  # north grid: visited
    fixes = walk(
        MORNING, 4, lon0=103.0125, lat=36.01
    )  # across grid 001-002-001 (township 001's other village)
    tiny.client.post(f"/api/workers/{tiny.ids['owner']}/fixes", json={"batch_key": "p", "fixes": fixes})
    as_role(tiny, "commander")
    day = _coverage(tiny, datetime="2026-11-27")
    assert day[NORTH]["status"] == "visited" and day[NORTH]["visits"] == 1 and day[NORTH]["covered"] is True
    assert day["620121-001-002-001"]["status"] == "patrolled" and day["620121-001-002-001"]["patrols"] == 1
    assert day[SOUTH]["status"] == "none" and day[SOUTH]["covered"] is False
    assert day[SOUTH]["period_start"] == day[SOUTH]["period_end"] == "2026-11-27"
    assert _coverage(tiny)[NORTH]["status"] == "none"  # default: today (the 28th), nothing yet
    week = _coverage(tiny, datetime="2026-11-23/2026-11-29")
    assert week[NORTH]["period_start"] == "2026-11-23" and week[NORTH]["visits"] == 1
    assert set(_coverage(tiny, datetime="2026-11-27", status="none")) == {SOUTH, "620121-002-001-001"}


def test_the_coverage_figure_and_the_grids_not_visited_this_week(tiny):
    as_worker(tiny, "owner")
    _visit(tiny, lon=103.005, lat=36.015)
    as_role(tiny, "commander")
    body = tiny.client.get("/api/coverage?period=week&date=2026-11-27").json()
    assert (body["grids"], body["covered"], body["visited"], body["share"]) == (4, 1, 1, 0.25)
    assert (body["first"], body["last"]) == ("2026-11-23", "2026-11-29")
    assert [g["code"] for g in body["unvisited"]] == ["620121001001001", "620121001002001", "620121002001001"]
    summary = tiny.client.get("/api/summary?area=620121").json()
    assert summary["visit_coverage"] == 0.0 and summary["grids_total"] == 4  # today is the 28th


def test_the_visits_layer_masks_households_and_filters_by_worker_and_day(tiny):
    as_worker(tiny, "owner")
    _visit(tiny, lon=103.005, lat=36.015)
    as_role(tiny, "planner")
    fc = tiny.client.get(f"/ogc/collections/visits/items?worker_id={tiny.ids['owner']}&day=2026-11-27").json()
    [f] = fc["features"]
    assert f["properties"]["household"] == "张某某" and f["properties"]["address"] == "一组3号"
    assert "note" not in f["properties"]
    assert tiny.client.get("/ogc/collections/visits/items?datetime=2026-11-26").json()["features"] == []


def test_the_coverage_map_page_and_tiles(tiny):
    as_worker(tiny, "owner")
    _visit(tiny, lon=103.005, lat=36.015)
    fixes = walk(MORNING, 4, lon0=103.0125, lat=36.01)
    tiny.client.post(f"/api/workers/{tiny.ids['owner']}/fixes", json={"batch_key": "p", "fixes": fixes})
    as_role(tiny, "commander")
    page = tiny.client.get("/maps/coverage?period=week&date=2026-11-27")
    assert page.status_code == 200, page.text
    html = page.text
    assert "走访覆盖（2026-11-23 至 2026-11-29）" in html and "gg-coverage-" in html
    assert "已走访：1 个网格" in html and "仅巡查：1 个网格" in html and "未覆盖：2 个网格" in html
    assert "巡查轨迹 1 条 · 入户走访 1 户次" in html and "覆盖率 50.0%" in html
    assert "http://" not in html.replace("http://www.w3.org", "") and "https://" not in html
    z, x, y = tile_of(103.01, 36.01, 13)
    tile = tiny.client.get(f"/tiles/coverage/{z}/{x}/{y}.mvt?datetime=2026-11-27")
    statuses = {
        f["properties"]["status"] for f in mapbox_vector_tile.decode(tile.content)["coverage"]["features"]
    }
    assert statuses == {"visited", "patrolled", "none"}
    assert tiny.client.get("/maps/coverage?date=2026-13-01").status_code == 400
