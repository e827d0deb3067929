"""The rules every JSON body shares: 415 for the wrong media type, 413 for too large a body
(refused before it is read), 400 for anything that is not a well-formed UTF-8 JSON object.
"""

from __future__ import annotations

import io

import falcon
import msgspec
import pytest

from example_app.body_deadline import DEADLINE_PASSED
from example_app.json_body import reject_ambiguous_framing

SMALL_LIMIT = 64


@pytest.fixture
def small_client(make_client):
    """An app that takes bodies of at most SMALL_LIMIT bytes."""
    return make_client(max_body_bytes=SMALL_LIMIT)


def assert_json_error(result, status_code):
    assert result.status_code == status_code
    assert result.headers["Content-Type"] == "application/json"
    assert set(result.json) >= {"title", "description"}
    assert "Traceback" not in result.text


# --- 200: the media types that are application/json in UTF-8 ------------------------------


@pytest.mark.parametrize(
    "content_type",
    [
        "application/json",
        "application/json; charset=utf-8",
        "application/json; charset=utf8",
        "APPLICATION/JSON",
        "Application/Json; Charset=UTF-8",
    ],
)
def test_post_accepts_application_json_in_utf8(client, post_json, content_type):
    result = post_json(client, '{"a": 1}', content_type=content_type)

    assert result.status_code == 200
    assert result.json == {"a": 1}


# --- 415: not application/json, or not UTF-8 -----------------------------------------------


@pytest.mark.parametrize(
    "content_type",
    ["text/plain", "application/jsonx", "application/x-www-form-urlencoded", "text/json"],
)
def test_post_with_other_media_type_is_415(client, post_json, content_type):
    result = post_json(client, '{"a": 1}', content_type=content_type)

    assert_json_error(result, 415)


def test_post_with_text_plain_is_415_naming_the_media_type(client, post_json):
    result = post_json(client, '{"a": 1}', content_type="text/plain")

    assert "'text/plain'" in result.json["description"]


def test_post_without_content_type_is_415(client, post_json):
    result = post_json(client, '{"a": 1}', content_type=None)

    assert_json_error(result, 415)
    assert "application/json" in result.json["description"]


def test_post_with_latin1_charset_is_415_naming_the_charset(client, post_json):
    result = post_json(client, '{"a": 1}', content_type="application/json; charset=latin-1")

    assert_json_error(result, 415)
    assert "latin-1" in result.json["description"]


# --- 400: not a well-formed UTF-8 JSON object ----------------------------------------------


def test_post_with_malformed_json_is_400_with_position(client, post_json):
    result = post_json(client, '{"a": 1,')

    assert_json_error(result, 400)
    assert result.json["title"] == "Malformed JSON"
    assert "line 1 column" in result.json["description"]


def test_post_with_invalid_utf8_is_400_naming_the_byte(client, post_json):
    result = post_json(client, b'{"a": "\xff"}')

    assert_json_error(result, 400)
    assert result.json["title"] == "Body is not UTF-8"
    assert "byte 7" in result.json["description"]


def test_post_with_empty_body_is_400(client, post_json):
    result = post_json(client, b"")

    assert_json_error(result, 400)
    assert result.json["title"] == "Empty body"


def test_post_with_whitespace_only_body_is_400(client, post_json):
    result = post_json(client, b" \t\r\n ")

    assert_json_error(result, 400)
    assert result.json["title"] == "Empty body"


@pytest.mark.parametrize(
    ("body", "type_name"),
    [
        ("[1, 2]", "array"),
        ('"a string"', "string"),
        ("42", "number"),
        ("4.2", "number"),
        ("true", "boolean"),
        ("false", "boolean"),
        ("null", "null"),
    ],
)
def test_post_with_json_that_is_not_an_object_is_400_naming_its_type(
    client, post_json, body, type_name
):
    result = post_json(client, body)

    assert_json_error(result, 400)
    assert result.json["title"] == "Body is not a JSON object"
    assert result.json["description"] == f"Expected a JSON object, got a JSON {type_name}."


@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity"])
def test_post_with_non_json_number_literal_is_400(client, post_json, literal):
    result = post_json(client, f'{{"a": {literal}}}')

    assert_json_error(result, 400)
    assert result.json["title"] == "Invalid JSON value"
    assert literal in result.json["description"]


