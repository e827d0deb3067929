"""Calling other services over HTTP: timeouts, bounded retries, request id and trace
propagation.

One ServiceClient per downstream service, found by name in the configuration. Failures
become errors the resource turns into 502 (the service answered badly or not at all)
or 504 (it did not answer in time).
"""

from __future__ import annotations

import json
from typing import Any, Protocol

import urllib3
from urllib3.exceptions import HTTPError, MaxRetryError, NewConnectionError, TimeoutError
from urllib3.util import Retry, Timeout

from example_app.config import DownstreamService
from example_app.middleware import REQUEST_ID_HEADER
from example_app.tracing import TraceContext, Tracing, current_span

# Retries repeat only idempotent methods (GET, PUT, DELETE, ...), never POST, and only
# for failures where trying again can help; backoff 0.1 s, then 0.2 s.
RETRIES = 2
RETRY_BACKOFF = 0.1
RETRY_STATUSES = frozenset({502, 503, 504})


class DownstreamError(Exception):
    """The downstream service failed: no answer, or an answer we cannot use."""

    def __init__(self, service: str, message: str) -> None:
        super().__init__(f"{service}: {message}")
        self.service = service


class DownstreamTimeout(DownstreamError):
    """The downstream service did not answer within the timeout."""


class DownstreamClient(Protocol):
    """What resources and readiness call: a ServiceClient, or a test's stand-in."""

    @property
    def service(self) -> DownstreamService: ...

    def request(
        self, method: str, path: str, request_id: str, body: Any = None, retries: bool = True
    ) -> tuple[int, Any]: ...


class ServiceClient:
    """Each call is a span of the request being served (tracing.py): its `traceparent`
    names that span as the parent."""

    def __init__(
        self, service: DownstreamService, timeout: float, tracing: Tracing | None = None
    ) -> None:
        self.service = service
        self._tracing = tracing or TraceContext()
        self._pool = urllib3.PoolManager(
            timeout=Timeout(connect=timeout, read=timeout),
            retries=Retry(
                total=RETRIES,
                backoff_factor=RETRY_BACKOFF,
                status_forcelist=RETRY_STATUSES,
                allowed_methods=Retry.DEFAULT_ALLOWED_METHODS,
                raise_on_status=False,
            ),
        )

    def request(
        self, method: str, path: str, request_id: str, body: Any = None, retries: bool = True
    ) -> tuple[int, Any]:
        """Send a request and return (status, decoded JSON body or None)."""
        headers = {REQUEST_ID_HEADER: request_id, "Accept": "application/json"}
        payload = None
        if body is not None:
            headers["Content-Type"] = "application/json"
            payload = json.dumps(body).encode()
        name = self.service.name
        url = self.service.url + path
        call = self._tracing.outbound(current_span.get(), method, url)
        headers.update(call.headers)
        status = None
        try:
            response = self._pool.request(
                method, url, body=payload, headers=headers, retries=None if retries else False
            )
            status = response.status
        except MaxRetryError as error:
            raise _downstream_error(name, error.reason) from error
        except HTTPError as error:
            raise _downstream_error(name, error) from error
        finally:
            call.finish(status)
        if not response.data:
            return response.status, None
        try:
            return response.status, json.loads(response.data)
        except ValueError:
            raise DownstreamError(name, f"answered {response.status} with invalid JSON") from None


def _downstream_error(service: str, cause: Exception | None) -> DownstreamError:
    # urllib3's NewConnectionError (refused, unresolvable) subclasses its timeout error
    # for history's sake; a refusal is no timeout, so it is told apart first.
    if isinstance(cause, TimeoutError) and not isinstance(cause, NewConnectionError):
        return DownstreamTimeout(service, "did not answer in time")
    return DownstreamError(service, f"could not be reached ({cause})")
