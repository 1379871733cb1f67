"""Candidates, worker positions and availability, assignment rules and the board, on the tiny county."""

import pytest
from sqlalchemy import text

from geo.crs import wgs84_to_gcj02
from tests.dispatch_client import make_tiny
from tests.dispatch_tiny import add_event


@pytest.fixture
def tiny(empty_session):
    return make_tiny(empty_session)


def _names(tiny, body):
    from tests.dispatch_tiny import WORKERS

    by_id = {tiny.ids[name]: name for name in WORKERS}
    return [by_id[c["worker_id"]] for c in body["candidates"]]


def test_candidates_put_the_owner_first_then_village_township_county(tiny):
    r = tiny.client.get(f"/api/events/{tiny.ids['event']}/candidates?k=5")
    assert r.status_code == 200, r.text
    body = r.json()
    assert _names(tiny, body) == ["owner", "skilled", "village", "stale", "township"]
    assert [c["tier"] for c in body["candidates"]] == [0, 1, 1, 1, 2]
    owner, skilled = body["candidates"][:2]
    assert owner["reasons"][0] == "本网格责任网格员"
    assert any(reason.startswith("技能匹配") for reason in skilled["reasons"])
    assert "当前任务0件（容量8）" in owner["reasons"]
    county = tiny.client.get(f"/api/events/{tiny.ids['event']}/candidates?k=6").json()["candidates"][-1]
    # 103.0051/36.0051 from 103.005/36.005 is about 9 m east and 11 m north.
    assert county["tier"] == 3 and 12 < county["distance_m"] < 16


def test_a_stale_fix_lowers_the_rank_of_a_village_worker_and_says_how_old(tiny):
    stale = next(
        c
        for c in tiny.client.get(f"/api/events/{tiny.ids['event']}/candidates?k=10").json()["candidates"]
        if c["worker_id"] == tiny.ids["stale"]
    )
    assert stale["stale"] is True and stale["position"] == "fix" and "位置2 小时前" in stale["reasons"]


def test_candidates_leave_out_busy_off_duty_and_other_counties(tiny):
    names = _names(tiny, tiny.client.get(f"/api/events/{tiny.ids['event']}/candidates?k=50").json())
    assert not {"busy", "off", "other_county"} & set(names)


def test_candidates_respect_k_and_the_scope_policy(empty_session):
    from geo.settings import DispatchSettings

    tiny = make_tiny(empty_session)
    assert _names(tiny, tiny.client.get(f"/api/events/{tiny.ids['event']}/candidates?k=2").json()) == [
        "owner",
        "skilled",
    ]
    village = make_tiny(empty_session, dispatch=DispatchSettings(_env_file=None, candidate_scope="village"))
    assert _names(village, village.client.get(f"/api/events/{tiny.ids['event']}/candidates?k=10").json()) == [
        "owner",
        "skilled",
        "village",
        "stale",
    ]


@pytest.mark.parametrize(
    "area, expected",
    [
        ("62", ["owner", "skilled", "village", "stale", "township", "county"]),  # a province account: same
        ("620121001", ["owner", "skilled", "village", "stale", "township"]),  # a township account stays in it
        ("620121001001", ["owner", "skilled", "village", "stale"]),  # a village account stays in it
    ],
)
def test_candidates_never_reach_beyond_the_requesters_area(tiny, area, expected):
    tiny.act_as("local", area=area)
    assert (
        _names(tiny, tiny.client.get(f"/api/events/{tiny.ids['event']}/candidates?k=10").json()) == expected
    )


@pytest.mark.parametrize("area", ["62", "6201", "620121", "620121001001"])
def test_the_county_mediation_committee_is_suggested_to_accounts_above_and_below_the_county(tiny, area):
    tiny.act_as("wide", area=area)
    body = tiny.client.get(f"/api/events/{tiny.ids['event']}/candidates").json()
    assert [c["name"] for c in body["mediation_committees"]] == ["县人民调解委员会"]


def test_candidates_suggest_the_mediation_committee_for_disputes_only(tiny):
    body = tiny.client.get(f"/api/events/{tiny.ids['event']}/candidates").json()
    assert [c["name"] for c in body["mediation_committees"]] == ["县人民调解委员会"]
    assert [m["name"] for m in body["mediation_committees"][0]["mediators"]] == ["调解员甲"]
    hazard = add_event(tiny.session, category="fire", kind="hazard")
    assert tiny.client.get(f"/api/events/{hazard}/candidates").json()["mediation_committees"] == []


