"""Span export to an OpenTelemetry collector over OTLP/HTTP, when it is configured.

Imported only when OTEL_EXPORTER_OTLP_ENDPOINT (or ..._TRACES_ENDPOINT) is set: with
export off, neither this module nor the SDK's tracing, the exporter or protobuf is loaded
(redis-py 8 imports the SDK's metrics by itself whenever the SDK is installed). The SDK
reads its other standard variables itself (OTEL_TRACES_SAMPLER, OTEL_EXPORTER_OTLP_HEADERS,
OTEL_BSP_*...).

Spans are made here, by hand, rather than by opentelemetry-instrumentation-falcon: it
patches falcon.App at import, and RequestMiddleware already holds each request's start,
route and status. Every request is a server span; every call to another service
(clients.py) a client span under it, whose id goes out in `traceparent`.

Spans are queued and sent in batches by the SDK's own thread, so a collector that is
down or hangs delays no request: when the queue is full, spans are dropped. The thread
is started again in each uWSGI worker (the SDK's at-fork hook; uwsgi.ini's
py-call-uwsgi-fork-hooks runs it), and what is queued is sent when the worker exits, for at
most SHUTDOWN_SECONDS, inside the platform's 10 s after SIGTERM.
"""

from __future__ import annotations

import atexit
import threading
from collections.abc import Mapping
from typing import Any

from opentelemetry import trace
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter
from opentelemetry.trace import NonRecordingSpan, SpanKind, StatusCode, TraceFlags, TraceState

from example_app.config import Config
from example_app.tracing import Span, incoming_parent

SHUTDOWN_SECONDS = 2.0


class RecordedSpan(Span):
    """A Span that is also the exporter's span, to be ended with the request."""

    __slots__ = ("recorded",)

    def __init__(self, recorded: trace.Span, tracestate: str | None) -> None:
        context = recorded.get_span_context()
        super().__init__(
            f"{context.trace_id:032x}",
            f"{context.span_id:016x}",
            f"{context.trace_flags:02x}",
            tracestate,
        )
        self.recorded = recorded


class OpenTelemetryTracing:
    """Tracing (tracing.py) that records spans and exports them over OTLP/HTTP."""

    def __init__(self, config: Config, exporter: SpanExporter | None = None) -> None:
        # OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES, read by the SDK, come first.
        resource = Resource.create({"service.version": config.version})
        if str(resource.attributes.get("service.name", "")).startswith("unknown_service"):
            resource = resource.merge(Resource({"service.name": config.service_name}))
        self._provider = TracerProvider(resource=resource, shutdown_on_exit=False)
        self._provider.add_span_processor(BatchSpanProcessor(exporter or OTLPSpanExporter()))
        self._tracer = self._provider.get_tracer("example_app")
        atexit.register(self.shutdown)

    def start(self, environ: Mapping[str, Any]) -> Span:
        parent = incoming_parent(environ)
        method = environ.get("REQUEST_METHOD", "")
        recorded = self._tracer.start_span(
            method,  # named for its route at the end, when the route is known
            context=_remote_parent(parent),
            kind=SpanKind.SERVER,
            attributes={"http.request.method": method, "url.path": environ.get("PATH_INFO", "")},
        )
        return RecordedSpan(recorded, parent.tracestate if parent is not None else None)

    def end(self, span: Span, method: str, route: str, status: int) -> None:
        assert isinstance(span, RecordedSpan)
        recorded = span.recorded
        recorded.update_name(f"{method} {route}")
        recorded.set_attribute("http.route", route)
        recorded.set_attribute("http.response.status_code", status)
        if status >= 500:
            recorded.set_status(StatusCode.ERROR)
        recorded.end()

    def outbound(self, parent: Span | None, method: str, url: str) -> _ClientSpan:
        context = None
        if isinstance(parent, RecordedSpan):
            context = trace.set_span_in_context(parent.recorded)
        recorded = self._tracer.start_span(
            method,
            context=context,
            kind=SpanKind.CLIENT,
            attributes={"http.request.method": method, "url.full": url},
        )
        return _ClientSpan(recorded, parent.tracestate if parent is not None else None)

    def shutdown(self) -> None:
        """Send what is queued, for at most SHUTDOWN_SECONDS: the SDK's own bound is 30 s
        and a collector that hangs would hold the worker's exit that long."""
        flushing = threading.Thread(target=self._provider.shutdown, daemon=True)
        flushing.start()
        flushing.join(SHUTDOWN_SECONDS)


class _ClientSpan:
    def __init__(self, recorded: trace.Span, tracestate: str | None) -> None:
        self._recorded = recorded
        self.headers = RecordedSpan(recorded, tracestate).headers()

    def finish(self, status: int | None) -> None:
        if status is None:
            self._recorded.set_status(StatusCode.ERROR)
        else:
            self._recorded.set_attribute("http.response.status_code", status)
            if status >= 500:
                self._recorded.set_status(StatusCode.ERROR)
        self._recorded.end()


def _remote_parent(parent: Span | None) -> Any:
    if parent is None:
        return None  # a new trace; the sampler decides whether it is recorded
    remote = trace.SpanContext(
        trace_id=int(parent.trace_id, 16),
        span_id=int(parent.span_id, 16),
        is_remote=True,
        trace_flags=TraceFlags(int(parent.flags, 16)),
        trace_state=TraceState.from_header([parent.tracestate] if parent.tracestate else []),
    )
    return trace.set_span_in_context(NonRecordingSpan(remote))
