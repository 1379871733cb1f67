"""Helpers of the desks' browser tests: log in as a demo account, call the API as one, count clicks.

page, report = desk(browser, base_url, "dispatcher")          # through the /login form
case = as_user(base_url, "gridworker").post("/api/events", json=...).json()
clicks = Clicks(page); clicks.click("#steps [data-step=register]"); clicks.step()  # <= 3 per step
"""

from typing import Any

import httpx

from tests.api.console_fixtures import login, password
from tests.browser import PageReport, new_context, watch
from tests.waits import WAIT_S

MAX_CLICKS = 3  # a step of the lifecycle takes at most three clicks at a desk


def desk(
    browser: Any, base_url: str, name: str, viewport: tuple[int, int] = (1600, 950)
) -> tuple[Any, PageReport]:
    """A fresh context logged in as the demo account `name` through the login form, on its desk."""
    context = new_context(browser, viewport=viewport, accept_downloads=True)
    page = context.new_page()
    report = PageReport()
    watch(page, report)
    login(page, base_url, name)
    return page, report


def as_user(base_url: str, name: str) -> httpx.Client:
    """An HTTP client with the bearer token of a demo account."""
    answer = httpx.post(base_url + "/api/auth/token", data={"username": name, "password": password(name)})
    answer.raise_for_status()
    headers = {"Authorization": "Bearer " + answer.json()["access_token"]}
    return httpx.Client(base_url=base_url, headers=headers, timeout=WAIT_S)


class Clicks:
    """Clicks on a page, counted per step of the lifecycle."""

    def __init__(self, page: Any) -> None:
        self.page = page
        self.count = 0
        self.steps: list[int] = []

    def click(self, selector: str) -> None:
        """Click one element (counted)."""
        self.page.locator(selector).first.click()
        self.count += 1

    def step(self) -> int:
        """End a step: it took at most MAX_CLICKS clicks; returns how many."""
        taken, self.count = self.count, 0
        assert 0 < taken <= MAX_CLICKS, f"a step took {taken} clicks"
        self.steps.append(taken)
        return taken
