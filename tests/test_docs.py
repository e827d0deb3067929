"""The Swagger UI page at /docs and its assets: the app's own document only, whatever the
query string says, from files read once when the app is created, GET and HEAD only."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from example_app import docs
from example_app.app import create_app
from example_app.config import Config
from example_app.storage import MemoryItemStore
from tests.contract import ContractCheckingClient

ASSET_REFERENCE = re.compile(r'(?:src|href)="([^"]+)"')
MEDIA_TYPES = {
    "/docs/swagger-ui.css": "text/css; charset=utf-8",
    "/docs/swagger-ui-bundle.js": "text/javascript; charset=utf-8",
    "/docs/swagger-initializer.js": "text/javascript; charset=utf-8",
    "/docs/favicon-32x32.png": "image/png",
    "/docs/favicon-16x16.png": "image/png",
}


def initializer_config(client) -> dict[str, Any]:
    """The configuration our initializer script hands to SwaggerUIBundle."""
    script = client.simulate_get("/docs/swagger-initializer.js").text
    match = re.fullmatch(r"window\.ui = SwaggerUIBundle\((.*)\);\n", script, re.DOTALL)
    assert match, script
    config = json.loads(match.group(1))
    assert isinstance(config, dict)
    return config


def test_docs_is_an_html_page_titled_after_the_document_starting_our_initializer(client):
    result = client.simulate_get("/docs")
    assert result.status_code == 200
    assert result.headers["Content-Type"] == "text/html; charset=utf-8"
    assert "<title>example-app API</title>" in result.text
    assert ASSET_REFERENCE.findall(result.text)[-2:] == [
        "/docs/swagger-ui-bundle.js",
        "/docs/swagger-initializer.js",
    ]


def test_the_page_title_is_escaped_as_html(monkeypatch):
    raw, document = docs.load_openapi_document()
    document["info"]["title"] = "<script>alert(1)</script>"
    monkeypatch.setattr(docs, "load_openapi_document", lambda: (raw, document))
    client = ContractCheckingClient(create_app(Config(), store=MemoryItemStore()))
    page = client.simulate_get("/docs").text
    assert "<script>alert" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt; API" in page


def test_swagger_ui_loads_the_apps_own_document_whatever_the_query_says_and_no_validator(
    client,
):
    config = initializer_config(client)

    assert config["url"] == "/openapi.json"
    # Swagger UI 4.1.3 and later read ?url= and ?configUrl= only when this is true.
    assert config["queryConfigEnabled"] is False
    assert config["validatorUrl"] is None  # no outside validator is asked


def test_the_page_loads_scripts_and_makes_requests_to_its_own_origin_only(client):
    policy = client.simulate_get("/docs").headers["Content-Security-Policy"]
    directives = dict(directive.strip().split(" ", 1) for directive in policy.split(";"))
    assert directives["default-src"] == "'self'"
    # default-src's 'self' holds for scripts, styles and requests alike.
    assert {"script-src", "style-src", "connect-src"}.isdisjoint(directives)
    assert "'unsafe-inline'" not in policy
    assert directives["frame-ancestors"] == "'none'"


def test_the_bundled_swagger_ui_is_version_5(client):
    bundle = client.simulate_get("/docs/swagger-ui-bundle.js").text
    assert re.search(r'PACKAGE_VERSION:"5\.\d+\.\d+"', bundle)


def test_the_page_loads_exactly_the_assets_sent_with_their_media_type_and_nosniff(client):
    assets = ASSET_REFERENCE.findall(client.simulate_get("/docs").text)
    assert sorted(assets) == sorted(MEDIA_TYPES)
    for path in assets:
        result = client.simulate_get(path)
        assert result.status_code == 200, path
        assert result.headers["Content-Type"] == MEDIA_TYPES[path]
        assert result.headers["X-Content-Type-Options"] == "nosniff"


@pytest.mark.parametrize("path", ["/docs", "/docs/swagger-ui-bundle.js"])
def test_head_answers_the_headers_of_get_without_the_body(client, path):
    got = client.simulate_get(path)
    head = client.simulate_head(path)
    assert head.status_code == 200
    assert head.content == b""
    assert head.headers["Content-Type"] == got.headers["Content-Type"]
    assert head.headers["Content-Length"] == str(len(got.content))


@pytest.mark.parametrize("path", ["/docs", "/docs/swagger-ui.css"])
@pytest.mark.parametrize("method", ["POST", "PUT", "PATCH", "DELETE"])
def test_other_methods_get_405_with_allow_and_a_json_error(client, path, method):
    result = client.simulate_request(method, path)
    assert result.status_code == 405
    assert result.headers["Allow"] == "GET, HEAD, OPTIONS"
    assert result.json["title"] == "405 Method Not Allowed"
    assert result.json["description"].startswith(f"{method} is not allowed on {path}")


# falcon.testing checks requests with wsgiref.validate, which warns of invented methods.
@pytest.mark.filterwarnings("ignore:Unknown REQUEST_METHOD")
@pytest.mark.parametrize("path", ["/docs", "/docs/swagger-ui.css"])
def test_a_method_http_does_not_define_gets_400_as_anywhere_else(client, path):
    result = client.simulate_request("BREW", path)
    assert result.status_code == 400
    assert result.json == {"title": "Bad request", "description": "Invalid HTTP method"}


@pytest.mark.parametrize(
    "name",
    [
        "swagger-editor-bundle.js",  # in the package, not in the allow-list
        "swagger-ui-bundle.js.map",
        "index.html",
        "LICENSE",
        "",
    ],
)
def test_a_file_outside_the_allow_list_is_404(client, name):
    result = client.simulate_get(f"/docs/{name}")
    assert result.status_code == 404
    assert result.json["title"] == "404 Not Found"


def test_docs_assets_cannot_reach_outside_their_folder(client):
    assert client.simulate_get("/docs/../app.py").status_code == 404
    assert client.simulate_get("/docs/%2e%2e/app.py").status_code == 404
    assert client.simulate_get("/docs/..").status_code == 404


def test_swagger_ui_files_are_read_when_the_app_is_created(monkeypatch, tmp_path):
    for name in docs.SWAGGER_UI_FILES:
        (tmp_path / name).write_bytes(f"contents of {name}".encode())
    monkeypatch.setattr(docs, "swagger_ui_directory", lambda: tmp_path)
    client = ContractCheckingClient(create_app(Config(), store=MemoryItemStore()))
    (tmp_path / "swagger-ui.css").write_bytes(b"changed after the app was created")
    assert client.simulate_get("/docs/swagger-ui.css").text == "contents of swagger-ui.css"


def test_swagger_ui_files_come_from_swagger_ui_py():
    directory = docs.swagger_ui_directory()
    assert directory.parent.name == "swagger_ui"
    assert all((directory / name).is_file() for name in docs.SWAGGER_UI_FILES)
