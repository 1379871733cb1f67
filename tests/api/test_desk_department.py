"""A department account (部门) in headless Chromium: it signs for a whistle, reports and reports back with
text and a photo; the centre sees each answer and each lateness; it sees nothing but its own cases."""

import base64
from datetime import timedelta

import pytest

from tests.api import console_fixtures
from tests.api.console_fixtures import login, scalar
from tests.browser import advance_clock, screenshot
from tests.desk import Clicks, as_user, desk
from tests.waits import WAIT_MS

pytestmark = pytest.mark.browser
base_url = console_fixtures.base_url
browser = console_fixtures.browser
console_app = console_fixtures.console_app
console_db = console_fixtures.console_db
console_engine = console_fixtures.console_engine

_OPEN_WAGES = (
    "SELECT id FROM events WHERE category IN ('labour_wages', 'social_security') AND status IN ('registered', 'dispatched', "
    "'in_progress') ORDER BY id LIMIT 1 OFFSET :n"
)


def _whistle(console_engine, base_url, n, hours):
    """The centre whistles the county's labour bureau (人社局) for the n-th open wages dispute."""
    case_id = scalar(console_engine, _OPEN_WAGES, n=n)
    hrss = scalar(console_engine, "SELECT id FROM departments WHERE code = '620121-hrss'")
    answer = as_user(base_url, "dispatcher").post(
        f"/api/events/{case_id}/whistle", json={"department_id": hrss, "respond_within_hours": hours}
    )
    assert answer.status_code == 201, answer.text
    return case_id, answer.json()


def _png(page, path):
    data = page.evaluate(
        "(() => { const c = document.createElement('canvas'); c.width = 32; c.height = 24;"
        " const g = c.getContext('2d'); g.fillStyle = '#2171b5'; g.fillRect(0, 0, 32, 24);"
        " return c.toDataURL('image/png').split(',')[1]; })()"
    )
    path.write_bytes(base64.b64decode(data))
    return str(path)


def _answer(page, clicks, text, photo=None):
    page.wait_for_selector("#answer:not([hidden])")
    state = page.locator("#task li").get_attribute("data-state")
    page.fill("#answer-text", text)
    if photo:
        page.set_input_files("#answer-photos", photo)
    clicks.click("#answer-send")
    page.wait_for_function(f"document.querySelector('#task li').dataset.state !== '{state}'", timeout=WAIT_MS)
    return clicks.step()


def test_department_signs_for_a_whistle_and_reports_back(browser, base_url, console_engine, tmp_path):
    case_id, task = _whistle(console_engine, base_url, 0, 24)
    _whistle(console_engine, base_url, 2, 48)  # another task waits on the list
    page, report = desk(browser, base_url, "department")
    assert page.url.endswith("/console/department"), page.url
    clicks = Clicks(page)
    page.wait_for_selector(f"#list li[data-id='{task['id']}']", timeout=WAIT_MS)
    clicks.click(f"#list li[data-id='{task['id']}']")
    page.wait_for_selector("#btn-sign:not([hidden])")
    clicks.click("#btn-sign")  # 签收
    page.wait_for_selector("#task li[data-state=signed]")
    assert clicks.step() == 2
    _answer(page, clicks, "已派劳动监察员到场核实欠薪人数", _png(page, tmp_path / "site.png"))  # 报到
    page.wait_for_selector("#photos figure")
    page.wait_for_timeout(300)
    screenshot(page, "console_department")
    _answer(page, clicks, "已督促企业支付全部欠薪，工人签字确认")  # 办结反馈
    page.wait_for_selector("#task li[data-state=finished]")
    page.wait_for_selector("#timeline li[data-action=whistle_feedback]")
    assert report.clean, report.summary()
    page.context.close()
    # the centre sees every step, the photo with the department's name, and that none came late
    centre = as_user(base_url, "dispatcher")
    (seen,) = centre.get(f"/api/events/{case_id}/whistles").json()
    assert (seen["state"], seen["signed_by"], seen["report_late"], seen["feedback_late"]) == (
        "finished",
        "department",
        False,
        False,
    )
    assert "欠薪人数" in seen["response"] and "签字确认" in seen["feedback"]
    photos = centre.get(f"/api/events/{case_id}/photos").json()
    assert [(p["whistle_id"], p["department"]) for p in photos] == [
        (task["id"], "永登县人力资源和社会保障局")
    ]
    actions = [e["action"] for e in centre.get(f"/api/events/{case_id}/timeline").json()]
    assert actions[-4:] == ["whistle", "whistle_sign", "whistle_response", "whistle_feedback"]
    board = centre.get("/api/board").json()["departments"]
    assert [r["event_id"] for d in board for r in d["requests"]] != [] and case_id not in [
        r["event_id"] for d in board for r in d["requests"]
    ]  # done: off the board; the other task waits there


def test_a_late_answer_is_taken_and_the_centre_sees_it_was_late(browser, base_url, console_engine):
    case_id, task = _whistle(console_engine, base_url, 1, 1)
    page, report = desk(browser, base_url, "department")
    advance_clock(timedelta(hours=3), page.context)  # two hours past the hour it had
    clicks = Clicks(page)
    login(page, base_url, "department")  # three hours away ended the session (idle timeout): log in again
    page.wait_for_selector(f"#list li[data-id='{task['id']}'].overdue", timeout=WAIT_MS)  # late, in red
    clicks.click(f"#list li[data-id='{task['id']}']")
    clicks.click("#btn-sign")
    page.wait_for_selector("#task li[data-state=signed]")
    clicks.step()
    _answer(page, clicks, "人员已到场")
    page.wait_for_selector("#timeline li[data-action=whistle_response]:has-text('超时 2 小时')")
    assert report.clean, report.summary()
    page.context.close()
    (seen,) = as_user(base_url, "dispatcher").get(f"/api/events/{case_id}/whistles").json()
    assert seen["state"] == "reported" and seen["report_late"] is True and seen["feedback_late"] is False


def test_a_department_sees_only_what_is_whistled_or_referred_to_it(base_url, console_engine):
    mine = as_user(base_url, "department")
    dept = scalar(console_engine, "SELECT id FROM departments WHERE code = '620121-hrss'")
    expected = scalar(
        console_engine, "SELECT count(DISTINCT event_id) FROM whistles WHERE department_id = :d", d=dept
    )
    listed = mine.get("/api/events", params={"view": "all", "per_page": 100}).json()
    assert listed["total"] == expected > 0
    other = scalar(
        console_engine, "SELECT min(id) FROM events WHERE id NOT IN (SELECT event_id FROM whistles)"
    )
    assert mine.get(f"/api/events/{other}").status_code == 404
    assert mine.get(f"/api/events/{other}/timeline").status_code == 404
    assert all(t["department_id"] == dept for t in mine.get("/api/whistles", params={"state": "done"}).json())
    case_id = listed["items"][0]["id"]
    # never its own case's status, nor another department's answers, nor the centre's steps
    assert mine.post(f"/api/events/{case_id}/transition", json={"to": "closed"}).status_code == 403
    assert mine.post(f"/api/events/{case_id}/whistle", json={"department_id": dept}).status_code == 403
    parties = mine.get(f"/api/events/{case_id}/parties").json()
    assert parties and all("某" in p["name"] or "*" in p["name"] for p in parties)  # masked
    court = as_user(base_url, "court")
    task = mine.get("/api/whistles", params={"state": "done"}).json()[0]
    assert court.post(f"/api/whistles/{task['id']}/sign").status_code == 404
