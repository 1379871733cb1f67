"""Reporting with Idempotency-Key, duplicates, the lifecycle routes, deadlines, referral and whistles."""

from datetime import timedelta

import pytest
from sqlalchemy import text

from geo import clock
from geo.crs import wgs84_to_bd09
from tests.dispatch_client import make_tiny
from tests.dispatch_tiny import EVENT_LONLAT


@pytest.fixture
def tiny(empty_session):
    return make_tiny(empty_session)


REPORT = {"category": "neighbour", "severity": 2, "title": "楼上漏水", "lon": 103.0061, "lat": 36.0061}


def _post(tiny, path, **body):
    return tiny.client.post(f"/api/events/{tiny.ids['event']}/{path}", json=body)


def test_report_finds_the_grid_and_logs_it(tiny):
    r = tiny.client.post("/api/events", json=REPORT)
    assert r.status_code == 201, r.text
    body = r.json()
    assert (
        body["grid_code"] == "620121001001001" and body["kind"] == "dispute" and body["status"] == "reported"
    )
    timeline = tiny.client.get(f"/api/events/{body['id']}/timeline").json()
    assert [(t["action"], t["to_status"], t["actor"]) for t in timeline] == [("report", "reported", "alice")]


def test_report_with_the_same_key_returns_the_same_case(tiny):
    headers = {"Idempotency-Key": "phone-42-0001"}
    first = tiny.client.post("/api/events", json=REPORT, headers=headers)
    again = tiny.client.post("/api/events", json=REPORT, headers=headers)
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json()["id"] == again.json()["id"]
    assert tiny.session.execute(text("SELECT count(*) FROM events WHERE title = '楼上漏水'")).scalar() == 1
    other = tiny.client.post("/api/events", json={**REPORT, "severity": 3}, headers=headers)
    assert other.status_code == 422 and other.json()["code"] == "idempotency_key_reused"
    assert other.json()["where"] == "Idempotency-Key"


def test_report_in_bd09_is_stored_in_wgs84(tiny):
    lon, lat = wgs84_to_bd09(103.0061, 36.0061)
    r = tiny.client.post("/api/events", json={**REPORT, "lon": float(lon), "lat": float(lat), "crs": "bd09"})
    assert r.status_code == 201, r.text
    assert r.json()["lon"] == pytest.approx(103.0061, abs=1e-7) and r.json()["lat"] == pytest.approx(
        36.0061, abs=1e-7
    )


def test_report_returns_possible_duplicates(tiny):
    # Case E is a 'neighbour' dispute about 155 m away, reported just now.
    body = tiny.client.post("/api/events", json=REPORT).json()
    assert [d["id"] for d in body["possible_duplicates"]] == [tiny.ids["event"]]
    assert 100 < body["possible_duplicates"][0]["distance_m"] < 200
    far = tiny.client.post("/api/events", json={**REPORT, "lon": 103.015, "lat": 36.015}).json()
    assert far["possible_duplicates"] == []
    other_category = tiny.client.post("/api/events", json={**REPORT, "category": "fire"}).json()
    assert other_category["possible_duplicates"] == []


@pytest.mark.parametrize(
    ("body", "status", "fragment"),
    [
        ({**REPORT, "lon": 104.5, "lat": 36.5}, 422, "不在您辖区内的任何网格中"),
        ({**REPORT, "lon": 103.05, "lat": 36.01}, 422, "不在您辖区内"),  # the neighbouring county
        ({**REPORT, "lon": 36.0061, "lat": 103.0061}, 422, "颠倒"),
        ({**REPORT, "lon": 181}, 422, "lon"),
        ({**REPORT, "severity": 5}, 422, "severity"),
        ({**REPORT, "colour": "red"}, 422, "colour"),
        ({**REPORT, "crs": "epsg:2385"}, 422, "crs"),
        ({**REPORT, "wage_owed": 1000}, 422, "labour_wages"),
        ({**REPORT, "category": "no_such"}, 400, "未知的类别"),
    ],
)
def test_report_refuses_bad_input_naming_it(tiny, body, status, fragment):
    r = tiny.client.post("/api/events", json=body)
    assert r.status_code == status, r.text
    assert fragment in r.text
    assert r.headers["content-type"].startswith("application/problem+json")


def test_report_nan_is_refused(tiny):
    payload = '{"category": "neighbour", "severity": 2, "lon": NaN, "lat": 36.0}'
    r = tiny.client.post("/api/events", content=payload, headers={"content-type": "application/json"})
    assert r.status_code == 422 and "lon" in r.json()["detail"]


