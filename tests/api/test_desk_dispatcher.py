"""The dispatcher's desk in headless Chromium, as the demo dispatcher: every step in the UI alone.

A case goes from report to closure (立案, 派遣, 核查, 结案 at the desk; the worker starts and handles it
on the phone), another out to the court and back, each step in at most three clicks; the lists page,
search and filter on the server; a department is whistled, suggested by category, and never twice.
"""

import pytest

from geo import clock
from geo.queries import figures
from tests.api import console_fixtures
from tests.api.console_fixtures import scalar
from tests.browser import screenshot
from tests.desk import Clicks, as_user, desk
from tests.waits import WAIT_MS

pytestmark = pytest.mark.browser
base_url = console_fixtures.base_url
browser = console_fixtures.browser
console_app = console_fixtures.console_app
console_db = console_fixtures.console_db
console_engine = console_fixtures.console_engine


@pytest.fixture(scope="module")
def worker_case(console_engine, base_url) -> dict:
    """A case the demo grid worker reports (API, as from the phone) inside his own small grid."""
    point = scalar(
        console_engine,
        "SELECT json_build_array(ST_X(p), ST_Y(p))::text FROM (SELECT ST_PointOnSurface(g.geom) AS p "
        "FROM users u JOIN workers w ON w.id = u.worker_id JOIN grids g ON g.code = w.home_grid_code "
        "AND g.valid_to IS NULL WHERE u.name = 'gridworker') s",
    )
    lon, lat = (float(v) for v in point.strip("[]").split(","))
    body = {"category": "neighbour", "severity": 2, "title": "楼道堆物引发邻里争执", "lon": lon, "lat": lat}
    case = as_user(base_url, "gridworker").post("/api/events", json=body).json()
    case["worker_id"] = scalar(console_engine, "SELECT worker_id FROM users WHERE name = 'gridworker'")
    return case


@pytest.fixture
def page(browser, base_url):
    page, report = desk(browser, base_url, "dispatcher")
    assert page.url.endswith("/console/dispatcher"), page.url
    page.wait_for_selector("#list li[data-id]", timeout=WAIT_MS)
    yield page, report
    page.context.close()


def open_case(page, clicks, case_id):
    """Find a case by its number and open it (the search is the server's)."""
    page.fill("#q", str(case_id))
    page.wait_for_selector(f"#list li[data-id='{case_id}']", timeout=WAIT_MS)
    clicks.click(f"#list li[data-id='{case_id}']")
    page.wait_for_selector(f"#case-title:has-text('#{case_id}')")
    page.wait_for_selector("#steps [data-step]")


def take(page, clicks, action, *, fill=None, done=None):
    """Take one step: its button, the form's fields (typing is not a click), and 确认 if it asks."""
    before = page.locator("#timeline li[data-action]").count()
    clicks.click(f"#steps [data-step={action}]")
    if fill is not None:
        page.wait_for_selector("#step-form:not([hidden])")
        for selector, value in fill.items():
            (page.select_option if selector.startswith("select") else page.fill)(
                selector.split(" ", 1)[-1], value
            )
        clicks.click("#step-confirm")
    page.wait_for_function(f"document.querySelectorAll('#timeline li[data-action]').length > {before}")
    if done:
        page.wait_for_selector(f"#timeline li[data-action={done}]")
    return clicks.step()