@pytest.mark.parametrize("number", ["1e400", "-1e400"])
def test_post_with_float_too_large_for_a_double_is_400(client, post_json, number):
    result = post_json(client, f'{{"a": {number}}}')

    assert_json_error(result, 400)
    assert result.json["title"] == "Invalid JSON value"


def test_post_with_4301_digit_integer_is_400(client, post_json):
    result = post_json(client, '{"a": 1' + "0" * 4300 + "}")

    assert_json_error(result, 400)
    assert "4300 digits" in result.json["description"]


def test_post_with_negative_4301_digit_integer_is_400(client, post_json):
    result = post_json(client, '{"a": -1' + "0" * 4300 + "}")

    assert_json_error(result, 400)


def test_post_with_4300_digit_integer_is_accepted(client, post_json):
    digits = "1" + "0" * 4299

    result = post_json(client, '{"a": ' + digits + "}")

    assert result.status_code == 200
    assert result.json == {"a": int(digits)}


def test_post_with_deeply_nested_arrays_is_400_not_500(client, post_json):
    result = post_json(client, b"[" * 100_000)

    assert_json_error(result, 400)
    assert result.json["title"] == "JSON nested too deeply"


def test_post_with_deeply_nested_objects_is_400_not_500(client, post_json):
    result = post_json(client, b'{"a":' * 100_000)

    assert_json_error(result, 400)


def test_post_with_lone_surrogate_escape_is_400(client, post_json):
    # "\ud800" is valid JSON syntax but no UTF-8 text can carry it back: the response
    # cannot be encoded. The module promises 400 for what is not well-formed UTF-8 JSON.
    result = post_json(client, b'{"a": "\\ud800"}')

    assert_json_error(result, 400)


# --- 413: over the size limit --------------------------------------------------------------


def test_post_with_content_length_over_the_limit_is_413(small_client, post_json):
    result = post_json(small_client, '{"a": "' + "x" * SMALL_LIMIT + '"}')

    assert_json_error(result, 413)
    assert str(SMALL_LIMIT) in result.json["description"]


def test_post_with_content_length_over_the_limit_is_refused_before_reading(
    small_client, recording_stream
):
    stream = recording_stream(b"{" + b" " * 1000 + b"}")

    result = small_client.simulate_post(
        "/",
        headers={"Content-Type": "application/json", "Content-Length": "1002"},
        extras={"wsgi.input": stream},
    )

    assert result.status_code == 413
    assert stream.bytes_read == 0


def object_of_length(size):
    """A JSON object {"a": "xx..."} of exactly `size` bytes."""
    body = '{"a": "' + "x" * (size - 9) + '"}'
    assert len(body) == size
    return body


def test_post_with_body_exactly_at_the_limit_is_accepted(small_client, post_json):
    body = object_of_length(SMALL_LIMIT)

    result = post_json(small_client, body)

    assert result.status_code == 200
    assert result.json == {"a": "x" * (SMALL_LIMIT - 9)}


def test_post_with_body_one_byte_over_the_limit_is_413(small_client, post_json):
    result = post_json(small_client, object_of_length(SMALL_LIMIT + 1))

    assert_json_error(result, 413)


def post_without_content_length(client, stream, input_terminated=True):
    """POST / the way a chunked upload arrives: no CONTENT_LENGTH, the input terminated
    by a server that decodes the chunks."""
    return client.simulate_post(
        "/",
        headers={"Content-Type": "application/json", "Transfer-Encoding": "chunked"},
        extras={"wsgi.input": stream, "wsgi.input_terminated": input_terminated},
    )


def test_a_chunked_upload_the_server_does_not_terminate_is_411(small_client, recording_stream):
    stream = recording_stream(b'{"a": 1}')

    result = post_without_content_length(small_client, stream, input_terminated=False)

    assert_json_error(result, 411)
    assert stream.bytes_read == 0


def test_post_without_content_length_is_read_at_most_one_byte_past_the_limit(
    small_client, recording_stream
):
    stream = recording_stream(b'{"a": "' + b"x" * 10_000 + b'"}')

    post_without_content_length(small_client, stream)

    assert stream.bytes_read <= SMALL_LIMIT + 1


