"""A frozen Redis under load: the instance stays live, fails fast and recovers by itself.

Redis is frozen with SIGSTOP (its connections accept but nothing answers, as when a host
hangs) while 8 clients GET and PUT items; liveness and readiness are probed throughout.
The figures the test sees are printed (run with `-s` to read them).
"""

from __future__ import annotations

import http.client
import json
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from prometheus_client.parser import text_string_to_metric_families

from local_platform.processes import wait_until
from local_platform.services import RedisService
from service_tests.conftest import AppFactory
from service_tests.harness import AppServer

CLIENTS = 8
ITEMS = [f"frozen-{number}" for number in range(CLIENTS)]
# How long the load runs against the frozen Redis once readiness has said 503: long
# enough for every worker to fail fast, probe and fail again a few times.
OUTAGE = 4.0
# The targets (issue 11, finding 2).
LIVENESS_LIMIT = 0.5
NOT_READY_WITHIN = 1.5
ITEM_P99_LIMIT = 2.5
RECOVERY_WITHIN = 5.0
# Every request gives up after this long, so a hung worker fails the test, not hangs it.
REQUEST_TIMEOUT = 10.0


@dataclass(frozen=True)
class Answer:
    started: float  # time.monotonic()
    seconds: float
    status: int | None  # None: no HTTP answer at all
    body: bytes | str  # the body, or what went wrong

    @property
    def ended(self) -> float:
        return self.started + self.seconds


class Load:
    """Threads that call the app in a loop, each recording every answer, until stopped."""

    def __init__(self) -> None:
        self.stopping = threading.Event()
        self.answers: dict[str, list[Answer]] = {}
        self._threads: list[threading.Thread] = []

    def add(self, name: str, call: Callable[[int], tuple[int, bytes]], pause: float = 0) -> None:
        answers = self.answers.setdefault(name, [])

        def run() -> None:
            number = 0
            while not self.stopping.is_set():
                started = time.monotonic()
                try:
                    status, body = call(number)
                    answer = Answer(started, time.monotonic() - started, status, body)
                except (OSError, http.client.HTTPException) as error:
                    answer = Answer(started, time.monotonic() - started, None, repr(error))
                answers.append(answer)
                number += 1
                self.stopping.wait(pause)

        self._threads.append(threading.Thread(target=run, name=name, daemon=True))

    def __enter__(self) -> Load:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stopping.set()
        for thread in self._threads:
            thread.join(REQUEST_TIMEOUT + 1)


def _item_client(app: AppServer, key: str) -> Callable[[int], tuple[int, bytes]]:
    """GET and PUT by turns on one item."""

    def call(number: int) -> tuple[int, bytes]:
        if number % 2:
            body = json.dumps({"n": number}).encode()
            headers = {"Content-Type": "application/json"}
            response = app.request("PUT", f"/items/{key}", body, headers, timeout=REQUEST_TIMEOUT)
        else:
            response = app.request("GET", f"/items/{key}", timeout=REQUEST_TIMEOUT)
        return response.status, response.body

    return call


def _probe(app: AppServer, path: str) -> Callable[[int], tuple[int, bytes]]:
    def call(number: int) -> tuple[int, bytes]:
        response = app.request("GET", path, timeout=REQUEST_TIMEOUT)
        return response.status, response.body

    return call


def _is_store_unavailable(answer: Answer) -> bool:
    if answer.status != 503 or not isinstance(answer.body, bytes):
        return False
    try:
        return bool(json.loads(answer.body)["title"] == "Storage unavailable")
    except (ValueError, KeyError, TypeError):
        return False


def _percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def _counted(app: AppServer, route: str, status: str | None = None) -> float:
    """The requests /metrics counts on `route`, with that status if given."""
    return sum(
        sample.value
        for family in text_string_to_metric_families(app.get("/metrics").text)
        for sample in family.samples
        if sample.name == "http_requests_total"
        and sample.labels["route"] == route
        and status in (None, sample.labels["status"])
    )


