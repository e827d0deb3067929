"""The rules every JSON body shares: 415 for the wrong media type, 413 for too large a body
(refused before it is read), 400 for anything that is not a well-formed UTF-8 JSON object.
"""

from __future__ import annotations

import io

import msgspec
import pytest

from example_app.body_deadline import DEADLINE_PASSED

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
    ("content_type", "description"),
    [
        *[
            (media_type, f"Media type must be application/json, got '{media_type}'.")
            for media_type in ("text/plain", "application/jsonx", "text/json")
        ],
        (None, "Send the body with Content-Type: application/json."),
        (
            "application/json; charset=latin-1",
            "JSON must be encoded as UTF-8, got charset 'latin-1'.",
        ),
    ],
)
def test_post_that_is_not_json_in_utf8_is_415_saying_what_it_got(
    client, post_json, content_type, description
):
    result = post_json(client, '{"a": 1}', content_type=content_type)

    assert_json_error(result, 415)
    assert result.json["description"] == description


# --- 400: not a well-formed UTF-8 JSON object ----------------------------------------------

NOT_JSON = [
    ('{"a": 1,', "Malformed JSON", "line 1 column 9"),
    (b'{"a": "\xff"}', "Body is not UTF-8", "Invalid UTF-8 at byte 7."),
    (b"", "Empty body", "Send a JSON object."),
    (b" \t\r\n ", "Empty body", "Send a JSON object."),
    *[
        (f'{{"a": {v}}}', "Invalid JSON value", f"{v} is not a JSON value.")
        for v in ("NaN", "Infinity", "-Infinity")
    ],
    *[
        (f'{{"a": {n}}}', "Invalid JSON value", f"Number {n} is too large.")
        for n in ("1e400", "-1e400")
    ],
    *[
        (f'{{"a": {sign}1' + "0" * 4300 + "}", "Invalid JSON value", "at most 4300 digits")
        for sign in ("", "-")
    ],
    (b"[" * 100_000, "JSON nested too deeply", "nest too deeply"),
    (b'{"a":' * 100_000, "JSON nested too deeply", "nest too deeply"),
    # Valid JSON syntax, but no UTF-8 text can carry it back: the answer could not be encoded.
    (b'{"a": "\\ud800"}', "Invalid JSON string", "half of a surrogate pair"),
]


@pytest.mark.parametrize(("body", "title", "description"), NOT_JSON, ids=lambda v: repr(v)[:24])
def test_post_that_is_not_well_formed_utf8_json_is_400_saying_why(
    client, post_json, body, title, description
):
    result = post_json(client, body)

    assert_json_error(result, 400)
    assert result.json["title"] == title
    assert description in result.json["description"]


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


@pytest.mark.parametrize(
    "number", ["1" + "0" * 4299, str(2**70 + 1)], ids=["4300-digits", "2**70+1"]
)
def test_integers_up_to_4300_digits_come_back_exactly(client, post_json, number):
    result = post_json(client, f'{{"a": {number}}}')

    assert result.status_code == 200
    assert result.text == f'{{"a":{number}}}'


# --- 413 and 411: over the size limit, or of no known length -------------------------------


def object_of_length(size):
    """A JSON object {"a": "xx..."} of exactly `size` bytes."""
    body = '{"a": "' + "x" * (size - 9) + '"}'
    assert len(body) == size
    return body


def test_post_with_body_exactly_at_the_limit_is_accepted(small_client, post_json):
    result = post_json(small_client, object_of_length(SMALL_LIMIT))

    assert result.status_code == 200
    assert result.json == {"a": "x" * (SMALL_LIMIT - 9)}


def test_post_with_body_one_byte_over_the_limit_is_413_naming_the_limit(small_client, post_json):
    result = post_json(small_client, object_of_length(SMALL_LIMIT + 1))

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


def test_a_chunked_upload_over_the_limit_is_413_read_one_byte_past_it(
    small_client, recording_stream
):
    stream = recording_stream(b'{"a": "' + b"x" * 10_000 + b'"}')

    result = post_without_content_length(small_client, stream)

    assert_json_error(result, 413)
    assert stream.bytes_read <= SMALL_LIMIT + 1