def test_candidates_of_a_case_outside_the_area_are_not_found(tiny):
    r = tiny.client.get(f"/api/events/{tiny.ids['other_event']}/candidates")
    assert r.status_code == 404
    assert r.headers["content-type"].startswith("application/problem+json")


def test_location_update_makes_a_stale_worker_fresh_again(tiny):
    r = tiny.client.post(f"/api/workers/{tiny.ids['stale']}/location", json={"lon": 103.0053, "lat": 36.0053})
    assert r.status_code == 200, r.text
    assert r.json()["applied"] is True
    body = tiny.client.get(f"/api/events/{tiny.ids['event']}/candidates?k=10").json()
    assert _names(tiny, body)[:4] == ["owner", "skilled", "stale", "village"]  # now fresh, and nearer


def test_location_accepts_gcj02_and_stores_wgs84(tiny):
    lon, lat = wgs84_to_gcj02(103.006, 36.006)
    r = tiny.client.post(
        f"/api/workers/{tiny.ids['village']}/location",
        json={"lon": float(lon), "lat": float(lat), "crs": "gcj02"},
    )
    assert r.status_code == 200, r.text
    assert r.json()["lon"] == pytest.approx(103.006, abs=1e-7)
    assert r.json()["lat"] == pytest.approx(36.006, abs=1e-7)


def test_location_ignores_an_older_fix(tiny):
    r = tiny.client.post(
        f"/api/workers/{tiny.ids['village']}/location",
        json={"lon": 103.001, "lat": 36.001, "at": "2026-01-01T08:00:00+08:00"},
    )
    assert r.status_code == 200
    assert r.json()["applied"] is False
    assert r.json()["lon"] == pytest.approx(103.005)


@pytest.mark.parametrize(
    ("payload", "fragment"),
    [
        ('{"lon": NaN, "lat": 36.0}', "lon"),
        ('{"lon": Infinity, "lat": 36.0}', "lon"),
        ('{"lon": 181, "lat": 36.0}', "lon"),
        ('{"lon": 36.0, "lat": 103.0}', "颠倒"),
        ('{"lon": 103.0, "lat": 36.0, "speed": 3}', "speed"),
        ('{"lon": 103.0, "lat": 36.0, "crs": "epsg:3857"}', "crs"),
        ('{"lon": 103.0, "lat": 36.0, "at": "2026-01-01T08:00:00"}', "时区"),
    ],
)
def test_location_refuses_bad_input_naming_the_field(tiny, payload, fragment):
    r = tiny.client.post(
        f"/api/workers/{tiny.ids['village']}/location",
        content=payload,
        headers={"content-type": "application/json"},
    )
    assert r.status_code == 422, r.text
    assert fragment in r.text


def test_location_far_outside_the_county_is_refused(tiny):
    # 103.2 E is about 14 km east of the tiny county's edge (103.06 is the neighbour; 103.04 ours).
    r = tiny.client.post(f"/api/workers/{tiny.ids['village']}/location", json={"lon": 103.2, "lat": 36.01})
    assert r.status_code == 422
    assert r.json()["where"] == "lon,lat" and "县界外" in r.json()["detail"]
    # A kilometre outside is tolerated (GPS drift near the border, the default allows 5 km).
    assert (
        tiny.client.post(
            f"/api/workers/{tiny.ids['village']}/location", json={"lon": 103.05, "lat": 36.01}
        ).status_code
        == 200
    )


def test_patch_worker_sets_flags_and_off_duty_is_no_candidate(tiny):
    r = tiny.client.patch(f"/api/workers/{tiny.ids['owner']}", json={"on_duty": False})
    assert r.status_code == 200 and r.json()["on_duty"] is False and r.json()["available"] is True
    assert "owner" not in _names(tiny, tiny.client.get(f"/api/events/{tiny.ids['event']}/candidates").json())
    assert tiny.client.patch(f"/api/workers/{tiny.ids['owner']}", json={}).status_code == 422
    assert (
        tiny.client.patch(f"/api/workers/{tiny.ids['other_county']}", json={"available": False}).status_code
        == 404
    )


def test_assign_dispatches_and_counts_the_task(tiny):
    r = tiny.client.post(f"/api/events/{tiny.ids['event']}/assign", json={"worker_id": tiny.ids["owner"]})
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "dispatched" and r.json()["assignee_id"] == tiny.ids["owner"]
    assert r.json()["deadline_at"] is not None  # assigning a reported case registers it
    assert tiny.client.get(f"/api/workers/{tiny.ids['owner']}").json()["open_tasks"] == 1
    again = tiny.client.post(
        f"/api/events/{tiny.ids['event']}/assign", json={"worker_id": tiny.ids["village"]}
    )
    assert again.status_code == 409
    assert again.json()["code"] == "illegal_transition"
    assert "in_progress" in again.json()["allowed"]


