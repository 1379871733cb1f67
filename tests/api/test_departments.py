"""Departments' tasks on the tiny county over HTTP: one open task per department, steps in order and
for the department's own account only, referrals that give the court a task and withdraw it, the
steps a case offers each role, and a desk list without referred cases."""

import pytest

from tests.dispatch_client import make_tiny


@pytest.fixture
def tiny(empty_session):
    return make_tiny(empty_session)


def _case(tiny, path, **body):
    return tiny.client.post(f"/api/events/{tiny.ids['event']}/{path}", json=body)


def _as_court(tiny):
    tiny.act_as("court_clerk", role="department", department_id=tiny.ids["court"])


def test_a_second_whistle_to_the_same_department_is_refused_naming_the_first(tiny):
    first = _case(tiny, "whistle", department_id=tiny.ids["court"]).json()
    again = _case(tiny, "whistle", department_id=tiny.ids["court"])
    assert again.status_code == 409 and again.json()["where"] == "department_id"
    assert f"第 {first['id']} 号" in again.json()["detail"] and "待签收" in again.json()["detail"]
    assert _case(tiny, "whistle", department_id=tiny.ids["committee"]).status_code == 201  # another one may
    choices = {d["id"]: d for d in tiny.client.get(f"/api/events/{tiny.ids['event']}/departments").json()}
    assert choices[tiny.ids["court"]]["open_task_id"] == first["id"]
    assert choices[tiny.ids["committee"]]["suggested"] is True  # it takes the case's category (neighbour)
    assert list(choices)[0] == tiny.ids["committee"]  # suggested first


def test_steps_come_in_order_from_the_departments_own_account_only(tiny):
    task = _case(tiny, "whistle", department_id=tiny.ids["court"], respond_within_hours=2).json()
    url = f"/api/whistles/{task['id']}"
    tiny.act_as("committee_clerk", role="department", department_id=tiny.ids["committee"])
    assert tiny.client.post(url + "/sign").status_code == 404  # another department's task is not there
    _as_court(tiny)
    assert tiny.client.post(url + "/response", json={"text": "到场"}).json()["detail"] == "请先签收任务"
    assert tiny.client.post(url + "/feedback", json={"text": "完"}).status_code == 409
    assert tiny.client.post(url + "/sign").json()["state"] == "signed"
    assert tiny.client.post(url + "/sign").json()["detail"] == "任务已签收"
    assert tiny.client.post(url + "/response", json={"text": ""}).status_code == 422  # text is required
    assert tiny.client.post(url + "/response", json={"text": "已派员到场"}).json()["state"] == "reported"
    assert tiny.client.post(url + "/feedback", json={"text": "调解成功"}).json()["state"] == "finished"
    assert tiny.client.post(url + "/feedback", json={"text": "又"}).json()["detail"] == "任务已办结反馈"
    # a department never steps the case itself
    assert _case(tiny, "transition", to="registered").status_code == 403
    tiny.act_as("alice")
    steps = [
        (e["action"], e["actor"]) for e in tiny.client.get(f"/api/events/{tiny.ids['event']}/timeline").json()
    ]
    assert steps[-3:] == [
        ("whistle_sign", "court_clerk"),
        ("whistle_response", "court_clerk"),
        ("whistle_feedback", "court_clerk"),
    ]


def test_a_referral_gives_the_court_a_task_that_taking_it_back_withdraws(tiny):
    assert _case(tiny, "refer", to="court").status_code == 200
    (task,) = tiny.client.get(f"/api/events/{tiny.ids['event']}/whistles").json()
    assert (task["kind"], task["department_id"], task["state"]) == (
        "referral",
        tiny.ids["court"],
        "requested",
    )
    entry = tiny.client.get(f"/api/events/{tiny.ids['event']}/timeline").json()[-1]
    assert entry["action"] == "refer" and entry["data"]["department"] == "县人民法院"
    # while the court has it: out of the queue, not dispatchable, only taken back or whistled
    queue = tiny.client.get("/api/events", params={"view": "queue"}).json()
    assert tiny.ids["event"] not in [c["id"] for c in queue["items"]]
    referred = tiny.client.get("/api/events", params={"view": "referred"}).json()
    assert [c["id"] for c in referred["items"]] == [tiny.ids["event"]]
    assert _case(tiny, "assign", worker_id=tiny.ids["owner"]).status_code == 409
    steps = [s["action"] for s in tiny.client.get(f"/api/events/{tiny.ids['event']}/steps").json()]
    assert steps == ["referral_return", "whistle"]
    assert _case(tiny, "refer", action="return").json()["referral_status"] == "returned"
    (task,) = tiny.client.get(f"/api/events/{tiny.ids['event']}/whistles").json()
    assert task["state"] == "withdrawn"
    _as_court(tiny)
    assert tiny.client.post(f"/api/whistles/{task['id']}/sign").json()["detail"].startswith("任务已撤回")


def test_the_steps_a_case_offers_depend_on_its_state_and_the_role(tiny):
    steps = [s["action"] for s in tiny.client.get(f"/api/events/{tiny.ids['event']}/steps").json()]
    assert steps[:3] == ["register", "assign", "reject"] and "escalate" in steps and "refer" in steps
    tiny.act_as("pat", role="planner")
    assert tiny.client.get(f"/api/events/{tiny.ids['event']}/steps").json() == []  # a planner steps nothing
    tiny.act_as("alice")
    for to in ("registered",):
        _case(tiny, "transition", to=to)
    _case(tiny, "assign", worker_id=tiny.ids["owner"])
    for to in ("in_progress", "handled"):
        _case(tiny, "transition", to=to)
    verify = {s["action"]: s for s in tiny.client.get(f"/api/events/{tiny.ids['event']}/steps").json()}[
        "verify"
    ]
    assert verify["blocked"] == "核查须由处置人以外的人员进行"  # alice handled it herself
    tiny.act_as("bob")
    verify = {s["action"]: s for s in tiny.client.get(f"/api/events/{tiny.ids['event']}/steps").json()}[
        "verify"
    ]
    assert verify["blocked"] == ""


def test_the_desk_list_refuses_what_it_does_not_know_naming_the_parameter(tiny):
    for params, where in (
        ({"sort": "random"}, "sort"),
        ({"view": "x"}, "view"),
        ({"status": "lost"}, "status"),
    ):
        r = tiny.client.get("/api/events", params=params)
        assert r.status_code == 400 and r.json()["where"] == where, r.text
    r = tiny.client.get("/api/events", params={"per_page": 0})
    assert r.status_code == 422 and r.json()["detail"] == "每页条数（per_page）：不能小于 1"
    found = tiny.client.get("/api/events", params={"view": "all", "q": str(tiny.ids["event"])}).json()
    assert [c["id"] for c in found["items"]] == [tiny.ids["event"]] and found["total"] == 1
