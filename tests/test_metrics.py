"""Prometheus metrics: request count and latency by method, route and status."""

from __future__ import annotations

import json
import os
import time

import falcon.testing
import pytest
from prometheus_client import CONTENT_TYPE_LATEST
from prometheus_client.parser import text_string_to_metric_families

from example_app.metrics import LATENCY_BUCKETS, Metrics

LABELS = ("method", "route", "status")


def samples(exposition: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of a text exposition, keyed by name and sorted labels."""
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(exposition)
        for sample in family.samples
    }


def value(exposition: str, name: str, **labels: str) -> float | None:
    return samples(exposition).get((name, tuple(sorted(labels.items()))))


def requests_total(exposition: str, method: str, route: str, status: str) -> float | None:
    return value(exposition, "http_requests_total", method=method, route=route, status=status)


def scrape(client: falcon.testing.TestClient) -> str:
    return client.simulate_get("/metrics").text


def write_worker_file(directory, pid: int, count: int, **labels: str) -> None:
    """Publish http_requests_total as a uWSGI worker does: a file of its own, one row per
    label set, its count, latency sum and bucket counts (all in the first bucket here)."""
    buckets = [count] + [0] * len(LATENCY_BUCKETS)
    row = [labels["method"], labels["route"], int(labels["status"]), count, 0.0, *buckets]
    (directory / f"worker-{pid}.json").write_text(json.dumps([row]))


def wait_for(condition, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.01)


def test_metrics_is_prometheus_text_with_no_request_sample_before_any_request(client):
    result = client.simulate_get("/metrics")

    assert result.status_code == 200
    assert result.headers["Content-Type"] == CONTENT_TYPE_LATEST
    assert result.headers["Content-Type"].startswith("text/plain; version=")
    assert "# TYPE http_requests_total counter" in result.text
    assert not [key for key in samples(result.text) if key[0] == "http_requests_total"]


GOOD_POST, BAD_POST = ("POST", "/", b'{"a": 1}'), ("POST", "/", b"[]")


@pytest.mark.parametrize(
    ("sent", "labels", "count"),
    [
        ([("GET", "/", None)] * 3, ("GET", "/", "200"), 3),
        ([GOOD_POST, BAD_POST], ("POST", "/", "200"), 1),
        ([GOOD_POST, BAD_POST], ("POST", "/", "400"), 1),
        ([("DELETE", "/", None)], ("DELETE", "/", "405"), 1),
        ([("GET", "/items/a", None), ("GET", "/items/b", None)], ("GET", "/items/{key}", "404"), 2),
        ([("GET", "/nope", None), ("GET", "/also/nope", None)], ("GET", "<unmatched>", "404"), 2),
        ([("GET", "/metrics", None)], ("GET", "/metrics", "200"), 1),  # counted on the next
    ],
    ids=[
        "each",
        "by-status-200",
        "by-status-400",
        "by-method",
        "by-route-template",
        "unmatched",
        "scrapes",
    ],
)
def test_requests_are_counted_by_method_route_template_and_status(client, sent, labels, count):
    for method, path, body in sent:
        client.simulate_request(
            method, path, body=body, headers={"Content-Type": "application/json"}
        )

    assert requests_total(scrape(client), *labels) == count


def test_latency_histogram_counts_requests_in_the_configured_buckets(client):
    for _ in range(2):
        client.simulate_get("/")

    exposition = scrape(client)

    labels = {"method": "GET", "route": "/", "status": "200"}
    assert value(exposition, "http_request_duration_seconds_count", **labels) == 2
    assert value(exposition, "http_request_duration_seconds_bucket", le="+Inf", **labels) == 2
    assert value(exposition, "http_request_duration_seconds_sum", **labels) is not None
    buckets = {
        dict(labels)["le"]
        for name, labels in samples(exposition)
        if name == "http_request_duration_seconds_bucket"
    }
    assert buckets == {str(float(bound)) for bound in LATENCY_BUCKETS} | {"+Inf"}


def test_two_apps_do_not_share_counts(make_client):
    first, second = make_client(), make_client()
    for _ in range(3):
        first.simulate_get("/")
    second.simulate_get("/")

    assert requests_total(scrape(first), "GET", "/", "200") == 3
    assert requests_total(scrape(second), "GET", "/", "200") == 1


def test_observe_records_count_and_latency():
    metrics = Metrics(directory=None)

    metrics.observe("GET", "/", 200, 0.003)

    exposition = metrics.exposition().decode()
    labels = {"method": "GET", "route": "/", "status": "200"}
    assert value(exposition, "http_requests_total", **labels) == 1
    assert value(exposition, "http_request_duration_seconds_sum", **labels) == pytest.approx(0.003)
    assert value(exposition, "http_request_duration_seconds_bucket", le="0.0025", **labels) == 0
    assert value(exposition, "http_request_duration_seconds_bucket", le="0.005", **labels) == 1


# --- bounded labels --------------------------------------------------------------------------


# falcon.testing checks requests with wsgiref.validate, which warns of invented methods.
invented_methods = pytest.mark.filterwarnings("ignore:Unknown REQUEST_METHOD")


@invented_methods
def test_an_invented_method_is_counted_as_other(client):
    client.simulate_request("BREW", "/")

    exposition = scrape(client)

    assert requests_total(exposition, "_OTHER", "/", "400") == 1
    assert "BREW" not in exposition


@invented_methods
def test_invented_methods_and_paths_do_not_grow_the_metrics(client):
    def send_invented_requests(number: int) -> None:
        client.simulate_request(f"M{number}", f"/p{number}")
        client.simulate_get(f"/nothing/{number}")
        client.simulate_request(f"X{number}" * 50, "/")

    send_invented_requests(0)
    scrape(client)  # so that /metrics's own label set is there already
    lines_before = len(scrape(client).splitlines())

    for number in range(1, 301):
        send_invented_requests(number)

    exposition = scrape(client)
    assert len(exposition.splitlines()) == lines_before
    assert requests_total(exposition, "_OTHER", "<unmatched>", "404") == 301
    assert requests_total(exposition, "GET", "<unmatched>", "404") == 301
    assert requests_total(exposition, "_OTHER", "/", "400") == 301


@pytest.mark.parametrize("method", ["GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS", "PATCH"])
def test_standard_methods_keep_their_name(client, method):
    client.simulate_request(method, "/")

    assert any(
        labels[0][1] == method
        for name, labels in samples(scrape(client))
        if name == "http_requests_total"
    )


# --- one instance, several workers -------------------------------------------------------
# Real uWSGI workers are the service tier's to test; here, the files they publish.


def test_a_worker_publishes_its_counts_to_a_file_of_its_own_again_after_more(tmp_path):
    metrics = Metrics(directory=str(tmp_path), publish_interval=0.01)

    metrics.observe("GET", "/", 200, 0.002)

    wait_for(lambda: list(tmp_path.glob("worker-*.json")))
    [published] = tmp_path.glob("worker-*.json")
    [row] = json.loads(published.read_text())
    assert row[:5] == ["GET", "/", 200, 1, 0.002]
    metrics.observe("GET", "/", 200, 0.002)
    wait_for(lambda: json.loads(published.read_text())[0][3] == 2)


def test_exposition_adds_other_workers_files_to_its_own_counts(tmp_path):
    write_worker_file(tmp_path, pid=101, count=4, method="GET", route="/", status="200")
    write_worker_file(tmp_path, pid=102, count=5, method="GET", route="/", status="200")
    metrics = Metrics(directory=str(tmp_path))

    metrics.observe("GET", "/", 200, 0.001)

    exposition = metrics.exposition().decode()
    assert requests_total(exposition, "GET", "/", "200") == 10
    labels = {"method": "GET", "route": "/", "status": "200"}
    assert value(exposition, "http_request_duration_seconds_bucket", le="0.001", **labels) == 10


def test_exposition_counts_a_worker_once_though_its_file_is_also_there(tmp_path):
    metrics = Metrics(directory=str(tmp_path), publish_interval=0.01)
    metrics.observe("GET", "/", 200, 0.001)
    wait_for(lambda: list(tmp_path.glob("worker-*.json")))

    exposition = metrics.exposition().decode()

    assert requests_total(exposition, "GET", "/", "200") == 1


def test_exposition_shows_label_sets_only_other_workers_saw(tmp_path):
    write_worker_file(tmp_path, pid=101, count=7, method="POST", route="/", status="200")

    exposition = Metrics(directory=str(tmp_path)).exposition().decode()

    assert requests_total(exposition, "POST", "/", "200") == 7


def test_exposition_skips_a_file_removed_while_reading(tmp_path, monkeypatch):
    write_worker_file(tmp_path, pid=101, count=7, method="POST", route="/", status="200")
    metrics = Metrics(directory=str(tmp_path))
    real_glob = type(tmp_path).glob
    monkeypatch.setattr(
        type(tmp_path),
        "glob",
        lambda self, pattern: [*real_glob(self, pattern), self / "worker-9.json"],
    )

    exposition = metrics.exposition().decode()

    assert requests_total(exposition, "POST", "/", "200") == 7


def test_a_forked_worker_starts_counting_from_zero(tmp_path):
    metrics = Metrics(directory=str(tmp_path), publish_interval=0.01)
    metrics.observe("GET", "/", 200, 0.001)
    wait_for(lambda: list(tmp_path.glob("worker-*.json")))
    read_end, write_end = os.pipe()

    pid = os.fork()
    if pid == 0:  # the child: report what it counts, then leave without pytest's teardown
        os.write(write_end, metrics.exposition())
        os._exit(0)
    os.close(write_end)
    with os.fdopen(read_end, "rb") as child_output:
        child_exposition = child_output.read().decode()
    os.waitpid(pid, 0)

    # The parent's request reaches the child once, through the parent's file; had the
    # child kept the parent's counts in memory too, it would count it twice.
    assert requests_total(child_exposition, "GET", "/", "200") == 1


def test_app_with_metrics_dir_serves_the_directorys_metrics(make_client, tmp_path):
    write_worker_file(tmp_path, pid=101, count=7, method="POST", route="/", status="200")
    client = make_client(metrics_dir=str(tmp_path))

    exposition = scrape(client)

    assert requests_total(exposition, "POST", "/", "200") == 7
