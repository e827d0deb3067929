"""Configuration: read once from an environment mapping into one immutable Config.

A bad value raises ConfigError whose message names the variable.
"""

from __future__ import annotations

import dataclasses
import re

import pytest

from example_app import __version__
from example_app.config import ENVIRONMENT_VARIABLES, Config, ConfigError, load_config


def test_empty_environment_gives_the_defaults_config_has_too():
    assert (
        load_config({})
        == Config()
        == Config(
            port=8000,
            host="0.0.0.0",
            log_level="INFO",
            version=__version__,
            git_commit=None,
            max_body_bytes=1024 * 1024,
            processes=2,
            metrics_dir=None,
            service_name="example-app",
        )
    )


# Not PORT, VCAP_APP_PORT or WEB_CONCURRENCY: uwsgi.ini reads those itself and takes an
# empty one as set (see test_a_uwsgi_number_that_is_empty_or_padded_is_refused).
DEFAULTS = [
    ("HOST", "host", "0.0.0.0"),
    ("LOG_LEVEL", "log_level", "INFO"),
    ("VERSION", "version", __version__),
    ("GIT_COMMIT", "git_commit", None),
    ("MAX_BODY_BYTES", "max_body_bytes", 1024 * 1024),
    ("PROMETHEUS_MULTIPROC_DIR", "metrics_dir", None),
    ("OUTBOUND_TIMEOUT", "outbound_timeout", 2.0),
    ("REDIS_URL", "redis_url", None),
    ("PRICING_URL", "downstream", ()),
    ("VCAP_SERVICES", "redis_url", None),
]


@pytest.mark.parametrize(("variable", "attribute", "default"), DEFAULTS)
def test_empty_variable_gives_the_default(variable, attribute, default):
    assert getattr(load_config({variable: ""}), attribute) == default


@pytest.mark.parametrize(
    ("variable", "attribute", "default"),
    [row for row in DEFAULTS if row[0] not in ("HOST", "PROMETHEUS_MULTIPROC_DIR")],
)
def test_whitespace_only_validated_variable_gives_the_default(variable, attribute, default):
    assert getattr(load_config({variable: " \t "}), attribute) == default


COMMIT = "0123456789abcdef0123456789abcdef01234567"
TAKEN = [
    ({"PORT": "8080"}, "port", 8080),
    ({"VCAP_APP_PORT": "9090"}, "port", 9090),
    ({"PORT": "8080", "VCAP_APP_PORT": "9090"}, "port", 8080),  # PORT wins
    ({"PORT": "8080", "VCAP_APP_PORT": "nope"}, "port", 8080),  # and the other is not read
    *[({"PORT": raw}, "port", int(raw)) for raw in ("1", "65535", "08080")],
    *[
        ({"HOST": raw}, "host", raw)
        for raw in ("0.0.0.0", "127.0.0.1", "10.1.2.3", "[::]", "[::1]", "[fe80::1]")
    ],
    ({"HOST": "[::ffff:1.2.3.4]"}, "host", "[::ffff:1.2.3.4]"),
    *[
        ({"LOG_LEVEL": raw}, "log_level", raw.strip().upper())
        for raw in ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL", "debug", "Warning", " error ")
    ],
    ({"VERSION": "1.2.3-rc.1+build.7"}, "version", "1.2.3-rc.1+build.7"),
    ({"VERSION": "  1.2.3 "}, "version", "1.2.3"),
    ({"VERSION": "v" * 100}, "version", "v" * 100),
    ({"GIT_COMMIT": COMMIT}, "git_commit", COMMIT),
    *[({"MAX_BODY_BYTES": str(n)}, "max_body_bytes", n) for n in (1, 65536, 2**31)],
    *[({"WEB_CONCURRENCY": str(n)}, "processes", n) for n in (1, 4, 64)],
    ({"PROMETHEUS_MULTIPROC_DIR": "/tmp/metrics"}, "metrics_dir", "/tmp/metrics"),
    ({"HOME": "/root", "DEBUG": "yes"}, "port", 8000),  # unknown variables are ignored
]


@pytest.mark.parametrize(("environ", "attribute", "expected"), TAKEN, ids=str)
def test_a_valid_setting_is_taken(environ, attribute, expected):
    assert getattr(load_config(environ), attribute) == expected


