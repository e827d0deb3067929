"""Backing services from the environment: Redis and the pricing service, the Cloud
Foundry way (VCAP_SERVICES) or the local way (REDIS_URL, PRICING_URL)."""

from __future__ import annotations

import json

import pytest

from example_app import bindings
from example_app.config import ConfigError, DownstreamService, load_config


def vcap(**bindings_by_label) -> dict[str, str]:
    return {"VCAP_SERVICES": json.dumps(bindings_by_label)}


def test_nothing_bound_means_no_redis_and_no_pricing():
    config = load_config({})
    assert config.redis_url is None
    assert config.downstream == ()


def test_a_binding_labelled_redis_gives_a_url_from_host_port_and_password():
    environ = vcap(
        **{
            "p-redis": [
                {"name": "cache", "credentials": {"host": "h", "port": 6380, "password": "pw"}}
            ]
        }
    )
    assert load_config(environ).redis_url == "redis://:pw@h:6380/0"


def test_a_binding_tagged_redis_is_found_whatever_its_label():
    environ = vcap(
        cache=[{"name": "c", "tags": ["Redis"], "credentials": {"hostname": "h", "port": "1"}}]
    )
    assert load_config(environ).redis_url == "redis://h:1/0"


def test_a_redis_binding_uri_is_used_as_it_is():
    environ = vcap(redis=[{"name": "r", "credentials": {"uri": "rediss://:pw@h:6379/2"}}])
    assert load_config(environ).redis_url == "rediss://:pw@h:6379/2"


def test_a_redis_password_is_escaped_in_the_url():
    environ = vcap(
        redis=[{"name": "r", "credentials": {"host": "h", "port": 1, "password": "a@b/c"}}]
    )
    assert load_config(environ).redis_url == "redis://:a%40b%2Fc@h:1/0"


def test_the_redis_url_is_kept_out_of_the_config_repr():
    config = load_config({"REDIS_URL": "redis://:secret@h:1/0"})
    assert "secret" not in repr(config)


def test_redis_url_is_used_when_nothing_is_bound():
    assert load_config({"REDIS_URL": "redis://localhost:6379/0"}).redis_url == (
        "redis://localhost:6379/0"
    )


def test_a_vcap_redis_binding_wins_over_redis_url():
    environ = {
        **vcap(redis=[{"name": "r", "credentials": {"host": "bound", "port": 1}}]),
        "REDIS_URL": "redis://local:2/0",
    }
    assert load_config(environ).redis_url == "redis://bound:1/0"


@pytest.mark.parametrize(
    ("environ", "named"),
    [
        ({"VCAP_SERVICES": "{not json"}, "VCAP_SERVICES"),
        ({"VCAP_SERVICES": "[]"}, "VCAP_SERVICES"),
        ({"VCAP_SERVICES": '{"redis": {"name": "r"}}'}, "VCAP_SERVICES"),
        ({"VCAP_SERVICES": '{"redis": ["r"]}'}, "VCAP_SERVICES"),
        (
            {"VCAP_SERVICES": '{"redis": [{"name": "r", "credentials": {"host": "h"}}]}'},
            "VCAP_SERVICES",
        ),
        ({"VCAP_SERVICES": '{"redis": [{"name": "r", "credentials": []}]}'}, "VCAP_SERVICES"),
        ({"REDIS_URL": "http://localhost:6379"}, "REDIS_URL"),
        (
            {"VCAP_SERVICES": '{"user-provided": [{"name": "pricing", "credentials": {}}]}'},
            "VCAP_SERVICES",
        ),
        ({"PRICING_URL": "ftp://pricing"}, "PRICING_URL"),
        ({"PRICING_URL": "http://p", "PRICING_CRITICAL": "maybe"}, "PRICING_CRITICAL"),
        ({"OUTBOUND_TIMEOUT": "soon"}, "OUTBOUND_TIMEOUT"),
        ({"OUTBOUND_TIMEOUT": "0"}, "OUTBOUND_TIMEOUT"),
        ({"OUTBOUND_TIMEOUT": "nan"}, "OUTBOUND_TIMEOUT"),
        ({"OUTBOUND_TIMEOUT": "61"}, "OUTBOUND_TIMEOUT"),
    ],
)
def test_a_bad_binding_value_is_a_config_error_naming_the_variable(environ, named):
    with pytest.raises(ConfigError, match=named):
        load_config(environ)


def test_a_user_provided_pricing_binding_gives_the_pricing_service():
    environ = vcap(
        **{
            "user-provided": [
                {
                    "name": "pricing",
                    "credentials": {"url": "https://pricing.example/", "critical": True},
                }
            ]
        }
    )
    assert load_config(environ).downstream == (
        DownstreamService(name="pricing", url="https://pricing.example", critical=True),
    )


def test_a_pricing_binding_may_name_its_health_path():
    environ = vcap(
        **{
            "user-provided": [
                {"name": "pricing", "credentials": {"url": "http://p", "health_path": "/ping"}}
            ]
        }
    )
    (pricing,) = load_config(environ).downstream
    assert pricing.health_path == "/ping"
    assert pricing.critical is False


@pytest.mark.parametrize(
    ("raw", "critical"), [("true", True), ("YES", True), ("0", False), ("", False)]
)
def test_pricing_url_and_pricing_critical_configure_it_locally(raw, critical):
    config = load_config({"PRICING_URL": "http://localhost:9000/", "PRICING_CRITICAL": raw})
    assert config.downstream == (
        DownstreamService(name="pricing", url="http://localhost:9000", critical=critical),
    )


def test_outbound_timeout_defaults_to_two_seconds_and_can_be_set():
    assert load_config({}).outbound_timeout == 2.0
    assert load_config({"OUTBOUND_TIMEOUT": "0.25"}).outbound_timeout == 0.25


def test_a_declared_downstream_service_is_configured_like_pricing(monkeypatch):
    # What a fork's new declaration in bindings.py gets, with no other change.
    declared = bindings.Binding("declared-in-a-test", bindings.HTTP, "DECLARED_URL", True)
    monkeypatch.setattr(bindings, "BINDINGS", (*bindings.BINDINGS, declared))
    bound = vcap(
        **{"user-provided": [{"name": "declared-in-a-test", "credentials": {"url": "http://d"}}]}
    )

    assert load_config({"DECLARED_URL": "http://localhost:9001"}).downstream == (
        DownstreamService(name="declared-in-a-test", url="http://localhost:9001", critical=True),
    )
    assert load_config(bound).downstream == (
        DownstreamService(name="declared-in-a-test", url="http://d", critical=True),
    )
    with pytest.raises(ConfigError, match=r"^DECLARED_CRITICAL must be true or false"):
        load_config({"DECLARED_CRITICAL": "maybe"})
