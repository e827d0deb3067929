"""Configuration: read once from an environment mapping into one immutable Config.

A bad value raises ConfigError whose message names the variable.
"""

from __future__ import annotations

import dataclasses
import re

import pytest

from example_app import __version__
from example_app.config import ENVIRONMENT_VARIABLES, Config, ConfigError, load_config

# --- defaults ------------------------------------------------------------------------------


def test_empty_environment_gives_the_defaults():
    assert load_config({}) == Config(
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


def test_config_defaults_match_load_config_defaults():
    assert Config() == load_config({})


def test_service_name_is_example_app():
    assert load_config({}).service_name == "example-app"


# Not PORT, VCAP_APP_PORT or WEB_CONCURRENCY: uwsgi.ini reads those itself and takes an
# empty one as set (see "uWSGI's own variables" below).
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


# --- PORT and VCAP_APP_PORT ----------------------------------------------------------------


def test_port_is_read_from_port():
    assert load_config({"PORT": "8080"}).port == 8080


def test_port_is_read_from_vcap_app_port_when_port_is_unset():
    assert load_config({"VCAP_APP_PORT": "9090"}).port == 9090


def test_port_beats_vcap_app_port():
    assert load_config({"PORT": "8080", "VCAP_APP_PORT": "9090"}).port == 8080


@pytest.mark.parametrize(("raw", "port"), [("1", 1), ("65535", 65535), ("08080", 8080)])
def test_port_accepts_integers_from_1_to_65535(raw, port):
    assert load_config({"PORT": raw}).port == port


@pytest.mark.parametrize(
    "raw", ["0", "65536", "-1", "abc", "80.5", "0x50", "8080abc", "+80", "\u0668\u0660"]
)
@pytest.mark.parametrize("variable", ["PORT", "VCAP_APP_PORT"])
def test_invalid_port_raises_config_error_naming_the_variable(variable, raw):
    with pytest.raises(ConfigError, match=rf"^{variable} must be an integer from 1 to 65535"):
        load_config({variable: raw})


# --- uWSGI's own variables: PORT, VCAP_APP_PORT, WEB_CONCURRENCY ---------------------------
# uwsgi.ini reads them itself, and its `if-env` takes a variable that is set but empty as
# set: an empty PORT would bind a random port, an empty WEB_CONCURRENCY start no worker.
# It pastes the value in as it is: " 8080" would name a metrics directory with a space.

UWSGI_NUMBERS = [("PORT", 65535), ("VCAP_APP_PORT", 65535), ("WEB_CONCURRENCY", 64)]


@pytest.mark.parametrize("raw", ["", " ", " 8", "8 ", "\t8"])
@pytest.mark.parametrize(("variable", "maximum"), UWSGI_NUMBERS)
def test_a_uwsgi_number_that_is_empty_or_padded_is_refused(variable, maximum, raw):
    message = f"{variable} must be an integer from 1 to {maximum}, got {raw!r}"
    with pytest.raises(ConfigError, match=f"^{re.escape(message)}$"):
        load_config({variable: raw})


def test_an_empty_port_does_not_fall_back_to_vcap_app_port():
    # uWSGI takes PORT when it is set at all, so an empty one is an error, not "unset".
    with pytest.raises(ConfigError, match=r"^PORT "):
        load_config({"PORT": "", "VCAP_APP_PORT": "9090"})


def test_invalid_vcap_app_port_is_ignored_when_port_is_set():
    assert load_config({"PORT": "8080", "VCAP_APP_PORT": "nope"}).port == 8080


def test_config_error_quotes_the_bad_value():
    with pytest.raises(ConfigError, match=r"got 'abc'$"):
        load_config({"PORT": "abc"})


def test_config_error_is_a_value_error():
    assert issubclass(ConfigError, ValueError)


# --- HOST ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw", ["0.0.0.0", "127.0.0.1", "10.1.2.3", "[::]", "[::1]", "[fe80::1]", "[::ffff:1.2.3.4]"]
)
def test_host_accepts_an_ipv4_address_or_an_ipv6_address_in_brackets(raw):
    assert load_config({"HOST": raw}).host == raw


HOST_MESSAGE = (
    r"^HOST must be an IPv4 address such as 0.0.0.0 or 127.0.0.1, or an IPv6 address in"
    r" brackets such as \[::\] or \[::1\] \(a hostname is not taken\), got "
)


@pytest.mark.parametrize(
    "raw",
    [
        "999.1.1.1",  # uWSGI would bind 255.255.255.255
        "1.2.3",
        "01.2.3.4",
        "256.0.0.1",
        "::1",  # uWSGI reads an IPv6 address only in brackets
        "[::1",
        "[127.0.0.1]",
        "[fe80::1%eth0]",
        "localhost",  # a name that does not resolve would bind 255.255.255.255 too
        " 127.0.0.1",
        " ",
    ],
)
def test_host_that_is_not_an_address_literal_is_refused(raw):
    with pytest.raises(ConfigError, match=HOST_MESSAGE + re.escape(repr(raw)) + "$"):
        load_config({"HOST": raw})


