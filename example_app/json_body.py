"""Reading a JSON object from a request body, with the rules every endpoint shares.

415 for a body that is not `application/json`, 413 for one over the size limit (refused
before it is read), 400 for anything that is not a well-formed UTF-8 JSON object.

A body the client does not finish is the client's fault, never a 500: 400 when the
connection ends before the Content-Length's bytes, 408 when they stop coming for longer
than the server waits. And a request that gives both Content-Length and
Transfer-Encoding is refused before anything is read (RFC 9112, section 6.3).

Bodies are parsed, and JSON responses written, with msgspec: about three times faster
than the standard library here, and exact where orjson is not (integers past 64 bits).
It accepts exactly what the rules below accept; when it refuses a body, the standard
library parses it again only to say precisely what is wrong.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from typing import Any

import falcon
import falcon.media
import msgspec
from falcon.typing import ReadableIO

from example_app.body_deadline import DEADLINE_PASSED

JSON_MEDIA_TYPE = "application/json"
# A \u escape in the surrogate range; only bodies with one need the slower check.
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F][0-9a-fA-F]{2}")
_MAX_INTEGER_DIGITS = 4300

# Falcon's JSON media handler, for `resp.media`, with msgspec's encoder and decoder.
JSON_HANDLER = falcon.media.JSONHandler(dumps=msgspec.json.encode, loads=msgspec.json.decode)


def read_json_object(req: falcon.Request, max_body_bytes: int) -> dict[str, Any]:
    # RequestMiddleware has already refused ambiguous framing (reject_ambiguous_framing).
    _require_json_media_type(req.content_type)
    raw = _read_bounded(req, max_body_bytes)
    document = _parse(raw)
    if not isinstance(document, dict):
        raise falcon.HTTPBadRequest(
            title="Body is not a JSON object",
            description=f"Expected a JSON object, got a JSON {_json_type_name(document)}.",
        )
    return document


def reject_ambiguous_framing(environ: Mapping[str, Any]) -> None:
    """400 for a request with both Transfer-Encoding and Content-Length.

    RFC 9112 section 6.3: such a message "ought to be handled as an error", because a
    proxy in front and this server may disagree on where its body ends, which is how
    requests are smuggled past a proxy. uWSGI would believe the Content-Length. Two
    lookups in the WSGI environ, cheap enough for every request.
    """
    if "HTTP_TRANSFER_ENCODING" in environ and "CONTENT_LENGTH" in environ:
        raise falcon.HTTPBadRequest(
            title="Ambiguous body length",
            description="Send either Content-Length or Transfer-Encoding, not both.",
        )


def _require_json_media_type(content_type: str | None) -> None:
    if content_type == JSON_MEDIA_TYPE:
        return  # what nearly every client sends: no need to parse it
    if content_type is None:
        raise falcon.HTTPUnsupportedMediaType(
            description="Send the body with Content-Type: application/json."
        )
    media_type, params = falcon.parse_header(content_type)
    if media_type.lower() != JSON_MEDIA_TYPE:
        raise falcon.HTTPUnsupportedMediaType(
            description=f"Media type must be application/json, got {media_type!r}."
        )
    charset = params.get("charset", "utf-8").lower()
    if charset not in ("utf-8", "utf8"):
        raise falcon.HTTPUnsupportedMediaType(
            description=f"JSON must be encoded as UTF-8, got charset {charset!r}."
        )


def _read_bounded(req: falcon.Request, max_body_bytes: int) -> bytes:
    declared = req.content_length
    if declared is not None:
        if declared > max_body_bytes:
            raise _too_large(max_body_bytes)
        try:
            return _read_exactly(req.stream, declared)
        except falcon.HTTPBadRequest:
            # The body's deadline passed and its reading was cut short (body_deadline.py).
            if req.env.get(DEADLINE_PASSED):
                raise _timed_out() from None
            raise
    if req.get_header("Transfer-Encoding") is None:
        return b""  # HTTP/1.1: no length and no chunking means no body
    if not req.env.get("wsgi.input_terminated"):
        # A chunked upload the server does not end for us: reading could block.
        raise falcon.HTTPLengthRequired(description="Send the body with a Content-Length.")
    # A chunked upload: read one byte past the limit to tell "exactly at the limit"
    # from "over it", and never more than that.
    raw = _read(req.stream, max_body_bytes + 1)
    if len(raw) > max_body_bytes:
        raise _too_large(max_body_bytes)
    return raw


def _too_large(max_body_bytes: int) -> falcon.HTTPError:
    return falcon.HTTPContentTooLarge(
        description=f"The body must be at most {max_body_bytes} bytes."
    )


def _read_exactly(stream: ReadableIO, length: int) -> bytes:
    """The body's `length` bytes, never a byte more (wsgi.input would wait for it)."""
    body = _read(stream, length)
    if len(body) == length:
        return body  # uWSGI's read() returns it all, or raises
    # Other servers may return part of it, and b"" once the connection has ended.
    chunks = [body]
    received = len(body)
    while received < length:
        chunk = _read(stream, length - received)
        if not chunk:
            raise falcon.HTTPBadRequest(
                title="Body ended early",
                description=f"The body ended after {received} of its {length} bytes.",
            )
        chunks.append(chunk)
        received += len(chunk)
    return b"".join(chunks)


