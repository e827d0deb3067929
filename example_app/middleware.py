"""Cross-cutting request handling: request ids and the access log."""

from __future__ import annotations

import logging
import secrets
import time
from typing import TypeGuard

import falcon

from example_app.logs import current_request_id

REQUEST_ID_HEADER = "X-Request-ID"
_MAX_REQUEST_ID_LENGTH = 128

access_log = logging.getLogger("example_app.access")


class RequestContextMiddleware:
    """Gives each request an id and a start time; runs first, so the others can use them.

    The id comes from the caller's X-Request-ID when it is sane (so one id follows a
    request across services) or is made here, and goes back on the response.
    """

    def process_request(self, req: falcon.Request, resp: falcon.Response) -> None:
        req.context.started = time.perf_counter()
        request_id = req.get_header(REQUEST_ID_HEADER)
        if not _is_acceptable_request_id(request_id):
            request_id = secrets.token_hex(16)
        req.context.request_id = request_id
        req.context.request_id_token = current_request_id.set(request_id)
        resp.set_header(REQUEST_ID_HEADER, request_id)

    def process_response(
        self, req: falcon.Request, resp: falcon.Response, resource: object, req_succeeded: bool
    ) -> None:
        current_request_id.reset(req.context.request_id_token)


class AccessLogMiddleware:
    """One log line per request; uWSGI's own request logging is off (see uwsgi.ini)."""

    def process_response(
        self, req: falcon.Request, resp: falcon.Response, resource: object, req_succeeded: bool
    ) -> None:
        access_log.info(
            "request",
            extra={
                "method": req.method,
                "path": req.path,
                "status": resp.status_code,
                "duration_ms": round((time.perf_counter() - req.context.started) * 1000, 3),
            },
        )


def _is_acceptable_request_id(value: str | None) -> TypeGuard[str]:
    # Bounded and printable ASCII, so a caller cannot forge log lines or bloat them.
    return (
        value is not None
        and 0 < len(value) <= _MAX_REQUEST_ID_LENGTH
        and value.isascii()
        and value.isprintable()
    )