def test_post_without_content_length_over_the_limit_is_413(small_client, recording_stream):
    stream = recording_stream(b'{"a": "' + b"x" * 10_000 + b'"}')

    result = post_without_content_length(small_client, stream)

    assert_json_error(result, 413)


def test_post_without_content_length_within_the_limit_is_accepted(small_client, recording_stream):
    stream = recording_stream(b'{"a": 1, "b": 2}')

    result = post_without_content_length(small_client, stream)

    assert result.status_code == 200
    assert result.json == {"a": 1}


# --- 400 and 408: a body that does not arrive whole ----------------------------------------
# uWSGI's wsgi.input raises OSError("error during read(N) on wsgi.input") when the client
# closed the connection mid-body, and OSError("timeout during read(N) on wsgi.input")
# when the rest did not come within its socket timeout. Other servers return short reads.


class TrickleStream(io.RawIOBase):
    """A wsgi.input that gives at most `piece` bytes a read, then b"" when `data` ends."""

    def __init__(self, data: bytes, piece: int) -> None:
        self._data = io.BytesIO(data)
        self._piece = piece

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        chunk = self._data.read(min(len(buffer), self._piece))
        buffer[: len(chunk)] = chunk
        return len(chunk)


class FailingStream(io.RawIOBase):
    """A wsgi.input whose every read raises `error`, as uWSGI's does."""

    def __init__(self, error: OSError) -> None:
        self.error = error

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        raise self.error


def post_declaring(client, content_length, stream, path="/", method="POST"):
    return client.simulate_request(
        method,
        path,
        headers={"Content-Type": "application/json", "Content-Length": str(content_length)},
        extras={"wsgi.input": stream},
    )


def test_a_body_that_arrives_in_pieces_is_read_whole(client):
    body = b'{"a": "' + b"x" * 100 + b'"}'

    result = post_declaring(client, len(body), TrickleStream(body, piece=7))

    assert result.status_code == 200
    assert result.json == {"a": "x" * 100}


def test_a_body_that_ends_before_its_content_length_is_400(client):
    result = post_declaring(client, 100, TrickleStream(b'{"a": 1,  ', piece=4))

    assert_json_error(result, 400)
    assert result.json["title"] == "Body ended early"
    assert result.json["description"] == "The body ended after 10 of its 100 bytes."


def test_a_body_cut_off_by_the_client_closing_the_connection_is_400(client):
    stream = FailingStream(OSError("error during read(100) on wsgi.input"))

    result = post_declaring(client, 100, stream)

    assert_json_error(result, 400)
    assert result.json["title"] == "Body ended early"


def test_a_body_that_stops_arriving_until_the_server_times_out_is_408(client):
    stream = FailingStream(OSError("timeout during read(100) on wsgi.input"))

    result = post_declaring(client, 100, stream)

    assert_json_error(result, 408)
    assert result.json["title"] == "Body timed out"


def test_a_body_cut_off_at_its_deadline_is_408(client):
    # body_deadline.py shuts the connection's reading side: uWSGI's read then fails as if
    # the client had closed it, and the environ says why.
    result = client.simulate_request(
        "POST",
        "/",
        headers={"Content-Type": "application/json", "Content-Length": "100"},
        extras={
            "wsgi.input": FailingStream(OSError("error during read(100) on wsgi.input")),
            DEADLINE_PASSED: True,
        },
    )

    assert_json_error(result, 408)
    assert result.json["title"] == "Body timed out"


def test_a_socket_timeout_from_another_server_is_408(client):
    result = post_declaring(client, 100, FailingStream(TimeoutError("timed out")))

    assert_json_error(result, 408)


def test_a_chunked_upload_that_times_out_is_408(client):
    stream = FailingStream(OSError("timeout during read(1048577) on wsgi.input"))

    result = post_without_content_length(client, stream)

    assert_json_error(result, 408)


def test_an_item_body_that_ends_early_is_400(client):
    result = post_declaring(
        client, 100, TrickleStream(b'{"a": 1', piece=100), path="/items/k", method="PUT"
    )

    assert_json_error(result, 400)
    assert client.simulate_get("/items/k").status_code == 404  # nothing stored


