"""W3C Trace Context: every request belongs to a trace, and every call it makes too.

A caller's `traceparent` (and `tracestate`) is continued; an invalid one is ignored and a
new trace starts, as the spec asks (https://www.w3.org/TR/trace-context/). Each request
is one span: its trace id and span id go on every log line of the request, back to the
caller in `traceresponse` (Trace Context Level 2), and to every service it calls as the
parent in their `traceparent`, so their logs join ours.

This costs a few string operations per request and records nothing. To export spans to
an OpenTelemetry collector, set OTEL_EXPORTER_OTLP_ENDPOINT: telemetry.py then takes the
place of `TraceContext` (README, Tracing).
"""

from __future__ import annotations

import random
import re
from collections.abc import Mapping
from contextvars import ContextVar
from typing import Any, Protocol

TRACEPARENT = "traceparent"
TRACESTATE = "tracestate"
TRACERESPONSE = "traceresponse"
_TRACEPARENT_ENVIRON_KEY = "HTTP_TRACEPARENT"  # how WSGI passes those headers
_TRACESTATE_ENVIRON_KEY = "HTTP_TRACESTATE"
_HEX = frozenset("0123456789abcdef")
_ZERO_TRACE_ID = "0" * 32
_ZERO_SPAN_ID = "0" * 16
# The spec's limits for what a service must pass on; a longer one is dropped, not cut.
MAX_TRACESTATE_LENGTH = 512
MAX_TRACESTATE_MEMBERS = 32
# One `key=value` member of tracestate, as the spec (and OpenTelemetry) define it.
_TRACESTATE_MEMBER = re.compile(
    r"(?:[a-z][_0-9a-z*/-]{0,255}|[a-z0-9][_0-9a-z*/-]{0,240}@[a-z][_0-9a-z*/-]{0,13})"
    r"=[\x20-\x2b\x2d-\x3c\x3e-\x7e]{0,255}[\x21-\x2b\x2d-\x3c\x3e-\x7e]"
)
# Flags for a trace started here while nothing is exported: not sampled, because
# nothing was recorded.
NOT_SAMPLED = "00"


class Span:
    """One span's identity: what log lines, `traceresponse` and outbound calls carry."""

    __slots__ = ("flags", "span_id", "trace_id", "tracestate")

    def __init__(self, trace_id: str, span_id: str, flags: str, tracestate: str | None) -> None:
        self.trace_id = trace_id  # 32 lower-case hex digits
        self.span_id = span_id  # 16 lower-case hex digits
        self.flags = flags  # 2 hex digits; "01" is sampled
        self.tracestate = tracestate  # passed on unchanged: no vendor entry of ours

    def traceparent(self) -> str:
        return f"00-{self.trace_id}-{self.span_id}-{self.flags}"

    def headers(self) -> dict[str, str]:
        """The headers that make this span the parent of a call to another service."""
        headers = {TRACEPARENT: self.traceparent()}
        if self.tracestate is not None:
            headers[TRACESTATE] = self.tracestate
        return headers


# The span of the request this thread serves; set by RequestMiddleware.
current_span: ContextVar[Span | None] = ContextVar("current_span", default=None)


class Outbound(Protocol):
    """A call to another service, as a span: its headers, then how it ended."""

    headers: dict[str, str]

    def finish(self, status: int | None) -> None:
        """`status` is the answer's, or None when there was none."""


class Tracing(Protocol):
    """Starts and ends a request's span, and the spans of the calls it makes."""

    def start(self, environ: Mapping[str, Any]) -> Span: ...

    def end(self, span: Span, method: str, route: str, status: int) -> None: ...

    def outbound(self, parent: Span | None, method: str, url: str) -> Outbound: ...


class TraceContext:
    """Trace Context propagation alone: ids made and passed on, nothing recorded."""

    def start(self, environ: Mapping[str, Any]) -> Span:
        parent = incoming_parent(environ)
        trace_id, span_id = new_ids()
        if parent is None:
            return Span(trace_id, span_id, NOT_SAMPLED, None)
        return Span(parent.trace_id, span_id, parent.flags, parent.tracestate)

    def end(self, span: Span, method: str, route: str, status: int) -> None:
        pass  # nothing recorded, nothing to end

    def outbound(self, parent: Span | None, method: str, url: str) -> Outbound:
        return _Propagated(parent.headers() if parent is not None else {})


class _Propagated:
    def __init__(self, headers: dict[str, str]) -> None:
        self.headers = headers

    def finish(self, status: int | None) -> None:
        pass


def incoming_parent(environ: Mapping[str, Any]) -> Span | None:
    """The caller's span from `traceparent`, with its `tracestate`; None when there is no
    usable `traceparent` (then `tracestate` is ignored too, as the spec says)."""
    value = environ.get(_TRACEPARENT_ENVIRON_KEY)
    if value is None:
        return None
    parsed = parse_traceparent(value)
    if parsed is None:
        return None
    tracestate = environ.get(_TRACESTATE_ENVIRON_KEY)
    if tracestate is not None and not _is_passable_tracestate(tracestate):
        tracestate = None
    trace_id, span_id, flags = parsed
    return Span(trace_id, span_id, flags, tracestate)


def parse_traceparent(value: str) -> tuple[str, str, str] | None:
    """(trace id, parent span id, flags) from a `traceparent` value, or None if invalid.

    Version 00 is exactly `00-<32 hex>-<16 hex>-<2 hex>`. A later version may append
    `-<more>`, which is ignored; version ff, upper-case hex and all-zero ids are invalid.
    """
    if len(value) < 55 or (len(value) > 55 and (value[:2] == "00" or value[55] != "-")):
        return None
    version, trace_id, span_id, flags = value[:2], value[3:35], value[36:52], value[53:55]
    if value[2] != "-" or value[35] != "-" or value[52] != "-" or version == "ff":
        return None
    if not _HEX.issuperset(value[:2] + trace_id + span_id + flags):
        return None
    if trace_id == _ZERO_TRACE_ID or span_id == _ZERO_SPAN_ID:
        return None
    return trace_id, span_id, flags


def new_ids() -> tuple[str, str]:
    """A new trace id and span id, as lower-case hex.

    From `random`, reseeded per worker (uwsgi.ini's py-call-uwsgi-fork-hooks), as request ids
    are: the spec asks for ids that tell traces apart, not for secrets. One call for both
    is the cheapest way Python has to make them (about 0.3 µs); the all-zero ids the spec
    forbids come up once in 2**64 and are replaced.
    """
    ids = random.randbytes(24).hex()
    trace_id, span_id = ids[:32], ids[32:]
    if trace_id == _ZERO_TRACE_ID or span_id == _ZERO_SPAN_ID:
        return new_ids()
    return trace_id, span_id


def _is_passable_tracestate(value: str) -> bool:
    """Whether `value` is a tracestate the spec lets us pass on: at most 32 members, each
    `key=value` with a key of its own. Otherwise it is dropped whole, as the spec says,
    and quietly: a caller's junk must not cost a log line per request."""
    if len(value) > MAX_TRACESTATE_LENGTH:
        return False
    members = [member.strip(" \t") for member in value.split(",")]
    keys = [member.partition("=")[0] for member in members if member]
    return (
        len(keys) <= MAX_TRACESTATE_MEMBERS
        and len(set(keys)) == len(keys)
        and all(_TRACESTATE_MEMBER.fullmatch(member) for member in members if member)
    )
