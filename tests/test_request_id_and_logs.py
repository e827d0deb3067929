"""Request ids and the JSON log: one object per line, each tagged with the request's id."""

from __future__ import annotations

import io
import json
import logging
import os
import re
import time
from typing import Any

import falcon
import falcon.testing
import pytest

from example_app.logs import (
    ATOMIC_WRITE_BYTES,
    MAX_PENDING_LINES,
    BufferedJsonLines,
    JsonLines,
    JsonLogHandler,
    configure_logging,
    current_request_id,
)

HEX_32 = re.compile(r"^[0-9a-f]{32}$")


# --- request ids ---------------------------------------------------------------------------


def test_request_id_is_generated_when_absent(client):
    result = client.simulate_get("/")

    assert HEX_32.match(result.headers["X-Request-ID"])


def test_generated_request_ids_differ_between_requests(client):
    first = client.simulate_get("/").headers["X-Request-ID"]
    second = client.simulate_get("/").headers["X-Request-ID"]

    assert first != second


@pytest.mark.parametrize(
    "request_id",
    ["abc-123", "0f8fad5b-d9cb-469f-a165-70867728950e", "x" * 128, "with space and !@#$%"],
)
def test_sane_request_id_is_echoed(client, request_id):
    result = client.simulate_get("/", headers={"X-Request-ID": request_id})

    assert result.headers["X-Request-ID"] == request_id


def test_request_id_is_echoed_on_errors(client):
    result = client.simulate_get("/missing", headers={"X-Request-ID": "trace-me"})

    assert result.status_code == 404
    assert result.headers["X-Request-ID"] == "trace-me"


def test_too_long_request_id_is_replaced(client):
    result = client.simulate_get("/", headers={"X-Request-ID": "x" * 129})

    assert HEX_32.match(result.headers["X-Request-ID"])


@pytest.mark.parametrize(
    "request_id",
    ["abc\x01def", "tab\there", "abc\x7f", "caf\u00e9", "id\u00a0nbsp"],
    ids=["control", "tab", "delete", "non-ascii", "non-breaking-space"],
)
def test_non_printable_or_non_ascii_request_id_is_replaced(client, request_id):
    result = client.simulate_get("/", headers={"X-Request-ID": request_id})

    assert HEX_32.match(result.headers["X-Request-ID"])


def test_empty_request_id_is_replaced(client):
    result = client.simulate_get("/", headers={"X-Request-ID": ""})

    assert HEX_32.match(result.headers["X-Request-ID"])


def test_request_id_is_cleared_after_the_request(client):
    client.simulate_get("/", headers={"X-Request-ID": "done"})

    assert current_request_id.get() is None


# --- the access log ------------------------------------------------------------------------


def test_access_log_has_one_line_per_request(client, logs):
    client.simulate_get("/")
    client.simulate_get("/missing")

    assert len(logs.by_logger("example_app.access")) == 2


def test_access_log_line_has_method_path_status_and_duration(client, logs):
    client.simulate_get("/health/live")

    [entry] = logs.by_logger("example_app.access")
    assert entry["level"] == "INFO"
    assert entry["message"] == "request"
    assert entry["method"] == "GET"
    assert entry["path"] == "/health/live"
    assert entry["status"] == 200
    assert isinstance(entry["duration_ms"], (int, float))
    assert entry["duration_ms"] >= 0


def test_access_log_request_id_equals_the_response_header(client, logs):
    result = client.simulate_get("/")

    [entry] = logs.by_logger("example_app.access")
    assert entry["request_id"] == result.headers["X-Request-ID"]


def test_access_log_records_the_error_status(client, logs):
    client.simulate_delete("/")

    [entry] = logs.by_logger("example_app.access")
    assert entry["status"] == 405
    assert entry["method"] == "DELETE"


def test_access_log_path_has_no_query_string(client, logs):
    client.simulate_get("/", query_string="token=secret")

    [entry] = logs.by_logger("example_app.access")
    assert entry["path"] == "/"
    assert "secret" not in logs.text()


# --- application log lines -----------------------------------------------------------------


def test_app_log_line_during_a_request_carries_its_request_id(logging_client, logs):
    result = logging_client.simulate_get("/work", headers={"X-Request-ID": "req-7"})

    [entry] = logs.by_logger("example_app.custom")
    assert entry["request_id"] == "req-7" == result.headers["X-Request-ID"]


def test_app_log_line_carries_its_extra_fields(logging_client, logs):
    logging_client.simulate_get("/work")

    [entry] = logs.by_logger("example_app.custom")
    assert entry["message"] == "working on it"
    assert entry["item"] == 42
    assert entry["level"] == "INFO"


def test_log_line_outside_a_request_has_no_request_id(logs):
    logging.getLogger("example_app.custom").warning("between requests")

    [entry] = logs.lines()
    assert "request_id" not in entry


def test_log_line_has_an_iso_utc_timestamp(logs):
    logging.getLogger("example_app.custom").info("hello")

    [entry] = logs.lines()
    assert re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+00:00$", entry["ts"])


def test_log_line_has_no_logging_plumbing_fields(logs):
    logging.getLogger("example_app.custom").info("hello")

    [entry] = logs.lines()
    assert set(entry) == {"ts", "level", "logger", "message"}


def test_log_output_is_one_json_object_per_line(logging_client, logs):
    logging_client.simulate_get("/work")
    logging_client.simulate_get("/missing")
    logging.getLogger("example_app.custom").info("two\nlines in one message")

    raw_lines = logs.raw_lines()
    assert len(raw_lines) == 4
    assert all(isinstance(json.loads(line), dict) for line in raw_lines)


