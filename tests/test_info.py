"""GET /info: what is running here."""

from __future__ import annotations

import platform

import falcon


def test_info_is_200_json(client):
    result = client.simulate_get("/info")

    assert result.status_code == 200
    assert result.headers["Content-Type"] == "application/json"


def test_info_has_exactly_the_documented_fields(client):
    result = client.simulate_get("/info")

    assert set(result.json) == {
        "name",
        "version",
        "git_commit",
        "python",
        "falcon",
        "store",
        "trace_export",
    }


def test_info_name_is_the_service_name(client):
    assert client.simulate_get("/info").json["name"] == "example-app"


def test_info_version_comes_from_config(make_client):
    client = make_client(version="2.5.0-rc.1")

    assert client.simulate_get("/info").json["version"] == "2.5.0-rc.1"


def test_info_git_commit_is_null_by_default(client):
    assert client.simulate_get("/info").json["git_commit"] is None


def test_info_git_commit_comes_from_config_when_set(make_client):
    client = make_client(git_commit="0123abc")

    assert client.simulate_get("/info").json["git_commit"] == "0123abc"


def test_info_python_is_the_running_python_version(client):
    assert client.simulate_get("/info").json["python"] == platform.python_version()


def test_info_falcon_is_the_installed_falcon_version(client):
    assert client.simulate_get("/info").json["falcon"] == falcon.__version__


def test_info_says_trace_export_is_off_by_default(client):
    assert client.simulate_get("/info").json["trace_export"] is False


def test_info_says_when_trace_export_is_on(make_client, monkeypatch):
    # Nothing is recorded, so nothing is sent: an export to nowhere would log its failure
    # from the SDK's thread seconds later, into whichever test runs then.
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:9")
    monkeypatch.setenv("OTEL_TRACES_SAMPLER", "always_off")
    client = make_client(trace_export=True)

    assert client.simulate_get("/info").json["trace_export"] is True
