"""Browser tests: Debian's Chromium, driven by Playwright's sync API, against `live_server`.

Fixtures for every test in this package (all of them are marked `browser`):
- `browser`: one headless Chromium for the package, `context` and `page`: fresh for each test;
- `shop_site`: a second local HTTP server on its own port, serving pages from another origin
  (a shop's website calling our API from the browser);
- `api_requests`: the (method, path) of every request the live server handled.

A failing test leaves a screenshot of its page (and the page's console) under test-results/.
Tests that use `live_server` get the rows migrations seed (plans) back before each test.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Generator, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from django.db import connections
from playwright.sync_api import Browser, BrowserContext, ConsoleMessage, Page, sync_playwright

from tests.conftest import ProductionEntryPoint

CHROMIUM = Path("/usr/bin/chromium")
# Debian's Chromium: Playwright must never download a browser (there is no network for it).
# QUIC, background networking, component updates and sync would all try to reach Google.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# Generous, so a slow shared machine does not fail a test; a hang still ends in minutes.
TIMEOUT_MS = 15_000

_HERE = Path(__file__).parent
_CONSOLE = pytest.StashKey[list[str]]()


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    # tryfirst: the marks have to be there before `-m "not browser"` deselects and before
    # pytest-django decides which test databases to serialize.
    if "screenshots" not in (config.option.markexpr or ""):
        # Rewriting docs/screenshots/ is a chore run on request, never a side effect of a run.
        skipped = [item for item in items if item.get_closest_marker("screenshots")]
        if skipped:
            config.hook.pytest_deselected(items=skipped)
            items[:] = [item for item in items if item not in skipped]
    for item in items:
        if _HERE not in item.path.parents:
            continue
        item.add_marker(pytest.mark.browser)
        if "live_server" in getattr(item, "fixturenames", ()) and not item.get_closest_marker(
            "django_db"
        ):
            # The live server sees only committed rows, so these tests run in real
            # transactions and end with a flush, which also empties what migrations seed
            # (plans); serialized rollback puts those rows back before each test.
            item.add_marker(pytest.mark.django_db(transaction=True, serialized_rollback=True))


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    page = getattr(item, "funcargs", {}).get("page")
    # At setup and call the page is still open; at teardown it may already be closed.
    if not report.failed or report.when == "teardown" or not isinstance(page, Page):
        return report
    results = item.config.rootpath / "test-results"
    results.mkdir(exist_ok=True)
    path = results / (re.sub(r"[^\w.-]+", "_", item.nodeid).strip("_") + ".png")
    try:
        page.screenshot(path=path, full_page=True)
        report.sections.append(("screenshot", f"{path} (of {page.url})"))
    except Exception as exc:  # a crashed page must not hide the test's own failure
        report.sections.append(("screenshot", f"could not be taken: {exc}"))
    console = item.stash.get(_CONSOLE, [])
    if console:
        report.sections.append(("browser console", "\n".join(console)))
    return report


@pytest.fixture(scope="package")
def browser() -> Iterator[Browser]:
    """Debian's Chromium, headless, shared by this package's tests."""
    if not CHROMIUM.exists():
        # Fail, never skip: a suite that quietly skips its browser tests looks green.
        pytest.fail(
            f"{CHROMIUM} not found: the browser tests drive Debian's Chromium. "
            "Install it with scripts/ensure-chromium.sh (`make test` runs it).",
            pytrace=False,
        )
    own_connections = {alias: connections[alias] for alias in connections}
    with pytest.MonkeyPatch.context() as env:
        # While Playwright's sync API is started it keeps an asyncio loop marked as running
        # in this thread, and Django refuses ORM calls from such a thread (the fixtures and
        # assertions query the database). The loop only runs inside Playwright's own calls,
        # so no coroutine can interleave with a query. Scoped to this package, so the rest
        # of the suite keeps Django's check and sees no loop at all.
        env.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        with sync_playwright() as playwright:
            # The running loop also makes Django's connection registry (an asgiref Local)
            # switch to per-context storage, so the test would open a second connection:
            # one that pytest-django never prepared (no serialized seed rows to restore)
            # and that would stay open past the test database's teardown. Keep the
            # thread's own connections instead.
            for alias, connection in own_connections.items():
                connections[alias] = connection
            chromium = playwright.chromium.launch(
                executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
            )
            yield chromium
            chromium.close()


@pytest.fixture
def context(browser: Browser) -> Iterator[BrowserContext]:
    """A fresh profile per test: no cookies, storage or cached CORS preflights carry over."""
    context = browser.new_context(locale="en-US", timezone_id="UTC")
    context.set_default_timeout(TIMEOUT_MS)
    yield context
    context.close()


@pytest.fixture
def page(context: BrowserContext, request: pytest.FixtureRequest) -> Page:
    page = context.new_page()
    console: list[str] = []
    request.node.stash[_CONSOLE] = console

    def note(message: ConsoleMessage) -> None:
        console.append(f"{message.type}: {message.text}")

    page.on("console", note)
    page.on("pageerror", lambda exc: console.append(f"uncaught: {exc}"))
    return page


class ShopSite:
    """A website on another origin: pages served from memory by a local HTTP server."""

    host = "127.0.0.1"

    def __init__(self) -> None:
        pages: dict[str, bytes] = {}
        self._pages = pages

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                body = pages.get(self.path.split("?")[0])
                self.send_response(200 if body is not None else 404)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Cache-Control", "no-store")
                self.end_headers()
                self.wfile.write(body if body is not None else b"not found")

            def log_message(self, format: str, *args: Any) -> None:
                pass  # keep test output to failures

        self._server = ThreadingHTTPServer((self.host, 0), Handler)
        self._server.daemon_threads = True
        self.origin = f"http://{self.host}:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def serve(self, path: str, html: str) -> str:
        """Serve html at path; returns the page's URL."""
        self._pages[path] = html.encode()
        return self.origin + path

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()


@pytest.fixture
def shop_site() -> Iterator[ShopSite]:
    site = ShopSite()
    yield site
    site.close()


@pytest.fixture
def api_requests() -> Iterator[list[tuple[str, str]]]:
    """(method, path) of each request the live server receives, CORS preflights included
    (Chromium does not show preflights to Playwright, so we watch the server)."""
    seen: list[tuple[str, str]] = []

    def note(environ: dict[str, Any]) -> None:
        seen.append((environ["REQUEST_METHOD"], environ["PATH_INFO"]))

    ProductionEntryPoint.observers.append(note)
    yield seen
    ProductionEntryPoint.observers.remove(note)
