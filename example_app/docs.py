"""The API contract (openapi.yaml, beside this file) served as JSON and YAML, and the
Swagger UI page that shows it, with every asset served by the app (works offline).

Swagger UI's files come from swagger-ui-py's package (its `static` folder); none of its
Python code runs. The page and the script that starts Swagger UI are ours: they load the
app's own document and nothing else, whatever the page's query string says.

Why swagger-ui-py (25.7.1, Swagger UI 5.24.2, when chosen): of the packages that ship Swagger UI's
files, it is the most used on the 5.x line that needs no web framework; swagger-ui-bundle
1.1.0 still ships Swagger UI 4.15, and swagger-ui-py-x needs Python 3.12. The template
started with falcon-swagger-ui 1.2.2, whose last release (2021) bundles Swagger UI 3.x,
which loads any document named by `?url=`, and whose static route answered DELETE, PUT
or invented methods with 200. The cost: about 25 MB installed (mostly Swagger Editor,
never served), and its declared dependencies (Jinja2, MarkupSafe, packaging) stay pinned
though nothing here uses them.
"""

from __future__ import annotations

import html
import json
from importlib import resources, util
from pathlib import Path
from typing import Any

import falcon
import yaml

DOCS_PATH = "/docs"
DOCS_ASSET_PATH = "/docs/{name}"
SPEC_JSON_PATH = "/openapi.json"
SPEC_YAML_PATH = "/openapi.yaml"

# The package whose `static` folder holds Swagger UI's dist files (swagger-ui-py).
SWAGGER_UI_PACKAGE = "swagger_ui"
# The only files of it served, with their media types; the rest (Swagger Editor, source
# maps, the sample page) is not reachable.
SWAGGER_UI_FILES = {
    "swagger-ui.css": "text/css; charset=utf-8",
    "swagger-ui-bundle.js": "text/javascript; charset=utf-8",
    "favicon-32x32.png": "image/png",
    "favicon-16x16.png": "image/png",
}
INITIALIZER = "swagger-initializer.js"

# How Swagger UI starts (its defaults: the APIs preset and BaseLayout, with no URL bar).
SWAGGER_UI_CONFIG: dict[str, Any] = {
    "url": SPEC_JSON_PATH,
    "dom_id": "#swagger-ui",
    # The document is this app's only: never one named in the page's query string
    # (`?url=`, `?configUrl=`), which would show anyone's text and links on our origin.
    "queryConfigEnabled": False,
    # No badge from validator.swagger.io: the page must make no outside requests.
    "validatorUrl": None,
    "deepLinking": True,
    "docExpansion": "list",
    "supportedSubmitMethods": ["get", "post", "put", "delete"],
}

# Scripts, styles, images and requests from this origin only (Swagger UI draws some icons
# as data: URIs; it needs no inline script or style), and no framing by other sites. Were a
# document ever named by the address bar again, the browser would still refuse to fetch it.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'"
)

PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{title}</title>
<link rel="stylesheet" href="/docs/swagger-ui.css">
<link rel="icon" type="image/png" href="/docs/favicon-32x32.png" sizes="32x32">
<link rel="icon" type="image/png" href="/docs/favicon-16x16.png" sizes="16x16">
</head>
<body>
<div id="swagger-ui"></div>
<script src="/docs/swagger-ui-bundle.js"></script>
<script src="/docs/swagger-initializer.js"></script>
</body>
</html>
"""


def load_openapi_document() -> tuple[bytes, dict[str, Any]]:
    """The contract as the repository keeps it (YAML bytes) and parsed."""
    raw = resources.files("example_app").joinpath("openapi.yaml").read_bytes()
    # libyaml's loader (in PyYAML's wheels): 4 ms here, against 35 ms in pure Python.
    document: dict[str, Any] = yaml.load(raw, Loader=yaml.CSafeLoader)
    return raw, document


class OpenApiResource:
    """Serves the document in one format; encoded once, at start."""

    def __init__(self, body: bytes, content_type: str) -> None:
        self._body = body
        self._content_type = content_type

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        resp.content_type = self._content_type
        resp.data = self._body


class DocsPageResource:
    """The Swagger UI page: GET and HEAD only (Falcon answers 405 to other methods)."""

    def __init__(self, title: str) -> None:
        self._body = PAGE.format(title=html.escape(title)).encode()

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        resp.content_type = falcon.MEDIA_HTML
        resp.set_header("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        resp.data = self._body

    on_head = on_get


class DocsAssetResource:
    """A fixed set of files, read once: GET and HEAD only, 404 for any other name."""

    def __init__(self, files: dict[str, tuple[bytes, str]]) -> None:
        self._files = files

    def on_get(self, req: falcon.Request, resp: falcon.Response, name: str) -> None:
        found = self._files.get(name)
        if found is None:
            raise falcon.HTTPNotFound()
        resp.data, resp.content_type = found
        resp.set_header("X-Content-Type-Options", "nosniff")

    on_head = on_get


def swagger_ui_directory() -> Path:
    """Swagger UI's dist files, found without importing swagger-ui-py's code."""
    spec = util.find_spec(SWAGGER_UI_PACKAGE)
    assert spec is not None, "swagger-ui-py is not installed (requirements.txt)"
    assert spec.origin is not None
    return Path(spec.origin).parent / "static"


def docs_assets() -> dict[str, tuple[bytes, str]]:
    """Every file the page loads, by name: its bytes and media type."""
    directory = swagger_ui_directory()
    files = {
        name: ((directory / name).read_bytes(), kind) for name, kind in SWAGGER_UI_FILES.items()
    }
    initializer = f"window.ui = SwaggerUIBundle({json.dumps(SWAGGER_UI_CONFIG)});\n"
    files[INITIALIZER] = (initializer.encode(), "text/javascript; charset=utf-8")
    return files


def add_api_docs(app: falcon.App[Any, Any]) -> None:
    raw_yaml, document = load_openapi_document()
    app.add_route(
        SPEC_JSON_PATH, OpenApiResource(json.dumps(document).encode(), "application/json")
    )
    app.add_route(SPEC_YAML_PATH, OpenApiResource(raw_yaml, "application/yaml"))
    app.add_route(DOCS_PATH, DocsPageResource(f"{document['info']['title']} API"))
    app.add_route(DOCS_ASSET_PATH, DocsAssetResource(docs_assets()))
