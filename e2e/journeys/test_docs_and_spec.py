import re

from e2e.client import Client
from e2e.journeys.deployment import Deployment

# The Swagger UI page's own assets (stylesheets, scripts), all served by the app.
ASSET = re.compile(r'(?:href|src)="(/docs/[^"]+)"')


def test_docs_and_spec_reachable(client: Client, deployment: Deployment) -> None:
    page = client.get("/docs")
    assert page.status == 200
    assert page.headers.get_content_type() == "text/html"
    assets = ASSET.findall(page.text)
    assert any(asset.endswith(".js") for asset in assets), assets
    for asset in assets:
        assert client.get(asset).status == 200, asset

    spec = client.get("/openapi.json")
    assert spec.status == 200
    document = spec.json()
    assert document["info"]["version"] == deployment.expected_version
    assert "/items/{key}" in document["paths"]

    raw = client.get("/openapi.yaml")
    assert raw.status == 200
    assert f"version: {deployment.expected_version}" in raw.text
