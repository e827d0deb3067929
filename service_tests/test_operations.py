"""Operations endpoints under uWSGI: liveness, readiness, info and metrics."""

from __future__ import annotations

import shutil
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from prometheus_client import CollectorRegistry
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.parser import text_string_to_metric_families

from service_tests.conftest import AppFactory
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
    """What each worker process counted, read from its own file in the metrics directory."""
    counted = {}
    for path in sorted(metrics_dir.glob("counter_*.db")):
        with tempfile.TemporaryDirectory() as one_process:
            shutil.copy(path, one_process)
            registry = CollectorRegistry()
            MultiProcessCollector(registry, path=one_process)
            counted[int(path.stem.removeprefix("counter_"))] = sum(
                sample.value
                for family in registry.collect()
                for sample in family.samples
                if sample.name == "http_requests_total"
                and sample.labels["method"] == method
                and sample.labels["route"] == route
            )
    return counted


def test_metrics_count_every_request_across_both_workers(start_app: AppFactory) -> None:
    # An app of its own, so the counts start at zero; WEB_CONCURRENCY is left at its default.
    app = start_app()
    sent = 200

    with ThreadPoolExecutor(max_workers=8) as pool:
        statuses = list(pool.map(lambda _: app.get("/").status, range(sent), timeout=60))

    assert statuses == [200] * sent
    workers = app.worker_pids()
    assert len(workers) == 2
    per_process = _requests_counted_per_pid(app.metrics_dir, "GET", "/")
    assert set(per_process) == set(workers.values())
    assert all(count > 0 for count in per_process.values()), per_process
    assert _requests_total(app.get("/metrics").text, "GET", "/") == sent
