"""Prometheus metrics: request count and latency by route, method and status.

uWSGI runs several worker processes, each with its own memory. When the environment
names a PROMETHEUS_MULTIPROC_DIR (uwsgi.ini does), prometheus_client has every worker
write its values to files there and `/metrics` adds them up, so a scrape sees the
whole instance whichever worker answers it.
"""

from __future__ import annotations

import time

import falcon
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)
from prometheus_client.multiprocess import MultiProcessCollector

# Falcon has no route template for a request that matched no route.
UNMATCHED_ROUTE = "<unmatched>"
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)


class Metrics:
    def __init__(self, multiprocess_dir: str | None) -> None:
        self._multiprocess_dir = multiprocess_dir
        # A registry of our own, not prometheus_client's global one, so each app
        # created (one per test, say) starts from zero.
        self.registry = CollectorRegistry()
        labels = ("method", "route", "status")
        self.requests = Counter(
            "http_requests", "HTTP requests served.", labels, registry=self.registry
        )
        self.latency = Histogram(
            "http_request_duration_seconds",
            "Time from request received to response ready.",
            labels,
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self._children: dict[tuple[str, str, int], tuple[Counter, Histogram]] = {}

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        key = (method, route, status)
        children = self._children.get(key)
        if children is None:
            # Looking a labelled child up costs more than using it: once per label set.
            labels = (method, route, str(status))
            children = self._children[key] = (
                self.requests.labels(*labels),
                self.latency.labels(*labels),
            )
        requests, latency = children
        requests.inc()
        latency.observe(seconds)

    def exposition(self) -> bytes:
        if self._multiprocess_dir:
            registry = CollectorRegistry()
            MultiProcessCollector(registry, path=self._multiprocess_dir)  # type: ignore[no-untyped-call]
            return generate_latest(registry)
        return generate_latest(self.registry)


class MetricsMiddleware:
    """Counts and times every request; needs RequestContextMiddleware before it."""

    def __init__(self, metrics: Metrics) -> None:
        self._metrics = metrics

    def process_response(
        self, req: falcon.Request, resp: falcon.Response, resource: object, req_succeeded: bool
    ) -> None:
        self._metrics.observe(
            req.method,
            req.uri_template or UNMATCHED_ROUTE,
            resp.status_code,
            time.perf_counter() - req.context.started,
        )


class MetricsResource:
    def __init__(self, metrics: Metrics) -> None:
        self._metrics = metrics

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        resp.content_type = CONTENT_TYPE_LATEST
        resp.data = self._metrics.exposition()
