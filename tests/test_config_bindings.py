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


def redis(label="redis", tags=(), **credentials) -> dict[str, str]:
    return vcap(**{label: [{"name": "r", "tags": list(tags), "credentials": credentials}]})


@pytest.mark.parametrize(
    ("environ", "url"),
    [
        (redis("p-redis", host="h", port=6380, password="pw"), "redis://:pw@h:6380/0"),
        (redis("cache", ["Redis"], hostname="h", port="1"), "redis://h:1/0"),
        (redis(uri="rediss://:pw@h:6379/2"), "rediss://:pw@h:6379/2"),
        (redis(host="h", port=1, password="a@b/c"), "redis://:a%40b%2Fc@h:1/0"),
        ({"REDIS_URL": "redis://localhost:6379/0"}, "redis://localhost:6379/0"),
        ({**redis(host="bound", port=1), "REDIS_URL": "redis://local:2/0"}, "redis://bound:1/0"),
    ],
    ids=[
        "labelled-redis",
        "tagged-redis-whatever-its-label",
        "uri-as-it-is",
        "password-escaped",
        "redis-url-when-nothing-is-bound",
        "binding-wins-over-redis-url",
    ],
)
def test_redis_is_found_in_a_binding_or_redis_url(environ, url):
    assert load_config(environ).redis_url == url


def test_the_redis_url_is_kept_out_of_the_config_repr():
    config = load_config({"REDIS_URL": "redis://:secret@h:1/0"})
    assert "secret" not in repr(config)


# Every other refusal, with its whole message: test_config_refusals.py.
@pytest.mark.parametrize("raw", ["soon", "0", "nan", "61"])
def test_an_outbound_timeout_that_is_no_number_of_seconds_to_60_is_refused(raw):
    with pytest.raises(
        ConfigError, match=r"^OUTBOUND_TIMEOUT must be a number of seconds from 0.01 to 60"
    ):
        load_config({"OUTBOUND_TIMEOUT": raw})


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