# --- LOG_LEVEL -----------------------------------------------------------------------------


@pytest.mark.parametrize("level", ["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"])
def test_log_level_accepts_each_level(level):
    assert load_config({"LOG_LEVEL": level}).log_level == level


@pytest.mark.parametrize(
    ("raw", "level"), [("debug", "DEBUG"), ("Warning", "WARNING"), (" error ", "ERROR")]
)
def test_log_level_is_case_insensitive(raw, level):
    assert load_config({"LOG_LEVEL": raw}).log_level == level


@pytest.mark.parametrize("raw", ["verbose", "WARN", "FATAL", "10", "INFO DEBUG"])
def test_invalid_log_level_raises_config_error_naming_the_variable(raw):
    with pytest.raises(ConfigError, match=r"^LOG_LEVEL must be one of DEBUG, INFO, WARNING"):
        load_config({"LOG_LEVEL": raw})


# --- VERSION -------------------------------------------------------------------------------


def test_version_is_read_from_version():
    assert load_config({"VERSION": "1.2.3-rc.1+build.7"}).version == "1.2.3-rc.1+build.7"


def test_version_is_stripped():
    assert load_config({"VERSION": "  1.2.3 "}).version == "1.2.3"


def test_version_of_100_characters_is_accepted():
    assert load_config({"VERSION": "v" * 100}).version == "v" * 100


@pytest.mark.parametrize("raw", ["v" * 101, "1.0\n", "1.0\tbeta", "1.0\x1b[31m"])
def test_invalid_version_raises_config_error_naming_the_variable(raw):
    with pytest.raises(ConfigError, match=r"^VERSION must be printable text"):
        load_config({"VERSION": raw})


# --- GIT_COMMIT ----------------------------------------------------------------------------


def test_git_commit_is_read_from_git_commit():
    commit = "0123456789abcdef0123456789abcdef01234567"

    assert load_config({"GIT_COMMIT": commit}).git_commit == commit


def test_empty_git_commit_is_none():
    assert load_config({"GIT_COMMIT": ""}).git_commit is None


@pytest.mark.parametrize("raw", ["c" * 101, "cafe\n", "cafe\x1b[31m"])
def test_invalid_git_commit_raises_config_error_naming_the_variable(raw):
    with pytest.raises(ConfigError, match=r"^GIT_COMMIT must be printable text"):
        load_config({"GIT_COMMIT": raw})


# --- MAX_BODY_BYTES ------------------------------------------------------------------------


@pytest.mark.parametrize(("raw", "size"), [("1", 1), ("65536", 65536), (str(2**31), 2**31)])
def test_max_body_bytes_accepts_integers_from_1_to_2_to_the_31(raw, size):
    assert load_config({"MAX_BODY_BYTES": raw}).max_body_bytes == size


@pytest.mark.parametrize("raw", ["0", "-5", str(2**31 + 1), "1MB", "1e6"])
def test_invalid_max_body_bytes_raises_config_error_naming_the_variable(raw):
    with pytest.raises(ConfigError, match=r"^MAX_BODY_BYTES must be an integer from 1 to"):
        load_config({"MAX_BODY_BYTES": raw})


# --- WEB_CONCURRENCY -----------------------------------------------------------------------


@pytest.mark.parametrize(("raw", "processes"), [("1", 1), ("4", 4), ("64", 64)])
def test_web_concurrency_sets_processes_from_1_to_64(raw, processes):
    assert load_config({"WEB_CONCURRENCY": raw}).processes == processes


@pytest.mark.parametrize("raw", ["0", "65", "-2", "two", "2.0"])
def test_invalid_web_concurrency_raises_config_error_naming_the_variable(raw):
    with pytest.raises(ConfigError, match=r"^WEB_CONCURRENCY must be an integer from 1 to 64"):
        load_config({"WEB_CONCURRENCY": raw})


# --- PROMETHEUS_MULTIPROC_DIR --------------------------------------------------------------


def test_prometheus_multiproc_dir_sets_metrics_dir():
    config = load_config({"PROMETHEUS_MULTIPROC_DIR": "/tmp/metrics"})

    assert config.metrics_dir == "/tmp/metrics"


# --- the object ----------------------------------------------------------------------------


def test_config_is_frozen():
    config = load_config({})

    with pytest.raises(dataclasses.FrozenInstanceError):
        config.port = 1  # type: ignore[misc]


def test_unknown_variables_are_ignored():
    assert load_config({"HOME": "/root", "DEBUG": "yes"}) == Config()


class RecordingEnvironment(dict[str, str]):
    """An environment that remembers every variable asked for, present or not."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
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