def test_a_case_from_report_to_closure_at_the_desk(page, worker_case, base_url, console_engine):
    page, report = page
    clicks = Clicks(page)
    case_id = worker_case["id"]
    open_case(page, clicks, case_id)
    assert page.locator("#case-meta .gg-status").inner_text() == "已上报"
    take(page, clicks, "register", done="register")  # 立案: the case's time limit starts
    assert page.locator("#case-meta .gg-deadline").count() == 1
    # 派遣 in one click on the candidate: the grid's own worker comes first
    page.wait_for_selector(f"#cands [data-assign='{worker_case['worker_id']}']")
    clicks.click(f"#cands [data-assign='{worker_case['worker_id']}']")
    page.wait_for_selector("#timeline li[data-action=assign]")
    clicks.step()
    assert "派遣给" in page.locator("#timeline li[data-action=assign] .gg-says").inner_text()
    phone = as_user(base_url, "gridworker")  # the worker starts and handles it on the phone
    for to in ("in_progress", "handled"):
        assert phone.post(f"/api/events/{case_id}/transition", json={"to": to}).status_code == 200
    page.click("#tabs [data-tab=open]")  # finding the case again is not part of a step
    open_case(page, clicks, case_id)
    page.wait_for_selector("#steps [data-step=verify]:not([disabled])")
    take(page, clicks, "verify", done="verify")  # 核查, by someone other than the handler
    take(page, clicks, "close", done="close")
    assert scalar(console_engine, "SELECT status FROM events WHERE id = :i", i=case_id) == "closed"
    assert page.locator("#steps [data-step]").count() == 0  # a closed case offers nothing more
    said = page.locator("#timeline").inner_text()
    assert "已处置 → 已核查" in said and "已核查 → 已结案" in said and "status." not in said
    assert report.clean, report.summary()


def test_refer_to_the_court_and_take_it_back(page, console_engine, base_url):
    page, report = page
    clicks = Clicks(page)
    case_id = int(page.locator("#list li[data-id]").nth(1).get_attribute("data-id"))
    open_case(page, clicks, case_id)
    take(page, clicks, "refer", fill={"select #sf-referral": "court", "#sf-note": "诉调对接"}, done="refer")
    said = page.locator("#timeline li[data-action=refer] .gg-says").inner_text()
    assert "法院" in said and "人民法院" in said  # the timeline names the court, not 「移交 已登记 → 已登记」
    steps = page.eval_on_selector_all("#steps [data-step]", "els => els.map(e => e.dataset.step)")
    assert steps == ["referral_return", "whistle"]  # nothing else while the court has it
    page.fill("#q", "")
    page.wait_for_function(f"!document.querySelector(\"#list li[data-id='{case_id}']\")")  # left the queue
    page.click("#tabs [data-tab=referred]")
    page.wait_for_selector(f"#list li[data-id='{case_id}']")
    court = as_user(base_url, "court").get("/api/whistles").json()
    assert [t["kind"] for t in court if t["event_id"] == case_id] == ["referral"]  # the court has a task
    clicks.click(f"#list li[data-id='{case_id}']")
    page.wait_for_selector("#steps [data-step=referral_return]")
    take(page, clicks, "referral_return", done="referral_return")
    assert "法院" in page.locator("#timeline li[data-action=referral_return]").inner_text()
    assert scalar(console_engine, "SELECT referral_status FROM events WHERE id = :i", i=case_id) == "returned"
    assert (
        scalar(
            console_engine,
            "SELECT count(*) FROM whistles WHERE event_id = :i AND withdrawn_at IS NOT NULL",
            i=case_id,
        )
        == 1
    )
    page.wait_for_selector("#steps [data-step=assign]")  # back on the desk, to dispatch
    assert report.clean, report.summary()


def test_whistle_suggested_by_category_and_never_twice(page, console_engine):
    page, report = page
    clicks = Clicks(page)
    case_id = scalar(
        console_engine,
        "SELECT id FROM events WHERE category = 'labour_wages' AND status IN ('reported', 'registered') "
        "AND assignee_id IS NULL ORDER BY id LIMIT 1",
    )
    open_case(page, clicks, case_id)
    clicks.click("#steps [data-step=whistle]")
    page.wait_for_selector("#sf-department option", state="attached")
    first = page.locator("#sf-department option").first.inner_text()
    assert "人力资源和社会保障局" in first and "建议" in first  # those taking the category come first
    clicks.click("#step-confirm")
    page.wait_for_selector("#tasks li[data-task]")
    assert clicks.step() == 3
    assert "人力资源和社会保障局" in page.locator("#timeline li[data-action=whistle]").inner_text()
    page.fill("#q", "")  # the whole queue again beside the case
    page.wait_for_function("document.querySelectorAll('#list li[data-id]').length > 5")
    page.evaluate("document.getElementById('gg-toast').hidden = true")
    page.wait_for_timeout(500)
    screenshot(page, "console_dispatcher")
    clicks.click("#steps [data-step=whistle]")
    page.wait_for_selector("#sf-department option", state="attached")
    page.wait_for_selector("#step-form:not([hidden])")
    assert page.locator("#sf-department option").first.is_disabled()  # 已派任务: not again
    page.evaluate(
        "([id, d]) => GG.api('api/events/' + id + '/whistle', {method: 'POST', body: {department_id: d}}).catch(GG.fail)",
        [
            case_id,
            scalar(console_engine, "SELECT department_id FROM whistles WHERE event_id = :i", i=case_id),
        ],
    )
    page.wait_for_selector("#gg-toast.error:not([hidden])")
    assert "不再重复吹哨" in page.locator("#gg-toast").inner_text()
    assert scalar(console_engine, "SELECT count(*) FROM whistles WHERE event_id = :i", i=case_id) == 1


