"""The Swagger UI page in a real browser (Debian's chromium, headless), against the app
under uWSGI: it lists the operations and "Try it out" reaches the running app, with no
request leaving this machine. A screenshot is kept in test-artifacts/."""

from __future__ import annotations

import shutil
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, sync_playwright

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
