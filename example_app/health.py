"""Liveness and readiness, the counterparts of Spring Boot Actuator's health groups.

Liveness answers "is the process able to serve at all"; it checks nothing else, so a
slow backing service never gets a healthy process restarted. Readiness runs every
registered check and answers 503 when any fails, so the router stops sending traffic.
Backing services add themselves by passing a HealthCheck to `create_app`.

Readiness is public (the platform probes it, and so may anyone), so its answer says
whether each check passed and how long it took, in words of the check's choosing that
never hold an address or an error's text. The operator's detail, with both, goes to the
log as a warning when a check fails.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import falcon

from example_app.clients import DownstreamClient, DownstreamError, DownstreamTimeout
from example_app.logs import current_request_id
from example_app.storage import ItemStore, StoreUnavailable

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class CheckResult:
    ok: bool
    # For the operator: may name hosts, ports and errors, so it is logged, never answered.
    detail: str
    # For anyone who asks: no address, no error text. Empty: "check passed" or "failed".
    public_detail: str = ""


class HealthCheck(Protocol):
    """Something the service needs before it can take traffic (a database, a service)."""

    name: str

    def check(self) -> CheckResult: ...


# What readiness says of the store to anyone: what it is and whether it answers.
_PUBLIC_STORE_DETAIL = {
    ("redis", True): "Redis answered",
    ("redis", False): "Redis is unavailable",
    ("memory", True): "memory: embedded, per worker, lost on restart",
}


class StoreCheck:
    """The item store answers (Redis PING), or says it is the embedded memory store."""

    name = "store"

    def __init__(self, store: ItemStore) -> None:
        self._store = store

    def check(self) -> CheckResult:
        backend = self._store.backend
        try:
            detail = self._store.ping()
        except StoreUnavailable as error:
            return CheckResult(False, str(error), _PUBLIC_STORE_DETAIL.get((backend, False), ""))
        return CheckResult(True, detail, _PUBLIC_STORE_DETAIL.get((backend, True), ""))


class DownstreamCheck:
    """A critical downstream service's health endpoint answers 2xx, without retries."""

    def __init__(self, client: DownstreamClient) -> None:
        self._client = client
        self.name = client.service.name

    def check(self) -> CheckResult:
        service = self._client.service
        try:
            status, _ = self._client.request(
                "GET", service.health_path, current_request_id.get() or "", retries=False
            )
        except DownstreamError as error:
            failure = "did not answer in time" if isinstance(error, DownstreamTimeout) else None
            return CheckResult(
                ok=False,
                detail=str(error),
                public_detail=f"{service.name} {failure or 'could not be reached'}",
            )
        return CheckResult(
            ok=200 <= status < 300,
            detail=f"{service.url} answered {status}",
            public_detail=f"{service.name} answered {status}",
        )


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
        except Exception:  # a broken check means "not ready", not a 500
            log.warning("health check failed", extra={"check": check.name}, exc_info=True)
            result = CheckResult(ok=False, detail="raised")
        else:
            if not result.ok:
                extra = {"check": check.name, "detail": result.detail}
                log.warning("health check failed", extra=extra)
        return {
            "status": "up" if result.ok else "down",
            "detail": result.public_detail or ("check passed" if result.ok else "check failed"),
            "duration_ms": round((time.perf_counter() - started) * 1000, 2),
        }
