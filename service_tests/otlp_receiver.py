"""An OpenTelemetry collector's OTLP/HTTP traces endpoint, on loopback: it decodes and
records every span it is sent. The collector binary cannot be installed here; the
protobuf messages are the ones the exporter itself is built on (opentelemetry-proto)."""

from __future__ import annotations

import threading
from dataclasses import dataclass

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from local_platform.processes import wait_until

TRACES_PATH = "/v1/traces"


@dataclass(frozen=True)
class ReceivedSpan:
    service: str
    name: str
    kind: str  # SPAN_KIND_SERVER, SPAN_KIND_CLIENT
    trace_id: str
    span_id: str
    parent_span_id: str  # "" for a trace's first span


class OtlpReceiver(HTTPServer):
    def __init__(self) -> None:
        super().__init__(host="127.0.0.1", port=0, threaded=True)
        self.spans: list[ReceivedSpan] = []
        self.hang = threading.Event()  # set: every export waits until released
        self.released = threading.Event()
        self.expect_request(TRACES_PATH, method="POST").respond_with_handler(self._receive)

    @property
    def endpoint(self) -> str:
        """What OTEL_EXPORTER_OTLP_ENDPOINT is set to; the exporter appends /v1/traces."""
        return f"http://{self.host}:{self.port}"

    def wait_for(self, *span_ids: str, kind: str = "", timeout: float = 10.0) -> list[ReceivedSpan]:
        """Every span received once those named, and one of `kind` if given, are among
        them: what else arrives (the readiness probes' spans) varies with timing."""

        def arrived() -> bool:
            received = list(self.spans)
            ids = {span.span_id for span in received}
            return set(span_ids) <= ids and (not kind or any(s.kind == kind for s in received))

        if not wait_until(arrived, timeout):
            raise AssertionError(f"not received: {span_ids} {kind}; received: {self.spans}")
        return list(self.spans)

    def _receive(self, request: Request) -> Response:
        if self.hang.is_set():
            self.released.wait(30)  # bounded: the test releases it when it ends
        message = ExportTraceServiceRequest()
        message.ParseFromString(request.get_data())
        for resource_spans in message.resource_spans:
            attributes = {a.key: a.value.string_value for a in resource_spans.resource.attributes}
            for scope_spans in resource_spans.scope_spans:
                for span in scope_spans.spans:
                    self.spans.append(
                        ReceivedSpan(
                            service=attributes.get("service.name", ""),
                            name=span.name,
                            kind=span.SpanKind.Name(span.kind),
                            trace_id=span.trace_id.hex(),
                            span_id=span.span_id.hex(),
                            parent_span_id=span.parent_span_id.hex(),
                        )
                    )
        return Response(
            ExportTraceServiceResponse().SerializeToString(),
            content_type="application/x-protobuf",
        )
