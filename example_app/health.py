"""Liveness and readiness, the counterparts of Spring Boot Actuator's health groups.

Liveness answers "is the process able to serve at all"; it checks nothing else, so a
slow backing service never gets a healthy process restarted. Readiness runs every
registered check and answers 503 when any fails, so the router stops sending traffic.
Backing services add themselves by passing a HealthCheck to `create_app`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import falcon

from example_app.clients import DownstreamError, ServiceClient
from example_app.logs import current_request_id
from example_app.storage import ItemStore, StoreUnavailable

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class CheckResult:
    ok: bool
    detail: str


class HealthCheck(Protocol):
    """Something the service needs before it can take traffic (a database, a service)."""

    name: str

    def check(self) -> CheckResult: ...


class StoreCheck:
    """The item store answers (Redis PING), or says it is the embedded memory store."""

    name = "store"

    def __init__(self, store: ItemStore) -> None:
        self._store = store

    def check(self) -> CheckResult:
        try:
            return CheckResult(ok=True, detail=self._store.ping())
        except StoreUnavailable as error:
            return CheckResult(ok=False, detail=str(error))


class DownstreamCheck:
    """A critical downstream service's health endpoint answers 2xx, without retries."""

    def __init__(self, client: ServiceClient) -> None:
        self._client = client
        self.name = client.service.name

    def check(self) -> CheckResult:
        service = self._client.service
        try:
            status, _ = self._client.request(
                "GET", service.health_path, current_request_id.get() or "", retries=False
            )
        except DownstreamError as error:
            return CheckResult(ok=False, detail=str(error))
        return CheckResult(ok=200 <= status < 300, detail=f"{service.url} answered {status}")


class LivenessResource:
    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        resp.media = {"status": "up"}


class ReadinessResource:
    def __init__(self, checks: Sequence[HealthCheck]) -> None:
        self._checks = tuple(checks)

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        results = {check.name: self._run(check) for check in self._checks}
        ready = all(result["status"] == "up" for result in results.values())
        resp.status = falcon.HTTP_200 if ready else falcon.HTTP_503
        resp.media = {"status": "ready" if ready else "not ready", "checks": results}

    @staticmethod
    def _run(check: HealthCheck) -> dict[str, object]:
        started = time.perf_counter()
        try:
            result = check.check()
        except Exception as error:  # a broken check means "not ready", not a 500
            log.warning("health check failed", extra={"check": check.name}, exc_info=True)
            result = CheckResult(ok=False, detail=f"check raised {type(error).__name__}")
        return {
            "status": "up" if result.ok else "down",
            "detail": result.detail,
            "duration_ms": round((time.perf_counter() - started) * 1000, 2),
        }
