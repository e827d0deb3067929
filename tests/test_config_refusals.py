"""Every bad setting is refused at start-up with a ConfigError: one message that names the
variable (and, inside VCAP_SERVICES, the binding and its field), says what is expected,
and never repeats a password. No shape of the platform's JSON escapes as another error.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from example_app.config import ConfigError, load_config


def vcap(service: str, **binding: Any) -> dict[str, str]:
    """VCAP_SERVICES with one binding under the label `service`."""
    return {"VCAP_SERVICES": json.dumps({service: [binding]})}


def redis_binding(**credentials: Any) -> dict[str, str]:
    return vcap("p-redis", name="cache", credentials=credentials)


def pricing_binding(**credentials: Any) -> dict[str, str]:
    return vcap("user-provided", name="pricing", credentials=credentials)


REDIS_BINDING = "VCAP_SERVICES: binding 0 of 'p-redis': "
PRICING = "VCAP_SERVICES: binding 0 of 'user-provided': "
ANY_BINDING = "VCAP_SERVICES: binding 0 of 'x' must "
PORT_RANGE = "must be a URL with a host and a port from 1 to 65535"
SCHEMES = "must start with redis://, rediss:// or unix://"
REDIS_HOST = "REDIS_URL must name a host, e.g. redis://localhost:6379/0"
PRICING_BASE = "PRICING_URL must be a base URL, with no query or fragment"


def refused(message, *environs):
    """Each environment in `environs`, refused with `message`."""
    return [(environ, message) for environ in environs]


def refused_redis(message, *bindings):
    return refused(REDIS_BINDING + message, *(redis_binding(**b) for b in bindings))


def refused_pricing(message, *bindings):
    return refused(PRICING + message, *(pricing_binding(**b) for b in bindings))


def redis_url(*urls):
    return [{"REDIS_URL": url} for url in urls]


REFUSALS = [
    # --- VCAP_SERVICES: the document ------------------------------------------------------
    *refused(
        "VCAP_SERVICES must be a JSON object, got invalid JSON",
        {"VCAP_SERVICES": "{not json"},
        {"VCAP_SERVICES": "[" * 100_000},
    ),
    *refused(
        "VCAP_SERVICES must map each service label to a list of bindings",
        {"VCAP_SERVICES": "[]"},
        {"VCAP_SERVICES": '{"redis": {"name": "r"}}'},
    ),
    # --- VCAP_SERVICES: each binding, whatever service it is ------------------------------
    *refused(
        "VCAP_SERVICES: binding 0 of 'redis' must be an object",
        {"VCAP_SERVICES": '{"redis": ["r"]}'},
    ),
    *refused(ANY_BINDING + "have a label that is a string", vcap("x", label=5)),
    *refused(ANY_BINDING + "have a name that is a string", vcap("x", name=5)),
    *refused(
        ANY_BINDING + "have tags that are a list of strings",
        *(vcap("x", tags=tags) for tags in (5, "redis", [1])),
    ),
    *refused(
        ANY_BINDING + "have credentials that are an object",
        vcap("x", credentials=[]),
        vcap("x", credentials="secret"),
    ),
    # --- VCAP_SERVICES: a redis binding's host, port, password and uri --------------------
    *refused_redis(
        "a redis binding needs credentials with a uri, or a host and port", {}, {"host": "h"}
    ),
    *refused_redis(
        "credentials.host must be a hostname or IP address",
        *({"host": host, "port": 6379} for host in (5, "999.1.1.1", "h h")),
    ),
    *refused_redis(
        "credentials.port must be an integer from 1 to 65535",
        *(
            {"host": "h", "port": port}
            for port in (99999, 0, -1, "99999", "6379.0", "", "abc", 6379.0, 6379.5, True, [6379])
        ),
    ),
    *refused_redis(
        "credentials.password must be a string", {"host": "h", "port": 6379, "password": 123}
    ),
    *refused_redis(
        f"credentials.uri {PORT_RANGE}", {"uri": "redis://h:notaport"}, {"uri": "redis://h:99999/0"}
    ),
    *refused_redis(f"credentials.url {PORT_RANGE}", {"url": "redis://[::1"}),
    *refused_redis(
        "credentials.uri must name a host, e.g. redis://localhost:6379/0", {"uri": "redis://"}
    ),
    *refused_redis(f"credentials.uri {SCHEMES}, got 'REDIS://'", {"uri": "REDIS://h:6379"}),
    # --- VCAP_SERVICES: the pricing binding -----------------------------------------------
    *refused_pricing("credentials.url must be an http(s) URL", {}, {"url": 5}),
    *refused_pricing(
        "credentials.url must be an http:// or https:// URL, got 'ftp://'", {"url": "ftp://p"}
    ),
    *refused_pricing(f"credentials.url {PORT_RANGE}", {"url": "http://p:99999"}),
    *refused_pricing(
        "credentials.url must name a host, e.g. https://pricing.example.com", {"url": "http://"}
    ),
    *refused_pricing(
        "credentials.url must be a base URL, with no query or fragment", {"url": "http://p?x=1"}
    ),
    *refused_pricing(
        "credentials.url must be a URL without spaces or control characters", {"url": "http://p q"}
    ),
    *refused_pricing(
        "credentials.critical must be true or false", {"url": "http://p", "critical": "true"}
    ),
    *refused_pricing(
        "credentials.health_path must be a path starting with '/'",
        *({"url": "http://p", "health_path": path} for path in (5, "health", "/a b", "/a\n")),
    ),
    # --- REDIS_URL ------------------------------------------------------------------------
    *refused(
        f"REDIS_URL {PORT_RANGE}",
        *redis_url("redis://h:notaport", "redis://h:99999/0", "redis://h:0/0", "redis://[::1"),
    ),
    *refused(REDIS_HOST, *redis_url("redis://", "redis:///0")),
    *refused(
        "REDIS_URL must name a host that is a hostname or an IP address",
        *redis_url("redis://999.1.1.1:6379"),
    ),
    *refused(f"REDIS_URL {SCHEMES}, got 'http://'", *redis_url("http://localhost:6379")),
    *refused(f"REDIS_URL {SCHEMES}, got 'Redis://'", *redis_url("Redis://localhost:6379")),
    *refused(f"REDIS_URL {SCHEMES}", *redis_url("localhost:6379")),
    *refused(
        "REDIS_URL must give the socket's path, e.g. unix:///run/redis.sock", *redis_url("unix://")
    ),
    *refused(
        "REDIS_URL may end in a database number such as /0, nothing else",
        *redis_url("redis://h/db1"),
    ),
    *refused(
        "REDIS_URL has an option after '?' that redis-py cannot use",
        *redis_url(
            *(f"redis://h/0?{q}" for q in ("socket_timeout=soon", "no_such_option=1", "protocol=9"))
        ),
    ),
    # --- PRICING_URL and PRICING_CRITICAL -------------------------------------------------
    *refused(
        "PRICING_URL must be an http:// or https:// URL, got 'ftp://'",
        {"PRICING_URL": "ftp://pricing"},
    ),
    *refused("PRICING_URL must be an http:// or https:// URL", {"PRICING_URL": "pricing:9000"}),
    *refused(f"PRICING_URL {PORT_RANGE}", {"PRICING_URL": "http://p:notaport"}),
    *refused(
        "PRICING_URL must name a host that is a hostname or an IP address",
        {"PRICING_URL": "http://a..b"},
    ),
    *refused(PRICING_BASE, {"PRICING_URL": "http://p#top"}, {"PRICING_URL": "http://p?"}),
    *refused("PRICING_CRITICAL must be true or false, got 'maybe'", {"PRICING_CRITICAL": "maybe"}),
]


@pytest.mark.parametrize(("environ", "message"), REFUSALS)
def test_a_bad_setting_is_refused_with_a_message_naming_it(environ, message):
    with pytest.raises(ConfigError) as raised:
        load_config(environ)

    assert str(raised.value) == message


@pytest.mark.parametrize(
    "environ",
    [
        {"REDIS_URL": "redis://h:notaport", **redis_binding(host="h", port=6379)},
        {"PRICING_URL": "ftp://p", **pricing_binding(url="http://p")},
        {"PRICING_CRITICAL": "maybe", **pricing_binding(url="http://p")},
    ],
)
def test_a_bad_local_setting_is_refused_even_when_a_binding_wins_over_it(environ):
    with pytest.raises(ConfigError):
        load_config(environ)


SECRET = "s3cret-pw"


@pytest.mark.parametrize(
    "environ",
    [
        {"REDIS_URL": f"http://:{SECRET}@h:6379/0"},
        {"REDIS_URL": f"redis://:{SECRET}@h:notaport/0"},
        {"REDIS_URL": f"redis://:{SECRET}"},  # the "@host" forgotten: a port, to urlsplit
        {"REDIS_URL": f"redis://:{SECRET}@/0"},
        {"REDIS_URL": f"redis://:{SECRET}@999.1.1.1/0"},
        {"REDIS_URL": f"redis://h/0?password={SECRET}&no_such_option=1"},
        {"REDIS_URL": f"redis://user:{SECRET}@h/{SECRET}"},
        {"PRICING_URL": f"https://user:{SECRET}@pricing?x=1"},
        {"PRICING_URL": f"ftp://user:{SECRET}@pricing"},
        redis_binding(uri=f"redis://:{SECRET}@h:99999/0"),
        redis_binding(host="h", port=99999, password=SECRET),
        redis_binding(host=SECRET + " ", port=6379),
        pricing_binding(url=f"https://user:{SECRET}@p:0"),
    ],
)
def test_a_refusal_never_repeats_a_password(environ):
    with pytest.raises(ConfigError) as raised:
        load_config(environ)

    assert SECRET not in str(raised.value)


# Every JSON type in every field a binding has, for a redis binding and the pricing one:
# each combination is taken or refused with a ConfigError, never a TypeError or the like.
JSON_VALUES = [None, 0, 5, 6379, 1.5, True, "", "x", "redis", "/p", [], ["x"], {}, {"a": 1}]
BINDING_FIELDS = ["label", "name", "tags", "credentials"]
CREDENTIAL_FIELDS = [
    "uri",
    "url",
    "host",
    "hostname",
    "port",
    "password",
    "critical",
    "health_path",
]


@pytest.mark.parametrize("value", JSON_VALUES, ids=repr)
@pytest.mark.parametrize("field", BINDING_FIELDS + CREDENTIAL_FIELDS)
@pytest.mark.parametrize("binding", ["redis", "pricing"])
def test_every_json_shape_of_a_binding_is_taken_or_refused_as_a_config_error(binding, field, value):
    entry: dict[str, Any] = {
        "name": "pricing" if binding == "pricing" else "cache",
        "tags": ["redis"] if binding == "redis" else [],
        "credentials": {"host": "h", "port": 6379, "url": "http://p"},
    }
    if field in BINDING_FIELDS:
        entry[field] = value
    else:
        entry["credentials"][field] = value
    outcome = load_outcome({"VCAP_SERVICES": json.dumps({"service": [entry]})})

    assert outcome == "taken" or re.match(r"VCAP_SERVICES[: ]", outcome)


def load_outcome(environ: dict[str, str]) -> str:
    """ "taken", or the ConfigError's message; any other exception propagates."""
    try:
        load_config(environ)
    except ConfigError as error:
        return str(error)
    return "taken"


