"""Property-based fuzzing from the OpenAPI document against the app under uWSGI, with
schemathesis: every documented operation, a bounded number of generated requests each
(examples, boundaries, random data, and stateful sequences using the document's links);
no 5xx, every answer as documented, and the app healthy afterwards. A finding is fixed
in the app or the document, never filtered out here."""

from __future__ import annotations

import re
import subprocess
import sys

from pytest_httpserver import HTTPServer

from service_tests.harness import REPO_ROOT, AppServer

# Enough to reach the boundaries of every parameter and body, few enough for CI.
EXAMPLES_PER_OPERATION = 25
REPORT_DIR = REPO_ROOT / "test-artifacts" / "schemathesis"


def test_every_operation_answers_as_documented(
    app_server: AppServer, pricing_stub: HTTPServer
) -> None:
    # A healthy pricing service, so that its calls are not what fails.
    pricing_stub.expect_request(re.compile(r"^/prices/[^/]+$")).respond_with_json(
        {"amount": "1.00", "currency": "EUR"}
    )
    command = [
        sys.executable,
        "-m",
        "schemathesis.cli",
        "run",
        f"{app_server.base_url}/openapi.json",
        "--checks=all",
        f"--max-examples={EXAMPLES_PER_OPERATION}",
        "--report=junit",
        f"--report-dir={REPORT_DIR}",
    ]
    run = subprocess.run(command, capture_output=True, text=True, timeout=300, check=False)

    assert run.returncode == 0, run.stdout[-6000:] + run.stderr[-2000:]
    # Every operation of the document, none left out (a skipped one would pass silently).
    assert f"Tested: {_operation_count(app_server)}\n" in run.stdout, run.stdout[-2000:]


def test_the_app_is_healthy_after_fuzzing(app_server: AppServer) -> None:
    assert app_server.get("/health/ready").status == 200
    assert not app_server.exited
    assert 500 not in {line["status"] for line in app_server.access_log()}


def _operation_count(app_server: AppServer) -> int:
    """The document's operations but `GET /openapi.json`: schemathesis leaves out the one
    it loaded the document from."""
    paths = app_server.get("/openapi.json").json()["paths"]
    operations = {
        (path, method) for path, item in paths.items() for method in item if method in _HTTP_METHODS
    }
    return len(operations - {("/openapi.json", "get")})


# The keys of an OpenAPI path item that are operations (the others: parameters, summary...).
_HTTP_METHODS = {"get", "put", "post", "delete", "options", "head", "patch", "trace"}
