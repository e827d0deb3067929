"""The OpenAPI document and the code agree: same routes, and responses that match it.

Every response any unit test gets through `make_client` is also checked against the
document (see tests/contract.py); these tests check the document and the routing.
"""

from __future__ import annotations

from typing import Any

import falcon
import falcon.inspect
import falcon.testing
import pytest
from openapi_core.validation.response.exceptions import InvalidData
from openapi_spec_validator import validate

import example_app
from example_app.app import create_app
from example_app.config import Config
from example_app.docs import load_openapi_document
from example_app.resources import ITEM_KEY_PATTERN
from example_app.storage import MemoryItemStore
from tests.contract import STATIC_ASSETS, ContractCheckingClient

HTTP_METHODS = {"get", "put", "post", "delete", "patch", "head", "options", "trace"}


@pytest.fixture
def document():
    return load_openapi_document()[1]


def routed_operations(app: falcon.App[Any, Any]) -> set[tuple[str, str]]:
    # Swagger UI's files (/docs/{name}) are the docs page's, not operations of the API.
    return {
        (route.path, method.method)
        for route in falcon.inspect.inspect_routes(app)
        for method in route.methods
        if not method.internal and not route.path.startswith(STATIC_ASSETS)
    }


def documented_operations(document) -> set[tuple[str, str]]:
    return {
        (path, method.upper())
        for path, operations in document["paths"].items()
        for method in operations
        if method in HTTP_METHODS
    }


def test_the_document_is_valid_openapi_3(document):
    validate(document)
    assert document["openapi"].startswith("3.")


def test_every_route_the_app_registers_is_documented(make_app, document):
    undocumented = routed_operations(make_app()) - documented_operations(document)
    assert undocumented == set()


def test_every_documented_operation_is_routed(make_app, document):
    unrouted = documented_operations(document) - routed_operations(make_app())
    assert unrouted == set()


def test_every_operation_has_an_id_and_a_summary(document):
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            if method in HTTP_METHODS:
                assert operation.get("operationId"), (method, path)
                assert operation.get("summary"), (method, path)


def test_info_version_follows_the_package_version(document):
    assert document["info"]["version"] == example_app.__version__


def test_the_item_key_pattern_is_the_one_the_code_enforces(document):
    assert document["components"]["schemas"]["ItemKey"]["pattern"] == (
        f"^{ITEM_KEY_PATTERN.pattern}$"
    )


def test_a_response_the_document_does_not_allow_fails_the_check():
    class WrongInfo:
        def on_get(self, req, resp):
            resp.media = {"name": 42}

    app = create_app(Config(), store=MemoryItemStore())
    app.add_route("/info", WrongInfo())
    with pytest.raises(InvalidData):
        ContractCheckingClient(app).simulate_get("/info")


def test_openapi_json_serves_the_document(client, document):
    result = client.simulate_get("/openapi.json")
    assert result.status_code == 200
    assert result.json == document


def test_openapi_yaml_serves_the_file_as_kept(client):
    result = client.simulate_get("/openapi.yaml")
    assert result.status_code == 200
    assert result.headers["Content-Type"] == "application/yaml"
    assert result.content == load_openapi_document()[0]