PORT_RANGE = "must be an integer from 1 to 65535, got "
REFUSED = [
    *[
        (variable, raw, PORT_RANGE)
        for variable in ("PORT", "VCAP_APP_PORT")
        for raw in ("0", "65536", "-1", "abc", "80.5", "0x50", "8080abc", "+80", "\u0668\u0660")
    ],
    # uWSGI would bind 255.255.255.255 for a bad IPv4 address or a name that does not
    # resolve, and reads an IPv6 address only in brackets.
    *[
        ("HOST", raw, "must be an IPv4 address such as 0.0.0.0 or 127.0.0.1, or an IPv6 address")
        for raw in ("999.1.1.1", "1.2.3", "01.2.3.4", "256.0.0.1", "::1", "[::1", "[127.0.0.1]")
    ],
    *[
        ("HOST", raw, "must be an IPv4 address such as 0.0.0.0 or 127.0.0.1, or an IPv6 address")
        for raw in ("[fe80::1%eth0]", "localhost", " 127.0.0.1", " ")
    ],
    *[
        ("LOG_LEVEL", raw, "must be one of DEBUG, INFO, WARNING, ERROR, CRITICAL, got ")
        for raw in ("verbose", "WARN", "FATAL", "10", "INFO DEBUG")
    ],
    *[
        ("VERSION", raw, "must be printable text of at most 100 characters")
        for raw in ("v" * 101, "1.0\n", "1.0\tbeta", "1.0\x1b[31m")
    ],
    *[
        ("GIT_COMMIT", raw, "must be printable text of at most 100 characters")
        for raw in ("c" * 101, "cafe\n", "cafe\x1b[31m")
    ],
    *[
        ("MAX_BODY_BYTES", raw, "must be an integer from 1 to 2147483648, got ")
        for raw in ("0", "-5", str(2**31 + 1), "1MB", "1e6")
    ],
    *[
        ("WEB_CONCURRENCY", raw, "must be an integer from 1 to 64, got ")
        for raw in ("0", "65", "-2", "two", "2.0")
    ],
]


@pytest.mark.parametrize(("variable", "raw", "message"), REFUSED, ids=repr)
def test_a_bad_value_is_refused_naming_the_variable_and_quoting_the_value(variable, raw, message):
    with pytest.raises(ConfigError) as raised:
        load_config({variable: raw})

    assert str(raised.value).startswith(f"{variable} {message}")
    if message.endswith("got "):
        assert str(raised.value).endswith(f"got {raw!r}")


# uwsgi.ini reads PORT, VCAP_APP_PORT and WEB_CONCURRENCY itself, and its `if-env` takes a
# variable that is set but empty as set: an empty PORT would bind a random port, an empty
# WEB_CONCURRENCY start no worker. It pastes the value in as it is: " 8080" would name a
# metrics directory with a space.
UWSGI_NUMBERS = [("PORT", 65535), ("VCAP_APP_PORT", 65535), ("WEB_CONCURRENCY", 64)]


@pytest.mark.parametrize("raw", ["", " ", " 8", "8 ", "\t8"])
@pytest.mark.parametrize(("variable", "maximum"), UWSGI_NUMBERS)
def test_a_uwsgi_number_that_is_empty_or_padded_is_refused(variable, maximum, raw):
    message = f"{variable} must be an integer from 1 to {maximum}, got {raw!r}"
    with pytest.raises(ConfigError, match=f"^{re.escape(message)}$"):
        load_config({variable: raw})


def test_an_empty_port_does_not_fall_back_to_vcap_app_port():
    with pytest.raises(ConfigError, match=r"^PORT "):
        load_config({"PORT": "", "VCAP_APP_PORT": "9090"})


def test_config_error_is_a_value_error():
    assert issubclass(ConfigError, ValueError)


def test_config_is_frozen():
    with pytest.raises(dataclasses.FrozenInstanceError):
        load_config({}).port = 1  # type: ignore[misc]


class RecordingEnvironment(dict[str, str]):
    """An environment that remembers every variable asked for, present or not."""

    def __init__(self) -> None:
        super().__init__()
        self.asked: set[str] = set()

    def get(self, key, default=None):
        self.asked.add(key)
        return super().get(key, default)

    def __getitem__(self, key):
        self.asked.add(key)
        return super().__getitem__(key)

    def __contains__(self, key):
        self.asked.add(key)
        return super().__contains__(key)


def test_every_variable_the_config_reads_is_listed_in_environment_variables():
    environ = RecordingEnvironment()
    load_config(environ)
    assert environ.asked
    assert environ.asked <= set(ENVIRONMENT_VARIABLES)