def test_extend_suspend_and_resume_at_the_desk(page, console_engine):
    page, report = page
    clicks = Clicks(page)
    case_id = scalar(
        console_engine,
        "SELECT id FROM events WHERE status IN ('registered', 'dispatched', 'in_progress') AND suspended_at IS NULL "
        "AND deadline_at >= :at AND deadline_at < :at + interval '24 hours' ORDER BY deadline_at, id LIMIT 1",
        at=clock.now(),
    )
    page.click("#tabs [data-tab=due_soon]")  # 临期: due within the day
    open_case(page, clicks, case_id)
    before = scalar(console_engine, "SELECT deadline_at FROM events WHERE id = :i", i=case_id)
    take(page, clicks, "extend", fill={"#sf-amount": "2", "#sf-reason": "等待鉴定结论"}, done="extend")
    assert scalar(console_engine, "SELECT deadline_at FROM events WHERE id = :i", i=case_id) > before
    assert "个工作日" in page.locator("#timeline li[data-action=extend]").inner_text()
    take(page, clicks, "suspend", fill={"#sf-reason": "当事人外出务工"}, done="suspend")
    assert page.locator("#case-meta .gg-badge.held").count() == 1
    take(page, clicks, "resume", done="resume")
    assert scalar(console_engine, "SELECT suspended_at IS NULL FROM events WHERE id = :i", i=case_id)
    assert report.clean, report.summary()


def test_lists_are_paged_filtered_and_sorted_by_the_server(page, console_engine):
    page, report = page
    total = scalar(
        console_engine,
        "SELECT count(*) FROM events WHERE status IN ('reported', 'registered') AND assignee_id IS NULL "
        "AND referral_status IS DISTINCT FROM 'referred' AND grid_code LIKE '620121%'",
    )
    assert page.locator("#pager-text").inner_text().endswith(f"共 {total} 件")
    first_page = page.eval_on_selector_all("#list li[data-id]", "els => els.map(e => e.dataset.id)")
    page.click("#pager-next")
    page.wait_for_function(f"document.querySelector('#list li[data-id]').dataset.id !== '{first_page[0]}'")
    assert page.locator("#pager-text").inner_text().startswith("第 2/")
    page.select_option("#f-township", "620121003")
    page.wait_for_selector("#pager-text:has-text('第 1/')")
    codes = page.eval_on_selector_all("#list li[data-id] code", "els => els.map(e => e.textContent)")
    assert codes and all(c.startswith("620121-003-") for c in codes)
    page.click("#tabs [data-tab=overdue]")
    page.wait_for_function(
        "[...document.querySelectorAll('#list li[data-id]')].every(li => li.classList.contains('overdue'))"
    )
    page.select_option("#f-township", "")
    overdue = scalar(
        console_engine,
        f"SELECT count(*) FROM events e WHERE e.grid_code LIKE '620121%' AND {figures.open_now()} "
        f"AND {figures.overdue_at()}",
        at=clock.now(),
    )
    page.wait_for_selector(f"#pager-text:has-text('共 {overdue} 件')")
    assert report.clean, report.summary()