def test_a_case_outside_the_area_is_not_found_rather_than_forbidden(tiny):
    assert tiny.client.get(f"/api/events/{tiny.ids['other_event']}").status_code == 404
    r = tiny.client.post(f"/api/events/{tiny.ids['other_event']}/transition", json={"to": "registered"})
    assert r.status_code == 404
    tiny.act_as("township-2", area="620121002")  # a township user does not see case E either
    assert tiny.client.get(f"/api/events/{tiny.ids['event']}").status_code == 404


def test_the_whole_loop_with_verification_by_someone_else(tiny):
    e, owner = tiny.ids["event"], tiny.ids["owner"]
    r = _post(tiny, "transition", to="registered")
    assert r.status_code == 200 and r.json()["deadline_at"] is not None
    assert _post(tiny, "assign", worker_id=owner).status_code == 200
    assert _post(tiny, "transition", to="in_progress").status_code == 200
    r = _post(tiny, "transition", to="handled", note="已调解")
    assert r.json()["handled_by"] == "alice"
    assert tiny.client.get(f"/api/workers/{owner}").json()["open_tasks"] == 0
    same = _post(tiny, "transition", to="verified")
    assert same.status_code == 409 and "处置人" in same.json()["detail"]
    tiny.act_as("bob")
    assert _post(tiny, "transition", to="verified").status_code == 200
    r = _post(tiny, "transition", to="closed")
    assert r.json()["status"] == "closed" and r.json()["closed_at"] is not None
    timeline = tiny.client.get(f"/api/events/{e}/timeline").json()
    assert [t["action"] for t in timeline] == ["register", "assign", "start", "handle", "verify", "close"]
    assert [t["actor"] for t in timeline][-2:] == ["bob", "bob"]


def test_illegal_transition_is_409_with_the_allowed_next_states(tiny):
    r = _post(tiny, "transition", to="closed")
    assert r.status_code == 409
    assert r.json()["allowed"] == ["registered", "rejected", "duplicate"]
    assert r.json()["code"] == "illegal_transition"
    assert _post(tiny, "transition", to="nonsense").status_code == 422


def test_rework_keeps_the_deadline_and_needs_a_reason(tiny):
    _post(tiny, "assign", worker_id=tiny.ids["owner"])
    _post(tiny, "transition", to="in_progress")
    deadline = _post(tiny, "transition", to="handled").json()["deadline_at"]
    assert _post(tiny, "transition", to="in_progress").status_code == 409
    r = _post(tiny, "transition", to="in_progress", note="当事人不满意，回退重办")
    assert r.status_code == 200 and r.json()["deadline_at"] == deadline
    assert tiny.client.get(f"/api/workers/{tiny.ids['owner']}").json()["open_tasks"] == 1


def test_mark_duplicate_needs_the_original(tiny):
    new = tiny.client.post("/api/events", json=REPORT).json()["id"]
    path = f"/api/events/{new}/transition"
    assert tiny.client.post(path, json={"to": "duplicate"}).status_code == 400
    r = tiny.client.post(path, json={"to": "duplicate", "duplicate_of": tiny.ids["event"]})
    assert r.status_code == 200 and r.json()["duplicate_of"] == tiny.ids["event"]


def test_escalation_climbs_to_the_county_then_409(tiny):
    levels = [_post(tiny, "escalate", note="久拖未决").json()["escalation_level"] for _ in range(3)]
    assert levels == ["village", "township", "county"]
    assert _post(tiny, "escalate").status_code == 409


def test_referral_and_return(tiny):
    r = _post(tiny, "refer", to="court", note="诉前调解")
    assert r.json()["referral"] == "court" and r.json()["referral_status"] == "referred"
    assert _post(tiny, "refer", to="police").status_code == 409
    assert _post(tiny, "refer").status_code == 422
    assert _post(tiny, "refer", action="return").json()["referral_status"] == "returned"
    assert _post(tiny, "refer", action="return").status_code == 409
    assert _post(tiny, "refer", to="police").json()["referral"] == "police"


