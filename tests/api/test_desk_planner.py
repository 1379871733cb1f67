"""The planner's three-colour lists (三色三单) and chronic cases (积案与重复纠纷) in headless Chromium:
each a map, a table and an XLSX export that holds what the page shows (read back with openpyxl)."""

import openpyxl
import pytest

from tests.api import console_fixtures
from tests.api.console_fixtures import scalar
from tests.browser import screenshot
from tests.desk import as_user, desk
from tests.waits import WAIT_MS

pytestmark = pytest.mark.browser
base_url = console_fixtures.base_url
browser = console_fixtures.browser
console_app = console_fixtures.console_app
console_db = console_fixtures.console_db
console_engine = console_fixtures.console_engine


def _download(page, selector, path):
    with page.expect_download() as info:
        page.click(selector)
    info.value.save_as(path)
    return openpyxl.load_workbook(path, read_only=True), info.value.suggested_filename


def _rows(book, sheet):
    rows = list(book[sheet].iter_rows(values_only=True))
    return rows[0], rows[1:]


def test_planner_exports_the_red_list_to_xlsx_and_reads_it_back(browser, base_url, tmp_path):
    page, report = desk(browser, base_url, "planner")
    page.goto(base_url + "/console/risk")
    page.wait_for_selector("#rk-grids tr[data-code]", timeout=WAIT_MS)
    page.select_option("#rk-grade", "red")
    red = as_user(base_url, "planner").get("/api/risk/lists", params={"grade": "red"}).json()
    page.wait_for_function(
        f"document.querySelectorAll('#rk-grids tr[data-code]').length === {len(red['grids'])}"
    )
    assert red["grids"] and all(g["grade"] == "red" for g in red["grids"])
    book, name = _download(page, "#rk-xlsx", tmp_path / "red.xlsx")
    assert name == "gridgov-risk-red-620121.xlsx"
    assert book.sheetnames == ["风险网格", "问题清单", "责任清单", "任务清单"]
    head, grids = _rows(book, "风险网格")
    assert head[:4] == ("网格编码", "网格", "乡镇（街道）", "风险等级")
    assert [r[0] for r in grids] == [g["code"] for g in red["grids"]]  # the page's list, in its order
    assert {r[3] for r in grids} == {"红色（高风险）"}
    _, problems = _rows(book, "问题清单")
    assert len(problems) == sum(len(g["problems"]) for g in red["grids"])
    head, duty = _rows(book, "责任清单")
    worker = duty[0][head.index("网格员")]
    assert worker is None or "某" in worker or "*" in worker  # a planner sees workers' names masked
    _, tasks = _rows(book, "任务清单")
    assert len(tasks) == sum(len(g["tasks"]) for g in red["grids"])
    page.select_option("#rk-grade", "flagged")
    page.wait_for_function("document.querySelectorAll('#rk-grids tr[data-code]').length > 10")
    page.locator("#rk-grids tr[data-code]").first.click()
    page.wait_for_selector("#rk-tasks li")
    assert page.locator("#rk-problems li").count() >= 1 and page.locator("#rk-duty li").count() == 5
    page.wait_for_timeout(500)
    screenshot(page, "console_risk")
    assert report.clean, report.summary()
    page.context.close()


def _repeats(base_url, console_engine):
    """Three land disputes at one spot over half a year (a chronic place), reported by the centre."""
    lon, lat = scalar(
        console_engine,
        "SELECT array[ST_X(p), ST_Y(p)] FROM (SELECT ST_PointOnSurface(geom) AS p FROM grids "
        "WHERE level = 'grid' AND valid_to IS NULL AND code LIKE '620121006%' ORDER BY code LIMIT 1) s",
    )
    centre = as_user(base_url, "dispatcher")
    for i, at in enumerate(
        ("2026-05-06T09:00:00+08:00", "2026-08-12T10:30:00+08:00", "2026-11-20T15:00:00+08:00")
    ):
        body = {
            "category": "land_forest",
            "severity": 2,
            "title": f"村民宅基地边界争执（第{i + 1}次）",
            "source": "walk_in",
        }
        body |= {"lon": lon + i * 0.00005, "lat": lat, "reported_at": at}
        assert centre.post("/api/events", json=body).status_code == 201
    _chronic_job(console_engine)


def _chronic_job(engine):
    """What the `chronic` job does after those writes (the tests run no worker): store the county's groups."""
    from sqlalchemy.orm import Session

    from geo import clock
    from geo.analytics.chronic import refresh_chronic
    from geo.analytics.settings import AnalyticsSettings

    with Session(engine) as session:
        refresh_chronic(session, "620121", AnalyticsSettings(_env_file=None), clock.now())
        session.commit()


def test_chronic_page_shows_repeats_with_their_evidence_and_exports_them(
    browser, base_url, console_engine, tmp_path
):
    _repeats(base_url, console_engine)
    page, report = desk(browser, base_url, "planner")
    page.goto(base_url + "/console/chronic")
    page.wait_for_selector("#ch-table tr[data-row]", timeout=WAIT_MS)
    assert "同一地点（约 50 米内、同一类别）至少 3 件" in page.locator("#ch-rule").inner_text()
    row = page.locator("#ch-table tr[data-row]", has_text="土地山林纠纷")
    row.wait_for()
    row.click()
    evidence = page.locator("#ch-evidence li")
    assert evidence.count() == 3 and "第1次" in evidence.first.inner_text()  # the cases, oldest first
    page.wait_for_timeout(400)
    screenshot(page, "console_chronic")
    page.select_option("#ch-basis", "place")
    page.wait_for_function(
        "[...document.querySelectorAll('#ch-table tr[data-row]')].every(r => r.cells[0].textContent === '同一地点')"
    )
    book, _ = _download(page, "#ch-xlsx", tmp_path / "chronic.xlsx")
    assert book.sheetnames[:2] == ["重复纠纷", "证据"] and book.sheetnames[2].startswith("积案")
    _, groups = _rows(book, "重复纠纷")
    assert groups and {r[1] for r in groups} == {"同一地点"}  # as filtered on the page
    head, cases = _rows(book, "证据")
    assert [r[head.index("上报时间")] for r in cases if "宅基地" in (r[head.index("标题")] or "")] == [
        "2026-05-06 09:00:00+08:00",
        "2026-08-12 10:30:00+08:00",
        "2026-11-20 15:00:00+08:00",
    ]
    page.click("#ch-tabs [data-tab=backlog]")
    page.wait_for_selector("#ch-rule:has-text('在办超过 90 天')")
    page.wait_for_selector("#ch-table tr[data-row]")
    assert page.locator("path.gg-backlog").count() == page.locator("#ch-table tr[data-row]").count()
    assert report.clean, report.summary()
    page.context.close()
