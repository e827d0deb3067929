"""W3C Trace Context: each request is a span of the caller's trace, or of a new one."""

from __future__ import annotations

import logging
import random
import re

import falcon.testing
import pytest

from example_app.tracing import (
    MAX_TRACESTATE_LENGTH,
    TraceContext,
    current_span,
    new_ids,
    parse_traceparent,
)

TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
PARENT_ID = "00f067aa0ba902b7"
TRACEPARENT = f"00-{TRACE_ID}-{PARENT_ID}-01"
TRACERESPONSE = re.compile(r"^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$")


def span_of(result: falcon.testing.Result) -> tuple[str, str, str]:
    """(trace id, span id, flags) from a response's traceresponse."""
    match = TRACERESPONSE.match(result.headers["traceresponse"])
    assert match is not None
    trace_id, span_id, flags = match.groups()
    return trace_id, span_id, flags


# --- continuing or starting a trace ----------------------------------------------------------


def test_a_request_without_traceparent_starts_a_trace(client):
    trace_id, span_id, _ = span_of(client.simulate_get("/"))

    assert trace_id != "0" * 32
    assert span_id != "0" * 16


def test_a_started_trace_is_marked_not_sampled_as_nothing_is_recorded(client):
    assert span_of(client.simulate_get("/"))[2] == "00"


def test_each_request_without_traceparent_gets_its_own_trace(client):
    first = span_of(client.simulate_get("/"))[0]
    second = span_of(client.simulate_get("/"))[0]

    assert first != second


def test_a_valid_traceparent_is_continued_with_a_span_of_our_own(client):
    trace_id, span_id, flags = span_of(
        client.simulate_get("/", headers={"traceparent": TRACEPARENT})
    )

    assert (trace_id, flags) == (TRACE_ID, "01")
    assert span_id != PARENT_ID


def test_errors_carry_the_trace_too(client):
    result = client.simulate_delete("/", headers={"traceparent": TRACEPARENT})

    assert result.status_code == 405
    assert span_of(result)[0] == TRACE_ID


@pytest.mark.parametrize(
    "traceparent",
    [
        pytest.param(f"00-{TRACE_ID.upper()}-{PARENT_ID}-01", id="upper-case-hex"),
        pytest.param(f"00-{'0' * 32}-{PARENT_ID}-01", id="all-zero-trace-id"),
        pytest.param(f"00-{TRACE_ID}-{'0' * 16}-01", id="all-zero-parent-id"),
        pytest.param(f"ff-{TRACE_ID}-{PARENT_ID}-01", id="version-ff"),
        pytest.param(f"00-{TRACE_ID}-{PARENT_ID}-01-extra", id="version-00-with-more"),
        pytest.param(f"00-{TRACE_ID}-{PARENT_ID}-1", id="short-flags"),
        pytest.param(f"00_{TRACE_ID}_{PARENT_ID}_01", id="wrong-separators"),
        pytest.param(f"00-{TRACE_ID[:-1]}g-{PARENT_ID}-01", id="not-hex"),
        pytest.param(f"{TRACEPARENT},{TRACEPARENT}", id="two-headers-joined"),
        pytest.param("", id="empty"),
    ],
)
def test_an_invalid_traceparent_is_ignored_and_a_trace_started(client, traceparent):
    result = client.simulate_get("/", headers={"traceparent": traceparent})

    assert result.status_code == 200
    assert span_of(result)[0] != TRACE_ID


def test_a_later_version_is_read_as_version_00_ignoring_what_it_appends():
    assert parse_traceparent(f"01-{TRACE_ID}-{PARENT_ID}-01-future") == (TRACE_ID, PARENT_ID, "01")


def test_a_later_version_must_separate_what_it_appends():
    assert parse_traceparent(f"01-{TRACE_ID}-{PARENT_ID}-01future") is None


def test_the_span_is_cleared_after_the_request(client):
    client.simulate_get("/", headers={"traceparent": TRACEPARENT})

    assert current_span.get() is None