def test_whistle_shows_on_the_board_until_the_department_reports_back(tiny):
    r = _post(tiny, "whistle", department_id=tiny.ids["court"], respond_within_hours=4)
    assert r.status_code == 201, r.text
    whistle = r.json()
    board = tiny.client.get("/api/board").json()
    assert [d["department_id"] for d in board["departments"]] == [tiny.ids["court"]]
    # the centre cannot answer for the department (the dispatcher typed the court's answer himself)
    assert (
        tiny.client.post(f"/api/whistles/{whistle['id']}/response", json={"text": "已派员到场"}).status_code
        == 403
    )
    tiny.act_as("court_clerk", role="department", department_id=tiny.ids["court"])
    assert tiny.client.post(f"/api/whistles/{whistle['id']}/sign").status_code == 200
    answer = tiny.client.post(f"/api/whistles/{whistle['id']}/response", json={"text": "已派员到场"})
    assert answer.status_code == 200 and answer.json()["response"] == "已派员到场"
    assert tiny.client.post(f"/api/whistles/{whistle['id']}/response", json={"text": "又"}).status_code == 409
    done = tiny.client.post(f"/api/whistles/{whistle['id']}/feedback", json={"text": "调解成功"})
    assert done.status_code == 200 and done.json()["state"] == "finished"
    tiny.act_as("alice")
    assert tiny.client.get("/api/board").json()["departments"] == []
    assert _post(tiny, "whistle", department_id=tiny.ids["other_dept"]).status_code == 404


def test_extend_suspend_resume_move_the_deadline(tiny):
    start = _post(tiny, "transition", to="registered").json()["deadline_at"]
    assert _post(tiny, "extend", hours=5, days=1, reason="x").status_code == 422
    extended = _post(tiny, "extend", hours=5, reason="当事人外出").json()["deadline_at"]
    assert _hours_between(start, extended) == pytest.approx(5)
    assert _post(tiny, "suspend", reason="等待鉴定").json()["suspended_at"] is not None
    assert _post(tiny, "suspend", reason="again").status_code == 409
    # Pretend the suspension began two hours ago: resuming moves the deadline by two hours.
    tiny.session.execute(
        text("UPDATE events SET suspended_at = suspended_at - interval '2 hours' WHERE id = :id"),
        {"id": tiny.ids["event"]},
    )
    tiny.session.commit()
    resumed = _post(tiny, "resume").json()
    assert resumed["suspended_at"] is None
    assert _hours_between(extended, resumed["deadline_at"]) == pytest.approx(2)
    assert resumed["suspended_total"] == pytest.approx(7200, abs=1) or resumed["suspended_total"].startswith(
        "PT2H"
    )
    assert _post(tiny, "resume").status_code == 409


def _hours_between(a: str, b: str) -> float:
    from datetime import datetime

    return (datetime.fromisoformat(b) - datetime.fromisoformat(a)) / timedelta(hours=1)


def test_overdue_and_due_soon_lists_and_counts_per_grid(tiny):
    _post(tiny, "transition", to="registered")
    due = tiny.client.post("/api/events", json={**REPORT, "lon": 103.015, "lat": 36.015}).json()["id"]
    tiny.client.post(f"/api/events/{due}/transition", json={"to": "registered"})
    tiny.session.execute(
        text("UPDATE events SET deadline_at = :at WHERE id = :id"),
        {"id": tiny.ids["event"], "at": clock.now() - timedelta(days=1)},
    )
    tiny.session.execute(
        text("UPDATE events SET deadline_at = :at WHERE id = :id"),
        {"id": due, "at": clock.now() + timedelta(hours=3)},
    )
    tiny.session.commit()
    assert [e["id"] for e in tiny.client.get("/api/events/overdue").json()] == [tiny.ids["event"]]
    assert [e["id"] for e in tiny.client.get("/api/events/due-soon").json()] == [due]
    assert tiny.client.get("/api/events/due-soon?hours=1").json() == []
    counts = tiny.client.get("/api/grids/overdue").json()
    assert counts == [{"grid_code": "620121001001001", "name": "grid-001001", "overdue": 1}]
    assert tiny.client.get("/api/board").json()["overdue_by_grid"] == counts
    # A case suspended before its deadline passed is not overdue: its clock stands still.
    tiny.session.execute(
        text("UPDATE events SET suspended_at = :at WHERE id = :id"),
        {"id": tiny.ids["event"], "at": clock.now() - timedelta(days=2)},
    )
    tiny.session.commit()
    assert tiny.client.get("/api/events/overdue").json() == []


def test_event_lonlat_constant_matches_the_case(tiny):
    body = tiny.client.get(f"/api/events/{tiny.ids['event']}").json()
    assert (body["lon"], body["lat"]) == EVENT_LONLAT
