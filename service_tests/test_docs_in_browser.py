"""The Swagger UI page in a real browser (Debian's chromium, headless), against the app
under uWSGI: it lists the operations and "Try it out" reaches the running app, with no
request leaving this machine, and a document named in the address bar is never loaded.
A screenshot is kept in test-artifacts/."""

from __future__ import annotations

import json
import shutil
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from playwright.sync_api import Browser, Page, sync_playwright

from local_platform.processes import LOOPBACK
from service_tests.harness import REPO_ROOT, AppServer

ARTIFACTS = REPO_ROOT / "test-artifacts"
# Debian's chromium (what `make test` installs), or a Chromium or Chrome already there.
BROWSERS = ("chromium", "chromium-browser", "google-chrome")
# As root, with no network but loopback: no sandbox, and none of Chromium's own calls home.
CHROMIUM_FLAGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
    "--no-first-run",
]


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    found = (shutil.which(name) for name in BROWSERS)
    executable = next((path for path in found if path), None)
    assert executable, "chromium is not installed; `make test` installs it"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_FLAGS)
        try:
            yield browser
        finally:
            browser.close()


class ForeignServer:
    """Another origin on this machine (what an attacker's site would be): it serves an
    OpenAPI document of its own, and a Swagger UI config naming it, to any origin, and
    records every request that reaches it."""

    TITLE = "FOREIGN DOCUMENT"

    def __init__(self) -> None:
        self.requests: list[str] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                server.requests.append(self.path)
                documents = {
                    "/evil.json": {
                        "openapi": "3.0.3",
                        "info": {"title": ForeignServer.TITLE, "version": "6.6.6"},
                        "paths": {"/steal": {"get": {"responses": {"200": {"description": "x"}}}}},
                    },
                    "/config.json": {"url": f"{server.base_url}/evil.json"},
                }
                body = json.dumps(documents.get(self.path, {})).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Access-Control-Allow-Origin", "*")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: object) -> None:
                pass  # recorded in `requests`, not on stderr

        self._httpd = ThreadingHTTPServer((LOOPBACK, 0), Handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://{LOOPBACK}:{self._httpd.server_address[1]}"

    def __enter__(self) -> ForeignServer:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(5)


@pytest.fixture
def foreign_server() -> Iterator[ForeignServer]:
    with ForeignServer() as server:
        yield server


@pytest.fixture
def docs_page(browser: Browser, app_server: AppServer) -> Iterator[tuple[Page, list[str]]]:
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    elsewhere: list[str] = []
    page.on(
        "request",
        lambda request: (
            None if request.url.startswith(app_server.base_url) else elsewhere.append(request.url)
        ),
    )
    page.goto(f"{app_server.base_url}/docs")
    page.wait_for_selector(".opblock-summary", timeout=15_000)
    try:
        yield page, elsewhere
    finally:
        page.close()


def test_the_docs_page_lists_every_documented_operation(docs_page, app_server) -> None:
    page, _ = docs_page
    document = app_server.get("/openapi.json").json()
    documented = sum(
        1
        for operations in document["paths"].values()
        for method in operations
        if method != "parameters"
    )
    assert page.locator(".opblock").count() == documented
    assert page.locator(".info .title").inner_text().startswith("example-app")


def test_try_it_out_on_get_root_shows_200_from_the_running_app(docs_page) -> None:
    page, _ = docs_page
    operation = page.locator("#operations-example-hello")
    operation.locator(".opblock-summary").click()
    operation.locator(".try-out__btn").click()
    operation.locator(".execute").click()
    status = operation.locator(".live-responses-table tbody td.response-col_status").first
    status.wait_for(timeout=10_000)

    assert status.inner_text().strip() == "200"
    assert "Hello world" in operation.locator(".live-responses-table tbody").inner_text()
    ARTIFACTS.mkdir(exist_ok=True)
    # The operation with its live response: the request, the 200 and "Hello world".
    operation.screenshot(path=ARTIFACTS / "docs-page.png")


def test_the_page_makes_no_request_beyond_the_app(docs_page) -> None:
    page, elsewhere = docs_page
    page.wait_for_load_state("networkidle")
    assert elsewhere == []


def test_the_page_runs_swagger_ui_5_with_no_error_in_the_console(
    browser: Browser, app_server: AppServer
) -> None:
    page = browser.new_page()
    errors: list[str] = []
    page.on(
        "console", lambda message: errors.append(message.text) if message.type == "error" else None
    )
    page.on("pageerror", lambda error: errors.append(str(error)))
    try:
        page.goto(f"{app_server.base_url}/docs")
        page.wait_for_selector(".opblock-summary", timeout=15_000)
        page.wait_for_load_state("networkidle")
        version = page.evaluate("window.versions.swaggerUI.version")
    finally:
        page.close()

    assert version.startswith("5."), version
    # A Content-Security-Policy violation would show here.
    assert errors == []


# Swagger UI before 4.1.3 took its document (`url`) or its whole configuration
# (`configUrl`) from the page's query string: a link to the docs could show anyone's
# document, its text and links, on this service's origin (CVE-2018-25031).
@pytest.mark.parametrize("query", ["url=/evil.json", "configUrl=/config.json"])
def test_a_document_named_in_the_address_bar_is_never_loaded(
    browser: Browser, app_server: AppServer, foreign_server: ForeignServer, query: str
) -> None:
    name, path = query.split("=")
    page = browser.new_page()
    try:
        page.goto(f"{app_server.base_url}/docs?{name}={foreign_server.base_url}{path}")
        # A document's title, or Swagger UI's error when it could not load one.
        page.wait_for_selector(".info .title, .errors-wrapper", timeout=15_000)
        page.wait_for_load_state("networkidle")
        titles = page.locator(".info .title").all_inner_texts()
    finally:
        page.close()

    assert foreign_server.requests == []
    assert len(titles) == 1, titles
    assert titles[0].startswith("example-app"), titles
