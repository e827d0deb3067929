"""Tracing against the real process: W3C Trace Context always, and span export over
OTLP/HTTP to a recording receiver when the OpenTelemetry variables turn it on."""

from __future__ import annotations

import re
import signal
from collections.abc import Iterator

import pytest
from pytest_httpserver import HTTPServer

from service_tests.conftest import AppFactory
from service_tests.harness import AppServer
from service_tests.otlp_receiver import OtlpReceiver

TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
PARENT_ID = "00f067aa0ba902b7"
TRACEPARENT = f"00-{TRACE_ID}-{PARENT_ID}-01"
# What PYTHONVERBOSE=1 makes Python print when it imports the span export: our module, the
# SDK's tracing, the OTLP exporter or protobuf. Not `opentelemetry` as a whole: redis-py 8
# imports the SDK's metrics itself whenever the SDK is installed (README, Tracing).
EXPORT_IMPORTED = re.compile(
    r"^import '(example_app\.telemetry|opentelemetry\.sdk\.trace|opentelemetry\.exporter"
    r"|google\.protobuf)'",
    re.MULTILINE,
)


@pytest.fixture
def otlp_receiver() -> Iterator[OtlpReceiver]:
    receiver = OtlpReceiver()
    receiver.start()
    yield receiver
    receiver.released.set()
    receiver.stop()


def priced(app: AppServer, pricing_stub: HTTPServer, headers: dict[str, str]) -> str:
    """GET /items/apple/price with `headers`; our span's id, from traceresponse."""
    pricing_stub.expect_request("/prices/apple").respond_with_json({"amount": "1"})
    put = app.request("PUT", "/items/apple", b"{}", {"Content-Type": "application/json"})
    assert put.status in (200, 201)
    answer = app.get("/items/apple/price", headers=headers)
    assert answer.status == 200
    version, trace_id, span_id, flags = answer.headers["traceresponse"].split("-")
    assert (version, trace_id, flags) == ("00", TRACE_ID, "01")
    return span_id


def export_on(receiver: OtlpReceiver, **more: str) -> dict[str, str]:
    return {
        "OTEL_EXPORTER_OTLP_ENDPOINT": receiver.endpoint,
        "OTEL_BSP_SCHEDULE_DELAY": "50",  # milliseconds: send at once, for the test
        **more,
    }


# --- trace context, export off ---------------------------------------------------------------


def test_the_pricing_service_is_called_as_a_child_of_our_span(
    app_server: AppServer, pricing_stub: HTTPServer
) -> None:
    our_span = priced(
        app_server, pricing_stub, {"traceparent": TRACEPARENT, "tracestate": "vendor=7"}
    )

    (call, _), *_ = [(r, a) for r, a in pricing_stub.log if r.path == "/prices/apple"]
    assert call.headers["traceparent"] == f"00-{TRACE_ID}-{our_span}-01"
    assert call.headers["tracestate"] == "vendor=7"


def test_the_access_line_carries_the_span_of_traceresponse(app_server: AppServer) -> None:
    answer = app_server.get("/health/live", headers={"traceparent": TRACEPARENT})
    _, trace_id, span_id, _ = answer.headers["traceresponse"].split("-")

    entry = app_server.wait_for_log(lambda line: line.get("span_id") == span_id)
    assert entry["trace_id"] == trace_id == TRACE_ID
    assert entry["logger"] == "example_app.access"


def test_invented_trace_headers_start_a_new_trace_without_an_error(
    app_server: AppServer,
) -> None:
    answer = app_server.get(
        "/health/live",
        headers={"traceparent": f"00-{TRACE_ID}-{'z' * 16}-01", "tracestate": "\x01" * 4000},
    )

    assert answer.status == 200
    assert answer.headers["traceresponse"].split("-")[1] != TRACE_ID