@pytest.mark.parametrize(
    ("worker", "status", "fragment"),
    [("busy", 409, "满负荷"), ("off", 409, "不在岗"), ("other_county", 404, "不存在")],
)
def test_assign_refuses_full_off_duty_and_foreign_workers_and_leaves_the_case(tiny, worker, status, fragment):
    r = tiny.client.post(f"/api/events/{tiny.ids['event']}/assign", json={"worker_id": tiny.ids[worker]})
    assert r.status_code == status and fragment in r.json()["detail"]
    assert tiny.client.get(f"/api/events/{tiny.ids['event']}").json()["status"] == "reported"


def test_reassign_moves_the_open_task(tiny):
    e, owner, village = tiny.ids["event"], tiny.ids["owner"], tiny.ids["village"]
    tiny.client.post(f"/api/events/{e}/assign", json={"worker_id": owner})
    r = tiny.client.post(
        f"/api/events/{e}/assign", json={"worker_id": village, "reassign": True, "note": "就近"}
    )
    assert r.status_code == 200 and r.json()["assignee_id"] == village
    assert tiny.client.get(f"/api/workers/{owner}").json()["open_tasks"] == 0
    assert tiny.client.get(f"/api/workers/{village}").json()["open_tasks"] == 1


def test_board_orders_the_queue_and_lists_workers_tasks(tiny):
    urgent = add_event(tiny.session, severity=4)
    minor = add_event(tiny.session, severity=1)
    tiny.session.commit()
    tiny.client.post(f"/api/events/{tiny.ids['event']}/assign", json={"worker_id": tiny.ids["owner"]})
    board = tiny.client.get("/api/board").json()
    queue = [item["id"] for item in board["queue"]]
    assert queue == [urgent, minor]  # the assigned case left the queue; the foreign one never was in it
    assert board["workers"][0]["worker_id"] == tiny.ids["owner"]
    assert [t["id"] for t in board["workers"][0]["tasks"]] == [tiny.ids["event"]]


def test_declining_frees_the_worker(tiny):
    e, owner = tiny.ids["event"], tiny.ids["owner"]
    tiny.client.post(f"/api/events/{e}/assign", json={"worker_id": owner})
    assert tiny.client.post(f"/api/events/{e}/transition", json={"to": "registered"}).status_code == 409
    r = tiny.client.post(f"/api/events/{e}/transition", json={"to": "registered", "note": "不在辖区，退回"})
    assert r.status_code == 200 and r.json()["assignee_id"] is None
    assert tiny.client.get(f"/api/workers/{owner}").json()["open_tasks"] == 0
    assert (
        tiny.session.execute(text("SELECT open_tasks FROM workers WHERE id = :w"), {"w": owner}).scalar() == 0
    )


def test_demo_county_seeding_and_candidates(db_session):
    """On the demo county: seeding is consistent and a dispute gets its grid's worker and a committee."""
    from geo.demo.dispatch import seed_dispatch_demo
    from geo.queries.dispatch import list_candidates

    counts = seed_dispatch_demo(db_session, "620121", 7)
    assert counts["mediators"] > 0
    mismatched = db_session.execute(
        text(
            "SELECT count(*) FROM workers w WHERE w.open_tasks <> (SELECT count(*) FROM events e "
            "WHERE e.assignee_id = w.id AND e.status IN ('dispatched', 'in_progress'))"
        )
    ).scalar()
    assert mismatched == 0
    assert (
        db_session.execute(
            text(
                "SELECT count(*) FROM events WHERE status IN ('registered','dispatched','in_progress') "
                "AND deadline_at IS NULL"
            )
        ).scalar()
        == 0
    )
    event = db_session.execute(
        text(
            "SELECT e.id FROM events e JOIN departments d ON d.kind = 'mediation_committee' "
            "AND e.category = ANY(d.categories) WHERE e.kind = 'dispute' ORDER BY e.id LIMIT 1"
        )
    ).scalar_one()
    db_session.execute(
        text(
            "UPDATE workers SET located_at = clock_timestamp(), on_duty = true, available = true, "
            "open_tasks = 0"
        )
    )
    result = list_candidates(db_session, event, area="620121", k=5, max_age_s=600)
    assert [c["tier"] for c in result["candidates"]][0] == 0
    assert len(result["candidates"]) == 5
    assert result["mediation_committees"] and result["mediation_committees"][0]["mediators"]
