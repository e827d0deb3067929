"""Prometheus metrics: request count and latency by method, route and status."""

from __future__ import annotations

import pytest
from prometheus_client import CONTENT_TYPE_LATEST
from prometheus_client.mmap_dict import MmapedDict, mmap_key
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


def scrape(client) -> str:
    return client.simulate_get("/metrics").text


def write_worker_counter(directory, pid: int, count: float, **labels: str) -> None:
    """Write http_requests_total as a uWSGI worker in multiprocess mode would."""
    db = MmapedDict(str(directory / f"counter_{pid}.db"))
    key = mmap_key(
        "http_requests",
        "http_requests_total",
        list(LABELS),
        [labels[name] for name in LABELS],
        "HTTP requests served.",
    )
    db.write_value(key, count, 0.0)
    db.close()


def test_metrics_is_200_with_prometheus_text_content_type(client):
    result = client.simulate_get("/metrics")

    assert result.status_code == 200
    assert result.headers["Content-Type"] == CONTENT_TYPE_LATEST
    assert result.headers["Content-Type"].startswith("text/plain; version=")


def test_metrics_before_any_request_has_no_request_samples(client):
    exposition = scrape(client)

    assert "# TYPE http_requests_total counter" in exposition
    assert not [key for key in samples(exposition) if key[0] == "http_requests_total"]


@pytest.mark.parametrize("count", [1, 3])
def test_request_counter_counts_each_get_root(client, count):
    for _ in range(count):
        client.simulate_get("/")

    exposition = scrape(client)

    assert requests_total(exposition, "GET", "/", "200") == count


def test_request_counter_separates_methods_and_statuses(client):
    client.simulate_post("/", body=b'{"a": 1}', headers={"Content-Type": "application/json"})
    client.simulate_post("/", body=b"[]", headers={"Content-Type": "application/json"})
    client.simulate_delete("/")

    exposition = scrape(client)

    assert requests_total(exposition, "POST", "/", "200") == 1
    assert requests_total(exposition, "POST", "/", "400") == 1
    assert requests_total(exposition, "DELETE", "/", "405") == 1


def test_request_counter_labels_routes_by_template(client):
    client.simulate_get("/health/live")
    client.simulate_get("/health/ready")

    exposition = scrape(client)

    assert requests_total(exposition, "GET", "/health/live", "200") == 1
    assert requests_total(exposition, "GET", "/health/ready", "200") == 1


def test_404s_are_counted_under_the_unmatched_route(client):
    client.simulate_get("/nope")
    client.simulate_get("/also/nope")

    exposition = scrape(client)

    assert requests_total(exposition, "GET", "<unmatched>", "404") == 2
    assert "/nope" not in exposition


def test_scrapes_are_counted_on_later_scrapes(client):
    scrape(client)

    exposition = scrape(client)

    assert requests_total(exposition, "GET", "/metrics", "200") == 1


def test_latency_histogram_counts_requests_for_the_route(client):
    for _ in range(2):
        client.simulate_get("/")

    exposition = scrape(client)

    labels = {"method": "GET", "route": "/", "status": "200"}
    assert value(exposition, "http_request_duration_seconds_count", **labels) == 2
    assert value(exposition, "http_request_duration_seconds_bucket", le="+Inf", **labels) == 2
    assert value(exposition, "http_request_duration_seconds_sum", **labels) >= 0


def test_latency_histogram_has_the_configured_buckets(client):
    client.simulate_get("/")

    exposition = scrape(client)

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
    metrics = Metrics(multiprocess_dir=None)

    metrics.observe("GET", "/", 200, 0.003)

    exposition = metrics.exposition().decode()
    labels = {"method": "GET", "route": "/", "status": "200"}
    assert value(exposition, "http_requests_total", **labels) == 1
    assert value(exposition, "http_request_duration_seconds_sum", **labels) == pytest.approx(0.003)
    assert value(exposition, "http_request_duration_seconds_bucket", le="0.0025", **labels) == 0
    assert value(exposition, "http_request_duration_seconds_bucket", le="0.005", **labels) == 1


# Multiprocess mode proper (prometheus_client picks it from PROMETHEUS_MULTIPROC_DIR when
# it is imported) is the service tier's to test; here, only that the exposition is read
# from the directory's files.


def test_multiprocess_exposition_of_an_empty_directory_has_no_request_counts(tmp_path):
    metrics = Metrics(multiprocess_dir=str(tmp_path))
    metrics.observe("GET", "/", 200, 0.001)

    exposition = metrics.exposition().decode()

    assert "http_requests_total" not in exposition


def test_multiprocess_exposition_shows_what_the_directory_holds(tmp_path):
    write_worker_counter(tmp_path, pid=101, count=4, method="GET", route="/", status="200")

    exposition = Metrics(multiprocess_dir=str(tmp_path)).exposition().decode()

    assert requests_total(exposition, "GET", "/", "200") == 4


def test_multiprocess_exposition_adds_up_the_workers(tmp_path):
    write_worker_counter(tmp_path, pid=101, count=4, method="GET", route="/", status="200")
    write_worker_counter(tmp_path, pid=102, count=5, method="GET", route="/", status="200")

    exposition = Metrics(multiprocess_dir=str(tmp_path)).exposition().decode()

    assert requests_total(exposition, "GET", "/", "200") == 9


def test_app_with_metrics_dir_serves_the_directorys_metrics(make_client, tmp_path):
    write_worker_counter(tmp_path, pid=101, count=7, method="POST", route="/", status="200")
    client = make_client(metrics_dir=str(tmp_path))

    exposition = scrape(client)

    assert requests_total(exposition, "POST", "/", "200") == 7
