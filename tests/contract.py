"""Holding responses to the OpenAPI document: a TestClient that validates every
response it receives against example_app/openapi.yaml (status, headers, body)."""

from __future__ import annotations

from functools import cache
from typing import Any
from urllib.parse import parse_qsl

import falcon.testing
import yaml
from openapi_core import Config, OpenAPI
from openapi_core.templating.paths.exceptions import OperationNotFound, PathNotFound
from openapi_core.testing import MockRequest, MockResponse

from example_app.docs import load_openapi_document
from example_app.metrics import STANDARD_METHODS

# Swagger UI's files (scripts, styles, icons): served by the app, but not API operations.
STATIC_ASSETS = "/docs/"


@cache
def openapi() -> OpenAPI:
    # Built once per test run: parsing and checking the document is the slow part.
    # openapi-core reads JSON and text itself; /openapi.yaml needs a YAML reader.
    config = Config(extra_media_type_deserializers={"application/yaml": yaml.safe_load})
    return OpenAPI.from_dict(load_openapi_document()[1], config=config)


def validate_exchange(
    method: str, path: str, query: dict[str, Any] | None, result: falcon.testing.Result
) -> None:
    """Raise if `result` is not a response the document allows for this request."""
    request = MockRequest(
        "http://falconframework.org",
        method.lower(),
        path,
        args=query or {},
        content_type="application/json",
    )
    content_type = result.headers.get("Content-Type", "")
    response = MockResponse(
        result.content,
        status_code=result.status_code,
        headers=dict(result.headers),
        content_type=content_type.split(";")[0],
    )
    if path.startswith(STATIC_ASSETS):
        return
    try:
        openapi().validate_response(request, response)
    except (PathNotFound, OperationNotFound):
        # Only Falcon's own answers to unknown paths and methods may be undocumented: 404,
        # 405, and 400 for a method HTTP does not define.
        if result.status_code not in (404, 405) and not (
            result.status_code == 400 and method.upper() not in STANDARD_METHODS
        ):
            raise


class ContractCheckingClient(falcon.testing.TestClient):
    """A TestClient whose every response must match the OpenAPI document."""

    def simulate_request(self, *args: Any, **kwargs: Any) -> falcon.testing.Result:
        result = super().simulate_request(*args, **kwargs)
        method = kwargs.get("method", args[0] if args else "GET")
        path = kwargs.get("path", args[1] if len(args) > 1 else "/")
        query = dict(kwargs.get("params") or {})
        query.update(parse_qsl(kwargs.get("query_string") or ""))
        # OPTIONS is Falcon's own answer, the same for every route; not in the document.
        if method.upper() != "OPTIONS":
            validate_exchange(method, path, query, result)
        return result
