"""Operations endpoints under uWSGI: liveness, readiness, info and metrics."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from local_platform.services import Service
from service_tests.conftest import running_app
from service_tests.harness import AppServer


def test_liveness_is_200_up(app_server: AppServer) -> None:
    response = app_server.get("/health/live")

    assert response.status == 200
    assert response.json() == {"status": "up"}


def test_readiness_is_200_ready_while_redis_runs(app_server: AppServer) -> None:
    response = app_server.get("/health/ready")

    assert response.status == 200
    body = response.json()
    assert body["status"] == "ready"
    assert all(check["status"] == "up" for check in body["checks"].values())


def test_info_reports_the_version_from_the_environment(app_server: AppServer) -> None:
    response = app_server.get("/info")

    assert response.status == 200
    assert response.json()["name"] == "example-app"
    assert response.json()["version"] == app_server.env["VERSION"]


def _requests_total(exposition: str, method: str, route: str) -> float:
    return sum(
        sample.value
        for family in text_string_to_metric_families(exposition)
        for sample in family.samples
        if sample.name == "http_requests_total"
        and sample.labels["method"] == method
        and sample.labels["route"] == route
    )


def _requests_counted_per_pid(metrics_dir: Path, method: str, route: str) -> dict[int, float]:
    """What each worker process counted, read from the file it publishes its counts to."""
    counted = {}
    for path in sorted(metrics_dir.glob("worker-*.json")):
        rows = json.loads(path.read_text())
        pid = int(path.stem.removeprefix("worker-"))
        counted[pid] = sum(row[3] for row in rows if row[0] == method and row[1] == route)
    return counted


@pytest.fixture(scope="module")
def metrics_app(
    tmp_path_factory: pytest.TempPathFactory, bound_services: Mapping[str, Service]
) -> Iterator[AppServer]:
    """An app of this module's own, so the counts start at zero; WEB_CONCURRENCY is left at
    its default. Its tests count requests no other test of theirs sends."""
    with running_app(tmp_path_factory.mktemp("metrics"), bound_services) as app:
        yield app


def test_every_scrape_within_a_second_counts_every_request_of_both_workers(
    metrics_app: AppServer,
) -> None:
    app, sent = metrics_app, 200
    with ThreadPoolExecutor(max_workers=8) as pool:
        statuses = list(pool.map(lambda _: app.get("/").status, range(sent), timeout=60))
    finished = time.monotonic()

    assert statuses == [200] * sent
    workers = app.worker_pids()
    assert len(workers) == 2
    # Each worker publishes its counts within a second (PUBLISH_INTERVAL, 0.5 s).
    time.sleep(max(0.0, finished + 1.0 - time.monotonic()))
    per_process = _requests_counted_per_pid(app.metrics_dir, "GET", "/")
    assert set(per_process) == set(workers.values())
    assert all(count > 0 for count in per_process.values()), per_process
    # Scrapes land on either worker; each must add up both workers' counts.
    assert [_requests_total(app.get("/metrics").text, "GET", "/") for _ in range(6)] == [sent] * 6


def test_invented_methods_and_paths_do_not_grow_the_metrics(metrics_app: AppServer) -> None:
    app = metrics_app

    def invent(number: int) -> None:
        app.request(f"INVENTED{number}", "/")
        app.request(f"X{number}" * 40, f"/no/such/path/{number}")
        app.get(f"/unknown-{number}")

    invent(0)
    time.sleep(1.0)
    lines_before = len(app.get("/metrics").text.splitlines())

    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(invent, range(1, 301), timeout=120))
    time.sleep(1.0)

    exposition = app.get("/metrics").text
    lines_after = len(exposition.splitlines())
    # At most GET /metrics's own label set is new: the scrape before this one.
    metrics_lines = sum(1 for line in exposition.splitlines() if 'route="/metrics"' in line)
    assert lines_after <= lines_before + metrics_lines
    assert "INVENTED" not in exposition
    assert "/no/such/path" not in exposition
    assert _requests_total(exposition, "_OTHER", "/") == 301
    assert _requests_total(exposition, "_OTHER", "<unmatched>") == 301
    assert sum(p.stat().st_size for p in app.metrics_dir.iterdir()) < 64 * 1024