# --- log lines -------------------------------------------------------------------------------


def test_the_access_log_line_carries_the_trace_and_span_of_traceresponse(client, logs):
    trace_id, span_id, _ = span_of(client.simulate_get("/", headers={"traceparent": TRACEPARENT}))

    [entry] = logs.by_logger("example_app.access")
    assert (entry["trace_id"], entry["span_id"]) == (trace_id, span_id)


def test_an_app_log_line_during_a_request_carries_its_trace_and_span(logging_client, logs):
    trace_id, span_id, _ = span_of(logging_client.simulate_get("/work"))

    [entry] = logs.by_logger("example_app.custom")
    assert (entry["trace_id"], entry["span_id"]) == (trace_id, span_id)


def test_a_log_line_outside_a_request_has_no_trace(logs):
    logging.getLogger("example_app.custom").info("starting")

    [entry] = logs.by_logger("example_app.custom")
    assert "trace_id" not in entry
    assert "span_id" not in entry


# --- what a call to another service carries --------------------------------------------------


def caller_span(**headers: str):
    environ = {f"HTTP_{name.upper()}": value for name, value in headers.items()}
    return TraceContext().start(environ)


def test_an_outbound_call_names_the_request_span_as_its_parent():
    span = caller_span(traceparent=TRACEPARENT)

    headers = TraceContext().outbound(span, "GET", "http://pricing/prices/a").headers

    assert headers["traceparent"] == f"00-{TRACE_ID}-{span.span_id}-01"


def test_an_outbound_call_passes_the_callers_tracestate_on():
    span = caller_span(traceparent=TRACEPARENT, tracestate="vendor=abc,other=1")

    headers = TraceContext().outbound(span, "GET", "http://pricing/prices/a").headers

    assert headers["tracestate"] == "vendor=abc,other=1"


@pytest.mark.parametrize(
    "tracestate",
    [
        pytest.param("a=" + "x" * MAX_TRACESTATE_LENGTH, id="too-long"),
        pytest.param("vendor=abc\x7f", id="not-printable"),
        pytest.param("vendor=ä", id="not-ascii"),
        pytest.param("garbage!!", id="not-key-value"),
        pytest.param("Vendor=abc", id="upper-case-key"),
        pytest.param("vendor=abc,vendor=def", id="a-key-twice"),
        pytest.param(",".join(f"k{n}=v" for n in range(33)), id="33-members"),
        pytest.param("vendor=abc ,other=a=b", id="equals-in-a-value"),
    ],
)
def test_an_unpassable_tracestate_is_dropped(tracestate):
    span = caller_span(traceparent=TRACEPARENT, tracestate=tracestate)

    headers = TraceContext().outbound(span, "GET", "http://pricing/prices/a").headers

    assert "tracestate" not in headers
    assert headers["traceparent"].startswith(f"00-{TRACE_ID}-")


def test_a_tracestate_with_blank_members_and_spaces_is_passed_on_as_it_came():
    span = caller_span(traceparent=TRACEPARENT, tracestate="a=1 , ,b@c=x y")

    headers = TraceContext().outbound(span, "GET", "http://pricing/prices/a").headers

    assert headers["tracestate"] == "a=1 , ,b@c=x y"


def test_tracestate_without_a_valid_traceparent_is_ignored():
    span = caller_span(traceparent="garbage", tracestate="vendor=abc")

    assert span.tracestate is None


def test_a_call_made_outside_any_request_carries_no_trace():
    call = TraceContext().outbound(None, "GET", "http://pricing/health/live")
    call.finish(200)

    assert call.headers == {}


def test_all_zero_ids_which_the_spec_forbids_are_drawn_again(monkeypatch):
    draws = iter([bytes(16) + bytes(range(1, 9)), bytes(range(1, 25))])
    monkeypatch.setattr(random, "randbytes", lambda size: next(draws))

    assert new_ids() == (bytes(range(1, 17)).hex(), bytes(range(17, 25)).hex())
