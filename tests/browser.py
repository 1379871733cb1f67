"""Reusable helpers for browser tests: the real app on a loopback port, Debian's headless Chromium.

Never downloads a browser (no `playwright install`): Playwright drives /usr/bin/chromium. Every request
to a host other than 127.0.0.1/localhost is aborted and recorded, and console errors, page errors and
failed requests are collected, so a test can assert the page works fully offline.

    with serve_app(app) as base, chromium() as browser:
        page, report = open_page(browser, base + "/maps/risk", wait_for=".leaflet-container")
        assert report.clean, report.summary()

The app runs in this process, so a test that pins geo.clock pins the server's "now" too. The browser
then has to agree: `new_context` starts each context's clock at the pinned instant when one is pinned,
and `pinned_clock(at, context, ...)` / `advance_clock(delta, context, ...)` pin or move the server's
clock and the browsers' together, so a test never mixes the real clock with a pinned one:

    with pinned_clock(datetime(2026, 12, 7, 1, 30, tzinfo=UTC), context):
        ...  # the server and the pages both say 2026-12-07 09:30 Beijing time
"""

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from tests.waits import WAIT_MS

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-background-networking",
    "--disable-gpu",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
LOOPBACK = {"127.0.0.1", "localhost", "::1", "[::1]"}
ARTIFACTS = Path(__file__).resolve().parent / "artifacts"


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def serve_app(app: Any, *, timeout: float = 30.0) -> Iterator[str]:
    """Run an ASGI app with uvicorn on 127.0.0.1 and a free port in a thread; yields its base URL."""
    import uvicorn

    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    )
    thread = threading.Thread(target=server.run, name=f"uvicorn-{port}", daemon=True)
    thread.start()
    deadline = time.monotonic() + timeout
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError(f"the app did not start on port {port}")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@contextmanager
def chromium() -> Iterator[Any]:
    """Debian's Chromium, headless, via Playwright (never a downloaded browser)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            yield browser
        finally:
            browser.close()


def follow_clock(*targets: Any) -> datetime | None:
    """Set each browser context's (or page's) clock to the server's pinned clock, when a test pinned one.

    The browser's clock starts at the pinned instant and then runs on: a clock frozen in the page would
    stall Leaflet's pan animations, which time themselves with Date. Returns the instant, or None (and
    leaves the browsers on real time) when geo.clock is not pinned. Call it again after moving the clock.
    """
    from geo import clock

    if not isinstance(clock.current(), clock.PinnedClock):
        return None
    at = clock.now()
    for target in targets:
        target.clock.set_system_time(at)
    return at


@contextmanager
def pinned_clock(at: datetime, *targets: Any) -> Iterator[Any]:
    """Pin the server's clock (geo.clock.pinned) at `at` and start the given contexts' or pages' clocks
    there; afterwards they go back to real time, as the server does."""
    from geo import clock

    with clock.pinned(at) as pinned:
        follow_clock(*targets)
        try:
            yield pinned
        finally:
            for target in targets:
                target.clock.set_system_time(datetime.now(UTC))


def advance_clock(delta: timedelta, *targets: Any) -> datetime:
    """Move the pinned server clock on by `delta` and the given contexts' or pages' clocks with it."""
    from geo import clock

    at = clock.advance(delta)
    follow_clock(*targets)
    return at


def new_context(
    browser: Any,
    *,
    viewport: tuple[int, int] | dict[str, int] = (1280, 860),
    timezone_id: str | None = None,
    **options: Any,
) -> Any:
    """A fresh browser context (zh-CN) whose clock follows the server's pinned clock, if one is pinned.

    `timezone_id` sets the device's own zone (e.g. "America/New_York"): the console must show county
    time whatever it is. Other options go to Playwright's `new_context` (is_mobile, geolocation, ...).
    The app's Content-Security-Policy forbids evaluating strings, and Playwright runs a test's
    `wait_for_function` predicates that way, so contexts bypass it unless told `bypass_csp=False`
    (tests/security/test_csp_browser.py opens every kind of page with it enforced).
    """
    size = viewport if isinstance(viewport, dict) else {"width": viewport[0], "height": viewport[1]}
    options.setdefault("locale", "zh-CN")
    options.setdefault("bypass_csp", True)
    if timezone_id:
        options["timezone_id"] = timezone_id
    context = browser.new_context(viewport=size, **options)
    context.set_default_timeout(WAIT_MS)  # a loaded CI machine is slow; a wait ends when its condition holds
    follow_clock(context)
    return context


@dataclass
class PageReport:
    """What went wrong while a page loaded."""

    console_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    failed_requests: list[str] = field(default_factory=list)
    external_requests: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)

    @property
    def clean(self) -> bool:
        """No console or page error, no failed and no external request."""
        return not (self.console_errors or self.page_errors or self.failed_requests or self.external_requests)

    def summary(self) -> str:
        """A readable account for an assertion message."""
        parts = {
            "console errors": self.console_errors,
            "page errors": self.page_errors,
            "failed requests": self.failed_requests,
            "external requests": self.external_requests,
        }
        return "; ".join(f"{k}: {v[:10]}" for k, v in parts.items() if v) or "clean"


def _is_loopback(url: str) -> bool:
    parts = urlsplit(url)
    return parts.scheme in ("data", "blob", "about") or (parts.hostname or "") in LOOPBACK


def watch(page: Any, report: PageReport) -> None:
    """Block every non-loopback request and record errors of the page into `report`."""

    def route(r: Any) -> None:
        url = r.request.url
        report.requests.append(url)
        if _is_loopback(url):
            r.continue_()
        else:
            report.external_requests.append(url)
            r.abort("blockedbyclient")

    page.route("**/*", route)
    page.on("console", lambda m: report.console_errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: report.page_errors.append(str(e)))
    page.on(
        "requestfailed",
        lambda r: (
            None if not _is_loopback(r.url) else report.failed_requests.append(f"{r.url} ({r.failure})")
        ),
    )
    page.on(
        "response",
        lambda r: report.failed_requests.append(f"{r.url} ({r.status})") if r.status >= 400 else None,
    )


def open_page(
    browser: Any,
    url: str,
    *,
    wait_for: str | None = None,
    viewport: tuple[int, int] = (1280, 860),
    timeout_ms: int = 60_000,
    cookies: list[dict] | None = None,
) -> tuple[Any, PageReport]:
    """Open `url` in a fresh context, every non-loopback request blocked; wait for the network to settle.

    `cookies` (e.g. tests.auth_helpers.browser_cookies) log the context in, as a browser after /login.
    """
    context = new_context(browser, viewport=viewport)
    if cookies:
        context.add_cookies(cookies)
    page = context.new_page()
    report = PageReport()
    watch(page, report)
    page.goto(url, wait_until="networkidle", timeout=timeout_ms)
    if wait_for:
        page.wait_for_selector(wait_for, state="attached", timeout=timeout_ms)
    return page, report


def screenshot(page: Any, name: str) -> Path:
    """Save a PNG of the page under tests/artifacts/ (git-ignored) and return its path."""
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path))
    return path