def test_a_frozen_redis_keeps_liveness_fast_and_fails_item_requests_fast(
    start_app: AppFactory, redis_server: RedisService
) -> None:
    app = start_app()
    for key in ITEMS:
        put = app.request("PUT", f"/items/{key}", b"{}", {"Content-Type": "application/json"})
        assert put.status == 201
    load = Load()
    for key in ITEMS:
        load.add(f"items {key}", _item_client(app, key))
    load.add("live", _probe(app, "/health/live"), pause=0.05)
    load.add("ready", _probe(app, "/health/ready"), pause=0.05)

    with load:
        # Healthy first: every client has had an item stored or read.
        assert wait_until(lambda: all(load.answers[f"items {k}"] for k in ITEMS), timeout=5)
        with redis_server.paused():
            frozen_at = time.monotonic()
            assert wait_until(lambda: _not_ready_since(load, frozen_at), timeout=10)
            load.stopping.wait(OUTAGE)
            thawed_at = time.monotonic()
        recovered = wait_until(lambda: _recovered_since(load, thawed_at), RECOVERY_WITHIN + 1)
        recovered_at = time.monotonic()
    items = [answer for key in ITEMS for answer in load.answers[f"items {key}"]]

    live = load.answers["live"]
    ready = load.answers["ready"]
    during = [a for a in items if frozen_at <= a.started < thawed_at]
    not_ready = [a.ended for a in ready if a.started >= frozen_at and a.status == 503]
    ready_again = [a.ended for a in ready if a.started >= thawed_at and a.status == 200]
    figures = {
        "liveness max s": max(a.seconds for a in live),
        "liveness probes": len(live),
        "503 after s": min(not_ready) - frozen_at,
        "item requests in outage": len(during),
        "item p50 s": _percentile([a.seconds for a in during], 0.50),
        "item p99 s": _percentile([a.seconds for a in during], 0.99),
        "item max s": max(a.seconds for a in during),
        "ready again after s": min(ready_again, default=math.inf) - thawed_at,
        "items all ok after s": recovered_at - thawed_at,
    }
    print("\nfrozen Redis:", ", ".join(f"{k} {v:.3f}" for k, v in figures.items()))

    assert [a for a in live if a.status != 200] == []
    assert figures["liveness max s"] <= LIVENESS_LIMIT, figures
    assert figures["503 after s"] <= NOT_READY_WITHIN, figures
    # While frozen, an item request can only be refused; one that ends after the thaw may
    # have been served by it.
    refused = [a for a in during if a.ended < thawed_at or a.status not in (200, 201)]
    assert len(refused) > CLIENTS
    assert [a for a in refused if not _is_store_unavailable(a)] == []
    assert figures["item p99 s"] <= ITEM_P99_LIMIT, figures
    assert recovered, figures
    assert figures["ready again after s"] <= RECOVERY_WITHIN, figures
    assert figures["items all ok after s"] <= RECOVERY_WITHIN, figures
    assert [a for a in items + ready if a.status is None or a.status == 500] == []
    # Every answered item request is counted (workers publish within a second); no 500.
    answered = sum(1 for a in items if a.status is not None)
    assert wait_until(lambda: _counted(app, "/items/{key}") >= answered, timeout=3)
    assert _counted(app, "/items/{key}", status="500") == 0
    assert "Traceback" not in app.stdout_text() + app.stderr_text()


def _not_ready_since(load: Load, moment: float) -> bool:
    return any(a.started >= moment and a.status == 503 for a in load.answers["ready"])


def _recovered_since(load: Load, moment: float) -> bool:
    """Readiness said 200, and every client's last two item requests since were served."""
    if not any(a.started >= moment and a.status == 200 for a in load.answers["ready"]):
        return False
    for key in ITEMS:
        recent = [a for a in load.answers[f"items {key}"] if a.started >= moment][-2:]
        if len(recent) < 2 or any(a.status not in (200, 201) for a in recent):
            return False
    return True
