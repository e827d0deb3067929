"""Error responses: always a small JSON body, never a traceback or a server banner."""

from __future__ import annotations

import json
import logging
from typing import Any

import falcon

from example_app.clients import DownstreamError, DownstreamTimeout
from example_app.storage import StoreUnavailable

# Seconds a client should wait before retrying when Redis is down.
STORE_RETRY_AFTER = 5

log = logging.getLogger(__name__)


def serialize_error(req: falcon.Request, resp: falcon.Response, error: falcon.HTTPError) -> None:
    """Write every HTTP error as JSON, whatever the client's Accept header asks for.

    Falcon would otherwise answer XML to a client that prefers it; one format keeps
    clients and the contract simple.
    """
    body = error.to_dict()
    if "description" not in body:
        body["description"] = _describe(req, resp, error)
    resp.content_type = falcon.MEDIA_JSON
    resp.data = json.dumps(body).encode()


def _describe(req: falcon.Request, resp: falcon.Response, error: falcon.HTTPError) -> str:
    # Falcon raises routing errors without a description; say what went wrong.
    if error.status_code == 404:
        return f"There is nothing at {req.path}."
    if error.status_code == 405:
        allowed = resp.get_header("Allow", default="none")
        return f"{req.method} is not allowed on {req.path}; allowed: {allowed}."
    return str(error.title)


def handle_unexpected_error(
    req: falcon.Request, resp: falcon.Response, error: Exception, params: dict[str, Any]
) -> None:
    """Turn a bug into a logged traceback and a plain 500, not a leaked stack trace."""
    log.error(
        "unhandled error",
        exc_info=(type(error), error, error.__traceback__),
        extra={"method": req.method, "path": req.path},
    )
    raise falcon.HTTPInternalServerError(
        description="The service failed to handle this request; the error has been logged."
    )


def handle_store_unavailable(
    req: falcon.Request, resp: falcon.Response, error: StoreUnavailable, params: dict[str, Any]
) -> None:
    log.warning("store unavailable", extra={"error": str(error)})
    raise falcon.HTTPServiceUnavailable(
        title="Storage unavailable",
        description="The item store cannot be reached; try again shortly.",
        retry_after=STORE_RETRY_AFTER,
    )


def handle_downstream_error(
    req: falcon.Request, resp: falcon.Response, error: DownstreamError, params: dict[str, Any]
) -> None:
    log.warning("downstream service failed", extra={"service": error.service, "error": str(error)})
    if isinstance(error, DownstreamTimeout):
        raise falcon.HTTPGatewayTimeout(title="Upstream timeout", description=str(error))
    raise falcon.HTTPBadGateway(title="Bad upstream answer", description=str(error))
