"""Reading a JSON object from a request body, with the rules every endpoint shares.

415 for a body that is not `application/json`, 413 for one over the size limit (refused
before it is read), 400 for anything that is not a well-formed UTF-8 JSON object.
"""

from __future__ import annotations

import json
import math
from typing import Any

import falcon

JSON_MEDIA_TYPE = "application/json"
_MAX_INTEGER_DIGITS = 4300


def read_json_object(req: falcon.Request, max_body_bytes: int) -> dict[str, Any]:
    _require_json_media_type(req.content_type)
    raw = _read_bounded(req, max_body_bytes)
    document = _parse(raw)
    if not isinstance(document, dict):
        raise falcon.HTTPBadRequest(
            title="Body is not a JSON object",
            description=f"Expected a JSON object, got a JSON {_json_type_name(document)}.",
        )
    return document


def _require_json_media_type(content_type: str | None) -> None:
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
    too_large = falcon.HTTPContentTooLarge(
        description=f"The body must be at most {max_body_bytes} bytes."
    )
    declared = req.content_length
    if declared is not None and declared > max_body_bytes:
        raise too_large
    # Without a Content-Length (chunked uploads), read one byte past the limit to
    # tell "exactly at the limit" from "over it", and never more than that.
    raw: bytes = req.bounded_stream.read(max_body_bytes + 1)
    if len(raw) > max_body_bytes:
        raise too_large
    return raw


def _parse(raw: bytes) -> Any:
    if not raw.strip():
        raise falcon.HTTPBadRequest(title="Empty body", description="Send a JSON object.")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        raise falcon.HTTPBadRequest(
            title="Body is not UTF-8",
            description=f"Invalid UTF-8 at byte {error.start}.",
        ) from None
    try:
        return json.loads(
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
