"""Prometheus metrics: request count and latency by method, route and status.

uWSGI runs several worker processes, each with its own memory. Each worker counts in
plain Python (no lock files, no system call per request) and a background thread
publishes its totals, at most PUBLISH_INTERVAL seconds old, to a file of its own in the
instance's metrics directory; `/metrics` adds up every worker's file, so a scrape sees the
whole instance whichever worker answers it, at most a second behind. Files of workers
that have exited stay, so counters never go down while the instance lives.

Label values are bounded whatever clients send: a method outside HTTP's standard set is
counted as `_OTHER` (OpenTelemetry's convention), a path that matched no route as
`<unmatched>`. Otherwise a client inventing methods or paths could grow the metrics, and
each scrape, without limit.
"""

from __future__ import annotations

import atexit
import bisect
import json
import os
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import falcon
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.registry import Collector

STANDARD_METHODS = frozenset(
    ("GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH")
)
OTHER_METHOD = "_OTHER"
# Falcon has no route template for a request that matched no route.
UNMATCHED_ROUTE = "<unmatched>"
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)
PUBLISH_INTERVAL = 0.5  # seconds; a scrape is at most this (plus a scrape's time) behind
_LABELS = ("method", "route", "status")
_FILE_PREFIX, _FILE_SUFFIX = "worker-", ".json"

# (method, route, status) -> [count, sum of seconds, one count per bucket and +Inf]
Series = dict[tuple[str, str, int], list[float]]


class Metrics:
    """This process's request counts, and the instance's when given a `directory`."""

    _series: Series
    _own_file: Path | None

    def __init__(self, directory: str | None, publish_interval: float = PUBLISH_INTERVAL) -> None:
        self._directory = Path(directory) if directory else None
        self._publish_interval = publish_interval
        self._start_from_zero()
        self._registry = CollectorRegistry(auto_describe=False)
        self._registry.register(_SeriesCollector(self._instance_series))
        if self._directory is not None:
            # uWSGI forks its workers from the process that built the app: each child
            # starts counting from zero, with a publisher thread of its own.
            os.register_at_fork(after_in_child=self._start_from_zero)

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        if method not in STANDARD_METHODS:
            method = OTHER_METHOD
        key = (method, route, status)
        with self._lock:
            series = self._series.get(key)
            if series is None:
                series = self._series[key] = [0.0] * (len(LATENCY_BUCKETS) + 3)
            series[0] += 1
            series[1] += seconds
            series[2 + bisect.bisect_left(LATENCY_BUCKETS, seconds)] += 1
        if not self._publishing and self._directory is not None:
            self._start_publishing(self._directory)
        self._changed = True

    def exposition(self) -> bytes:
        return generate_latest(self._registry)

    def _snapshot(self) -> Series:
        with self._lock:
            return {key: list(series) for key, series in self._series.items()}

    def _instance_series(self) -> Series:
        """This process's live counts plus every other worker's published ones."""
        total = self._snapshot()
        if self._directory is None:
            return total
        for path in self._directory.glob(f"{_FILE_PREFIX}*{_FILE_SUFFIX}"):
            if path == self._own_file:
                continue  # the live counts above are newer
            try:
                published = json.loads(path.read_bytes())
            except FileNotFoundError:
                continue
            for method, route, status, *values in published:
                _add(total, (method, route, status), values)
        return total

    def _start_publishing(self, directory: Path) -> None:
        self._publishing = True
        self._own_file = directory / f"{_FILE_PREFIX}{os.getpid()}{_FILE_SUFFIX}"
        threading.Thread(target=self._publish_forever, name="metrics", daemon=True).start()
        # A worker that stops (SIGTERM's drain, a reload) publishes its last requests.
        atexit.register(self._publish)

    def _publish_forever(self) -> None:
        while True:
            time.sleep(self._publish_interval)
            if self._changed:
                self._changed = False
                self._publish()

    def _publish(self) -> None:
        assert self._own_file is not None
        rows = [[*key, *values] for key, values in self._snapshot().items()]
        # Written aside and renamed: a scrape reads the old totals or the new, never half.
        fd, temporary = tempfile.mkstemp(dir=self._own_file.parent, prefix=".publishing-")
        with os.fdopen(fd, "w") as file:
            json.dump(rows, file)
        os.replace(temporary, self._own_file)

    def _start_from_zero(self) -> None:
        self._series = {}
        self._lock = threading.Lock()
        self._changed = False
        self._publishing = False
        self._own_file = None


def _add(total: Series, key: tuple[str, str, int], values: list[float]) -> None:
    series = total.get(key)
    if series is None:
        total[key] = list(values)
    else:
        for index, value in enumerate(values):
            series[index] += value


class _SeriesCollector(Collector):
    def __init__(self, series: Callable[[], Series]) -> None:
        self._series = series

    def collect(self) -> Iterator[Metric]:
        requests = CounterMetricFamily("http_requests", "HTTP requests served.", labels=_LABELS)
        latency = HistogramMetricFamily(
            "http_request_duration_seconds",
            "Time from request received to response ready.",
            labels=_LABELS,
        )
        for (method, route, status), values in sorted(self._series().items()):
            labels = [method, route, str(status)]
            requests.add_metric(labels, values[0])
            cumulative, buckets = 0.0, []
            for bound, count in zip((*LATENCY_BUCKETS, float("inf")), values[2:], strict=True):
                cumulative += count
                buckets.append((_bound_text(bound), cumulative))
            latency.add_metric(labels, buckets, values[1])
        yield requests
        yield latency


def _bound_text(bound: float) -> str:
    return "+Inf" if bound == float("inf") else str(bound)


class MetricsResource:
    def __init__(self, metrics: Metrics) -> None:
        self._metrics = metrics

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        resp.content_type = CONTENT_TYPE_LATEST
        resp.data = self._metrics.exposition()
