"""The docs page and Swagger UI's files under uWSGI: GET and HEAD answer them with their
media types; any other method is refused with the app's JSON error, never served."""

from __future__ import annotations

import re

import pytest

from service_tests.harness import AppServer

ASSET_REFERENCE = re.compile(r'(?:src|href)="(/docs/[^"]+)"')
MEDIA_TYPES = {
    ".css": "text/css; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".png": "image/png",
}
REFUSED = ["DELETE", "PUT", "POST", "PATCH"]


def page_assets(app_server: AppServer) -> list[str]:
    assets = ASSET_REFERENCE.findall(app_server.get("/docs").text)
    assert len(assets) == 5, assets  # stylesheet, two icons, Swagger UI, our initializer
    return assets


def test_get_and_head_answer_each_asset_with_its_media_type(app_server: AppServer) -> None:
    for asset in page_assets(app_server):
        expected = MEDIA_TYPES[asset[asset.rindex(".") :]]
        got = app_server.request("GET", asset)
        head = app_server.request("HEAD", asset)

        assert (got.status, head.status) == (200, 200), asset
        assert got.headers["Content-Type"] == expected, asset
        assert head.headers["Content-Type"] == expected, asset
        assert int(head.headers["Content-Length"]) == len(got.body) > 0, asset
        assert head.body == b"", asset


def test_head_of_the_page_answers_its_headers_without_a_body(app_server: AppServer) -> None:
    got = app_server.request("GET", "/docs")
    head = app_server.request("HEAD", "/docs")

    assert head.status == 200
    assert head.headers["Content-Type"] == got.headers["Content-Type"] == "text/html; charset=utf-8"
    assert int(head.headers["Content-Length"]) == len(got.body)
    assert head.body == b""


@pytest.mark.parametrize("method", REFUSED)
def test_other_methods_on_the_page_and_its_assets_get_405(
    app_server: AppServer, method: str
) -> None:
    for path in ["/docs", *page_assets(app_server)]:
        result = app_server.request(method, path, body=b"{}")

        assert result.status == 405, (method, path)
        assert result.headers["Allow"] == "GET, HEAD, OPTIONS", (method, path)
        assert result.headers["Content-Type"] == "application/json", (method, path)
        assert result.json()["title"] == "405 Method Not Allowed", (method, path)


def test_an_invented_method_on_the_page_and_its_assets_gets_400(app_server: AppServer) -> None:
    # As anywhere in the app: a method HTTP does not define is a bad request.
    for path in ["/docs", *page_assets(app_server)]:
        result = app_server.request("BREW", path)

        assert result.status == 400, path
        assert result.json() == {"title": "Bad request", "description": "Invalid HTTP method"}


def test_files_of_the_package_the_page_does_not_load_are_not_served(
    app_server: AppServer,
) -> None:
    for name in ["swagger-editor-bundle.js", "swagger-ui-bundle.js.map", "index.html"]:
        result = app_server.get(f"/docs/{name}")

        assert result.status == 404, name
        assert result.json()["title"] == "404 Not Found", name