# --- what is taken ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "redis://localhost:6379/0",
        "redis://h",
        "redis://h/",
        "redis://[::1]:6379/15",
        "redis://redis_1.internal.:6379/0",
        "rediss://user:pw@h:6380/1?ssl_cert_reqs=none",
        "redis://h/0?socket_timeout=0.5&db=2",
        "unix:///run/redis/redis.sock?db=2",
    ],
)
def test_a_redis_url_that_redis_py_can_use_is_taken_as_it_is(url):
    assert load_config({"REDIS_URL": url}).redis_url == url


def test_a_redis_binding_on_an_ipv6_host_gets_it_in_brackets():
    environ = redis_binding(host="fd00::7", port="6379", password="pw")

    assert load_config(environ).redis_url == "redis://:pw@[fd00::7]:6379/0"


def test_a_redis_binding_with_a_null_password_has_none():
    environ = redis_binding(host="h", port=6379, password=None)

    assert load_config(environ).redis_url == "redis://h:6379/0"


def test_a_binding_with_null_tags_and_credentials_is_taken():
    environ = vcap("elephantsql", name="db", tags=None, credentials=None)

    assert load_config(environ).redis_url is None


def test_a_pricing_binding_with_a_base_path_keeps_it_without_the_final_slash():
    (pricing,) = load_config(pricing_binding(url="https://gateway.example/pricing/")).downstream

    assert pricing.url == "https://gateway.example/pricing"