def test_export_off_imports_nothing_of_span_export(
    start_app: AppFactory, pricing_stub: HTTPServer, otlp_receiver: OtlpReceiver
) -> None:
    app = start_app(PYTHONVERBOSE="1")
    priced(app, pricing_stub, {"traceparent": TRACEPARENT})
    assert app.get("/info").json()["trace_export"] is False
    # The same check sees the imports when export is on, so it can fail.
    exporting = start_app(PYTHONVERBOSE="1", **export_on(otlp_receiver))
    assert exporting.get("/info").json()["trace_export"] is True

    assert app.stop() == 0
    assert exporting.stop() == 0
    assert not EXPORT_IMPORTED.search(app.stderr_text())
    assert EXPORT_IMPORTED.search(exporting.stderr_text())


# --- export on -------------------------------------------------------------------------------


def test_one_trace_follows_our_request_into_the_pricing_service(
    start_app: AppFactory, pricing_stub: HTTPServer, otlp_receiver: OtlpReceiver
) -> None:
    app = start_app(**export_on(otlp_receiver))
    our_span = priced(app, pricing_stub, {"traceparent": TRACEPARENT})

    spans = otlp_receiver.wait_for(our_span, kind="SPAN_KIND_CLIENT")
    server = next(s for s in spans if s.span_id == our_span)
    [client] = [s for s in spans if s.kind == "SPAN_KIND_CLIENT"]
    (call, _), *_ = [(r, a) for r, a in pricing_stub.log if r.path == "/prices/apple"]
    assert (server.kind, server.name) == ("SPAN_KIND_SERVER", "GET /items/{key}/price")
    assert server.parent_span_id == PARENT_ID
    assert client.parent_span_id == server.span_id
    assert call.headers["traceparent"] == f"00-{TRACE_ID}-{client.span_id}-01"
    assert {s.trace_id for s in (server, client)} == {TRACE_ID}
    assert {s.service for s in spans} == {"example-app"}


def test_workers_start_while_the_exporter_thread_runs_in_the_master(
    start_app: AppFactory, otlp_receiver: OtlpReceiver
) -> None:
    # The span processor's thread starts in the master, before the workers are forked;
    # waking every millisecond, it often holds the GIL at a fork. Each start waits for
    # every worker to answer (start_app): without the GIL taken for the fork, most of
    # these starts left a worker waiting for it forever.
    for _ in range(3):
        app = start_app(**export_on(otlp_receiver, OTEL_BSP_SCHEDULE_DELAY="1"))
        assert app.stop() == 0


def test_spans_still_queued_at_sigterm_are_sent_before_exit(
    start_app: AppFactory, otlp_receiver: OtlpReceiver
) -> None:
    # A batch is due only after a minute: what arrives was sent at exit.
    app = start_app(**export_on(otlp_receiver, OTEL_BSP_SCHEDULE_DELAY="60000"))
    answer = app.get("/health/live", headers={"traceparent": TRACEPARENT})
    _, _, span_id, _ = answer.headers["traceresponse"].split("-")

    app.send_signal(signal.SIGTERM)

    assert app.wait_exit(10) == 0
    assert span_id in {s.span_id for s in otlp_receiver.wait_for(span_id, timeout=1)}


def test_a_receiver_that_hangs_fails_no_request_and_holds_no_exit(
    start_app: AppFactory, otlp_receiver: OtlpReceiver
) -> None:
    otlp_receiver.hang.set()
    app = start_app(**export_on(otlp_receiver))

    answers = [app.request("GET", "/", timeout=2).status for _ in range(200)]
    app.send_signal(signal.SIGTERM)

    assert answers == [200] * 200
    assert app.wait_exit(10) == 0


def test_an_endpoint_where_nothing_listens_fails_no_request(start_app: AppFactory) -> None:
    app = start_app(OTEL_EXPORTER_OTLP_ENDPOINT="http://127.0.0.1:9", OTEL_BSP_SCHEDULE_DELAY="50")

    answers = [app.request("GET", "/", timeout=2).status for _ in range(50)]

    assert answers == [200] * 50
    assert app.get("/health/ready").status == 200
    assert app.stop() == 0
