"""Span export over OTLP: when the standard variables turn it on, and what it records."""

from __future__ import annotations

import pytest
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

from example_app.config import Config, ConfigError, load_config
from example_app.telemetry import OpenTelemetryTracing
from example_app.tracing import current_span

ENDPOINT = "http://127.0.0.1:4318"
TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
PARENT_ID = "00f067aa0ba902b7"
TRACEPARENT = f"00-{TRACE_ID}-{PARENT_ID}-01"

# --- on or off -------------------------------------------------------------------------------


def test_export_is_off_without_an_endpoint():
    assert load_config({}).trace_export is False


@pytest.mark.parametrize(
    "variable", ["OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"]
)
def test_export_is_on_with_an_endpoint(variable):
    assert load_config({variable: ENDPOINT}).trace_export is True


@pytest.mark.parametrize(
    "switch",
    [
        pytest.param({"OTEL_SDK_DISABLED": "true"}, id="sdk-disabled"),
        pytest.param({"OTEL_TRACES_EXPORTER": "none"}, id="exporter-none"),
    ],
)
def test_the_standard_switches_turn_export_off_despite_an_endpoint(switch):
    assert load_config({"OTEL_EXPORTER_OTLP_ENDPOINT": ENDPOINT, **switch}).trace_export is False


@pytest.mark.parametrize(
    ("variables", "named"),
    [
        ({"OTEL_TRACES_EXPORTER": "zipkin"}, "OTEL_TRACES_EXPORTER"),
        ({"OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"}, "OTEL_EXPORTER_OTLP_PROTOCOL"),
        ({"OTEL_EXPORTER_OTLP_TRACES_PROTOCOL": "grpc"}, "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL"),
        ({"OTEL_EXPORTER_OTLP_ENDPOINT": "collector:4318"}, "OTEL_EXPORTER_OTLP_ENDPOINT"),
    ],
)
def test_what_the_service_cannot_export_with_is_refused_at_start(variables, named):
    with pytest.raises(ConfigError, match=named):
        load_config({"OTEL_EXPORTER_OTLP_ENDPOINT": ENDPOINT, **variables})


# --- what is recorded ------------------------------------------------------------------------


@pytest.fixture
def exported():
    return InMemorySpanExporter()


@pytest.fixture
def tracing(exported):
    return OpenTelemetryTracing(Config(version="1.2.3"), exporter=exported)


def finished(tracing, exported):
    tracing.shutdown()  # sends what the batch holds
    return {span.kind: span for span in exported.get_finished_spans()}


NO_CALL = object()


def serve(tracing, environ, status=200, call=NO_CALL):
    """What RequestMiddleware and ServiceClient do around one request; `call` is the
    status of the request's call to another service (None: no answer)."""
    span = tracing.start({"REQUEST_METHOD": "GET", "PATH_INFO": "/items/a/price", **environ})
    token = current_span.set(span)
    if call is not NO_CALL:
        outbound = tracing.outbound(span, "GET", "http://pricing/prices/a")
        outbound.finish(call)
        headers = outbound.headers
    else:
        headers = {}
    current_span.reset(token)
    tracing.end(span, "GET", "/items/{key}/price", status)
    return span, headers


def test_a_request_is_a_server_span_under_the_callers(tracing, exported):
    span, _ = serve(tracing, {"HTTP_TRACEPARENT": TRACEPARENT})

    server = finished(tracing, exported)[SpanKind.SERVER]
    assert f"{server.context.trace_id:032x}" == TRACE_ID == span.trace_id
    assert f"{server.parent.span_id:016x}" == PARENT_ID
    assert f"{server.context.span_id:016x}" == span.span_id


def test_the_server_span_is_named_for_the_route_with_its_status(tracing, exported):
    serve(tracing, {}, status=200)

    server = finished(tracing, exported)[SpanKind.SERVER]
    assert server.name == "GET /items/{key}/price"
    assert server.attributes["http.route"] == "/items/{key}/price"
    assert server.attributes["http.response.status_code"] == 200
    assert server.status.status_code == StatusCode.UNSET


def test_a_5xx_answer_marks_the_server_span_as_an_error(tracing, exported):
    serve(tracing, {}, status=503)

    assert finished(tracing, exported)[SpanKind.SERVER].status.status_code == StatusCode.ERROR


def test_a_call_is_a_client_span_whose_id_goes_out_as_the_parent(tracing, exported):
    span, headers = serve(tracing, {"HTTP_TRACEPARENT": TRACEPARENT}, call=200)

    client = finished(tracing, exported)[SpanKind.CLIENT]
    assert f"{client.parent.span_id:016x}" == span.span_id
    assert headers["traceparent"] == f"00-{TRACE_ID}-{client.context.span_id:016x}-01"
    assert client.attributes["http.response.status_code"] == 200


@pytest.mark.parametrize("status", [None, 502])
def test_a_call_without_an_answer_or_with_a_5xx_is_an_error_span(tracing, exported, status):
    serve(tracing, {}, call=status)

    assert finished(tracing, exported)[SpanKind.CLIENT].status.status_code == StatusCode.ERROR


def test_a_call_outside_any_request_starts_its_own_trace(tracing, exported):
    tracing.outbound(None, "GET", "http://pricing/health/live").finish(200)

    assert finished(tracing, exported)[SpanKind.CLIENT].parent is None


def test_spans_name_the_service_and_its_version(tracing, exported):
    serve(tracing, {})

    resource = finished(tracing, exported)[SpanKind.SERVER].resource.attributes
    assert resource["service.name"] == "example-app"
    assert resource["service.version"] == "1.2.3"


def test_otel_service_name_names_the_service_instead(exported, monkeypatch):
    monkeypatch.setenv("OTEL_SERVICE_NAME", "checkout")
    tracing = OpenTelemetryTracing(Config(), exporter=exported)
    serve(tracing, {})

    resource = finished(tracing, exported)[SpanKind.SERVER].resource.attributes
    assert resource["service.name"] == "checkout"


def test_a_callers_junk_tracestate_costs_no_log_line(tracing, exported, caplog):
    serve(tracing, {"HTTP_TRACEPARENT": TRACEPARENT, "HTTP_TRACESTATE": "garbage!!"})

    assert finished(tracing, exported)[SpanKind.SERVER].context.trace_state == {}
    assert caplog.records == []