def test_error_log_line_of_an_unexpected_exception_has_the_traceback(make_app, logs):
    class Broken:
        def on_get(self, req, resp):
            raise ZeroDivisionError("division by zero in a responder")

    app = make_app()
    app.add_route("/broken", Broken())

    result = falcon.testing.TestClient(app).simulate_get("/broken")

    [entry] = [line for line in logs.lines() if line["level"] == "ERROR"]
    assert entry["request_id"] == result.headers["X-Request-ID"]
    assert "Traceback (most recent call last)" in entry["exception"]
    assert "ZeroDivisionError: division by zero in a responder" in entry["exception"]


def test_values_json_cannot_encode_are_logged_as_text(logs):
    logging.getLogger("example_app.custom").info("odd", extra={"thing": object()})

    [entry] = logs.lines()
    assert entry["thing"].startswith("<object object at ")


def test_non_ascii_is_logged_unescaped(logs):
    logging.getLogger("example_app.custom").info("grüße ✓")

    assert "grüße ✓" in logs.text()


# --- configure_logging ---------------------------------------------------------------------


def test_configure_logging_sets_the_root_level(restore_root_logger):
    configure_logging("WARNING", JsonLines(io.BytesIO().write))

    assert restore_root_logger.level == logging.WARNING


def test_configure_logging_drops_records_below_the_level(restore_root_logger):
    output = io.BytesIO()
    configure_logging("WARNING", JsonLines(output.write))

    logging.getLogger("example_app.custom").info("not shown")
    logging.getLogger("example_app.custom").warning("shown")

    assert [json.loads(line)["message"] for line in output.getvalue().splitlines()] == ["shown"]


def test_configure_logging_replaces_existing_root_handlers(restore_root_logger):
    configure_logging("INFO", JsonLines(io.BytesIO().write))
    configure_logging("INFO", JsonLines(io.BytesIO().write))

    [handler] = restore_root_logger.handlers
    assert isinstance(handler, JsonLogHandler)


def test_access_log_is_off_when_the_log_level_is_above_info(make_client, log_capture):
    make_client(log_level="WARNING").simulate_get("/")

    assert log_capture.by_logger("example_app.access") == []


def test_a_log_line_that_cannot_be_written_does_not_fail_the_caller(restore_root_logger, capsys):
    def broken_pipe(data):
        raise BrokenPipeError("stdout is gone")

    configure_logging("INFO", JsonLines(broken_pipe))

    logging.getLogger("example_app.custom").info("nobody reads this")

    assert "BrokenPipeError: stdout is gone" in capsys.readouterr().err


# --- buffered access lines -------------------------------------------------------------------


class Writes:
    """A write function that keeps each call's bytes apart."""

    def __init__(self) -> None:
        self.calls: list[bytes] = []

    def __call__(self, data: bytes) -> None:
        self.calls.append(data)

    def lines(self) -> list[dict[str, Any]]:
        return [json.loads(line) for call in self.calls for line in call.splitlines()]


def test_buffered_lines_wait_for_a_flush():
    writes = Writes()
    lines = BufferedJsonLines(writes, flush_interval=3600)

    lines.write({"n": 1})
    lines.write({"n": 2})
    held = list(writes.calls)
    lines.flush()

    assert held == []
    assert writes.calls == [b'{"n":1}\n{"n":2}\n']


def test_buffered_lines_are_written_within_the_flush_interval():
    writes = Writes()
    lines = BufferedJsonLines(writes, flush_interval=0.01)

    lines.write({"n": 1})

    deadline = time.monotonic() + 5
    while not writes.calls and time.monotonic() < deadline:
        time.sleep(0.01)
    assert writes.lines() == [{"n": 1}]


def test_buffered_lines_go_out_in_whole_lines_of_at_most_4_kib():
    writes = Writes()
    lines = BufferedJsonLines(writes, flush_interval=3600)

    for number in range(200):
        lines.write({"n": number, "padding": "x" * 100})
    lines.flush()

    assert len(writes.calls) > 1
    assert all(len(call) <= ATOMIC_WRITE_BYTES and call.endswith(b"\n") for call in writes.calls)
    assert [entry["n"] for entry in writes.lines()] == list(range(200))


def test_buffered_lines_are_written_when_too_many_wait():
    writes = Writes()
    lines = BufferedJsonLines(writes, flush_interval=3600)

    for number in range(MAX_PENDING_LINES):
        lines.write({"n": number})

    assert [entry["n"] for entry in writes.lines()] == list(range(MAX_PENDING_LINES))


def test_a_line_longer_than_4_kib_is_written_whole():
    writes = Writes()
    lines = BufferedJsonLines(writes, flush_interval=3600)

    lines.write({"n": 1})
    lines.write({"long": "x" * 5000})
    lines.flush()

    assert writes.calls == [b'{"n":1}\n', b'{"long":"' + b"x" * 5000 + b'"}\n']


def test_buffered_lines_are_written_once_across_a_fork():
    read_end, write_end = os.pipe()
    lines = BufferedJsonLines(lambda data: os.write(write_end, data), flush_interval=3600)
    lines.write({"written": "before the fork"})

    pid = os.fork()
    if pid == 0:  # the child: whatever it flushes must not repeat the parent's line
        lines.flush()
        os._exit(0)
    os.waitpid(pid, 0)
    lines.flush()
    os.close(write_end)
    with os.fdopen(read_end, "rb") as output:
        written = output.read()

    assert written == b'{"written":"before the fork"}\n'