def test_a_chunked_upload_within_the_limit_is_accepted(small_client, recording_stream):
    result = post_without_content_length(small_client, recording_stream(b'{"a": 1, "b": 2}'))

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


def post_declaring(client, content_length, stream, extras=None, target=("POST", "/")):
    return client.simulate_request(
        *target,
        headers={"Content-Type": "application/json", "Content-Length": str(content_length)},
        extras={"wsgi.input": stream, **(extras or {})},
    )


def test_a_body_that_arrives_in_pieces_is_read_whole(client):
    body = b'{"a": "' + b"x" * 100 + b'"}'

    result = post_declaring(client, len(body), TrickleStream(body, piece=7))

    assert result.status_code == 200
    assert result.json == {"a": "x" * 100}


def test_a_body_that_ends_before_its_content_length_is_400_saying_how_much_came(client):
    result = post_declaring(client, 100, TrickleStream(b'{"a": 1,  ', piece=4))

    assert_json_error(result, 400)
    assert result.json["title"] == "Body ended early"
    assert result.json["description"] == "The body ended after 10 of its 100 bytes."


CLOSED = OSError("error during read(100) on wsgi.input")
TIMED_OUT = OSError("timeout during read(100) on wsgi.input")
ENDED_EARLY = (400, "Body ended early")
TIMED_OUT_408 = (408, "Body timed out")


@pytest.mark.parametrize(
    ("error", "extras", "answer"),
    [
        (CLOSED, {}, ENDED_EARLY),
        (ConnectionResetError(104, "Connection reset by peer"), {}, ENDED_EARLY),
        (TIMED_OUT, {}, TIMED_OUT_408),
        (TimeoutError("timed out"), {}, TIMED_OUT_408),  # another server's socket timeout
        # body_deadline.py shuts the reading side: the read fails as if the client had
        # closed it, and the environ says why.
        (CLOSED, {DEADLINE_PASSED: True}, TIMED_OUT_408),
    ],
    ids=["client-closed", "reset", "uwsgi-timeout", "socket-timeout", "deadline"],
)
def test_an_unfinished_body_is_answered_400_or_408_and_logs_no_error(
    client, logs, error, extras, answer
):
    result = post_declaring(client, 100, FailingStream(error), extras=extras)

    assert_json_error(result, answer[0])
    assert result.json["title"] == answer[1]
    assert [line for line in logs.lines() if line["level"] in ("ERROR", "CRITICAL")] == []
    assert "Traceback" not in logs.text()


def test_a_chunked_upload_that_times_out_is_408(client):
    result = post_without_content_length(client, FailingStream(TIMED_OUT))

    assert_json_error(result, 408)


def test_an_item_body_that_ends_early_is_400_and_stores_nothing(client):
    stream = TrickleStream(b'{"a": 1', piece=100)

    result = post_declaring(client, 100, stream, target=("PUT", "/items/k"))

    assert_json_error(result, 400)
    assert client.simulate_get("/items/k").status_code == 404


# --- 400: Content-Length and Transfer-Encoding together ------------------------------------
# RFC 9112 section 6.3: a proxy and this server could disagree on where such a body ends,
# which is how a request is smuggled past the proxy.

BOTH_LENGTHS = {"Content-Length": "8", "Transfer-Encoding": "chunked"}


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/"),
        ("PUT", "/items/k"),
        ("GET", "/"),
        ("GET", "/health/live"),
        ("GET", "/metrics"),
        ("DELETE", "/items/apple"),
    ],
)
def test_both_lengths_are_400_on_every_request_before_the_media_type_is_judged(
    client, method, path
):
    headers = {"Content-Type": "text/plain", **BOTH_LENGTHS}

    result = client.simulate_request(method, path, body=b'{"a": 1}', headers=headers)

    assert_json_error(result, 400)
    assert result.json["title"] == "Ambiguous body length"
    assert result.headers["X-Request-ID"]


def test_both_lengths_are_refused_before_the_body_is_read(client, recording_stream):
    stream = recording_stream(b'{"a": 1}')

    result = client.simulate_post(
        "/",
        headers={"Content-Type": "application/json", **BOTH_LENGTHS},
        extras={"wsgi.input": stream},
    )

    assert result.status_code == 400
    assert stream.bytes_read == 0


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