@pytest.mark.parametrize(
    "error",
    [
        OSError("error during read(100) on wsgi.input"),
        OSError("timeout during read(100) on wsgi.input"),
        ConnectionResetError(104, "Connection reset by peer"),
    ],
    ids=["closed", "timed-out", "reset"],
)
def test_an_unfinished_body_writes_no_error_log_line(client, logs, error):
    post_declaring(client, 100, FailingStream(error))

    assert [line for line in logs.lines() if line["level"] in ("ERROR", "CRITICAL")] == []
    assert "Traceback" not in logs.text()


# --- 400: Content-Length and Transfer-Encoding together ------------------------------------
# RFC 9112 section 6.3: a proxy and this server could disagree on where such a body ends,
# which is how a request is smuggled past the proxy.

BOTH_LENGTHS = {"Content-Length": "8", "Transfer-Encoding": "chunked"}


@pytest.mark.parametrize(("method", "path"), [("POST", "/"), ("PUT", "/items/k")])
def test_a_body_with_both_content_length_and_transfer_encoding_is_400(client, method, path):
    result = client.simulate_request(
        method, path, body=b'{"a": 1}', headers={"Content-Type": "application/json", **BOTH_LENGTHS}
    )

    assert_json_error(result, 400)
    assert result.json["title"] == "Ambiguous body length"


def test_both_lengths_are_refused_before_the_body_is_read(client, recording_stream):
    stream = recording_stream(b'{"a": 1}')

    result = client.simulate_post(
        "/",
        headers={"Content-Type": "application/json", **BOTH_LENGTHS},
        extras={"wsgi.input": stream},
    )

    assert result.status_code == 400
    assert stream.bytes_read == 0


def test_both_lengths_are_refused_before_the_media_type_is_judged(client):
    result = client.simulate_post(
        "/", body=b"x", headers={**BOTH_LENGTHS, "Content-Type": "text/plain"}
    )

    assert_json_error(result, 400)


@pytest.mark.parametrize("method", ["GET", "HEAD", "DELETE", "OPTIONS", "POST"])
def test_reject_ambiguous_framing_refuses_any_request_with_both_headers(method):
    environ = {"REQUEST_METHOD": method, "CONTENT_LENGTH": "0", "HTTP_TRANSFER_ENCODING": "x"}

    with pytest.raises(falcon.HTTPBadRequest):
        reject_ambiguous_framing(environ)


@pytest.mark.parametrize(
    "environ",
    [{}, {"CONTENT_LENGTH": "8"}, {"HTTP_TRANSFER_ENCODING": "chunked"}],
    ids=["neither", "content-length", "transfer-encoding"],
)
def test_reject_ambiguous_framing_lets_one_or_no_length_through(environ):
    reject_ambiguous_framing(environ)


# --- the fast parser and the standard library agree -------------------------------------


def test_a_body_refused_partway_is_explained_after_its_valid_numbers(client, post_json):
    result = post_json(client, '{"price": 1.5, "discount": NaN}')

    assert result.status_code == 400
    assert result.json["description"] == "NaN is not a JSON value."


def test_a_body_the_fast_parser_refuses_is_judged_by_the_standard_library(
    client, post_json, monkeypatch
):
    # msgspec and the standard library accept the same bodies today; if a future msgspec
    # refused one the rules allow, the standard library's answer stands.
    def refuse(raw):
        raise msgspec.DecodeError("refused")

    monkeypatch.setattr(msgspec.json, "decode", refuse)

    result = post_json(client, '{"abra": 1, "kadabra": 2}')

    assert result.status_code == 200
    assert result.json == {"abra": 1}


def test_integers_past_64_bits_come_back_exactly(client, post_json):
    big = 2**70 + 1

    result = post_json(client, f'{{"a": {big}}}')

    assert result.status_code == 200
    assert result.text == f'{{"a":{big}}}'


@pytest.mark.parametrize(
    ("method", "path"),
    [("GET", "/"), ("GET", "/health/live"), ("GET", "/metrics"), ("DELETE", "/items/apple")],
)
def test_both_lengths_are_refused_on_every_request_not_only_those_with_a_body(client, method, path):
    result = client.simulate_request(method, path, headers=BOTH_LENGTHS)

    assert_json_error(result, 400)
    assert result.json["title"] == "Ambiguous body length"
    assert result.headers["X-Request-ID"]