def _read(stream: ReadableIO, size: int) -> bytes:
    try:
        chunk: bytes = stream.read(size)
    except OSError as error:
        raise _unfinished_body(error) from None
    return chunk


def _unfinished_body(error: OSError) -> falcon.HTTPError:
    # uWSGI's wsgi.input raises OSError("timeout during read(N) on wsgi.input") when the
    # body stops arriving for its socket timeout, and OSError("error during read(N) ...")
    # when the client closed the connection or it failed (uwsgi_Input_read in
    # plugins/python/wsgi_handlers.c, on uwsgi_request_body_read in core/reader.c).
    # Other servers raise TimeoutError, an OSError too.
    if isinstance(error, TimeoutError) or str(error).startswith("timeout"):
        return _timed_out()
    return falcon.HTTPBadRequest(
        title="Body ended early",
        description="The connection ended before the whole body arrived.",
    )


def _timed_out() -> falcon.HTTPError:
    return falcon.HTTPError(
        falcon.HTTP_408,
        title="Body timed out",
        description="The rest of the body did not arrive in time; send it again.",
    )


def _parse(raw: bytes) -> Any:
    if not raw.strip():
        raise falcon.HTTPBadRequest(title="Empty body", description="Send a JSON object.")
    try:
        return msgspec.json.decode(raw)
    except (msgspec.DecodeError, UnicodeDecodeError, RecursionError):
        pass  # refused: the standard library's parse below says why
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        raise falcon.HTTPBadRequest(
            title="Body is not UTF-8",
            description=f"Invalid UTF-8 at byte {error.start}.",
        ) from None
    try:
        document = json.loads(
            text,
            parse_constant=_reject_constant,
            parse_float=_finite_float,
            parse_int=_bounded_int,
        )
    except json.JSONDecodeError as error:
        raise falcon.HTTPBadRequest(
            title="Malformed JSON",
            description=f"{error.msg} at line {error.lineno} column {error.colno}.",
        ) from None
    except RecursionError:
        raise falcon.HTTPBadRequest(
            title="JSON nested too deeply",
            description="Arrays and objects nest too deeply to be parsed.",
        ) from None
    except ValueError as error:
        # NaN, Infinity, numbers out of range, integers too long to convert.
        raise falcon.HTTPBadRequest(title="Invalid JSON value", description=str(error)) from None
    if _SURROGATE_ESCAPE.search(text):
        _reject_lone_surrogates(document)
    return document


def _reject_lone_surrogates(document: Any) -> None:
    # "\ud800" alone is valid JSON syntax but no character: it cannot be written back
    # as UTF-8, so it would fail later, when the response or Redis encodes it. A pair
    # ("\ud83d\ude00") decodes to one real character and passes.
    try:
        json.dumps(document, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        raise falcon.HTTPBadRequest(
            title="Invalid JSON string",
            description="A \\u escape names half of a surrogate pair, which is no character.",
        ) from None


def _reject_constant(name: str) -> None:
    raise ValueError(f"{name} is not a JSON value.")


def _finite_float(text: str) -> float:
    # 1e400 parses as infinity, which json.dumps would write back as invalid JSON.
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"Number {text} is too large.")
    return value


def _bounded_int(text: str) -> int:
    # Python refuses to convert longer integers (sys.int_info.default_max_str_digits).
    if len(text.lstrip("-")) > _MAX_INTEGER_DIGITS:
        raise ValueError(f"Integers may have at most {_MAX_INTEGER_DIGITS} digits.")
    return int(text)


def _json_type_name(value: Any) -> str:
    if isinstance(value, list):
        return "array"
    if isinstance(value, str):
        return "string"
    if isinstance(value, bool):
        return "boolean"
    if value is None:
        return "null"
    return "number"
