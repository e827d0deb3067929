"""What happens around every request: its id and span, its body's deadline, its access
log line and its metrics.

One middleware does them all, because they share the request's start time and id, and
every middleware Falcon calls costs time on every request.
"""

from __future__ import annotations

import random
import time
from typing import TypeGuard

import falcon

from example_app.body_deadline import BodyDeadlines
from example_app.framing import REFUSAL
from example_app.json_body import reject_ambiguous_framing
from example_app.logs import JsonLines, current_request_id
from example_app.metrics import UNMATCHED_ROUTE, Metrics
from example_app.tracing import TRACERESPONSE, TraceContext, Tracing, current_span

REQUEST_ID_HEADER = "X-Request-ID"
_REQUEST_ID_ENVIRON_KEY = "HTTP_X_REQUEST_ID"  # how WSGI passes that header
_MAX_REQUEST_ID_LENGTH = 128


class RequestMiddleware:
    """Gives each request an id and a span, refuses ambiguous framing, watches the body's
    deadline, then logs and counts the request.

    The id comes from the caller's X-Request-ID when it is sane (so one id follows a
    request across services) or is made here, and goes back on the response. A made id
    is 128 random bits from `random`, which Python reseeds from the OS in each forked
    worker (uwsgi.ini's py-call-uwsgi-fork-hooks): unique enough to tell requests apart,
    without `secrets`' system call per request. It is a label, not a secret. The span
    (tracing.py) continues the caller's trace or starts one.

    The access log line (uWSGI's own request logging is off, see uwsgi.ini) is written
    with one system call and no LogRecord; `access_log=False` leaves it out, as a
    LOG_LEVEL above INFO does.
    """

    def __init__(
        self,
        metrics: Metrics,
        lines: JsonLines,
        access_log: bool,
        body_deadlines: BodyDeadlines | None = None,
        tracing: Tracing | None = None,
    ) -> None:
        self._metrics = metrics
        self._lines = lines
        self._access_log = access_log
        self._body_deadlines = body_deadlines or BodyDeadlines()
        self._tracing = tracing or TraceContext()

    def process_request(self, req: falcon.Request, resp: falcon.Response) -> None:
        context = req.context
        context.started = time.perf_counter()
        request_id = req.env.get(_REQUEST_ID_ENVIRON_KEY)
        if not _is_acceptable_request_id(request_id):
            request_id = random.randbytes(16).hex()
        context.request_id = request_id
        context.request_id_token = current_request_id.set(request_id)
        resp.set_header(REQUEST_ID_HEADER, request_id)
        context.span = span = self._tracing.start(req.env)
        context.span_token = current_span.set(span)
        resp.set_header(TRACERESPONSE, span.traceparent())
        context.watched_body = None
        # After the id, so that the 400 carries it and is logged and counted like any answer.
        refusal = req.env.get(REFUSAL)  # a head uWSGI could not pass whole (framing.py)
        if refusal is not None:
            raise refusal
        reject_ambiguous_framing(req.env)
        if "CONTENT_LENGTH" in req.env:
            context.watched_body = self._body_deadlines.watch(req.env)

    def process_response(
        self, req: falcon.Request, resp: falcon.Response, resource: object, req_succeeded: bool
    ) -> None:
        context = req.context
        seconds = time.perf_counter() - context.started
        if context.watched_body is not None:
            self._body_deadlines.release(context.watched_body)
        status = resp.status_code
        route = req.uri_template or UNMATCHED_ROUTE
        span = context.span
        self._metrics.observe(req.method, route, status, seconds)
        self._tracing.end(span, req.method, route, status)
        if self._access_log:
            self._lines.write(
                {
                    "ts": self._lines.timestamp(time.time()),
                    "level": "INFO",
                    "logger": "example_app.access",
                    "message": "request",
                    "request_id": context.request_id,
                    "trace_id": span.trace_id,
                    "span_id": span.span_id,
                    "method": req.method,
                    "path": req.path,
                    "status": status,
                    "duration_ms": int(seconds * 1_000_000) / 1000,  # to the µs; round() is slow
                }
            )
        current_span.reset(context.span_token)
        current_request_id.reset(context.request_id_token)


def _is_acceptable_request_id(value: str | None) -> TypeGuard[str]:
    # Bounded and printable ASCII, so a caller cannot forge log lines or bloat them.
    return (
        value is not None
        and 0 < len(value) <= _MAX_REQUEST_ID_LENGTH
        and value.isascii()
        and value.isprintable()
    )
